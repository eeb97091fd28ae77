// escucha-cli as a person or a script meets it: the real binary, a real vault.
#include "cli/process.h"
#include "files.h"
#include "temp_dir.h"

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include <sstream>

using namespace escucha::test;
using Json = nlohmann::ordered_json;

namespace {

const Env PASS = {{"ESCUCHA_PASSPHRASE", "frase de paso de prueba"}};

struct CliVault {
    TempDir dir;
    std::string vault = (dir / "vault").string();

    CliVault() { REQUIRE(Run({"init", "--author", "ana"}).exit_code == 0); }

    ProcessResult Run(std::vector<std::string> args, const Env& env = PASS, const std::string& input = "") const {
        args.insert(args.begin(), {"--vault", vault});
        return RunCli(args, env, input);
    }
    /// Runs a command that must succeed; returns its standard output.
    std::string Ok(const std::vector<std::string>& args) const {
        const auto r = Run(args);
        INFO("escucha-cli " << args.front() << ": " << r.err);
        REQUIRE(r.exit_code == 0);
        return r.out;
    }
    std::string Add(const std::vector<std::string>& args) const {
        std::vector<std::string> all = {"add"};
        all.insert(all.end(), args.begin(), args.end());
        auto out = Ok(all);
        out.erase(out.find_last_not_of('\n') + 1);
        return out;
    }
    Json List(const std::string& type) const { return Json::parse(Ok({"list", type, "--json"})); }
};

std::string WriteJson(const TempDir& dir, const std::string& name, const std::string& text) {
    WriteFile(dir / name, text);
    return (dir / name).string();
}

} // namespace

TEST_CASE("A researcher records, lists, edits, searches and deletes", "[cli]") {
    CliVault v;
    const auto project = v.Add({"project", "name=Escucha cafetaleras", "languages=es,fr", "territories=Nariño, Cauca"});
    const auto rosa =
        v.Add({"participant", "pseudonym=Rosa", "age_band=25_34", "vulnerability_groups=migrante,indígena"});
    WriteFile(v.dir / "relato.txt", "Empezamos a las cinco.\r\nLa participación de las mujeres creció.\n");
    const auto narrative = v.Add({"narrative", "title=La cosecha", "text=@" + (v.dir / "relato.txt").string(),
                                  "teller_ids=" + rosa, "kind=emergent"});

    const auto projects = v.List("project");
    REQUIRE(projects.size() == 1);
    CHECK(projects[0]["territories"] == Json::array({"Nariño", "Cauca"}));
    const auto shown = Json::parse(v.Ok({"show", narrative}));
    CHECK(shown["text"] == "Empezamos a las cinco.\nLa participación de las mujeres creció.\n");
    CHECK(shown["project_id"] == project);
    CHECK(shown["teller_ids"] == Json::array({rosa}));
    CHECK(shown["author"] == "ana");

    const auto found = v.Run({"search", "PARTICIPACION"});
    CHECK(found.exit_code == 0);
    CHECK_THAT(found.out, Catch::Contains(narrative) && Catch::Contains("[participación]"));

    CHECK_THAT(v.Ok({"edit", rosa, "age_band=35_44", "gender="}), Catch::Contains("rev 2"));
    CHECK(Json::parse(v.Ok({"show", rosa}))["age_band"] == "35_44");

    const auto refused = v.Run({"delete", rosa});
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.err, Catch::Contains("still refer"));
    v.Ok({"delete", narrative});
    // No hits, from a search that ran (a failed one prints nothing either).
    CHECK(v.Ok({"search", "participacion"}).empty());
    // Three records, each one change: Rosa's edit and the narrative's deletion
    // joined their unsent creations (docs/decisions/0018).
    CHECK_THAT(v.Ok({"status"}), Catch::Contains("narrative: 0") && Catch::Contains("changes waiting to sync: 3"));
    CHECK_THAT(v.Ok({"check"}), Catch::Contains("the vault is sound"));
    CHECK_THAT(v.Ok({"reindex"}), Catch::Contains("rebuilt"));
    CHECK_THAT(v.Ok({"search", "rosa"}), Catch::Contains(rosa));
}

