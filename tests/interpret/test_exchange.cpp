// REFI-QDA exchange: every export checked by xmllint against the REFI-QDA
// schemas and by what a schema cannot check (references, offsets, files,
// excerpts), read back with the real `unzip`; consent gating in every
// output; round trips; files written by other tools; hostile files refused.
#include "escucha/interpret/codebook.h"
#include "escucha/interpret/coding.h"
#include "escucha/interpret/exchange.h"

#include "exchange_zip.h"
#include "files.h"
#include "interpret/project_store.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <cstring>
#include <map>
#include <set>

using namespace escucha;
using storage::Json;
namespace fs = std::filesystem;

namespace {

const std::string REFI = std::string(ESCUCHA_SOURCE_DIR) + "/../shared/refi-qda";
const std::string CANARY = "CANARIO-7f3a";

/// A project with two participants (one who consented to being quoted
/// verbatim, one who did not), narratives with accents, an emoji, a
/// combining mark and CRLF input, a field note, a recorded interview with a
/// transcript, and a codebook with codings on all of them.
struct Project : test::ProjectStore {
    std::string ana, beto, tierra, propiedad, viejo, n1, n2, note, segment, recording;
    std::vector<std::string> quotable_codings, withheld_codings;

    std::string Participant(const std::string& pseudonym, Json groups, std::vector<std::string> scopes) {
        groups["project_id"] = project;
        groups["pseudonym"] = pseudonym;
        const std::string id = store.Create("participant", groups)["id"];
        store.Create("consent", {{"project_id", project},
                                 {"participant_id", id},
                                 {"script_version", "v1"},
                                 {"language", "es"},
                                 {"mode", "oral_recorded"},
                                 {"scopes", scopes}});
        return id;
    }
    void Code(const std::string& source, int64_t start, int64_t end, const std::vector<std::string>& codes,
              const std::string& memo, bool quotable) {
        for (const auto& c : interpret::CodePassage(store, {source, start, end}, codes, memo))
            (quotable ? quotable_codings : withheld_codings).push_back(c["id"]);
    }

    Project() {
        ana = Participant("Ana", {{"age_band", "25_34"}, {"territory", "Nariño"}, {"gender", "mujer"},
                                  {"vulnerability_groups", {"migrante", "indígena"}}},
                          {"record_audio", "transcribe", "quote_verbatim"});
        beto = Participant("Beto", {{"age_band", "45_54"}, {"territory", "Cauca"}}, {"record_audio", "transcribe"});
        tierra = interpret::CreateCode(store, project,
                                       {{"name", "Tierra & \"agua\""}, {"kind", "need"}, {"colour", "#1F77B4"}})["id"];
        propiedad = interpret::CreateCode(
            store, project,
            {{"name", "Propiedad"}, {"kind", "value"}, {"parent_id", tierra}, {"description", "Quién <posee>"}})["id"];
        viejo = interpret::CreateCode(store, project, {{"name", "Viejo"}, {"kind", "other"}})["id"];
        n1 = store.Create("narrative", {{"project_id", project},
                                        {"title", "Cosecha"},
                                        {"teller_ids", {ana}},
                                        {"text", "Señora 😀\r\nMi tierra es mía.\r\nCafe\xCC\x81, \"sí\"\r\n=SUM(1)"}})["id"];
        n2 = store.Create("narrative", {{"project_id", project},
                                        {"title", "Deudas"},
                                        {"teller_ids", {beto}},
                                        {"text", "Nos pagan tarde. " + CANARY + " y el patrón se queda con todo."}})["id"];
        note = store.Create("field_note",
                            {{"project_id", project}, {"title", "Mercado"}, {"text", "El mercado abre a las 5."}})["id"];
        const std::string interview =
            store.Create("interview", {{"project_id", project}, {"kind", "unstructured_interview"}})["id"];
        recording = store.Create("recording", {{"project_id", project},
                                               {"interview_id", interview},
                                               {"participant_ids", {ana}},
                                               {"status", "complete"},
                                               {"duration_ms", 9000},
                                               {"audio_sha256", std::string(64, 'a')}})["id"];
        segment = store.Create("transcript_segment", {{"project_id", project},
                                                      {"interview_id", interview},
                                                      {"recording_id", recording},
                                                      {"speaker_id", ana},
                                                      {"start_ms", 1000},
                                                      {"end_ms", 4000},
                                                      {"text", "Sembramos café."}})["id"];
        Code(n1, 9, 26, {tierra, propiedad}, "Dice \"tierra\", propia,\ny suya", true); // after a CRLF
        Code(n1, 7, 8, {tierra}, "", true);                                           // the emoji
        Code(n1, 27, 32, {propiedad}, "", true);                                      // e + combining acute
        Code(n1, 39, 46, {viejo}, "=cmd", true);                                      // reads like a formula
        Code(n2, 17, 29, {tierra}, "memo de " + CANARY, false);
        Code(note, 0, 10, {viejo}, "", true);
        Code(segment, 10, 15, {propiedad}, "", true);
        interpret::RetireCode(store, viejo);
    }
    [[nodiscard]] interpret::ProjectRecords Records() { return interpret::ProjectRecords::FromStore(store, project); }
};

interpret::QdpxOptions WithAudio() {
    interpret::QdpxOptions options;
    options.audio = [](const Json&) { return std::optional<std::string>("OggS fake audio"); };
    options.exported_by = "test";
    return options;
}

int Sh(const std::string& command) { return std::system(command.c_str()); }

/// xmllint's verdict on `file` against `schema` (0: valid).
int Validate(const fs::path& file, const std::string& schema) {
    return Sh("xmllint --noout --nonet --schema '" + REFI + "/" + schema + "' '" + file.string() + "' 2>/dev/null");
}

/// Unpacks `bytes` with the real unzip into `dir`.
void Unzip(const std::string& bytes, const fs::path& dir) {
    test::WriteFile(dir / "export.qdpx", bytes);
    REQUIRE(Sh("unzip -q -o '" + (dir / "export.qdpx").string() + "' -d '" + (dir / "x").string() + "'") == 0);
}

struct DocFree {
    void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};

std::string Attr(const xmlNode* n, const char* name) {
    xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(name));
    if (!v) return {};
    std::string out(reinterpret_cast<const char*>(v));
    xmlFree(v);
    return out;
}

