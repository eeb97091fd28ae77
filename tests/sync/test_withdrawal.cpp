// A participant's consent withdrawal, end to end: two enrolled devices and a
// real escucha-hq; and work recorded before enrolment, moved into the
// enrolled project through the real escucha-cli.
#include "cli/process.h"
#include "escucha/capture/operations.h"
#include "escucha/interpret/codebook.h"
#include "escucha/interpret/coding.h"
#include "sync/sync_fixture.h"

#include <fstream>
#include <iterator>

using namespace escucha;
using namespace escucha::test;

namespace {

/// A word no other record holds, so finding it anywhere means a leak.
constexpr const char* CANARY = "Quetzalcanario";
constexpr const char* CANARY_WORDS = "Tuncahuancanario";

std::string RawFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool FileHolds(const std::filesystem::path& path, const std::string& text) {
    return std::filesystem::exists(path) && RawFile(path).find(text) != std::string::npos;
}

/// Whether the vault's full-text index still stores `fragment` in its raw
/// segments (a deleted document's words stay there until segments merge).
/// Terms are prefix-compressed: look for the end of a word.
bool IndexHolds(storage::Vault& vault, const std::string& fragment) {
    auto& db = vault.Db();
    auto stmt = db.Prepare("SELECT (SELECT count(*) FROM search_index_segments WHERE instr(block, ?1) > 0) + "
                           "(SELECT count(*) FROM search_index_segdir WHERE instr(root, ?1) > 0)");
    stmt.Bind(1, fragment);
    stmt.Step();
    return stmt.Int(0) > 0;
}

std::string Lower(std::string text) {
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

} // namespace

TEST_CASE("A consent withdrawn on one device is erased there, at HQ and on the other device", "[sync][withdrawal]") {
    Hq hq;
    Device ana(hq, "researcher");
    Device luis(hq, "interpreter");
    REQUIRE(ana.Sync().ok);

    // Ana, in the field: Rosa, her real name, her consent and her words.
    const auto made = capture::CreateParticipant(ana.vault.Records(), ana.Project(), {{"pseudonym", "Rosa"}},
                                                 {{"full_name", "Rosa Elvira Quiñónez"}, {"contact", "+57 300 555"}});
    REQUIRE(made.identity);
    const std::string rosa = made.participant["id"];
    const auto maria = ana.Add("participant", {{"pseudonym", "María"}});
    const auto consent = ana.Add("consent", {{"participant_id", rosa},
                                             {"script_version", "v2"},
                                             {"language", "es"},
                                             {"mode", "oral_recorded"},
                                             {"scopes", {"record_audio", "quote_verbatim"}}});
    const auto interview = ana.Add("interview", {{"kind", "life_journey"}, {"participant_ids", {rosa, maria["id"]}}});
    const auto told = ana.Add("narrative", {{"title", "La deuda"},
                                            {"text", std::string("El patrón nos paga con vales. ") + CANARY},
                                            {"teller_ids", {rosa}}});
    const auto segment = ana.Add("transcript_segment", {{"interview_id", interview["id"]},
                                                        {"start_ms", 0},
                                                        {"end_ms", 4000},
                                                        {"speaker_id", rosa},
                                                        {"text", std::string("Me dijeron ") + CANARY_WORDS}});
    const auto other = ana.Add(
        "narrative", {{"title", "La cosecha"}, {"text", "María cuenta la cosecha"}, {"teller_ids", {maria["id"]}}});
    // Ana codes Rosa's words: the coding keeps them as its excerpt.
    const auto debts =
        interpret::CreateCode(ana.vault.Records(), ana.Project(), {{"name", "Deudas"}, {"kind", "problem"}});
    const std::string told_text = told["text"];
    const auto ana_coding = interpret::CodePassage(
        ana.vault.Records(), {told["id"], 0, interpret::CodePointLength(told_text)}, {debts["id"]});
    REQUIRE(ana_coding.size() == 1);
    REQUIRE(ana_coding[0]["excerpt"].get<std::string>().find(CANARY) != std::string::npos);
    REQUIRE(ana.Sync().ok);

    // Luis, an interpreter, builds a profile on Rosa's narrative.
    REQUIRE(luis.Sync().ok);
    REQUIRE(luis.vault.Records().Search(Lower(CANARY)).size() == 1);
    const auto profile = luis.Add("profile", {{"kind", "collective"},
                                              {"name", "Cosecheras"},
                                              {"participant_ids", {rosa, maria["id"]}},
                                              {"narrative_ids", {told["id"], other["id"]}}});
    // And codes a passage of her transcribed words.
    const std::string segment_text = segment["text"];
    const auto luis_coding = interpret::CodePassage(
        luis.vault.Records(), {segment["id"], 0, interpret::CodePointLength(segment_text)}, {debts["id"]}, "vales");
    REQUIRE(luis.Sync().ok);

    // Offline, Ana goes on editing Rosa's narrative: that edit must not survive.
    ana.vault.Records().Update(told["id"], {{"text", std::string("Versión corregida ") + CANARY}});

    // Rosa withdraws, and Luis is the one who hears it.
    const auto w = capture::WithdrawConsent(luis.vault.Records(), rosa, "2026-11-30");
    CHECK(w.consent_ids == std::vector<std::string>{consent["id"].get<std::string>()});
    CHECK(w.erased == std::map<std::string, int64_t>{{"narrative", 1}, {"transcript_segment", 1}, {"coding", 2}});
    CHECK(w.flagged == std::vector<std::string>{profile["id"].get<std::string>()});
    const auto luis_report = luis.Sync();
    INFO(luis_report.error);
    REQUIRE(luis_report.ok);
    CHECK(luis_report.rejected == 0);

    // Ana's next sync: her edit is refused (the narrative is gone), then the
    // erasure arrives and takes the refused edit, the identity link and the
    // rest with it.
    (void)ana.Sync();
    const auto ana_report = ana.Sync();
    INFO(ana_report.error);
    CHECK(ana_report.ok);

    for (auto* device : {&ana, &luis}) {
        auto& records = device->vault.Records();
        INFO((device == &ana ? "Ana" : "Luis"));
        CHECK(records.Get(told["id"])->at("deleted") == true);
        CHECK(records.Get(segment["id"])->at("deleted") == true);
        // The codings that quoted her words went with them.
        CHECK(records.Get(ana_coding[0]["id"])->at("deleted") == true);
        CHECK(records.Get(luis_coding[0]["id"])->at("deleted") == true);
        CHECK(records.Get(debts["id"])->at("deleted") == false);
        CHECK(records.Get(other["id"])->at("deleted") == false);
        CHECK(records.Get(consent["id"])->at("status") == "withdrawn");
        CHECK(records.Get(consent["id"])->at("withdrawn_at") == "2026-11-30");
        CHECK(records.Get(rosa)->at("deleted") == false); // the participant's code remains, for the record
        const auto p = *records.Get(profile["id"]);
        CHECK(p["needs_review"] == true);
        CHECK(p["narrative_ids"] == Json::array({other["id"]}));
        CHECK(records.Search(Lower(CANARY)).empty());
        CHECK(records.Search(Lower(CANARY_WORDS)).empty());
        CHECK(records.Search("cosecha").size() == 1);
        CHECK(IndexHolds(device->vault, "secha")); // the check sees words in the index (prefix-compressed)
        CHECK_FALSE(IndexHolds(device->vault, "zalcanario"));
        CHECK_FALSE(IndexHolds(device->vault, "huancanario"));
        CHECK(records.PendingJournal(1000, 0, true).empty()); // no copy left in the outbox, refused or not
        CHECK(device->vault.Db().QueryInt("SELECT count(*) FROM audit WHERE action = 'withdraw_consent'") == 1);
    }
    CHECK(ana.vault.Records().Get(made.identity->at("id"))->at("deleted") == true);

    // Headquarters: the export and the database file (with its log) hold none of it.
    const auto held = hq.Records();
    CHECK(held.count(told["id"]) == 0); // tombstones are not exported
    CHECK(held.count(other["id"]) == 1);
    const auto export_file = hq.dir / "export.json";
    CHECK_FALSE(FileHolds(export_file, CANARY));
    const auto data = hq.dir / "hq";
    // Encrypted at rest (decision 15): no record's text is in its files, erased or kept.
    CHECK_FALSE(FileHolds(data / "hq.db", "La cosecha"));
    CHECK_FALSE(FileHolds(data / "hq.db", CANARY));
    CHECK_FALSE(FileHolds(data / "hq.db-wal", CANARY));
    CHECK_FALSE(FileHolds(data / "hq.db", CANARY_WORDS));
    CHECK_FALSE(FileHolds(data / "hq.db-wal", CANARY_WORDS));
}

TEST_CASE("A withdrawal reaches another device's own records, and only a withdrawn consent erases",
          "[sync][withdrawal]") {
    Hq hq;
    Device ana(hq, "researcher");
    Device luis(hq, "interpreter");
    const auto rosa = ana.Add("participant", {{"pseudonym", "Rosa"}});
    const auto consent = ana.Add(
        "consent", {{"participant_id", rosa["id"]}, {"script_version", "v2"}, {"language", "es"}, {"mode", "written"}});
    const auto hers =
        ana.Add("narrative", {{"title", "La deuda"}, {"text", "Nos pagan con vales"}, {"teller_ids", {rosa["id"]}}});
    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok);

