// Edits of one record made before a push travel as one change (issue 14,
// docs/decisions/0018): against a real escucha-hq, exactly once, merged
// against the revision the edits started from.
#include "sync/fault_proxy.h"
#include "sync/sync_fixture.h"

using namespace escucha::test;
using escucha::sync::Json;

namespace {

/// Two interpreters who both hold one collective profile, synced.
struct SharedProfile {
    Hq hq;
    Device ana{hq, "interpreter"};
    Device luis{hq, "interpreter"};
    std::string id;
    SharedProfile() {
        id = ana.Add("profile", {{"kind", "collective"}, {"name", "Recolectoras"}, {"context", "inicio"}})["id"];
        REQUIRE(ana.Sync().ok);
        REQUIRE(luis.Sync().ok);
    }
};

} // namespace

TEST_CASE("Fifty autosaves of a narrative wait and travel as one change; headquarters holds the last", "[sync]") {
    Hq hq;
    Device ana(hq, "researcher");
    const auto story = ana.Add("narrative", {{"title", "La cosecha"}, {"text", "Empezó"}});
    REQUIRE(ana.Sync().ok);
    std::string text = "Empezó";
    for (int i = 0; i < 50; ++i) {
        text += " con la lluvia, palabra " + std::to_string(i) + ".";
        ana.vault.Records().Update(story["id"], {{"text", text}});
    }
    CHECK(ana.vault.Records().PendingJournalCount() == 1);
    const auto report = ana.Sync();
    REQUIRE(report.ok);
    CHECK(report.acknowledged == 1);
    CHECK(report.conflicts == 0);
    CHECK(hq.Records().at(story["id"])["text"] == text);
    RequireSameAsHq(hq, ana.vault);
}

TEST_CASE("Autosaves of a shared profile made as one change merge with another device's edit", "[sync]") {
    SharedProfile shared;
    auto& [hq, ana, luis, id] = shared;
    // Ana writes the context for a while; Luis adds a need and syncs first.
    std::string context = "Trabajan";
    for (int i = 0; i < 50; ++i) {
        context += " por arroba " + std::to_string(i);
        ana.vault.Records().Update(id, {{"context", context}});
    }
    REQUIRE(ana.vault.Records().PendingJournalCount() == 1);
    luis.vault.Records().Update(id, {{"needs", {"guardería"}}});
    REQUIRE(luis.Sync().ok);
    const auto pushed = ana.Sync();
    REQUIRE(pushed.ok);
    CHECK(pushed.acknowledged == 1);
    CHECK(pushed.conflicts == 0); // each changed another field of the same base
    REQUIRE(luis.Sync().ok);
    auto at_hq = hq.Records().at(id);
    CHECK(at_hq["context"] == context);
    CHECK(at_hq["needs"] == Json::array({"guardería"}));
    for (auto* d : {&ana, &luis}) {
        const auto merged = *d->vault.Records().Get(id);
        CHECK(merged["context"] == context);
        CHECK(merged["needs"] == Json::array({"guardería"}));
        CHECK(merged["rev"] == at_hq["rev"]);
        CHECK(d->vault.Records().ListConflicts().empty());
    }
    // Ana goes on from the merge: Luis's need stays.
    ana.vault.Records().Update(id, {{"context", context + ", y migran"}});
    REQUIRE(ana.Sync().ok);
    at_hq = hq.Records().at(id);
    CHECK(at_hq["context"] == context + ", y migran");
    CHECK(at_hq["needs"] == Json::array({"guardería"}));
    RequireSameAsHq(hq, ana.vault);
}