bool Named(const xmlNode* n, const char* name) {
    return n->type == XML_ELEMENT_NODE && std::strcmp(reinterpret_cast<const char*>(n->name), name) == 0;
}

void Walk(const xmlNode* n, const std::function<void(const xmlNode*)>& visit) {
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        visit(n);
        Walk(n->children, visit);
    }
}

/// What a schema cannot check in an unpacked .qdpx at `dir`: every GUID
/// once, every reference resolving, each text file present (UTF-8, no BOM,
/// no CR), each selection within its text and reading its excerpt (the
/// selection's name and the coding's excerpt in `store`). Returns the
/// Coding GUIDs.
std::set<std::string> CheckProject(const fs::path& dir, storage::RecordStore& store) {
    std::unique_ptr<xmlDoc, DocFree> doc(xmlReadFile((dir / "project.qde").c_str(), nullptr, XML_PARSE_NONET));
    REQUIRE(doc);
    std::map<std::string, std::string> guids; // guid -> element
    std::vector<std::pair<std::string, std::string>> refs;
    std::set<std::string> codings;
    Walk(xmlDocGetRootElement(doc.get()), [&](const xmlNode* n) {
        const auto guid = Attr(n, "guid");
        if (!guid.empty() && !Named(n, "MemberCode")) {
            INFO(guid);
            CHECK(guids.emplace(guid, reinterpret_cast<const char*>(n->name)).second);
        }
        for (const char* a : {"targetGUID", "creatingUser", "creatingUserGUID", "fromSyncPoint", "toSyncPoint"})
            if (!Attr(n, a).empty()) refs.emplace_back(a, Attr(n, a));
        if (Named(n, "Coding")) codings.insert(guid);
    });
    for (const auto& [attribute, guid] : refs) {
        INFO(attribute << " " << guid);
        CHECK(guids.count(guid));
    }
    Walk(xmlDocGetRootElement(doc.get()), [&](const xmlNode* n) {
        if (Named(n, "CodeRef")) CHECK(guids[Attr(n, "targetGUID")] == "Code");
        if (!Named(n, "TextSource")) return;
        const auto path = Attr(n, "plainTextPath");
        REQUIRE(path.rfind("internal://", 0) == 0);
        const auto file = dir / "sources" / path.substr(11);
        REQUIRE(fs::exists(file));
        const auto text = test::ReadFile(file);
        CHECK(text.rfind("\xEF\xBB\xBF", 0) == std::string::npos);
        CHECK(text.find('\r') == std::string::npos);
        CHECK(interpret::exchange::IsUtf8(text));
        const auto length = interpret::CodePointLength(text);
        for (const xmlNode* s = n->children; s; s = s->next) {
            if (!Named(s, "PlainTextSelection")) continue;
            const int64_t start = std::stoll(Attr(s, "startPosition")), end = std::stoll(Attr(s, "endPosition"));
            REQUIRE(0 <= start);
            REQUIRE(start <= end);
            REQUIRE(end <= length);
            const auto excerpt = interpret::CodePointSlice(text, start, end);
            CHECK(Attr(s, "name") == excerpt);
            for (const xmlNode* c = s->children; c; c = c->next)
                if (Named(c, "Coding")) CHECK(store.Get(Attr(c, "guid"))->value("excerpt", "") == excerpt);
        }
    });
    return codings;
}

