// REFI-QDA and CSV exports and REFI-QDA import through the real escucha-cli,
// and headquarters' export of the same project after a real sync through a
// real escucha-hq: every file checked by xmllint, unpacked by the real
// unzip, and scanned for a quote its teller did not consent to.
#include "files.h"
#include "process.h"
#include "sync/hq_process.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using escucha::test::RunCli;
using escucha::test::TempDir;
using Json = nlohmann::json;

namespace {

const escucha::test::Env ENV = {{"ESCUCHA_PASSPHRASE", "frase de paso larga"}, {"LANG", "C"}, {"LANGUAGE", ""}};
const std::string REFI = escucha::test::SourceDir() + "/../shared/refi-qda";
const std::string CANARY = "CANARIO-cli-91b2";

const std::string PROJECT = "01900000-0000-7000-8000-000000000001";
const std::string N1 = "01900000-0000-7000-8000-000000000010";
const std::string CODE = "01900000-0000-7000-8000-000000000020";

/// A project: Ana consented to being quoted verbatim, Beto did not; each told
/// a narrative, and one code is applied to a passage of each.
Json Records() {
    const std::string ana = "01900000-0000-7000-8000-000000000002", beto = "01900000-0000-7000-8000-000000000003";
    const std::string n2 = "01900000-0000-7000-8000-000000000011";
    const auto consent = [&](const std::string& id, const std::string& who, Json scopes) {
        return Json{{"id", id},           {"type", "consent"},        {"project_id", PROJECT},
                    {"participant_id", who}, {"script_version", "v1"}, {"language", "es"},
                    {"mode", "written"},    {"scopes", scopes}};
    };
    return Json::array({
        {{"id", PROJECT}, {"type", "project"}, {"name", "Café Nariño"}},
        {{"id", ana}, {"type", "participant"}, {"project_id", PROJECT}, {"pseudonym", "Ana"}, {"territory", "Nariño"}},
        {{"id", beto}, {"type", "participant"}, {"project_id", PROJECT}, {"pseudonym", "Beto"}},
        consent("01900000-0000-7000-8000-000000000004", ana, {"quote_verbatim"}),
        consent("01900000-0000-7000-8000-000000000005", beto, {"record_audio"}),
        {{"id", N1},
         {"type", "narrative"},
         {"project_id", PROJECT},
         {"title", "Cosecha"},
         {"teller_ids", {ana}},
         {"text", "Señora 😀\nMi tierra, es \"mía\"."}},
        {{"id", n2},
         {"type", "narrative"},
         {"project_id", PROJECT},
         {"title", "Deudas"},
         {"teller_ids", {beto}},
         {"text", "Nos pagan tarde: " + CANARY}},
        {{"id", CODE}, {"type", "code"}, {"project_id", PROJECT}, {"name", "Tierra"}, {"kind", "need"}},
        {{"id", "01900000-0000-7000-8000-000000000030"},
         {"type", "coding"},
         {"project_id", PROJECT},
         {"code_id", CODE},
         {"narrative_id", N1},
         {"start", 9},
         {"end", 28},
         {"excerpt", "Mi tierra, es \"mía\""},
         {"memo", "propia"}},
        {{"id", "01900000-0000-7000-8000-000000000031"},
         {"type", "coding"},
         {"project_id", PROJECT},
         {"code_id", CODE},
         {"narrative_id", n2},
         {"start", 17},
         {"end", 33},
         {"excerpt", CANARY}},
    });
}

escucha::test::ProcessResult Cli(const std::string& vault, std::vector<std::string> args) {
    args.insert(args.begin(), {"--vault", vault});
    return RunCli(args, ENV);
}

void Sh(const std::string& command) { REQUIRE(std::system(command.c_str()) == 0); }

int Xmllint(const std::string& file, const std::string& schema) {
    return std::system(("xmllint --noout --nonet --schema '" + REFI + "/" + schema + "' '" + file + "' 2>/dev/null")
                           .c_str());
}

/// Unpacks `qdpx` with the real unzip, checks its project against the
/// schema, and that the canary is in none of its files.
void CheckQdpx(const std::filesystem::path& qdpx, const std::filesystem::path& dir) {
    Sh("unzip -q -o '" + qdpx.string() + "' -d '" + dir.string() + "'");
    CHECK(Xmllint((dir / "project.qde").string(), "Project-mrt2019.xsd") == 0);
    CHECK(escucha::test::FilesContaining(dir, CANARY).empty());
    CHECK(escucha::test::FilesContaining(dir, "Nos pagan").empty());
    CHECK(std::filesystem::exists(dir / "sources" / (N1 + ".txt")));
}

} // namespace