TEST_CASE("A second project means records must say which one", "[cli]") {
    CliVault v;
    v.Add({"project", "name=Uno"});
    const auto two = v.Add({"project", "name=Dos"});
    const auto r = v.Run({"add", "field_note", "text=nota"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("give project_id"));
    v.Add({"field_note", "text=nota", "--project", two});
    CHECK(v.List("field_note")[0]["project_id"] == two);
}

TEST_CASE("Bad command lines and values get a clear error", "[cli]") {
    CliVault v;
    v.Add({"project", "name=Uno"});
    const auto expect = [&](const std::vector<std::string>& args, int code, const std::string& words) {
        const auto r = v.Run(args);
        INFO(r.err);
        CHECK(r.exit_code == code);
        CHECK_THAT(r.err, Catch::Contains(words));
    };
    expect({"frobnicate"}, 1, "unknown command");
    expect({"add", "participant", "pseudonym"}, 1, "not FIELD=VALUE");
    expect({"add", "alien", "x=1"}, 2, "known types");
    expect({"add", "participant", "pseudonym=R", "age_band=old"}, 2, "field 'age_band'");
    expect({"add", "transcript_segment", "start_ms=abc"}, 2, "whole number");
    expect({"add", "field_note", "text=@/no/such/file"}, 1, "cannot read /no/such/file");
    expect({"show", "01a20bc5-0000-7000-8000-000000000000"}, 2, "no record");
    expect({"search", "--limit", "0", "x"}, 1, "--limit");
    expect({"list"}, 1, "usage");
    CHECK(v.List("participant").empty());
}

TEST_CASE("A wrong or missing passphrase is refused and changes nothing", "[cli]") {
    CliVault v;
    v.Add({"project", "name=Uno"});
    const auto before = Snapshot(v.vault);
    const auto wrong = v.Run({"list", "project"}, {{"ESCUCHA_PASSPHRASE", "no es esta"}});
    CHECK(wrong.exit_code == 3);
    CHECK_THAT(wrong.err, Catch::Contains("wrong passphrase"));
    const auto missing = v.Run({"add", "project", "name=Dos"}, {{"ESCUCHA_PASSPHRASE", ""}});
    CHECK(missing.exit_code == 3);
    CHECK_THAT(missing.err, Catch::Contains("ESCUCHA_PASSPHRASE"));
    CHECK(Snapshot(v.vault) == before);
    const auto none = RunCli({"--vault", (v.dir / "elsewhere").string(), "list", "project"}, PASS);
    CHECK(none.exit_code == 5);
    CHECK_THAT(none.err, Catch::Contains("no vault") && Catch::Contains("init"));
    const auto again = v.Run({"init"});
    CHECK(again.exit_code == 5);
    CHECK_THAT(again.err, Catch::Contains("already exists"));
}

TEST_CASE("Import takes a whole file or nothing, and names the record and field", "[cli]") {
    CliVault v;
    const std::string p = "01a20bc5-0000-7000-8000-000000000001";
    const std::string rosa = "01a20bc5-0000-7000-8000-000000000002";
    const std::string good = R"([
      {"type": "project", "id": ")" +
                             p + R"(", "name": "Café"},
      {"type": "participant", "id": ")" +
                             rosa + R"(", "project_id": ")" + p + R"(", "pseudonym": "Rosa"},
      {"type": "narrative", "project_id": ")" +
                             p + R"(", "title": "Año", "text": "niños en la finca", "teller_ids": [")" + rosa + R"("]}
    ])";
    const auto refused = [&](const std::string& text, const std::string& words) {
        const auto file = WriteJson(v.dir, "bad.json", text);
        const auto r = v.Run({"import", file});
        INFO(r.err);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains(words) && Catch::Contains("Nothing was stored"));
        CHECK(v.List("project").empty());
        CHECK(v.List("participant").empty());
    };
    SECTION("malformed JSON") { refused(good.substr(0, good.size() - 10), "not valid JSON"); }
    SECTION("not an array") { refused(R"({"type": "project"})", "JSON array"); }
    SECTION("unknown type") {
        auto text = good;
        text.replace(text.find("\"narrative\""), 11, "\"novela\"");
        refused(text, "record 2 (novela), field 'type': unknown record type 'novela'");
    }
    SECTION("missing field") {
        auto text = good;
        text.replace(text.find("\"pseudonym\": \"Rosa\""), 19, "\"gender\": \"mujer\"");
        refused(text, "record 1 (participant), field 'pseudonym': is required");
    }
    SECTION("wrong type") {
        auto text = good;
        text.replace(text.find("\"Rosa\""), 6, "42");
        refused(text, "record 1 (participant), field 'pseudonym': must be text");
    }
    SECTION("unknown reference") {
        auto text = good;
        text.replace(text.rfind(rosa), rosa.size(), "01a20bc5-0000-7000-8000-0000000000ff");
        refused(text, "record 2 (narrative), field 'teller_ids'");
    }
    SECTION("a good file") {
        const auto r = v.Run({"import", WriteJson(v.dir, "good.json", good)});
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::Contains("imported 3 records"));
        CHECK_THAT(v.Ok({"search", "ninos"}), Catch::Contains("[niños]"));
    }
    SECTION("a missing file") {
        const auto r = v.Run({"import", (v.dir / "none.json").string()});
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.err, Catch::Contains("cannot read"));
    }
}