/// The code of the RecordError `work` throws, or "" when it throws none.
template <typename F>
std::string ErrorCode(F&& work) {
    try {
        work();
    } catch (const storage::RecordError& e) {
        return e.Code();
    }
    return {};
}

/// A .qdpx of `files` (name -> content), written by libzip as any tool would.
std::string Zip(const std::map<std::string, std::string>& files) {
    interpret::exchange::ZipWriter zip;
    for (const auto& [name, content] : files) zip.Add(name, content);
    return zip.Finish();
}

/// RFC 4180 rows of `csv` (after its byte-order mark).
std::vector<std::vector<std::string>> ParseCsv(const std::string& csv) {
    std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
    bool quoted = false;
    for (size_t i = 3; i < csv.size(); ++i) {
        const char c = csv[i];
        if (quoted) {
            if (c == '"' && i + 1 < csv.size() && csv[i + 1] == '"') rows.back().back() += '"', ++i;
            else if (c == '"') quoted = false;
            else rows.back().back() += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            rows.back().emplace_back();
        } else if (c == '\r' && i + 1 < csv.size() && csv[i + 1] == '\n') {
            ++i;
            rows.emplace_back(1);
        } else {
            rows.back().back() += c;
        }
    }
    if (rows.back().size() == 1 && rows.back()[0].empty()) rows.pop_back();
    return rows;
}

std::string SampleQdpx() {
    const std::string dir = REFI + "/samples/hand-authored";
    return Zip({{"project.qde", test::ReadFile(dir + "/project.qde")},
                {"sources/11111111-1111-1111-1111-111111111111.txt",
                 test::ReadFile(dir + "/sources/11111111-1111-1111-1111-111111111111.txt")}});
}

} // namespace