    SECTION("erasing another device's record while the consent is given is refused") {
        luis.vault.Records().Erase(hers["id"], consent["id"]);
        const auto r = luis.Sync();
        CHECK(r.rejected == 1);
        CHECK(hq.Records().count(hers["id"]) == 1);
    }
    SECTION("the device that recorded it erases it when the withdrawal arrives") {
        // Luis holds a narrative of Rosa's that only he recorded; Ana, a field
        // researcher, never sees it.
        const auto his = luis.Add("narrative", {{"title", "El río"}, {"text", CANARY}, {"teller_ids", {rosa["id"]}}});
        REQUIRE(luis.Sync().ok);
        REQUIRE(ana.Sync().ok);
        REQUIRE_FALSE(ana.vault.Records().Get(his["id"]));
        (void)capture::WithdrawConsent(ana.vault.Records(), rosa["id"], "2026-12-01");
        REQUIRE(ana.Sync().ok);
        CHECK(hq.Records().count(hers["id"]) == 0);
        // Luis's device hears of the withdrawal, erases its own copy and sends that on.
        REQUIRE(luis.Sync().ok);
        CHECK(luis.vault.Records().Get(his["id"])->at("deleted") == true);
        CHECK(luis.vault.Records().Get(hers["id"])->at("deleted") == true);
        REQUIRE(luis.Sync().ok);
        CHECK(hq.Records().count(his["id"]) == 0);
        CHECK_FALSE(FileHolds(hq.dir / "hq" / "hq.db", CANARY));
        CHECK_FALSE(FileHolds(hq.dir / "hq" / "hq.db-wal", CANARY));
    }
}