TEST_CASE("escucha-cli exports a project as .qdpx, .qdc and CSV and imports .qdpx and .qdc",
          "[cli][exchange]") {
    TempDir dir;
    const auto vault = (dir / "vault").string();
    REQUIRE(Cli(vault, {"init", "--author", "ana"}).exit_code == 0);
    escucha::test::WriteFile(dir / "records.json", Records().dump());
    REQUIRE(Cli(vault, {"import", (dir / "records.json").string()}).exit_code == 0);

    const auto qdpx = Cli(vault, {"export", "--format", "qdpx", "--project", PROJECT, "--out", (dir / "p.qdpx").string()});
    INFO(qdpx.err);
    REQUIRE(qdpx.exit_code == 0);
    CHECK_THAT(qdpx.out, Catch::Contains("1 coding(s) on 1 source(s)"));
    CHECK_THAT(qdpx.err, Catch::Contains("1 source(s) with 1 coding(s) are left out"));
    CheckQdpx(dir / "p.qdpx", dir / "unzipped");

    const auto csv = Cli(vault, {"export", "--format", "csv", "--project", PROJECT, "--out", (dir / "e.csv").string()});
    REQUIRE(csv.exit_code == 0);
    const auto table = escucha::test::ReadFile(dir / "e.csv");
    CHECK(table.find(CANARY) == std::string::npos);
    CHECK(table.find("[withheld]") != std::string::npos);
    CHECK(table.find("\"Mi tierra, es \"\"mía\"\"\"") != std::string::npos);

    const auto qdc = Cli(vault, {"export", "--format", "qdc", "--project", PROJECT, "--out", (dir / "c.qdc").string()});
    REQUIRE(qdc.exit_code == 0);
    CHECK(Xmllint((dir / "c.qdc").string(), "Codebook-mrt2019.xsd") == 0);

    // The JSON export is as it was.
    CHECK(Cli(vault, {"export", "--format", "json", "--out", (dir / "all.json").string()}).exit_code == 0);
    CHECK(Json::parse(escucha::test::ReadFile(dir / "all.json"))["format"] == "escucha-export");

    // A profile quoting both passages, as a report: Beto's words are withheld, Ana's shown.
    const auto profile = Cli(vault, {"add", "profile", "project_id=" + PROJECT, "kind=collective", "name=Cosecheras"});
    REQUIRE(profile.exit_code == 0);
    const std::string profile_id = profile.out.substr(0, profile.out.find('\n'));
    for (const char* coding : {"01900000-0000-7000-8000-000000000030", "01900000-0000-7000-8000-000000000031"})
        REQUIRE(Cli(vault, {"add", "quote", "profile_id=" + profile_id, std::string("coding_id=") + coding}).exit_code ==
                0);
    const auto report = Cli(vault, {"export", "--format", "html", "--profile", profile_id, "--language", "es", "--out",
                                    (dir / "profile.html").string()});
    INFO(report.err);
    REQUIRE(report.exit_code == 0);
    const auto html = escucha::test::ReadFile(dir / "profile.html");
    CHECK(html.find("lang=\"es\"") != std::string::npos);
    CHECK(html.find("Mi tierra, es &quot;mía&quot;") != std::string::npos);
    CHECK(html.find(CANARY) == std::string::npos);
    CHECK(html.find("Nos pagan") == std::string::npos);
    CHECK(html.find("Beto") != std::string::npos); // named as the one whose consent does not cover quoting
    const auto chart = Cli(vault, {"export", "--format", "html", "--project", PROJECT, "--group", "territory", "--out",
                                   (dir / "codes.html").string()});
    REQUIRE(chart.exit_code == 0);
    const auto codes = escucha::test::ReadFile(dir / "codes.html");
    CHECK(codes.find("<svg") != std::string::npos);
    CHECK(codes.find("Nariño") != std::string::npos);
    CHECK(codes.find(CANARY) == std::string::npos);
    // Nothing to report on, or something that is not there: a usage error, a clear refusal.
    CHECK(Cli(vault, {"export", "--format", "html", "--out", (dir / "r.html").string()}).exit_code == 1);
    CHECK(Cli(vault, {"export", "--format", "html", "--round", PROJECT.substr(0, 30) + "999999", "--out",
                      (dir / "r.html").string()})
              .exit_code != 0);
    CHECK_FALSE(std::filesystem::exists(dir / "r.html"));
    CHECK(Cli(vault, {"export", "--format", "qdpx", "--out", (dir / "x.qdpx").string()}).exit_code == 1);

    SECTION("into another vault whose narrative has the same words") {
        const auto other = (dir / "other").string();
        REQUIRE(Cli(other, {"init", "--author", "luis"}).exit_code == 0);
        Json mine = Json::array({{{"id", "01900000-0000-7000-8000-0000000000a1"}, {"type", "project"}, {"name", "Otro"}},
                                 {{"type", "narrative"},
                                  {"project_id", "01900000-0000-7000-8000-0000000000a1"},
                                  {"title", "La misma"},
                                  {"text", "Señora 😀\r\nMi tierra, es \"mía\"."}}});
        escucha::test::WriteFile(dir / "mine.json", mine.dump());
        REQUIRE(Cli(other, {"import", (dir / "mine.json").string()}).exit_code == 0);
        const auto in = Cli(other, {"import-qda", "--project", "01900000-0000-7000-8000-0000000000a1",
                                    (dir / "p.qdpx").string()});
        INFO(in.err);
        REQUIRE(in.exit_code == 0);
        CHECK_THAT(in.out, Catch::Contains("codes: 1 created, 0 reused"));
        CHECK_THAT(in.out, Catch::Contains("codings stored: 1 on 1 source(s)"));
        const auto again = Cli(other, {"import-qda", "--project", "01900000-0000-7000-8000-0000000000a1",
                                       (dir / "p.qdpx").string()});
        CHECK_THAT(again.out, Catch::Contains("codings stored: 0"));
        CHECK_THAT(again.out, Catch::Contains("already coded in the project"));

        const auto taguette = Cli(other, {"import-qda", "--project", "01900000-0000-7000-8000-0000000000a1",
                                          REFI + "/samples/taguette/codebook.qdc"});
        CHECK_THAT(taguette.out, Catch::Contains("codes: 3 created"));
    }
    SECTION("a file that is not REFI-QDA stores nothing and says which file") {
        escucha::test::WriteFile(dir / "evil.qdpx", std::string("PK\x03\x04") + " truncated");
        const auto bad = Cli(vault, {"import-qda", "--project", PROJECT, (dir / "evil.qdpx").string()});
        CHECK(bad.exit_code == 2);
        CHECK_THAT(bad.err, Catch::Contains("evil.qdpx"));
        CHECK_THAT(bad.err, Catch::Contains("Nothing was stored."));
    }
}