TEST_CASE("A .qdpx export is valid REFI-QDA and every selection reads its excerpt", "[interpret][exchange]") {
    Project p;
    const auto exported = interpret::ExportQdpx(p.Records(), WithAudio());
    test::TempDir dir;
    Unzip(exported.bytes, dir.Path());
    const auto x = dir / "x";
    CHECK(Validate(x / "project.qde", "Project-mrt2019.xsd") == 0);
    const auto codings = CheckProject(x, p.store);
    CHECK(codings == std::set<std::string>(p.quotable_codings.begin(), p.quotable_codings.end()));
    CHECK(exported.summary.codings == static_cast<int64_t>(p.quotable_codings.size()));
    CHECK(exported.summary.sources == 3); // n1, the field note, the segment
    CHECK(exported.summary.cases == 2);
    CHECK(exported.summary.audio == 1);
    CHECK(fs::exists(x / "sources" / (p.recording + ".ogg")));

    const auto qde = test::ReadFile(x / "project.qde");
    // Code points: "Mi tierra es mía." starts at 9 after "Señora 😀" and one newline.
    CHECK(qde.find("startPosition=\"9\" endPosition=\"26\"") != std::string::npos);
    CHECK(qde.find("name=\"😀\" startPosition=\"7\" endPosition=\"8\"") != std::string::npos);
    CHECK(qde.find("name=\"Cafe\xCC\x81\" startPosition=\"27\" endPosition=\"32\"") != std::string::npos);
    CHECK(qde.find("name=\"=SUM(1)\" startPosition=\"39\" endPosition=\"46\"") != std::string::npos);
    // Hierarchy, colour, the retired code kept but not offered for coding.
    CHECK(qde.find("<Code guid=\"" + p.tierra + "\" name=\"Tierra &amp; &quot;agua&quot;\" isCodable=\"true\" "
                   "color=\"#1F77B4\"><Code guid=\"" + p.propiedad) != std::string::npos);
    CHECK(qde.find("<Description>Quién &lt;posee&gt;</Description>") != std::string::npos);
    CHECK(qde.find("<Code guid=\"" + p.viejo + "\" name=\"Viejo\" isCodable=\"true\"") != std::string::npos);
    // Cases carry the groups; memos are notes; the transcript has sync points.
    CHECK(qde.find("<Case guid=\"" + p.ana + "\" name=\"Ana\">") != std::string::npos);
    CHECK(qde.find("<TextValue>migrante; indígena</TextValue>") != std::string::npos);
    CHECK(qde.find("<PlainTextContent>Dice &quot;tierra&quot;, propia,&#10;y suya</PlainTextContent>") !=
          std::string::npos);
    CHECK(qde.find("timeStamp=\"4000\" position=\"15\"") != std::string::npos);
    CHECK(test::ReadFile(x / "sources" / (p.n1 + ".txt")) == "Señora 😀\nMi tierra es mía.\nCafe\xCC\x81, \"sí\"\n=SUM(1)");
}

TEST_CASE("A quote without consent to quote verbatim is in no export", "[interpret][exchange][consent]") {
    Project p;
    const auto records = p.Records();
    const auto qdpx = interpret::ExportQdpx(records, WithAudio());
    const auto csv = interpret::ExportExcerptsCsv(records);
    const auto qdc = interpret::ExportQdc(records);
    test::TempDir dir;
    Unzip(qdpx.bytes, dir.Path());
    // The canary is in the vault, and in no file of any export.
    CHECK(p.store.Get(p.n2)->value("text", "").find(CANARY) != std::string::npos);
    CHECK(test::FilesContaining(dir / "x", CANARY).empty());
    CHECK(test::FilesContaining(dir / "x", "Nos pagan tarde").empty());
    CHECK(csv.bytes.find(CANARY) == std::string::npos);
    CHECK(csv.bytes.find("Nos pagan") == std::string::npos);
    CHECK(qdc.bytes.find(CANARY) == std::string::npos);
    CHECK(!fs::exists(dir / "x" / "sources" / (p.n2 + ".txt")));
    // Each export says what it left out.
    CHECK(qdpx.summary.withheld_sources == std::vector<std::string>{p.n2});
    CHECK(qdpx.summary.withheld_codings == 1);
    CHECK(test::ReadFile(dir / "x" / "project.qde").find("left out of this export") != std::string::npos);
    CHECK(csv.summary.withheld_sources == std::vector<std::string>{p.n2});

    SECTION("consent withdrawn after quoting was given") {
        for (const auto& c : p.store.List("consent"))
            if (c["participant_id"] == p.ana)
                p.store.Update(c["id"], {{"status", "withdrawn"}, {"withdrawn_at", "2026-01-02"}});
        const auto again = interpret::ExportQdpx(p.Records(), WithAudio());
        CHECK(again.summary.sources == 1); // the field note only
        CHECK(again.summary.audio == 0);
        CHECK(again.summary.withheld_audio == std::vector<std::string>{p.recording});
        test::TempDir d2;
        Unzip(again.bytes, d2.Path());
        CHECK(test::FilesContaining(d2 / "x", "Mi tierra").empty());
        CHECK(test::FilesContaining(d2 / "x", "OggS").empty());
        CHECK(Validate(d2 / "x" / "project.qde", "Project-mrt2019.xsd") == 0);
    }
}