TEST_CASE("Export writes everything as JSON that imports into a new vault", "[cli]") {
    CliVault a;
    a.Add({"project", "name=Pêcheurs du Sud"});
    const auto p = a.Add({"participant", "pseudonym=Jean"});
    a.Add({"identity_link", "participant_id=" + p, "full_name=Jean-Baptiste Désir"});
    a.Add({"field_note", "text=La coopérative a ouvert un dépôt."});
    const auto out = (a.dir / "export.json").string();
    const auto r = a.Run({"export", "--format", "json", "--out", out});
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("not encrypted"));
    const auto doc = Json::parse(ReadFile(out));
    CHECK(doc["format"] == "escucha-export");
    CHECK(doc["records"].size() == 3); // identity links stay out unless asked for
    CHECK(ReadFile(out).find("Désir") == std::string::npos);
    a.Ok({"export", "--format", "json", "--out", out, "--with-identities"});
    CHECK(Json::parse(ReadFile(out))["records"].size() == 4);
    CHECK(a.Run({"export", "--format", "xml", "--out", out}).exit_code == 1);

    CliVault b;
    b.Ok({"import", out});
    CHECK(b.List("participant")[0]["pseudonym"] == "Jean");
    CHECK(b.List("participant")[0]["id"] == p);
    CHECK_THAT(b.Ok({"search", "cooperative depot"}), Catch::Contains("[coopérative]"));
}

TEST_CASE("passwd changes the passphrase", "[cli]") {
    CliVault v;
    v.Add({"project", "name=Uno"});
    CHECK(
        v.Run({"passwd"}, {{"ESCUCHA_PASSPHRASE", PASS.at("ESCUCHA_PASSPHRASE")}, {"ESCUCHA_NEW_PASSPHRASE", "corta"}})
            .exit_code == 3);
    const Env change = {{"ESCUCHA_PASSPHRASE", PASS.at("ESCUCHA_PASSPHRASE")},
                        {"ESCUCHA_NEW_PASSPHRASE", "la nueva frase secreta"}};
    CHECK(v.Run({"passwd"}, change).exit_code == 0);
    CHECK(v.Run({"list", "project"}).exit_code == 3);
    const auto r = v.Run({"list", "project"}, {{"ESCUCHA_PASSPHRASE", "la nueva frase secreta"}});
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("Uno"));
}