TEST_CASE("Work recorded before enrolment moves into the enrolled project and syncs", "[sync][adoption]") {
    Hq hq;
    TempDir home;
    const auto vault = (home / "vault").string();
    const Env pass = {{"ESCUCHA_PASSPHRASE", "frase de paso larga"}};
    const auto cli = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"--vault", vault});
        auto r = RunCli(args, pass);
        INFO("escucha-cli " << args[2] << ": " << r.out << r.err);
        REQUIRE(r.exit_code == 0);
        return r;
    };
    cli({"init"});
    const auto local = cli({"add", "project", "name=Café Nariño"}).out;
    cli({"add", "participant", "pseudonym=Rosa", "--full-name", "Rosa Quiñónez"});
    cli({"add", "narrative", "title=La deuda", "text=Nos pagan con vales"});
    cli({"add", "field_note", "text=Llegamos a la vereda"});

    SECTION("declined: the records stay here, are not sent and say so") {
        const auto enrolled =
            cli({"enrol", "--server", hq.process.Url(), "--code", hq.Code("researcher"), "--keep-local"});
        CHECK_THAT(enrolled.out, Catch::Contains("4 record(s) in its own project 'Café Nariño'"));
        CHECK_THAT(enrolled.out, Catch::Contains("kept on this device only"));
        const auto synced = cli({"sync"});
        CHECK_THAT(synced.out, Catch::Contains("kept on this device"));
        CHECK(hq.Records().size() == 1); // the project only
        const auto moved = cli({"adopt", "--from", local.substr(0, local.find('\n'))});
        CHECK_THAT(moved.out, Catch::Contains("moved 4 record(s)"));
    }
    SECTION("accepted at enrolment: one operation, then one sync") {
        const auto code = hq.Code("researcher");
        // The code typed as people type it: lower case, spaces.
        std::string typed;
        for (char c : code) typed += c == '-' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto enrolled = cli({"enrol", "--server", hq.process.Url(), "--code", typed, "--adopt"});
        CHECK_THAT(enrolled.out, Catch::Contains("moved 4 record(s)"));
    }
    const auto synced = cli({"sync"});
    CHECK_THAT(synced.out, Catch::Contains("sent 3"));
    const auto held = hq.Records();
    CHECK(held.size() == 4); // the project and three records; the identity link stays here
    for (const auto& [id, r] : held) {
        CHECK(r.value("project_id", r.value("id", "")) == hq.project);
        CHECK(r.value("type", "") != "identity_link");
    }
    const auto projects = cli({"list", "project"});
    CHECK(projects.err == "1 project\n");
    const auto outbox = cli({"outbox"});
    CHECK_THAT(outbox.err, Catch::Contains("0 change(s) waiting, 0 refused"));
}