TEST_CASE("An edit made while a push of the same record is in flight goes as a change of its own", "[sync]") {
    Hq hq;
    FaultProxy proxy(hq.process.Port());
    Device ana(hq, "researcher", "http://127.0.0.1:" + std::to_string(proxy.Port()));
    const auto story = ana.Add("narrative", {{"title", "La cosecha"}, {"text", "uno"}});
    REQUIRE(ana.Sync().ok);
    for (const auto* text : {"uno dos", "uno dos tres"}) ana.vault.Records().Update(story["id"], {{"text", text}});
    // Headquarters commits the push, the device never hears it: its outcome
    // is unknown to the device, so the change stays in flight.
    proxy.Inject(Fault::CutResponse, 0);
    const auto cut = ana.Sync();
    REQUIRE_FALSE(cut.ok);
    REQUIRE(proxy.FaultsLeft() == 0);
    REQUIRE(hq.Records().at(story["id"])["text"] == "uno dos tres");
    const auto in_flight = ana.vault.Records().PendingJournal(10);
    REQUIRE(in_flight.size() == 1);
    CHECK(in_flight[0].sent);

    // Edits now must not join the change headquarters already holds under
    // its id: a replay of it is answered "duplicate" and its body not read.
    for (const auto* text : {"uno dos tres cuatro", "uno dos tres cuatro cinco"})
        ana.vault.Records().Update(story["id"], {{"text", text}});
    const auto rows = ana.vault.Records().PendingJournal(10);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].change_id == in_flight[0].change_id);
    CHECK(Json::parse(rows[0].body)["text"] == "uno dos tres");
    CHECK(rows[1].change_id != in_flight[0].change_id);
    CHECK(rows[1].base_rev == in_flight[0].rev);

    const auto healed = ana.Sync();
    INFO(healed.error);
    REQUIRE(healed.ok);
    CHECK(healed.acknowledged == 2); // the one in flight (a duplicate), then the later one
    CHECK(healed.conflicts == 0);
    CHECK(hq.Records().at(story["id"])["text"] == "uno dos tres cuatro cinco");
    RequireSameAsHq(hq, ana.vault);
}

TEST_CASE("An edit made between two batches of a push joins the change still waiting and goes in that push",
          "[sync]") {
    Hq hq;
    Device ana(hq, "researcher");
    REQUIRE(ana.Sync().ok);
    // More than one batch: the record edited is in the second.
    std::vector<std::string> ids;
    for (int i = 0; i < 300; ++i) ids.push_back(ana.Add("field_note", {{"text", "nota " + std::to_string(i)}})["id"]);
    escucha::sync::SyncClient client(ana.vault);
    auto other = ana.vault.OpenAnother(); // the app's vault thread, beside the sync thread
    int batches = 0;
    client.OnProgress([&](const escucha::sync::SyncProgress& p) {
        if (p.changes_sent > 0 && batches++ == 0) other.Records().Update(ids.back(), {{"text", "nota editada"}});
    });
    const auto report = client.SyncOnce();
    REQUIRE(report.ok);
    CHECK(batches >= 1);
    CHECK(report.acknowledged == 300);
    CHECK(hq.Records().at(ids.back())["text"] == "nota editada");
    RequireSameAsHq(hq, ana.vault);
}

TEST_CASE("An edit made on headquarters' version, pulled over an edit still waiting, keeps both", "[sync]") {
    SharedProfile shared;
    auto& [hq, ana, luis, id] = shared;
    // Ana writes the context; before she pushes it, a pull brings Luis's
    // need, and her record is headquarters' version again.
    ana.vault.Records().Update(id, {{"context", "Trabajan por arroba"}});
    // (Luis's revision must be newer than hers: he edits twice.)
    luis.vault.Records().Update(id, {{"needs", {"agua"}}});
    REQUIRE(luis.Sync().ok);
    luis.vault.Records().Update(id, {{"needs", {"guardería"}}});
    REQUIRE(luis.Sync().ok);
    REQUIRE(escucha::sync::SyncClient(ana.vault).PullOnly().ok);
    REQUIRE(ana.vault.Records().Get(id)->at("needs") == Json::array({"guardería"}));
    // She goes on editing on that version: her context waits apart.
    ana.vault.Records().Update(id, {{"name", "Recolectoras de café"}});
    CHECK(ana.vault.Records().PendingJournal(10).size() == 2);
    const auto pushed = ana.Sync();
    INFO(pushed.error);
    REQUIRE(pushed.ok);
    REQUIRE(luis.Sync().ok);
    const auto at_hq = hq.Records().at(id);
    CHECK(at_hq["context"] == "Trabajan por arroba");
    CHECK(at_hq["needs"] == Json::array({"guardería"}));
    CHECK(at_hq["name"] == "Recolectoras de café");
    for (auto* d : {&ana, &luis}) {
        const auto merged = *d->vault.Records().Get(id);
        CHECK(merged["context"] == "Trabajan por arroba");
        CHECK(merged["needs"] == Json::array({"guardería"}));
        CHECK(merged["name"] == "Recolectoras de café");
    }
    RequireSameAsHq(hq, ana.vault);
}