TEST_CASE("escucha-hq exports the same REFI-QDA project from what devices synced", "[cli][exchange][hq]") {
    TempDir dir;
    escucha::test::HqProcess hq((dir / "hq").string());
    (void)hq.Admin({"create-project", "Café Nariño"});
    const auto code = hq.Admin({"enrol", "--project", "Café Nariño", "--role", "researcher"});
    const auto vault = (dir / "vault").string();
    REQUIRE(Cli(vault, {"init", "--author", "ana"}).exit_code == 0);
    escucha::test::WriteFile(dir / "records.json", Records().dump());
    REQUIRE(Cli(vault, {"import", (dir / "records.json").string()}).exit_code == 0);
    const auto enrolled = Cli(vault, {"enrol", "--server", hq.Url(), "--code", code, "--adopt"});
    INFO(enrolled.out << enrolled.err);
    REQUIRE(enrolled.exit_code == 0);
    REQUIRE(Cli(vault, {"sync"}).exit_code == 0);

    for (const char* format : {"qdpx", "qdc", "csv"}) {
        const auto out = (dir / (std::string("hq.") + format)).string();
        const auto r = escucha::test::RunProgram({escucha::test::HqPath(), "--data", (dir / "hq").string(),
                                                  "--key-file", hq.KeyFile(), "admin", "export", "--project",
                                                  "Café Nariño", "--format", format, "--out", out});
        INFO(format << ": " << r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(escucha::test::ReadFile(out).find(CANARY) == std::string::npos);
    }
    CheckQdpx(dir / "hq.qdpx", dir / "unzipped");
    CHECK(Xmllint((dir / "hq.qdc").string(), "Codebook-mrt2019.xsd") == 0);
    CHECK(escucha::test::ReadFile(dir / "hq.csv").find("[withheld]") != std::string::npos);
    CHECK(escucha::test::ReadFile(dir / "unzipped" / "project.qde").find("origin=\"Escucha (headquarters)\"") !=
          std::string::npos);
}