TEST_CASE("A codebook exports as a valid .qdc", "[interpret][exchange]") {
    Project p;
    const auto qdc = interpret::ExportQdc(p.Records());
    test::TempDir dir;
    test::WriteFile(dir / "codebook.qdc", qdc.bytes);
    CHECK(Validate(dir / "codebook.qdc", "Codebook-mrt2019.xsd") == 0);
    CHECK(qdc.summary.codes == 3);
    CHECK(qdc.bytes.find("<MemberCode guid=\"" + p.tierra + "\"/>") != std::string::npos);

    test::ProjectStore empty;
    CHECK(ErrorCode([&] { (void)interpret::ExportQdc(interpret::ProjectRecords::FromStore(empty.store, empty.project)); }) ==
          storage::errc::QDA_EMPTY_CODEBOOK);
}

TEST_CASE("The CSV of excerpts has one RFC 4180 row per coding", "[interpret][exchange]") {
    Project p;
    const auto csv = interpret::ExportExcerptsCsv(p.Records());
    REQUIRE(csv.bytes.rfind("\xEF\xBB\xBF", 0) == 0);
    const auto rows = ParseCsv(csv.bytes);
    REQUIRE(rows.size() == 1 + p.quotable_codings.size() + p.withheld_codings.size());
    const auto& header = rows[0];
    const auto column = [&](const std::string& name) {
        return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
    };
    std::map<std::string, std::vector<std::string>> by_id;
    for (size_t i = 1; i < rows.size(); ++i) {
        REQUIRE(rows[i].size() == header.size());
        by_id[rows[i][column("coding_id")]] = rows[i];
    }
    const auto& first = by_id.at(p.quotable_codings[0]);
    CHECK(first[column("excerpt")] == "Mi tierra es mía.");
    CHECK(first[column("memo")] == "Dice \"tierra\", propia,\ny suya");
    CHECK(first[column("code")] == "Tierra & \"agua\"");
    CHECK(first[column("participants")] == "Ana");
    CHECK(first[column("vulnerability_groups")] == "migrante, indígena");
    CHECK(first[column("territory")] == "Nariño");
    CHECK(first[column("start")] == "9");
    CHECK(first[column("end")] == "26");
    CHECK(by_id.at(p.quotable_codings[4])[column("memo")] == "'=cmd"); // no formula for a spreadsheet
    CHECK(by_id.at(p.quotable_codings[4])[column("excerpt")] == "'=SUM(1)");
    CHECK(by_id.at(p.quotable_codings[3])[column("excerpt")] == "Cafe\xCC\x81");
    const auto& withheld = by_id.at(p.withheld_codings[0]);
    CHECK(withheld[column("excerpt")] == interpret::WITHHELD);
    CHECK(withheld[column("memo")] == interpret::WITHHELD);
    CHECK(withheld[column("participants")] == "Beto");
    CHECK(interpret::CsvCell("a,b") == "\"a,b\"");
    CHECK(interpret::CsvCell("uno\r\ndos") == "\"uno\r\ndos\"");
    CHECK(interpret::CsvCell("plain") == "plain");
}

