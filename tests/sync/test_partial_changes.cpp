// An edit of a record headquarters has sends only the members it changed
// (issue 14, docs/decisions/0027), against a real escucha-hq: what lands is
// the whole record, exactly once; a headquarters that does not hold the
// revision the edit was made on asks for the record whole; and a partial
// change cannot do what a whole one may not.
#include "escucha/storage/error_code.h"
#include "escucha/sync/hq_api.h"
#include "sync/fault_proxy.h"
#include "sync/sync_fixture.h"

#include <filesystem>
#include <random>

using namespace escucha;
using namespace escucha::test;
using sync::Json;

namespace {

/// About `bytes` of Spanish-like words in no set order: text that compresses
/// as testimony does, not as a repeated phrase would.
std::string LongText(size_t bytes, unsigned seed) {
    static const std::vector<std::string> words = {
        "la",      "cosecha", "empezó",  "con",    "lluvia",  "pagan",     "por",    "arroba", "y",
        "el",      "peso",    "no",      "se",     "ve",      "trabajamos", "desde", "las",    "cinco",
        "mañana",  "café",    "finca",   "patrón", "niños",   "escuela",   "camino", "río",    "deuda",
        "jornal",  "semana",  "mujeres", "cocina", "pueblo",  "bus",       "salud",  "agua",   "tierra"};
    std::mt19937 random(seed);
    std::string out;
    while (out.size() < bytes) {
        out += words[random() % words.size()];
        out += random() % 9 == 0 ? ". " : " ";
    }
    return out;
}

/// What one sync sent through `proxy`, in bytes.
size_t BytesOfSync(Device& device, FaultProxy& proxy, sync::SyncReport* report = nullptr) {
    const auto before = proxy.BytesFromClient();
    const auto r = device.Sync();
    INFO(r.error);
    CHECK(r.ok);
    if (report) *report = r;
    return proxy.BytesFromClient() - before;
}

/// A researcher whose device reaches headquarters through a proxy that
/// counts bytes, with a 20 KB narrative pushed.
struct NarrativeAtHq {
    Hq hq;
    FaultProxy proxy{hq.process.Port()};
    Device ana{hq, "researcher", "http://127.0.0.1:" + std::to_string(proxy.Port())};
    std::string text;
    std::string id;
    size_t created_bytes = 0; ///< sent by the sync that pushed it
    explicit NarrativeAtHq(unsigned seed) : text(LongText(20'000, seed)) {
        id = ana.Add("narrative", {{"title", "La cosecha"}, {"text", text}})["id"];
        created_bytes = BytesOfSync(ana, proxy);
    }
};

} // namespace

TEST_CASE("An edit of one member of a narrative headquarters has sends that member; HQ holds the whole record",
          "[sync]") {
    NarrativeAtHq at(7);
    auto& [hq, proxy, ana, text, id, created] = at;

    ana.vault.Records().Update(id, {{"title", "La cosecha de 2026"}});
    const auto row = ana.vault.Records().PendingJournal(10).back();
    CHECK(row.fields == Json::array({"rev", "title", "updated_at"}));
    sync::SyncReport report;
    const auto partial = BytesOfSync(ana, proxy, &report);
    CHECK(report.acknowledged == 1);
    auto at_hq = hq.Records().at(id);
    CHECK(at_hq["title"] == "La cosecha de 2026");
    CHECK(at_hq["text"] == text);
    CHECK(at_hq == *ana.vault.Records().Get(id));

    // The same edit to a device that does not know HQ takes partial changes:
    // the whole record goes, as before.
    ana.vault.Records().Update(id, {{"title", "La cosecha de 2027"}});
    ana.vault.SetMeta("sync.takes_fields", "");
    const auto whole = BytesOfSync(ana, proxy);
    CHECK(hq.Records().at(id)["title"] == "La cosecha de 2027");
    INFO("created " << created << " B, partial " << partial << " B, whole " << whole << " B");
    CHECK(partial * 3 < whole);
    // The answer said so again: the next edit goes partial.
    CHECK(ana.vault.GetMeta("sync.takes_fields") == "http://127.0.0.1:" + std::to_string(proxy.Port()));
    RequireSameAsHq(hq, ana.vault);
}

TEST_CASE("Headquarters put back from a backup asks for the whole record, which lands in the same sync", "[sync]") {
    NarrativeAtHq at(11);
    auto& [hq, proxy, ana, text, id, created] = at;
    const auto backup = (hq.dir / "backup").string();
    (void)hq.process.Admin({"backup", "--out", backup});

    ana.vault.Records().Update(id, {{"title", "Río arriba"}});
    const auto partial = BytesOfSync(ana, proxy);
    REQUIRE(hq.Records().at(id)["rev"] == 2);

    // Headquarters loses its last hours: it holds revision 1 again, not the
    // revision 2 that the device's next edit is made on.
    hq.process.Stop();
    std::filesystem::remove_all(hq.dir / "hq");
    std::filesystem::rename(backup, hq.dir / "hq");
    hq.process.Restart();
    REQUIRE(hq.Records().at(id)["rev"] == 1);

    ana.vault.Records().Update(id, {{"title", "Río abajo"}});
    REQUIRE(ana.vault.Records().PendingJournal(10).back().base_rev == 2);
    sync::SyncReport report;
    const auto asked_whole = BytesOfSync(ana, proxy, &report);
    CHECK(report.acknowledged == 1);
    CHECK(report.rejected == 0);
    INFO("partial " << partial << " B, then partial and whole " << asked_whole << " B");
    CHECK(asked_whole > 3 * partial); // the text went, after the members alone were refused
    const auto at_hq = hq.Records().at(id);
    CHECK(at_hq["title"] == "Río abajo");
    CHECK(at_hq["text"] == text);
    RequireSameAsHq(hq, ana.vault);
}

TEST_CASE("A partial change can do nothing a whole one may not", "[sync][security]") {
    Hq hq;
    const auto other = hq.process.Admin({"create-project", "Pêcheurs du Sud"});
    Device ana(hq, "researcher");
    Device luis(hq, "researcher");
    const auto secret = ana.Add("narrative", {{"title", "La cosecha"}, {"text", "SECRETO-RELATO de Ana"}});
    const std::string id = secret["id"];
    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok);