TEST_CASE("Headquarters lets a coding go with the words it quotes, and nothing else", "[sync][withdrawal]") {
    const auto& catalogue = interpret::AllRecordTypes();
    const Json cause = {{"id", "c1"},
                        {"type", "consent"},
                        {"project_id", "p"},
                        {"status", "withdrawn"},
                        {"participant_id", "rosa"},
                        {"deleted", false}};
    const Json coding = {{"id", "k1"}, {"type", "coding"}, {"project_id", "p"}, {"narrative_id", "n1"}};
    std::map<std::string, Json> held;
    const capture::RecordLookup lookup = [&](const std::string& id) -> std::optional<Json> {
        const auto it = held.find(id);
        if (it == held.end()) return std::nullopt;
        return it->second;
    };
    // Without a way to read the narrative, nothing follows.
    CHECK_FALSE(capture::ErasureFollowsWithdrawal(catalogue, coding, cause));
    // Her narrative, still live: the coding goes with it.
    held["n1"] = {{"id", "n1"}, {"type", "narrative"}, {"project_id", "p"}, {"teller_ids", {"rosa"}}};
    CHECK(capture::ErasureFollowsWithdrawal(catalogue, coding, cause, lookup));
    // Erased already, for this consent: too.
    held["n1"] = {{"id", "n1"}, {"type", "narrative"}, {"project_id", "p"}, {"deleted", true}, {"erased_for", "c1"}};
    CHECK(capture::ErasureFollowsWithdrawal(catalogue, coding, cause, lookup));
    // Deleted for another reason, someone else's narrative, or another project: no.
    held["n1"]["erased_for"] = "c2";
    CHECK_FALSE(capture::ErasureFollowsWithdrawal(catalogue, coding, cause, lookup));
    held["n1"] = {{"id", "n1"}, {"type", "narrative"}, {"project_id", "p"}, {"teller_ids", {"maria"}}};
    CHECK_FALSE(capture::ErasureFollowsWithdrawal(catalogue, coding, cause, lookup));
    held["n1"] = {{"id", "n1"}, {"type", "narrative"}, {"project_id", "q"}, {"teller_ids", {"rosa"}}};
    CHECK_FALSE(capture::ErasureFollowsWithdrawal(catalogue, coding, cause, lookup));
}