TEST_CASE("A damaged vault is reported as damaged", "[cli]") {
    CliVault v;
    v.Add({"project", "name=Uno"});
    for (int i = 0; i < 40; ++i) v.Add({"field_note", "text=" + std::string(2000, 'a' + i % 26)});
    auto bytes = ReadFile(v.dir / "vault/vault.db");
    REQUIRE(bytes.size() > 12 * 4096);
    for (int k = 0; k < 64; ++k) bytes[8 * 4096 + 512 + k] ^= 0xff;
    WriteFile(v.dir / "vault/vault.db", bytes);
    const auto r = v.Run({"check"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.out + r.err, Catch::Contains("damaged") || Catch::Contains("problem"));
}

TEST_CASE("docs/records.md is what the code says", "[cli]") {
    const auto r = RunCli({"types", "--markdown"});
    REQUIRE(r.exit_code == 0);
    INFO("regenerate with: escucha-cli types --markdown > docs/records.md");
    CHECK(ReadFile(SourceDir() + "/docs/records.md") == r.out);
}

TEST_CASE("The sample data in docs/examples imports", "[cli]") {
    int samples = 0;
    for (const auto& entry : std::filesystem::directory_iterator(SourceDir() + "/docs/examples")) {
        if (entry.path().extension() != ".json") continue;
        ++samples;
        CliVault v;
        const auto r = v.Run({"import", entry.path().string()});
        INFO(entry.path().string() << ": " << r.err);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::StartsWith("imported "));
        CHECK_THAT(v.Ok({"check"}), Catch::Contains("the vault is sound"));
        // Interpretation is filled too: a codebook with codings to export, and a round to report on.
        const auto project = Json::parse(v.Ok({"list", "project", "--json"}))[0]["id"].get<std::string>();
        const auto qdpx = v.Run({"export", "--format", "qdpx", "--project", project, "--out", (v.dir / "p.qdpx").string()});
        CHECK(qdpx.exit_code == 0);
        CHECK_THAT(qdpx.out, !Catch::Contains(" 0 coding(s)"));
        const auto round = Json::parse(v.Ok({"list", "prioritisation_round", "--json"}))[0]["id"].get<std::string>();
        CHECK(v.Run({"export", "--format", "html", "--round", round, "--out", (v.dir / "r.html").string()}).exit_code == 0);
        CHECK(ReadFile(v.dir / "r.html").find("<svg") != std::string::npos);
    }
    // A loop over no files would pass whatever the importer did.
    CHECK(samples >= 2);
}

TEST_CASE("The sqlcipher shell opens the vault with the recovery key", "[cli]") {
    CliVault v;
    v.Add({"project", "name=Recuperación"});
    const auto key = v.Ok({"recovery-key"});
    const std::string sql = key + "SELECT name FROM project;\n";
    WriteFile(v.dir / "recover.sql", sql);
    const auto shell = "sqlcipher " + ShellQuote(v.vault + "/vault.db") + " < " +
                       ShellQuote((v.dir / "recover.sql").string()) + " > " +
                       ShellQuote((v.dir / "recover.out").string()) + " 2>&1";
    REQUIRE(std::system("command -v sqlcipher > /dev/null") == 0);
    CHECK(std::system(shell.c_str()) == 0);
    CHECK_THAT(ReadFile(v.dir / "recover.out"), Catch::Contains("Recuperación"));
}

TEST_CASE("Without a terminal and without a command, help is printed", "[cli]") {
    const auto r = RunCli({});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.out, Catch::Contains("Usage: escucha-cli"));
    CHECK(RunCli({"help"}).exit_code == 0);
}

TEST_CASE("docs/recovery.md derives the same key without Escucha", "[cli]") {
    CliVault v;
    const auto doc = ReadFile(SourceDir() + "/docs/recovery.md");
    const auto begin = doc.find("python3 - <<'PY'\n");
    const auto end = doc.find("    PY\n", begin);
    REQUIRE(begin != std::string::npos);
    REQUIRE(end != std::string::npos);
    std::string script;
    std::stringstream lines(doc.substr(begin + 17, end - begin - 17));
    for (std::string line; std::getline(lines, line);) script += (line.size() >= 4 ? line.substr(4) : line) + "\n";
    const auto dir_pos = script.find("DIR/vault.kdf");
    REQUIRE(dir_pos != std::string::npos);
    script.replace(dir_pos, 3, v.vault);
    WriteFile(v.dir / "derive.py", script);
    const auto command = "ESCUCHA_PASSPHRASE=" + ShellQuote(PASS.at("ESCUCHA_PASSPHRASE")) + " /usr/bin/python3 " +
                         ShellQuote((v.dir / "derive.py").string()) + " > " + ShellQuote((v.dir / "derived").string());
    REQUIRE(std::system(command.c_str()) == 0);
    CHECK(ReadFile(v.dir / "derived") == v.Ok({"recovery-key"}));
}