TEST_CASE("Export then import into a fresh project keeps every coding", "[interpret][exchange][import]") {
    Project p;
    const auto qdpx = interpret::ExportQdpx(p.Records(), WithAudio());

    SECTION("a fresh vault whose sources hold the same words (CRLF, a byte-order mark) matches them by text") {
        test::ProjectStore fresh;
        const std::string n1 = fresh.store.Create(
            "narrative", {{"project_id", fresh.project},
                          {"title", "Otra"},
                          {"text", "Señora 😀\r\nMi tierra es mía.\r\nCafe\xCC\x81, \"sí\"\r\n=SUM(1)"}})["id"];
        const std::string note =
            fresh.store.Create("field_note", {{"project_id", fresh.project}, {"text", "El mercado abre a las 5."}})["id"];
        const std::string interview =
            fresh.store.Create("interview", {{"project_id", fresh.project}, {"kind", "informal"}})["id"];
        const std::string segment = fresh.store.Create("transcript_segment", {{"project_id", fresh.project},
                                                                              {"interview_id", interview},
                                                                              {"start_ms", 0},
                                                                              {"end_ms", 1},
                                                                              {"text", "Sembramos café."}})["id"];
        const auto report = interpret::ImportQda(fresh.store, fresh.project, qdpx.bytes, "export.qdpx");
        CHECK(report.format == "qdpx");
        CHECK(report.codes_created.size() == 3);
        CHECK(report.codings_stored.size() == p.quotable_codings.size());
        CHECK(report.skipped.empty());
        CHECK(report.sources_matched == 3);
        // The same ids: a later import of the same file finds them.
        for (const auto& id : p.quotable_codings) {
            const auto original = p.store.Get(id);
            const auto copy = fresh.store.Get(id);
            REQUIRE(copy);
            CHECK((*copy)["code_id"] == (*original)["code_id"]);
            CHECK((*copy)["start"] == (*original)["start"]);
            CHECK((*copy)["end"] == (*original)["end"]);
            CHECK((*copy)["excerpt"] == (*original)["excerpt"]);
            CHECK(copy->value("memo", "") == original->value("memo", ""));
        }
        CHECK(fresh.store.Get(p.propiedad)->value("parent_id", "") == p.tierra);
        CHECK(fresh.store.Get(p.tierra)->value("colour", "") == "#1f77b4");
        CHECK(fresh.store.Get(p.tierra)->value("kind", "") == "need");
        CHECK(fresh.store.Get(p.propiedad)->value("kind", "") == "value");
        CHECK(interpret::CodingsOf(fresh.store, n1).size() == 5);
        CHECK(interpret::CodingsOf(fresh.store, note).size() == 1);
        CHECK(interpret::CodingsOf(fresh.store, segment).size() == 1);

        const auto again = interpret::ImportQda(fresh.store, fresh.project, qdpx.bytes, "export.qdpx");
        CHECK(again.codes_created.empty());
        CHECK(again.codes_reused.size() == 3);
        CHECK(again.codings_stored.empty());
        CHECK(again.skipped.size() == p.quotable_codings.size());
        for (const auto& s : again.skipped) CHECK(s.reason == "already_coded");
    }
    SECTION("the same project matches by GUID and stores nothing twice") {
        const auto report = interpret::ImportQda(p.store, p.project, qdpx.bytes, "export.qdpx");
        CHECK(report.codes_reused.size() == 3);
        CHECK(report.codings_stored.empty());
    }
    SECTION("a source without matching words is reported, not guessed") {
        test::ProjectStore fresh;
        const auto report = interpret::ImportQda(fresh.store, fresh.project, qdpx.bytes, "export.qdpx");
        CHECK(report.codings_stored.empty());
        CHECK(report.codes_created.size() == 3);
        CHECK(report.skipped.size() == 6); // one per selection
        for (const auto& s : report.skipped) CHECK(s.reason == "source_not_matched");
    }
}