    sync::HttpClient http;
    const auto token = luis.vault.GetMeta("sync.token").value();
    const auto push = [&](const Json& change) {
        return http.Post(hq.process.Url() + "/v1/push", Json{{"changes", {change}}}.dump(), token);
    };
    const auto hlc = storage::HlcTimestamp{storage::SystemMillis(), 0}.ToString();
    // With the digest of what these members make of the record as it is at
    // headquarters, as a device that holds it would send.
    const auto at_hq = hq.Records().at(id);
    const auto partial = [&](Json fields) {
        Json change = {{"change_id", storage::NewUuidV7()},
                       {"record_type", "narrative"},
                       {"record_id", id},
                       {"rev", 2},
                       {"op", "upsert"},
                       {"hlc", hlc},
                       {"base_rev", 1},
                       {"fields", fields}};
        sync::Change c;
        c.fields = fields.is_object() ? fields : Json::object();
        change["digest"] = sync::RecordDigest(sync::ApplyFields(at_hq, c));
        return change;
    };
    const auto status_of = [](const sync::HttpResult& r) {
        INFO(r.body);
        REQUIRE(r.status == 200);
        return Json::parse(r.body)["results"][0];
    };

    // Luis may not read Ana's narrative. Not knowing it, he cannot make the
    // digest: he is asked for a whole record, as for one that does not
    // exist.
    auto guessed = partial({{"title", "mío"}, {"rev", 2}, {"updated_at", hlc}});
    guessed["digest"] = std::string(32, '0');
    const auto blind = push(guessed);
    CHECK(blind.body.find("SECRETO") == std::string::npos);
    CHECK(status_of(blind)["status"] == "send_whole");
    auto nowhere = guessed;
    nowhere["record_id"] = storage::NewUuidV7();
    CHECK(status_of(push(nowhere))["status"] == "send_whole");
    // Knowing it changes nothing: a record he may not read answers as one
    // that is not there, so he learns nothing of it.
    const auto stolen = push(partial({{"title", "mío"}, {"rev", 2}, {"updated_at", hlc}}));
    CHECK(status_of(stolen)["status"] == "send_whole");
    for (const auto* answer : {&blind, &stolen}) {
        auto result = status_of(*answer);
        result.erase("change_id");
        auto missing = status_of(push(nowhere));
        missing.erase("change_id");
        CHECK(result == missing);
    }
    // Moved to another project, or at another rev than it says: refused.
    const auto ana_token = ana.vault.GetMeta("sync.token").value();
    const auto as_ana = [&](const Json& change) {
        return http.Post(hq.process.Url() + "/v1/push", Json{{"changes", {change}}}.dump(), ana_token);
    };
    const auto moved = as_ana(partial({{"project_id", other}, {"rev", 2}, {"updated_at", hlc}}));
    CHECK(status_of(moved)["status"] == "rejected");
    CHECK(status_of(moved)["code"] == storage::errc::OTHER_PROJECT);
    const auto other_rev = as_ana(partial({{"title", "otro"}, {"rev", 9}, {"updated_at", hlc}}));
    CHECK(status_of(other_rev)["code"] == storage::errc::BAD_CHANGE);
    // Malformed: refused before anything is read.
    auto no_id = partial({{"title", "x"}});
    no_id["removed"] = {"id"};
    CHECK(as_ana(no_id).status == 400);
    auto deletion = partial({{"deleted", true}});
    deletion["op"] = "delete";
    CHECK(as_ana(deletion).status == 400);
    auto no_base = partial({{"title", "x"}});
    no_base["base_rev"] = 0;
    CHECK(as_ana(no_base).status == 400);
    CHECK(as_ana(partial("un texto")).status == 400);
    auto listed = partial({{"title", "x"}});
    listed["removed"] = {"title"};
    CHECK(as_ana(listed).status == 400);
    auto no_digest = partial({{"title", "x"}});
    no_digest.erase("digest");
    CHECK(as_ana(no_digest).status == 400);
    auto bad_digest = partial({{"title", "x"}});
    bad_digest["digest"] = "ABC";
    CHECK(as_ana(bad_digest).status == 400);