TEST_CASE("Files attached to the vault are kept encrypted and listed", "[cli]") {
    CliVault v;
    WriteFile(v.dir / "grabacion.ogg", std::string(200'000, 'x') + "VOZ-DE-LA-ENTREVISTA");
    const auto attached = v.Ok({"attach", (v.dir / "grabacion.ogg").string()});
    CHECK_THAT(attached, Catch::Contains("200020 bytes"));
    CHECK_THAT(v.Ok({"blobs"}), Catch::Contains(attached.substr(0, 64)) && Catch::Contains("waiting to upload"));
    CHECK(FilesContaining(v.vault, "VOZ-DE-LA-ENTREVISTA").empty());
    const auto missing = v.Run({"attach", (v.dir / "no-such.ogg").string()});
    CHECK(missing.exit_code == 6);
    CHECK_THAT(missing.err, Catch::Contains("cannot read"));
    CHECK_THAT(v.Run({"outbox"}).err, Catch::Contains("0 change(s) waiting"));
    CHECK_THAT(v.Run({"conflicts"}).err, Catch::Contains("0 conflict(s)"));
    CHECK_THAT(v.Ok({"status"}), Catch::Contains("not enrolled"));
}

TEST_CASE("Errors say what happened: a search stores nothing, a NUL in text is refused, an edited vault.kdf", "[cli]") {
    CliVault v;
    v.Add({"project", "name=Uno"});
    SECTION("a search that cannot run does not speak of storing") {
        const auto r = v.Run({"search", "***"});
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains("has no words to search for") && !Catch::Contains("stored"));
        const auto show = v.Run({"show", "01a20bc5-0000-7000-8000-000000000000"});
        CHECK_THAT(show.err, Catch::Contains("no record") && !Catch::Contains("stored"));
        const auto add = v.Run({"add", "participant", "age_band=old"});
        CHECK_THAT(add.err, Catch::Contains("Nothing was stored"));
    }
    SECTION("a NUL inside text is refused, naming the field") {
        WriteFile(v.dir / "nota.txt", std::string("antes\0después", 14));
        const auto r = v.Run({"add", "field_note", "text=@" + (v.dir / "nota.txt").string()});
        INFO(r.err);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err,
                   Catch::Contains("field 'text'") && Catch::Contains("NUL") && Catch::Contains("Nothing was stored"));
        const std::string project = v.List("project")[0]["id"];
        const auto file =
            WriteJson(v.dir, "nul.json",
                      R"([{"type": "field_note", "project_id": ")" + project + R"(", "text": "antes\u0000despues"}])");
        const auto imported = v.Run({"import", file});
        CHECK(imported.exit_code == 2);
        CHECK_THAT(imported.err, Catch::Contains("record 0 (field_note), field 'text'") && Catch::Contains("NUL"));
        CHECK(v.List("field_note").empty());
    }
    SECTION("an edited vault.kdf is not a wrong passphrase") {
        auto kdf = Json::parse(ReadFile(v.dir / "vault/vault.kdf"));
        kdf["opslimit"] = kdf["opslimit"].get<int>() + 1;
        WriteFile(v.dir / "vault/vault.kdf", kdf.dump(2));
        const auto r = v.Run({"list", "project"});
        INFO(r.err);
        CHECK(r.exit_code == 4);
        CHECK_THAT(r.err,
                   Catch::Contains("vault.kdf was edited or is damaged") && !Catch::Contains("wrong passphrase"));
    }
}

TEST_CASE("Importing the same file again stores nothing new", "[cli]") {
    CliVault v;
    const std::string p = "01a20bc5-0000-7000-8000-000000000001";
    // Records without ids get new ones on every import: only the vault's
    // memory of the file keeps a second run from storing them twice.
    const auto file = WriteJson(v.dir, "notas.json", R"([
      {"type": "project", "id": ")" + p + R"(", "name": "Café"},
      {"type": "field_note", "project_id": ")" + p + R"(", "text": "primera nota"},
      {"type": "field_note", "project_id": ")" + p + R"(", "text": "segunda nota"}
    ])");
    const auto first = v.Run({"import", file});
    INFO(first.err);
    REQUIRE(first.exit_code == 0);
    CHECK_THAT(first.out, Catch::Contains("imported 3 records"));
    const auto again = v.Run({"import", file});
    INFO(again.err);
    CHECK(again.exit_code == 0);
    CHECK_THAT(again.out, Catch::Contains("already imported: nothing new stored") && Catch::Contains("3 records"));
    CHECK(v.List("field_note").size() == 2);
    // The same records laid out otherwise are the same import.
    const auto compact = WriteJson(v.dir, "compact.json", Json::parse(ReadFile(file)).dump());
    CHECK_THAT(v.Ok({"import", compact}), Catch::Contains("already imported"));
    // Other records are imported as ever.
    const auto more = WriteJson(v.dir, "mas.json",
                                R"([{"type": "field_note", "project_id": ")" + p + R"(", "text": "tercera nota"}])");
    CHECK_THAT(v.Ok({"import", more}), Catch::Contains("imported 1 record"));
    CHECK(v.List("field_note").size() == 3);
    CHECK_THAT(v.Ok({"check"}), Catch::Contains("sound"));
}