TEST_CASE("Files written by other tools import", "[interpret][exchange][import]") {
    test::ProjectStore v;
    const std::string text = "Diet and health are closely linked in this interview.";
    const std::string n = v.store.Create("narrative", {{"project_id", v.project}, {"title", "I1"}, {"text", text}})["id"];

    SECTION("a hand-written project with every element type") {
        const auto report = interpret::ImportQda(v.store, v.project, SampleQdpx(), "sample.qdpx");
        CHECK(report.codes_created.size() == 4);
        REQUIRE(report.codings_stored.size() == 2);
        const auto health = v.store.Get("20000000-0000-0000-0000-000000000002");
        REQUIRE(health);
        CHECK((*health)["name"] == "Health");
        CHECK((*health)["parent_id"] == "20000000-0000-0000-0000-000000000001");
        CHECK((*health)["colour"] == "#33cc33");
        CHECK((*health)["description"] == "Anything about physical or mental health");
        const auto first = v.store.Get("60000000-0000-0000-0000-000000000001");
        REQUIRE(first);
        CHECK((*first)["excerpt"] == "Diet and health");
        CHECK((*first)["narrative_id"] == n);
        CHECK((*first)["memo"] == "Remember to follow up on diet-related comments."); // a note linked to it
        CHECK(v.store.Get("60000000-0000-0000-0000-000000000002")->value("excerpt", "") == "health are clo");
        int not_text = 0;
        for (const auto& s : report.skipped) not_text += s.reason == "not_text";
        CHECK(not_text == 5); // picture, PDF, transcript, audio and video selections
        CHECK(!report.dropped.empty());
    }
    SECTION("the bare .qde, and a .qdpx with other names for its parts") {
        const std::string dir = REFI + "/samples/hand-authored";
        const auto qde = test::ReadFile(dir + "/project.qde");
        const auto bare = interpret::ImportQda(v.store, v.project, qde, "project.qde");
        CHECK(bare.format == "qde");
        CHECK(bare.codes_created.size() == 4);
        // No text inside a bare .qde: its source is reported.
        CHECK(bare.codings_stored.empty());
        test::ProjectStore w;
        const std::string m =
            w.store.Create("narrative", {{"project_id", w.project}, {"title", "T"}, {"text", text}})["id"];
        // Another tool's GUIDs: upper case, in braces.
        std::string upper = qde;
        const std::string from = "40000000-0000-0000-0000-000000000001";
        for (auto at = upper.find(from); at != std::string::npos; at = upper.find(from, at))
            upper.replace(at, from.size(), "{ABCDEF00-0000-0000-0000-000000000001}");
        const std::string code = "20000000-0000-0000-0000-000000000002";
        for (auto at = upper.find(code); at != std::string::npos; at = upper.find(code, at))
            upper.replace(at, code.size(), "{20000000-0000-0000-0000-0000000000AB}");
        const auto renamed = Zip({{"Trial.QDE", upper},
                                  {"Sources/11111111-1111-1111-1111-111111111111.TXT",
                                   "\xEF\xBB\xBF" + text}});
        const auto report = interpret::ImportQda(w.store, w.project, renamed, "trial.qdpx");
        CHECK(report.codings_stored.size() == 2);
        CHECK(interpret::CodingsOf(w.store, m).size() == 2);
    }
    SECTION("a Taguette codebook (with its invalid empty Sets)") {
        const auto qdc = test::ReadFile(REFI + "/samples/taguette/codebook.qdc");
        const auto report = interpret::ImportQda(v.store, v.project, qdc, "codebook.qdc");
        CHECK(report.format == "qdc");
        CHECK(report.codes_created.size() == 3);
        const auto places = v.store.Get("55bb6892-6f30-5129-8cb8-557a1b12137b");
        REQUIRE(places);
        CHECK((*places)["name"] == "interesting\\places");
        const auto again = interpret::ImportQda(v.store, v.project, qdc, "codebook.qdc");
        CHECK(again.codes_created.empty());
        CHECK(again.codes_reused.size() == 3);
        CHECK(v.store.Count(interpret::CODE_TYPE) == 3);
    }
    SECTION("a code of the same name under the same parent is reused, not duplicated") {
        const std::string mine = interpret::CreateCode(v.store, v.project, {{"name", "interesting"}})["id"];
        const auto qdc = test::ReadFile(REFI + "/samples/taguette/codebook.qdc");
        const auto report = interpret::ImportQda(v.store, v.project, qdc, "codebook.qdc");
        CHECK(report.codes_reused == std::vector<std::string>{mine});
        CHECK(report.codes_created.size() == 2);
    }
}