    // Ana's narrative is as she wrote it.
    const auto after = hq.Records().at(id);
    CHECK(after == at_hq);
    CHECK(after["title"] == "La cosecha");
    CHECK(after["rev"] == 1);
    CHECK(after["project_id"] == ana.Project());
}

TEST_CASE("A partial change is rebuilt only over the record the device made it on, and one it may read", "[sync]") {
    const std::string project = storage::NewUuidV7();
    const sync::DeviceInfo ana{storage::NewUuidV7(), project, "P", sync::Role::Researcher, "Ana"};
    const sync::DeviceInfo luis{storage::NewUuidV7(), project, "P", sync::Role::Researcher, "Luis"};
    const Json v1 = {{"id", storage::NewUuidV7()}, {"type", "narrative"},   {"project_id", project},
                     {"title", "Río"},            {"text", "uno dos tres"}, {"created_at", "2026-01-01T00:00:00.000Z"},
                     {"updated_at", "x"},         {"author", "Ana"},        {"device", ana.device_id},
                     {"rev", 1},                  {"deleted", false}};
    sync::StoredRecord current;
    current.body = v1;
    current.rev = 1;
    current.owner_device = ana.device_id;
    current.record_type = "narrative";
    current.project_id = project;
    auto v2 = v1;
    v2["title"] = "Río abajo";
    v2["rev"] = 2;
    v2.erase("text");
    sync::Change change;
    change.change_id = storage::NewUuidV7();
    change.record_type = "narrative";
    change.record_id = v1["id"];
    change.rev = 2;
    change.op = "upsert";
    change.base_rev = 1;
    change.fields = {{"title", "Río abajo"}, {"rev", 2}};
    change.removed = {"text"};
    change.digest = sync::RecordDigest(v2);
    const auto& types = AllTypes();

    const auto rebuilt = sync::RebuildPartial(types, ana, change, &current, nullptr);
    REQUIRE(rebuilt);
    CHECK(rebuilt->body == v2);
    CHECK_FALSE(sync::IsPartial(*rebuilt));
    // The digest does not depend on the order members were written in.
    Json reordered;
    for (auto it = v2.rbegin(); it != v2.rend(); ++it) reordered[it.key()] = it.value();
    CHECK(sync::RecordDigest(reordered) == change.digest);
    // Over the stored revision base_rev, when headquarters is further on.
    auto later = current;
    later.rev = 7;
    later.body["title"] = "otro";
    CHECK(sync::RebuildPartial(types, ana, change, &later, &v1)->body == v2);
    CHECK_FALSE(sync::RebuildPartial(types, ana, change, &later, nullptr));
    // Another version of revision 1 (another device's, under the same number).
    auto theirs = v1;
    theirs["text"] = "otra cosa";
    theirs["author"] = "Luis";
    CHECK_FALSE(sync::RebuildPartial(types, ana, change, &later, &theirs));
    // Not there, deleted, another type or project, or not Luis's to read:
    // the same answer for each.
    CHECK_FALSE(sync::RebuildPartial(types, ana, change, nullptr, nullptr));
    auto gone = current;
    gone.deleted = true;
    CHECK_FALSE(sync::RebuildPartial(types, ana, change, &gone, &v1));
    auto other_type = current;
    other_type.record_type = "field_note";
    CHECK_FALSE(sync::RebuildPartial(types, ana, change, &other_type, &v1));
    auto other_project = current;
    other_project.project_id = storage::NewUuidV7();
    CHECK_FALSE(sync::RebuildPartial(types, ana, change, &other_project, &v1));
    CHECK_FALSE(sync::RebuildPartial(types, luis, change, &current, &v1));
}