TEST_CASE("A file nested too deep is refused by name, stores nothing, and does not crash", "[cli]") {
    CliVault v;
    v.Add({"project", "name=Uno"});
    const size_t depth = 300'000;
    const auto file =
        WriteJson(v.dir, "hondo.json", "{\"records\": " + std::string(depth, '[') + std::string(depth, ']') + "}");
    const auto before = Snapshot(v.vault);
    const auto r = v.Run({"import", file});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(file) && Catch::Contains("nested") && Catch::Contains("deep") &&
                          Catch::Contains("Nothing was stored"));
    CHECK(Snapshot(v.vault) == before);
    CHECK(v.List("project").size() == 1);
}

TEST_CASE("Editing a coded text moves its codings with the edit, or flags them", "[cli][coding]") {
    CliVault v;
    const std::string project = "0197c0ec-48d4-751d-89cc-8b6747c258d2";
    const std::string narrative = "01982822-caaf-7494-ba02-9879a69694b6";
    const auto file = WriteJson(v.dir, "coded.json",
                                R"([
  {"type": "project", "id": ")" + project +
                                    R"(", "name": "Côte sud"},
  {"type": "narrative", "id": ")" + narrative +
                                    R"(", "project_id": ")" + project + R"(",
   "title": "La mer", "text": "La pêche est une affaire de courage. Le partage en trois parts est juste."},
  {"type": "code", "id": "01982822-caaf-7494-ba02-9879a69694c0", "project_id": ")" +
                                    project + R"(",
   "name": "Partage", "kind": "perception"},
  {"type": "coding", "id": "01982822-caaf-7494-ba02-9879a69694c1", "project_id": ")" +
                                    project + R"(",
   "code_id": "01982822-caaf-7494-ba02-9879a69694c0", "narrative_id": ")" +
                                    narrative + R"(",
   "start": 37, "end": 73, "excerpt": "Le partage en trois parts est juste."}
])");
    // A coding from elsewhere whose passage lies past its source's end is refused, and nothing is stored.
    std::string bad = ReadFile(file);
    bad.replace(bad.find("\"end\": 73"), 9, "\"end\": 99");
    const auto refused = v.Run({"import", WriteJson(v.dir, "bad.json", bad)});
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.err, Catch::Contains("outside the text"));
    CHECK(v.List("coding").empty());
    v.Ok({"import", file});
    // Words before the passage: the coding moves with them (code points, "é" and "ô" are one each).
    const auto moved =
        v.Run({"edit", narrative,
               "text=Ti Jan dit : La pêche est une affaire de courage. Le partage en trois parts est juste."});
    INFO(moved.err);
    REQUIRE(moved.exit_code == 0);
    CHECK_THAT(moved.err, Catch::Contains("1 moved"));
    auto coding = Json::parse(v.Ok({"show", "01982822-caaf-7494-ba02-9879a69694c1"}));
    CHECK(coding["start"] == 50);
    CHECK(coding["end"] == 86);
    CHECK(coding.value("needs_review", false) == false);
    // The passage itself rewritten: flagged, never silently wrong.
    const auto flagged = v.Run({"edit", narrative, "text=Ti Jan dit : le partage est injuste."});
    CHECK_THAT(flagged.err, Catch::Contains("1 flagged"));
    coding = Json::parse(v.Ok({"show", "01982822-caaf-7494-ba02-9879a69694c1"}));
    CHECK(coding["needs_review"] == true);
}