TEST_CASE("Hostile files are refused whole, with the file and what is wrong", "[interpret][exchange][import]") {
    test::ProjectStore v;
    const std::string text = "Diet and health are closely linked in this interview.";
    v.store.Create("narrative", {{"project_id", v.project}, {"title", "I1"}, {"text", text}});
    const auto refused = [&](const std::string& bytes, interpret::ImportLimits limits = {}) {
        const auto codes = v.store.Count(interpret::CODE_TYPE);
        const auto codings = v.store.Count(interpret::CODING_TYPE);
        std::string code;
        try {
            (void)interpret::ImportQda(v.store, v.project, bytes, "evil.qdpx", limits);
        } catch (const storage::RecordError& e) {
            code = e.Code();
            CHECK(e.Params()["file"] == "evil.qdpx");
        }
        CHECK(v.store.Count(interpret::CODE_TYPE) == codes); // nothing half-imported
        CHECK(v.store.Count(interpret::CODING_TYPE) == codings);
        return code;
    };
    const auto qde = test::ReadFile(REFI + "/samples/hand-authored/project.qde");
    const std::string txt_name = "sources/11111111-1111-1111-1111-111111111111.txt";
    using namespace storage::errc;
    CHECK(refused(Zip({{"project.qde", qde}, {"../../etc/passwd", "x"}})) == QDA_BAD_ENTRY_NAME);
    CHECK(refused(Zip({{"project.qde", qde}, {"/etc/cron.d/x", "x"}})) == QDA_BAD_ENTRY_NAME);
    CHECK(refused(Zip({{"project.qde", qde}, {"sources/..\\..\\x.txt", "x"}})) == QDA_BAD_ENTRY_NAME);
    CHECK(refused(Zip({{txt_name, text}})) == QDA_NO_PROJECT);
    CHECK(refused(Zip({{"a.qde", qde}, {"b.qde", qde}})) == QDA_NO_PROJECT);
    CHECK(refused(Zip({{"project.qde", "<Project name='x'><CodeBook>"}})) == QDA_BAD_XML);
    CHECK(refused(Zip({{"project.qde", "<Sources/>"}})) == QDA_NOT_REFI);
    CHECK(refused("not a file of any kind") == QDA_NOT_ARCHIVE);
    const auto good = SampleQdpx();
    CHECK(refused(good.substr(0, good.size() / 2)) == QDA_NOT_ARCHIVE); // cut short
    // A zip bomb: 4 MiB of zeros deflate to a few KiB.
    interpret::ImportLimits small;
    small.max_entry_bytes = 1 << 20;
    CHECK(refused(Zip({{"project.qde", qde}, {txt_name, std::string(4 << 20, '\0')}}), small) == QDA_TOO_LARGE);
    small = {};
    small.max_entries = 2;
    CHECK(refused(Zip({{"project.qde", qde}, {txt_name, text}, {"sources/b.txt", "b"}}), small) == QDA_TOO_LARGE);
    small = {};
    small.max_elements = 10;
    CHECK(refused(good, small) == QDA_TOO_LARGE);
    // An entry whose declared size lies is caught when read.
    {
        auto lying = Zip({{"project.qde", qde}, {txt_name, text}});
        // The central directory's copy of the text's uncompressed size is 22 bytes before its name.
        const auto at = lying.rfind(txt_name) - 46 + 24;
        lying[at] = static_cast<char>(lying[at] - 5);
        CHECK(!refused(lying).empty());
    }
    // Entity expansion and external entities never reach the parser.
    const std::string laughs = "<?xml version=\"1.0\"?><!DOCTYPE Project [<!ENTITY a \"aaaaaaaaaa\">"
                               "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
                               "<Project xmlns=\"urn:QDA-XML:project:1.0\" name=\"&c;\"/>";
    CHECK(refused(Zip({{"project.qde", laughs}})) == QDA_DTD_REFUSED);
    CHECK(refused("<?xml version=\"1.0\"?><!DOCTYPE CodeBook SYSTEM \"http://example.org/x.dtd\"><CodeBook/>") ==
          QDA_DTD_REFUSED);
    // A valid codebook with a broken coding later: the codes are not kept either.
    std::string broken = qde;
    broken.replace(broken.find("60000000-0000-0000-0000-000000000002\" creatingUser"), 4, "zz00");
    broken.replace(broken.find("targetGUID=\"20000000-0000-0000-0000-000000000003\""), 18, "targetGUID=\"nope-");
    CHECK(refused(Zip({{"project.qde", broken}, {txt_name, text}})) == QDA_BAD_ATTRIBUTE);

    SECTION("a selection past the end of the text is reported and not stored") {
        std::string past = qde;
        past.replace(past.find("startPosition=\"9\" endPosition=\"23\""), 34, "startPosition=\"9\" endPosition=\"99\"");
        const auto report = interpret::ImportQda(v.store, v.project, Zip({{"project.qde", past}, {txt_name, text}}),
                                                 "past.qdpx");
        CHECK(report.codings_stored.size() == 1);
        bool reported = false;
        for (const auto& s : report.skipped)
            reported |= s.reason == "outside_text" && s.start == 9 && s.end == 99 &&
                        s.selection == "50000000-0000-0000-0000-000000000002";
        CHECK(reported);
        CHECK(!v.store.Get("60000000-0000-0000-0000-000000000002"));
    }
    SECTION("a selection whose words differ from the project's text is reported") {
        const auto report = interpret::ImportQda(
            v.store, v.project,
            Zip({{"project.qde", qde}, {txt_name, "Diet and wealth are closely linked in this interview."}}),
            "other.qdpx");
        CHECK(report.codings_stored.empty());
        CHECK(report.skipped.size() >= 2);
    }
}
