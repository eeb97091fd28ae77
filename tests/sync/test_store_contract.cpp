// One contract for every headquarters store: the same tests run against the
// embedded SQLite store and the PostgreSQL one (a real PostgreSQL 15).
#include "escucha/storage/clock.h"
#include "escucha/storage/error_code.h"
#include "escucha/storage/sqlite.h"
#include "escucha/sync/hq_api.h"
#include "escucha/sync/hq_blobs.h"
#include "sync/store_factories.h"
#include "sync/sync_fixture.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <type_traits>

using namespace escucha;
using namespace escucha::test;
using sync::Json;

namespace {

const std::string FUTURE = "2999-01-01T00:00:00.000Z";

struct Enrolled {
    sync::DeviceInfo device;
    std::string token;
};

Enrolled EnrolIn(sync::HqStore& store, const std::string& project, sync::Role role,
                 const std::string& device_id = storage::NewUuidV7()) {
    const auto code = sync::NewEnrolmentCode();
    store.AddEnrolment(sync::HashSecret(code), project, role, "persona", FUTURE);
    const auto token = sync::NewToken();
    const auto outcome = store.Enrol(sync::HashSecret(code), device_id, "phone", sync::HashSecret(token), "");
    REQUIRE(outcome.result == sync::EnrolResult::Enrolled);
    return {outcome.device, token};
}

Json Body(const std::string& project, const std::string& type, const std::string& id, int64_t rev,
          const std::string& text = "nota") {
    return RecordBody(project, id, text, rev, type);
}

sync::Change ChangeOf(const Json& body, const std::string& change_id = storage::NewUuidV7()) {
    return WholeChange(body, change_id);
}

/// Stores every change as it comes.
sync::Decision ApplyAll(const sync::Change& c, const sync::StoredRecord*, const Json*, const sync::StoredRecord*,
                        const sync::LookupFn&) {
    sync::Decision d;
    d.body = c.body;
    return d;
}

/// A scope that reads anyone's records of `types`.
sync::ReadScope Everything(const sync::DeviceInfo& device, std::vector<std::string> types) {
    return {device.device_id, types, types};
}

/// Pulls from `since` until nothing more comes; every record id in order.
std::vector<std::string> PullAll(sync::HqStore& store, const sync::DeviceInfo& device, const sync::ReadScope& scope,
                                 int64_t& since, int limit) {
    std::vector<std::string> ids;
    for (int page = 0; page < 10'000; ++page) {
        const auto r = store.Pull(device, since, limit, scope);
        CHECK(r.next >= since);
        CHECK(static_cast<int>(r.records.size()) <= limit);
        for (const auto& rec : r.records) ids.push_back(rec["id"]);
        since = r.next;
        if (!r.more) break;
    }
    return ids;
}

} // namespace

TEMPLATE_TEST_CASE("Every store applies a change once and answers a replay with its first result", "[sync][store]",
                   SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    const auto project = store.CreateProject("Café Nariño");
    const auto a = EnrolIn(store, project.id, sync::Role::Researcher);
    const auto b = EnrolIn(store, project.id, sync::Role::Coordinator);
    const auto applied = Body(project.id, "field_note", storage::NewUuidV7(), 1, "primera");
    const auto conflicted = Body(project.id, "field_note", storage::NewUuidV7(), 1, "segunda");
    const auto refused = Body(project.id, "field_note", storage::NewUuidV7(), 1, "tercera");
    const std::vector<sync::Change> batch = {ChangeOf(applied), ChangeOf(conflicted), ChangeOf(refused)};
    const sync::DecideFn decide = [&](const sync::Change& c, const sync::StoredRecord* cur, const Json* base,
                                      const sync::StoredRecord* cause, const sync::LookupFn& lookup) {
        if (c.record_id == conflicted["id"]) {
            sync::Decision d;
            d.status = sync::ItemStatus::Conflict;
            d.reason = "kept the other";
            d.body = c.body;
            d.conflicts.push_back(
                sync::ConflictInfo{0, "field_note", c.record_id, "text", "kept", "lost words", "b", "dev-b", c.hlc});
            return d;
        }
        if (c.record_id == refused["id"])
            return sync::Decision{sync::ItemStatus::Rejected, "no", {}, {}, storage::errc::CLOCK_AHEAD,
                                  Json{{"device_time", "x"}, {"hq_time", "y"}}};
        return ApplyAll(c, cur, base, cause, lookup);
    };
    const auto first = store.ApplyBatch(a.device, batch, decide);
    REQUIRE(first.size() == 3);
    CHECK(first[0].status == sync::ItemStatus::Applied);
    CHECK(first[1].status == sync::ItemStatus::Conflict);
    CHECK(first[2].status == sync::ItemStatus::Rejected);
    CHECK(first[2].code == storage::errc::CLOCK_AHEAD);
    CHECK(store.CountRecords(project.id) == 3); // the project and two notes

    SECTION("a replay answers duplicate, with the first result's cursor, code and parameters, and stores nothing") {
        const auto again = store.ApplyBatch(a.device, batch, [](auto&&...) -> sync::Decision {
            FAIL("a replay must not be decided again");
            return {};
        });
        REQUIRE(again.size() == 3);
        CHECK(again[0].status == sync::ItemStatus::Duplicate);
        CHECK(again[0].server_seq == first[0].server_seq);
        CHECK(again[1].status == sync::ItemStatus::Duplicate);
        CHECK(again[2].status == sync::ItemStatus::Rejected);
        CHECK(again[2].code == storage::errc::CLOCK_AHEAD);
        CHECK(again[2].params == Json{{"device_time", "x"}, {"hq_time", "y"}});
        CHECK(store.CountRecords(project.id) == 3);
    }
    SECTION("another device's change id is refused, and its answer not told") {
        const auto theirs = store.ApplyBatch(b.device, {batch[0]}, ApplyAll);
        REQUIRE(theirs.size() == 1);
        CHECK(theirs[0].status == sync::ItemStatus::Rejected);
        CHECK(theirs[0].code == storage::errc::CHANGE_ID_TAKEN);
        CHECK(theirs[0].server_seq == 0);
    }
    SECTION("a puller gets the stored records and the version a conflict kept aside") {
        int64_t since = 0;
        const auto r = store.Pull(b.device, since, 100, Everything(b.device, {"project", "field_note"}));
        std::set<std::string> ids;
        for (const auto& rec : r.records) ids.insert(rec["id"].get<std::string>());
        CHECK(ids == std::set<std::string>{project.id, applied["id"], conflicted["id"]});
        REQUIRE(r.conflicts.size() == 1);
        CHECK(r.conflicts[0].record_id == conflicted["id"]);
        CHECK(r.conflicts[0].other == "lost words");
        CHECK(r.conflicts[0].kept == "kept");
        // The writer does not get back what it sent as it sent it.
        const auto own = store.Pull(a.device, 0, 100, Everything(a.device, {"project", "field_note"}));
        for (const auto& rec : own.records) CHECK(rec["id"] != applied["id"]);
    }
    SECTION("the stored record is the one decided, with its owner") {
        std::map<std::string, sync::StoredRecord> held;
        store.ForEachRecord(project.id, [&](const sync::StoredRecord& r) { held[r.body["id"]] = r; });
        REQUIRE(held.count(applied["id"]));
        CHECK(held[applied["id"]].body == applied);
        CHECK(held[applied["id"]].owner_device == a.device.device_id);
        CHECK(held[project.id].owner_device == "hq");
        CHECK(held.count(refused["id"]) == 0);
    }
}

TEMPLATE_TEST_CASE("Every store decides each change of a push with what the changes before it wrote",
                   "[sync][store]", SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    const auto project = store.CreateProject("Café Nariño");
    const auto a = EnrolIn(store, project.id, sync::Role::Researcher);
    const auto id = storage::NewUuidV7();
    const auto v1 = Body(project.id, "field_note", id, 1, "uno");
    REQUIRE(store.ApplyBatch(a.device, {ChangeOf(v1)}, ApplyAll)[0].status == sync::ItemStatus::Applied);
    // What the rules were shown for each change, in order.
    std::vector<std::pair<int64_t, std::string>> currents, bases;
    const sync::DecideFn watch = [&](const sync::Change& c, const sync::StoredRecord* cur, const Json* base,
                                     const sync::StoredRecord* cause, const sync::LookupFn& lookup) {
        currents.emplace_back(cur ? cur->rev : 0, cur ? cur->body["text"].get<std::string>() : "");
        bases.emplace_back(base ? (*base)["rev"].get<int64_t>() : 0,
                           base ? (*base)["text"].get<std::string>() : "");
        return ApplyAll(c, cur, base, cause, lookup);
    };
    auto v2 = Body(project.id, "field_note", id, 2, "dos");
    auto v3 = Body(project.id, "field_note", id, 3, "tres");
    const auto other = Body(project.id, "field_note", storage::NewUuidV7(), 1, "otra");
    const auto twice = storage::NewUuidV7();
    // Two edits of one record, a new record, and a change id sent twice.
    const auto r = store.ApplyBatch(a.device, {ChangeOf(v2), ChangeOf(other, twice), ChangeOf(v3), ChangeOf(other, twice)},
                                    watch);
    REQUIRE(r.size() == 4);
    CHECK(r[0].status == sync::ItemStatus::Applied);
    CHECK(r[1].status == sync::ItemStatus::Applied);
    CHECK(r[2].status == sync::ItemStatus::Applied);
    CHECK(r[3].status == sync::ItemStatus::Duplicate);
    CHECK(r[3].server_seq == r[1].server_seq);
    // The second edit saw the first as the record and as its base revision.
    REQUIRE(currents.size() == 3);
    CHECK(currents[0] == std::pair<int64_t, std::string>{1, "uno"});
    CHECK(bases[0] == std::pair<int64_t, std::string>{1, "uno"});
    CHECK(currents[1] == std::pair<int64_t, std::string>{0, ""});
    CHECK(currents[2] == std::pair<int64_t, std::string>{2, "dos"});
    CHECK(bases[2] == std::pair<int64_t, std::string>{2, "dos"});
    std::map<std::string, sync::StoredRecord> held;
    store.ForEachRecord(project.id, [&](const sync::StoredRecord& rec) { held[rec.body["id"]] = rec; });
    CHECK(held[id].body == v3);
    CHECK(held[other["id"]].body == other);
    CHECK(store.CountRecords(project.id) == 3);
}

namespace {

/// Rules that answer by a change's text: "no" is refused, "fusion" merged
/// into a later revision, "choque" stored with a version kept aside, and
/// "mira" stores what the record `looked_at` says when it is decided;
/// anything else is stored as it comes.
sync::Decision ByText(const sync::Change& c, const sync::StoredRecord* cur, const Json* base,
                      const sync::StoredRecord* cause, const sync::LookupFn& lookup, const std::string& looked_at) {
    const auto text = c.body.value("text", "");
    sync::Decision d;
    if (text == "no") return {sync::ItemStatus::Rejected, "no", {}, {}, storage::errc::NOT_ALLOWED, {{"why", "no"}}};
    if (text == "fusion") {
        d.body = c.body;
        d.body["rev"] = c.rev + 1;
        d.body["text"] = "fusionada";
        return d;
    }
    if (text == "choque") {
        d.status = sync::ItemStatus::Conflict;
        d.body = c.body;
        d.conflicts.push_back({0, c.record_type, c.record_id, "text", "choque", "otra", "b", "otro-aparato",
                               c.body["updated_at"]});
        return d;
    }
    if (text == "mira") {
        d.body = c.body;
        const auto seen = lookup(looked_at);
        d.body["text"] = "vio " + (seen ? (*seen)["text"].get<std::string>() : std::string("nada"));
        return d;
    }
    return ApplyAll(c, cur, base, cause, lookup);
}

} // namespace

TEMPLATE_TEST_CASE("Every store holds the same after a push of every kind of change as after its changes one by one",
                   "[sync][store]", SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    store.DeclareBlobFields({{"field_note", {"audio_sha256"}}});
    const std::string gone_sha(64, 'c'), kept_sha(64, 'd');
    // The same push in two projects: at once in one, a change per push in the other.
    struct Side {
        sync::Project project;
        Enrolled who;
        std::map<std::string, std::string> ids; ///< label -> record id
        std::vector<sync::Change> changes;
        std::vector<sync::ItemResult> results;
        std::vector<std::pair<std::string, std::string>> released;
    };
    Side sides[2];
    for (int i = 0; i < 2; ++i) {
        auto& side = sides[i];
        side.project = store.CreateProject(i == 0 ? "De una vez" : "Una por una");
        side.who = EnrolIn(store, side.project.id, sync::Role::Researcher);
        for (const char* label : {"a", "b", "c", "d", "e", "f", "g"}) side.ids[label] = storage::NewUuidV7();
        const auto body = [&](const std::string& label, int64_t rev, const std::string& text) {
            return Body(side.project.id, "field_note", side.ids[label], rev, text);
        };
        auto with_audio = body("b", 1, "con audio");
        with_audio["audio_sha256"] = gone_sha;
        auto erased = body("b", 2, "borrada");
        erased["deleted"] = true;
        auto kept_audio = body("g", 1, "otro audio");
        kept_audio["audio_sha256"] = kept_sha;
        auto merged = ChangeOf(body("c", 2, "fusion"));
        merged.base_rev = 1;
        auto edit = ChangeOf(body("a", 2, "editada"));
        edit.base_rev = 1;
        const auto c_first = ChangeOf(body("c", 1, "nota c"));
        side.changes = {ChangeOf(body("a", 1, "nota a")),
                        ChangeOf(with_audio),
                        c_first,
                        edit,
                        ChangeOf(body("f", 1, "mira")), // reads a as the edit left it
                        ChangeOf(body("d", 1, "no")),
                        ChangeOf(erased),
                        merged,
                        ChangeOf(body("e", 1, "choque")),
                        ChangeOf(c_first.body, c_first.change_id),
                        ChangeOf(kept_audio)};
    }
    const auto apply = [&](Side& side, const std::vector<sync::Change>& changes) {
        const auto looked_at = side.ids["a"];
        const sync::DecideFn rules = [looked_at](const sync::Change& c, const sync::StoredRecord* cur, const Json* base,
                                                 const sync::StoredRecord* cause, const sync::LookupFn& lookup) {
            return ByText(c, cur, base, cause, lookup, looked_at);
        };
        const sync::ReleasedFn on_release = [&side](const std::string& p, const std::string& sha) {
            side.released.emplace_back(p, sha);
        };
        for (auto& r : store.ApplyBatch(side.who.device, changes, rules, on_release)) side.results.push_back(r);
    };
    apply(sides[0], sides[0].changes);
    for (const auto& change : sides[1].changes) apply(sides[1], {change});

    for (auto& side : sides) {
        INFO(side.project.name);
        REQUIRE(side.results.size() == side.changes.size());
        CHECK(side.released == std::vector<std::pair<std::string, std::string>>{{side.project.id, gone_sha}});
        const auto may = [&](const std::string& sha) {
            return store.MayReadBlob(side.who.device, sha, sync::ReadScopeFor(AllTypes(), side.who.device));
        };
        CHECK_FALSE(may(gone_sha));
        CHECK(may(kept_sha));
        // Each applied change has a cursor of its own, in the order of the push.
        int64_t last = 0;
        for (size_t i = 0; i < side.results.size(); ++i) {
            const auto& r = side.results[i];
            if (r.status == sync::ItemStatus::Applied || r.status == sync::ItemStatus::Conflict) {
                CHECK(r.server_seq > last);
                last = r.server_seq;
            }
        }
        // What the merged record's device holds (revision 2) is the base of its next change.
        std::optional<Json> base_seen;
        auto next = ChangeOf(Body(side.project.id, "field_note", side.ids["c"], 4, "después"));
        next.base_rev = 2;
        (void)store.ApplyBatch(side.who.device, {next},
                               [&](const sync::Change& c, const sync::StoredRecord* cur, const Json* base,
                                   const sync::StoredRecord* cause, const sync::LookupFn& lookup) {
                                   if (base) base_seen = *base;
                                   return ApplyAll(c, cur, base, cause, lookup);
                               });
        REQUIRE(base_seen);
        CHECK((*base_seen)["text"] == "fusion");
    }
    // The same answers, in the same order.
    for (size_t i = 0; i < sides[0].results.size(); ++i) {
        const auto &at_once = sides[0].results[i], one_by_one = sides[1].results[i];
        INFO("change " << i);
        CHECK(at_once.status == one_by_one.status);
        CHECK(at_once.reason == one_by_one.reason);
        CHECK(at_once.code == one_by_one.code);
        CHECK(at_once.params == one_by_one.params);
    }
    CHECK(sides[0].results[9].status == sync::ItemStatus::Duplicate);
    CHECK(sides[0].results[9].server_seq == sides[0].results[2].server_seq);
    // The same records, with the same revisions, owners and bodies (each
    // project's ids put back to labels).
    const auto held = [&](Side& side) {
        std::map<std::string, std::string> label_of;
        for (const auto& [label, id] : side.ids) label_of[id] = label;
        std::map<std::string, std::tuple<int64_t, bool, bool, Json>> out;
        store.ForEachRecord(side.project.id, [&](const sync::StoredRecord& r) {
            auto body = r.body;
            const auto id = body.value("id", "");
            if (!label_of.count(id)) return; // the project
            body.erase("id");
            body.erase("project_id");
            body.erase("updated_at");
            out[label_of[id]] = {r.rev, r.deleted, r.owner_device == side.who.device.device_id, body};
        });
        return out;
    };
    const auto at_once = held(sides[0]), one_by_one = held(sides[1]);
    CHECK(at_once == one_by_one);
    CHECK(at_once.size() == 6); // a to g, but d (refused)
    CHECK(std::get<3>(at_once.at("a"))["text"] == "editada");
    CHECK(std::get<1>(at_once.at("b")));
    CHECK(std::get<3>(at_once.at("c"))["text"] == "después");
    CHECK(std::get<3>(at_once.at("f"))["text"] == "vio editada");
    // The version kept aside reaches a puller in both.
    for (auto& side : sides) {
        const auto coordinator = EnrolIn(store, side.project.id, sync::Role::Coordinator);
        const auto pulled = store.Pull(coordinator.device, 0, 100, Everything(coordinator.device, {"field_note"}));
        REQUIRE(pulled.conflicts.size() == 1);
        CHECK(pulled.conflicts[0].record_id == side.ids["e"]);
        CHECK(pulled.conflicts[0].other == "otra");
    }
}

TEMPLATE_TEST_CASE("Every store pages a pull without losing or repeating a record", "[sync][store]",
                   SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    const auto project = store.CreateProject("P");
    const auto writer = EnrolIn(store, project.id, sync::Role::Researcher);
    const auto reader = EnrolIn(store, project.id, sync::Role::Coordinator);
    const auto scope = Everything(reader.device, {"field_note"});
    std::vector<std::string> written;
    for (int batch = 0; batch < 5; ++batch) {
        std::vector<sync::Change> changes;
        for (int i = 0; i < 5; ++i) {
            written.push_back(storage::NewUuidV7());
            changes.push_back(ChangeOf(Body(project.id, "field_note", written.back(), 1)));
        }
        (void)store.ApplyBatch(writer.device, changes, ApplyAll);
    }
    int64_t since = 0;
    CHECK(PullAll(store, reader.device, scope, since, 7) == written);
    // Nothing new: nothing comes, and the cursor stays put or grows.
    const int64_t done = since;
    CHECK(PullAll(store, reader.device, scope, since, 7).empty());
    CHECK(since >= done);
    // A record changed again comes again, once, in its new place.
    auto again = Body(project.id, "field_note", written[3], 2, "otra vez");
    (void)store.ApplyBatch(writer.device, {ChangeOf(again)}, ApplyAll);
    CHECK(PullAll(store, reader.device, scope, since, 7) == std::vector<std::string>{written[3]});
    // The same pages again, from the start, through a second handle (another process).
    int64_t from_start = 0;
    auto ids = PullAll(fixture.Other(), reader.device, scope, from_start, 3);
    std::vector<std::string> expected(written.begin(), written.end());
    expected.erase(expected.begin() + 3);
    expected.push_back(written[3]);
    CHECK(ids == expected);
}

TEMPLATE_TEST_CASE("Every store leaves out what a device may not read before it counts a page", "[sync][store]",
                   SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    const auto project = store.CreateProject("P");
    const auto other_researcher = EnrolIn(store, project.id, sync::Role::Researcher);
    const auto coordinator = EnrolIn(store, project.id, sync::Role::Coordinator);
    const auto me = EnrolIn(store, project.id, sync::Role::Researcher);
    // The one rule, as data: a researcher reads the project, not another researcher's notes.
    const auto scope = sync::ReadScopeFor(AllTypes(), me.device);
    REQUIRE(scope.Allows("project", "hq"));
    REQUIRE_FALSE(scope.Allows("field_note", other_researcher.device.device_id));
    REQUIRE(scope.Allows("field_note", me.device.device_id));
    int64_t since = 0;
    (void)PullAll(store, me.device, scope, since, 10); // the project, as created
    // A page's worth, and more, of notes this device may not read...
    for (int batch = 0; batch < 4; ++batch) {
        std::vector<sync::Change> changes;
        for (int i = 0; i < 10; ++i)
            changes.push_back(ChangeOf(Body(project.id, "field_note", storage::NewUuidV7(), 1, "ajena")));
        (void)store.ApplyBatch(other_researcher.device, changes, ApplyAll);
    }
    // ...then the project renamed by the coordinator, which it may.
    auto renamed = Body(project.id, "project", project.id, 2);
    renamed.erase("project_id");
    renamed["name"] = "Nuevo nombre";
    (void)store.ApplyBatch(coordinator.device, {ChangeOf(renamed)}, ApplyAll);
    // The first page of one holds it: the forty notes did not fill it.
    const auto page = store.Pull(me.device, since, 1, scope);
    REQUIRE(page.records.size() == 1);
    CHECK(page.records[0]["id"] == project.id);
    CHECK(page.records[0]["name"] == "Nuevo nombre");
    for (const auto& rec : page.records) CHECK(rec["text"] != "ajena");
    // And an interpreter reads them all.
    const auto interpreter = EnrolIn(store, project.id, sync::Role::Interpreter);
    int64_t from = 0;
    CHECK(PullAll(store, interpreter.device, sync::ReadScopeFor(AllTypes(), interpreter.device), from, 7).size() ==
          41);
}

TEMPLATE_TEST_CASE("Every store pages a researcher's own records and the shared ones together, in cursor order",
                   "[sync][store]", SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    const auto project = store.CreateProject("P");
    const auto me = EnrolIn(store, project.id, sync::Role::Researcher);
    const auto other = EnrolIn(store, project.id, sync::Role::Researcher);
    const auto coordinator = EnrolIn(store, project.id, sync::Role::Coordinator);
    const auto scope = sync::ReadScopeFor(AllTypes(), me.device);
    int64_t since = 0;
    (void)PullAll(store, me.device, scope, since, 10); // the project, as created
    std::vector<std::string> mine;
    for (int i = 0; i < 4; ++i) {
        mine.push_back(storage::NewUuidV7());
        // Stored as this device sent it: not sent back to it.
        (void)store.ApplyBatch(me.device, {ChangeOf(Body(project.id, "field_note", mine.back(), 1, "mía"))}, ApplyAll);
    }
    const auto others = [&](int n) {
        std::vector<sync::Change> changes;
        for (int i = 0; i < n; ++i)
            changes.push_back(ChangeOf(Body(project.id, "field_note", storage::NewUuidV7(), 1, "ajena")));
        (void)store.ApplyBatch(other.device, changes, ApplyAll);
    };
    const auto edit_mine = [&](int i) {
        (void)store.ApplyBatch(coordinator.device, {ChangeOf(Body(project.id, "field_note", mine[i], 2, "revisada"))},
                               ApplyAll);
    };
    const auto rename = [&](int64_t rev) {
        auto renamed = Body(project.id, "project", project.id, rev);
        renamed.erase("project_id");
        renamed["name"] = "Nombre " + std::to_string(rev);
        (void)store.ApplyBatch(coordinator.device, {ChangeOf(renamed)}, ApplyAll);
    };
    // The device's records changed by another, the shared project renamed,
    // and others' notes between them.
    others(5);
    edit_mine(0);
    rename(2);
    others(3);
    edit_mine(2);
    others(4);
    rename(3);
    edit_mine(3);
    others(2);
    const std::vector<std::string> expected = {mine[0], mine[2], project.id, mine[3]};
    for (int page : {1, 2, 3, 10}) {
        INFO("page of " << page);
        int64_t from = since;
        CHECK(PullAll(store, me.device, scope, from, page) == expected);
        int64_t again = from;
        CHECK(PullAll(store, me.device, scope, again, page).empty());
    }
}

TEMPLATE_TEST_CASE("Every store's pullers end with every record exactly once while writers push",
                   "[sync][store]", SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    const auto project = store.CreateProject("P");
    constexpr int WRITERS = 4, PUSHES = 30, PULLERS = 3;
    std::vector<Enrolled> writers, pullers;
    for (int i = 0; i < WRITERS; ++i) writers.push_back(EnrolIn(store, project.id, sync::Role::Researcher));
    for (int i = 0; i < PULLERS; ++i) pullers.push_back(EnrolIn(store, project.id, sync::Role::Coordinator));
    std::mutex mutex;
    std::set<std::string> written;
    std::atomic<bool> writing{true};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < WRITERS; ++w)
        threads.emplace_back([&, w] {
            for (int i = 0; i < PUSHES; ++i) {
                std::vector<sync::Change> changes;
                for (int k = 0; k <= (w + i) % 4; ++k)
                    changes.push_back(ChangeOf(Body(project.id, "field_note", storage::NewUuidV7(), 1)));
                try {
                    for (const auto& r : store.ApplyBatch(writers[w].device, changes, ApplyAll))
                        if (r.status != sync::ItemStatus::Applied) ++failures;
                } catch (const std::exception&) {
                    ++failures;
                    continue;
                }
                std::lock_guard lock(mutex);
                for (const auto& c : changes) written.insert(c.record_id);
            }
        });
    std::vector<std::map<std::string, int>> seen(PULLERS);
    std::vector<std::thread> reading;
    for (int p = 0; p < PULLERS; ++p)
        reading.emplace_back([&, p] {
            const auto scope = Everything(pullers[p].device, {"field_note"});
            int64_t since = 0;
            const auto drain = [&] {
                for (;;) {
                    const auto page = store.Pull(pullers[p].device, since, 3 + p, scope);
                    for (const auto& rec : page.records) ++seen[p][rec["id"].get<std::string>()];
                    since = page.next;
                    if (!page.more) return;
                }
            };
            while (writing) drain();
            drain(); // every writer has had its answer: what remains comes now
        });
    for (auto& t : threads) t.join();
    writing = false;
    for (auto& t : reading) t.join();
    CHECK(failures == 0);
    REQUIRE(written.size() > static_cast<size_t>(WRITERS * PUSHES));
    for (int p = 0; p < PULLERS; ++p) {
        INFO("puller " << p);
        size_t twice = 0, missing = 0;
        for (const auto& id : written) {
            const auto it = seen[p].find(id);
            if (it == seen[p].end()) ++missing;
            else if (it->second != 1) ++twice;
        }
        CHECK(missing == 0);
        CHECK(twice == 0);
    }
}

TEMPLATE_TEST_CASE("Every store lets a device read a blob only through a live record it may read", "[sync][store]",
                   SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    const auto project = store.CreateProject("P");
    const auto elsewhere = store.CreateProject("Q");
    const auto owner = EnrolIn(store, project.id, sync::Role::Researcher);
    const auto peer = EnrolIn(store, project.id, sync::Role::Researcher);
    const auto interpreter = EnrolIn(store, project.id, sync::Role::Interpreter);
    const auto stranger = EnrolIn(store, elsewhere.id, sync::Role::Coordinator);
    store.DeclareBlobFields({{"field_note", {"audio_sha256"}}});
    const std::string sha(64, 'a'), other_sha(64, 'b');
    auto note = Body(project.id, "field_note", storage::NewUuidV7(), 1);
    note["audio_sha256"] = sha;
    std::vector<std::pair<std::string, std::string>> released;
    const sync::ReleasedFn on_release = [&](const std::string& p, const std::string& s) { released.emplace_back(p, s); };
    (void)store.ApplyBatch(owner.device, {ChangeOf(note)}, ApplyAll, on_release);
    const auto may = [&](const Enrolled& who, const std::string& blob) {
        return store.MayReadBlob(who.device, blob, sync::ReadScopeFor(AllTypes(), who.device));
    };
    CHECK(may(owner, sha));
    CHECK(may(interpreter, sha));
    CHECK_FALSE(may(peer, sha));       // another researcher's recording
    CHECK_FALSE(may(stranger, sha));   // another project
    CHECK_FALSE(may(owner, other_sha)); // named by nothing
    CHECK(released.empty());
    SECTION("a record naming other audio lets the first go") {
        auto next = note;
        next["rev"] = 2;
        next["audio_sha256"] = other_sha;
        (void)store.ApplyBatch(owner.device, {ChangeOf(next)}, ApplyAll, on_release);
        CHECK_FALSE(may(interpreter, sha));
        CHECK(may(interpreter, other_sha));
        CHECK(released == std::vector<std::pair<std::string, std::string>>{{project.id, sha}});
    }
    SECTION("a deleted record names nothing") {
        auto gone = note;
        gone["rev"] = 2;
        gone["deleted"] = true;
        (void)store.ApplyBatch(owner.device, {ChangeOf(gone)}, ApplyAll, on_release);
        CHECK_FALSE(may(owner, sha));
        CHECK(released == std::vector<std::pair<std::string, std::string>>{{project.id, sha}});
    }
    SECTION("blob fields declared again are found in the records already stored") {
        store.DeclareBlobFields({{"field_note", {"other_field"}}});
        CHECK_FALSE(may(owner, sha));
        store.DeclareBlobFields({{"field_note", {"audio_sha256"}}});
        CHECK(may(owner, sha));
    }
}

TEMPLATE_TEST_CASE("Every store enrols a device once per code and shuts a revoked one out", "[sync][store]",
                   SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    const auto project = store.CreateProject("P");
    const auto code = sync::HashSecret("K7QF-M2XD-9PLA-3RTB");
    store.AddEnrolment(code, project.id, sync::Role::Interpreter, "Ana", FUTURE);
    const auto id = storage::NewUuidV7();
    const auto token = sync::HashSecret("token-1");
    const auto first = store.Enrol(code, id, "phone", token, "");
    REQUIRE(first.result == sync::EnrolResult::Enrolled);
    CHECK(first.device.role == sync::Role::Interpreter);
    CHECK(first.device.project_id == project.id);
    CHECK(first.device.project_name == "P");
    CHECK(store.Authenticate(token)->device_id == id);
    CHECK(store.Enrol(code, storage::NewUuidV7(), "", sync::HashSecret("t2"), "").result ==
          sync::EnrolResult::UnknownCode);
    // An expired code is no code.
    store.AddEnrolment(sync::HashSecret("old"), project.id, sync::Role::Coordinator, "", "2000-01-01T00:00:00.000Z");
    CHECK(store.Enrol(sync::HashSecret("old"), storage::NewUuidV7(), "", sync::HashSecret("t3"), "").result ==
          sync::EnrolResult::UnknownCode);
    // An enrolled id is taken over only by the holder of its token.
    store.AddEnrolment(sync::HashSecret("spare"), project.id, sync::Role::Coordinator, "", FUTURE);
    CHECK(store.Enrol(sync::HashSecret("spare"), id, "", sync::HashSecret("t4"), "").result ==
          sync::EnrolResult::DeviceTaken);
    CHECK(store.Enrol(sync::HashSecret("spare"), id, "", sync::HashSecret("t4"), sync::HashSecret("wrong")).result ==
          sync::EnrolResult::DeviceTaken);
    const auto renewed = store.Enrol(sync::HashSecret("spare"), id, "", sync::HashSecret("t4"), token);
    CHECK(renewed.result == sync::EnrolResult::Enrolled);
    CHECK_FALSE(store.Authenticate(token)); // the old token died
    REQUIRE(store.Authenticate(sync::HashSecret("t4")));
    CHECK(store.Authenticate(sync::HashSecret("t4"))->role == sync::Role::Coordinator);
    CHECK(store.RevokeDevice(id));
    CHECK_FALSE(store.Authenticate(sync::HashSecret("t4")));
    CHECK_FALSE(fixture.Other().Authenticate(sync::HashSecret("t4")));
    CHECK_FALSE(store.RevokeDevice(storage::NewUuidV7()));
    const auto devices = store.ListDevices(project.id);
    REQUIRE(devices.size() == 1);
    CHECK(devices[0].revoked);
    CHECK(store.FindProject("P")->id == project.id);
    CHECK(store.FindProject(project.id)->name == "P");
    CHECK_FALSE(store.FindProject("nadie"));
}

TEMPLATE_TEST_CASE("Every store keeps a device to its own project and a record to its type", "[sync][store][security]",
                   SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    const auto mine = store.CreateProject("P");
    const auto theirs = store.CreateProject("Q");
    const auto me = EnrolIn(store, mine.id, sync::Role::Coordinator);
    const auto them = EnrolIn(store, theirs.id, sync::Role::Coordinator);
    const auto note = Body(theirs.id, "field_note", storage::NewUuidV7(), 1, "secreto");
    (void)store.ApplyBatch(them.device, {ChangeOf(note)}, ApplyAll);
    // Even rules that would say yes cannot make the store write across projects or types.
    auto hijack = Body(mine.id, "field_note", note["id"], 2, "mío");
    const auto r = store.ApplyBatch(me.device, {ChangeOf(hijack)}, ApplyAll);
    REQUIRE(r.size() == 1);
    CHECK(r[0].status == sync::ItemStatus::Rejected);
    CHECK(r[0].code == storage::errc::NOT_ALLOWED);
    auto retype = Body(theirs.id, "interview", note["id"], 2);
    CHECK(store.ApplyBatch(them.device, {ChangeOf(retype)}, ApplyAll)[0].status == sync::ItemStatus::Rejected);
    // Their record stays as it was, and never reaches my pulls.
    std::map<std::string, Json> held;
    store.ForEachRecord(theirs.id, [&](const sync::StoredRecord& rec) { held[rec.body["id"]] = rec.body; });
    CHECK(held[note["id"]]["text"] == "secreto");
    int64_t since = 0;
    for (const auto& id : PullAll(store, me.device, sync::ReadScopeFor(AllTypes(), me.device), since, 50))
        CHECK(id != note["id"].get<std::string>());
    // A decision the rules reach is what the store keeps: the rules' refusal of a record it may not read.
    const auto decided = store.ApplyBatch(me.device, {ChangeOf(hijack)},
                                          [&](const sync::Change& c, const sync::StoredRecord* cur, const Json* base,
                                              const sync::StoredRecord* cause, const sync::LookupFn& lookup) {
                                              return sync::DecideChange(AllTypes(), me.device, c, cur, base, cause,
                                                                        lookup);
                                          });
    CHECK(decided[0].status == sync::ItemStatus::Rejected);
}

TEMPLATE_TEST_CASE("Every store takes nothing of a push from a change the rules send back whole",
                   "[sync][store]", SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    const auto project = store.CreateProject("Café Nariño");
    const auto a = EnrolIn(store, project.id, sync::Role::Researcher);
    const auto before = Body(project.id, "field_note", storage::NewUuidV7(), 1, "antes");
    const auto asked = Body(project.id, "field_note", storage::NewUuidV7(), 1, "pedida entera");
    const auto after = Body(project.id, "field_note", storage::NewUuidV7(), 1, "después");
    const std::vector<sync::Change> batch = {ChangeOf(before), ChangeOf(asked), ChangeOf(after)};
    int decided = 0;
    const auto r = store.ApplyBatch(a.device, batch,
                                    [&](const sync::Change& c, const sync::StoredRecord* cur, const Json* base,
                                        const sync::StoredRecord* cause, const sync::LookupFn& lookup) {
                                        ++decided;
                                        if (c.record_id == asked["id"]) {
                                            sync::Decision d;
                                            d.status = sync::ItemStatus::SendWhole;
                                            return d;
                                        }
                                        return ApplyAll(c, cur, base, cause, lookup);
                                    });
    REQUIRE(r.size() == 3);
    CHECK(r[0].status == sync::ItemStatus::Applied);
    CHECK(r[1].status == sync::ItemStatus::SendWhole);
    CHECK(r[2].status == sync::ItemStatus::SendWhole); // after it: not even decided
    CHECK(decided == 2);
    CHECK(store.CountRecords(project.id) == 2); // the project and the first note
    // Their change ids were not taken: sent again, they are applied, not duplicates.
    const auto again = store.ApplyBatch(a.device, {batch[1], batch[2]}, ApplyAll);
    REQUIRE(again.size() == 2);
    CHECK(again[0].status == sync::ItemStatus::Applied);
    CHECK(again[1].status == sync::ItemStatus::Applied);
    CHECK(store.CountRecords(project.id) == 4);
}

TEMPLATE_TEST_CASE("Every store keeps the record a device holds as the rules rebuilt it", "[sync][store]",
                   SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    const auto project = store.CreateProject("Café Nariño");
    const auto a = EnrolIn(store, project.id, sync::Role::Researcher);
    auto note = Body(project.id, "field_note", storage::NewUuidV7(), 1, "primera");
    REQUIRE(store.ApplyBatch(a.device, {ChangeOf(note)}, ApplyAll)[0].status == sync::ItemStatus::Applied);
    int64_t since = 0;
    const auto scope = Everything(a.device, {"field_note"});
    (void)PullAll(store, a.device, scope, since, 50);

    // A partial change (no body), which the rules rebuild: stored exactly as
    // the device holds it, it does not come back to that device.
    auto edited = note;
    edited["text"] = "segunda";
    edited["rev"] = 2;
    auto partial = ChangeOf(edited);
    partial.body = nullptr;
    partial.base_rev = 1;
    partial.fields = {{"text", "segunda"}, {"rev", 2}};
    partial.digest = sync::RecordDigest(edited);
    const auto rebuilt = [&](const Json& stored) {
        return [&, stored](const sync::Change&, const sync::StoredRecord*, const Json*, const sync::StoredRecord*,
                           const sync::LookupFn&) {
            sync::Decision d;
            d.body = stored;
            d.theirs = edited;
            return d;
        };
    };
    CHECK(store.ApplyBatch(a.device, {partial}, rebuilt(edited))[0].status == sync::ItemStatus::Applied);
    CHECK(PullAll(store, a.device, scope, since, 50).empty());

    // Merged into another revision: the device's own is kept under its
    // number, and is the base of the device's next change made on it.
    auto merged = edited;
    merged["rev"] = 4;
    merged["text"] = "fusionada";
    auto third = partial;
    third.change_id = storage::NewUuidV7();
    third.rev = 3;
    edited["rev"] = 3;
    third.base_rev = 2;
    CHECK(store.ApplyBatch(a.device, {third}, rebuilt(merged))[0].status == sync::ItemStatus::Applied);
    const auto pulled = PullAll(store, a.device, scope, since, 50);
    CHECK(pulled == std::vector<std::string>{note["id"]}); // the merge differs from the device's: it comes back
    auto next = ChangeOf(merged);
    next.rev = 5;
    next.base_rev = 3;
    next.body["rev"] = 5;
    std::optional<Json> base_seen;
    (void)store.ApplyBatch(a.device, {next},
                           [&](const sync::Change& c, const sync::StoredRecord* cur, const Json* base,
                               const sync::StoredRecord* cause, const sync::LookupFn& lookup) {
                               if (base) base_seen = *base;
                               return ApplyAll(c, cur, base, cause, lookup);
                           });
    REQUIRE(base_seen);
    CHECK(*base_seen == edited); // revision 3: what the device held, not the merge
}

namespace {

/// `device`'s row as the store lists it.
sync::DeviceRow RowOf(sync::HqStore& store, const std::string& project, const std::string& device) {
    for (auto& row : store.ListDevices(project))
        if (row.info.device_id == device) return row;
    FAIL("device " << device << " is not listed");
    return {};
}

const int64_t REPORTED = *storage::ParseIsoMillis("2026-01-05T10:00:00.000Z");

} // namespace

TEMPLATE_TEST_CASE("Every store keeps what a device last said it had waiting, and writes it only when it changed or "
                   "grew old",
                   "[sync][store][waiting]", SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    const auto project = store.CreateProject("P");
    const auto a = EnrolIn(store, project.id, sync::Role::Researcher);
    const auto b = EnrolIn(store, project.id, sync::Role::Researcher);
    CHECK_FALSE(RowOf(store, project.id, a.device.device_id).waiting);
    CHECK(RowOf(store, project.id, a.device.device_id).waiting_at.empty());

    const sync::WaitingReport some{3, 1, 1'234'567};
    CHECK(store.ReportWaiting(a.device, some, REPORTED));
    auto row = RowOf(store, project.id, a.device.device_id);
    REQUIRE(row.waiting);
    CHECK(*row.waiting == some);
    CHECK(row.waiting_at == "2026-01-05T10:00:00.000Z");
    // A report is a sync: the device reached headquarters then.
    CHECK(row.last_seen == "2026-01-05T10:00:00.000Z");
    // Another process on the same data sees it; the other device said nothing.
    CHECK(*RowOf(fixture.Other(), project.id, a.device.device_id).waiting == some);
    CHECK_FALSE(RowOf(store, project.id, b.device.device_id).waiting);

    // The same numbers again soon after: nothing is written.
    CHECK_FALSE(store.ReportWaiting(a.device, some, REPORTED + 60'000));
    CHECK(RowOf(store, project.id, a.device.device_id).waiting_at == "2026-01-05T10:00:00.000Z");
    CHECK_FALSE(store.ReportWaiting(a.device, some, REPORTED + sync::WAITING_REFRESH_MS - 1));
    // Once the kept report is old, the same numbers are written with the new time.
    CHECK(store.ReportWaiting(a.device, some, REPORTED + sync::WAITING_REFRESH_MS));
    row = RowOf(store, project.id, a.device.device_id);
    CHECK(row.waiting_at == "2026-01-05T10:15:00.000Z");
    CHECK(row.last_seen == "2026-01-05T10:15:00.000Z");
    // Other numbers are written at once, whichever changed.
    for (const auto& next : {sync::WaitingReport{2, 1, 1'234'567}, sync::WaitingReport{2, 2, 1'234'567},
                             sync::WaitingReport{2, 2, 9}, sync::WaitingReport{0, 0, 0}}) {
        CHECK(store.ReportWaiting(a.device, next, REPORTED + sync::WAITING_REFRESH_MS + 1000));
        CHECK(*RowOf(store, project.id, a.device.device_id).waiting == next);
    }

    SECTION("a push keeps the report sent with it, in its own transaction, whatever was kept") {
        const sync::WaitingReport with_push{1, 0, 0};
        const auto note = Body(project.id, "field_note", storage::NewUuidV7(), 1);
        const auto results = store.ApplyBatch(a.device, {ChangeOf(note)}, ApplyAll, {}, &with_push);
        REQUIRE(results.size() == 1);
        CHECK(results[0].status == sync::ItemStatus::Applied);
        row = RowOf(store, project.id, a.device.device_id);
        CHECK(*row.waiting == with_push);
        CHECK(row.waiting_at == row.last_seen);
        CHECK(row.waiting_at > "2026-01-05T10:15:01.000Z"); // the store's clock: now
        // A push without one leaves the kept report as it was.
        (void)store.ApplyBatch(a.device, {ChangeOf(Body(project.id, "field_note", storage::NewUuidV7(), 1))}, ApplyAll);
        CHECK(*RowOf(store, project.id, a.device.device_id).waiting == with_push);
        CHECK_FALSE(RowOf(store, project.id, b.device.device_id).waiting);
    }
    SECTION("a device enrolled again starts with no report") {
        const auto code = sync::NewEnrolmentCode();
        store.AddEnrolment(sync::HashSecret(code), project.id, sync::Role::Researcher, "persona", FUTURE);
        const auto again = store.Enrol(sync::HashSecret(code), a.device.device_id, "phone",
                                       sync::HashSecret(sync::NewToken()), sync::HashSecret(a.token));
        REQUIRE(again.result == sync::EnrolResult::Enrolled);
        row = RowOf(store, project.id, a.device.device_id);
        CHECK_FALSE(row.waiting);
        CHECK(row.waiting_at.empty());
    }
}

TEMPLATE_TEST_CASE("A store made before waiting reports gains them when opened, its devices not reported",
                   "[sync][store][waiting]", SqliteStoreFactory, PostgresStoreFactory) {
    ESCUCHA_STORE_OR_SKIP();
    const auto project = store.CreateProject("P");
    const auto a = EnrolIn(store, project.id, sync::Role::Researcher);
    (void)store.ApplyBatch(a.device, {ChangeOf(Body(project.id, "field_note", storage::NewUuidV7(), 1))}, ApplyAll);
    const auto seen = RowOf(store, project.id, a.device.device_id).last_seen;
    std::unique_ptr<sync::HqStore> reopened;
    if constexpr (std::is_same_v<TestType, SqliteStoreFactory>) {
        // The devices table as version 5 made it, without the pull's indexes
        // of version 7, and the version it said.
        fixture.store.reset();
        {
            storage::Database db((fixture.dir / "hq.db").string(), false);
            REQUIRE(db.QueryInt("PRAGMA user_version") == 7);
            db.Exec(R"sql(
BEGIN;
DROP INDEX records_owner_seq;
DROP INDEX records_type_seq;
CREATE TABLE old_devices (
  id TEXT PRIMARY KEY NOT NULL, project_id TEXT NOT NULL, role TEXT NOT NULL, person TEXT, name TEXT,
  token_hash TEXT NOT NULL UNIQUE, revoked INTEGER NOT NULL DEFAULT 0, enrolled_at TEXT NOT NULL, last_seen TEXT);
INSERT INTO old_devices SELECT id, project_id, role, person, name, token_hash, revoked, enrolled_at, last_seen
  FROM devices;
DROP TABLE devices;
ALTER TABLE old_devices RENAME TO devices;
PRAGMA user_version = 5;
COMMIT;
)sql");
        }
        reopened = std::make_unique<sync::SqliteHqStore>((fixture.dir / "hq.db").string());
        storage::Database db((fixture.dir / "hq.db").string(), false);
        CHECK(db.QueryInt("PRAGMA user_version") == 7);
        CHECK(db.QueryInt("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('records_owner_seq', "
                          "'records_type_seq')") == 2);
        // A researcher's pull reads through them.
        const auto scope = sync::ReadScopeFor(AllTypes(), a.device);
        CHECK(reopened->Pull(a.device, 0, 10, scope).records.size() == 1); // the project; the note was its own
    } else {
        PgServer::Shared()->Sql(fixture.url, "ALTER TABLE devices DROP COLUMN waiting_changes, DROP COLUMN "
                                             "waiting_recordings, DROP COLUMN waiting_bytes, DROP COLUMN waiting_at");
        reopened = std::make_unique<sync::PgHqStore>(fixture.url, fixture.key);
    }
    auto row = RowOf(*reopened, project.id, a.device.device_id);
    CHECK_FALSE(row.waiting);
    CHECK(row.last_seen == seen);
    CHECK(reopened->ReportWaiting(a.device, {0, 2, 4096}, REPORTED));
    row = RowOf(*reopened, project.id, a.device.device_id);
    REQUIRE(row.waiting);
    CHECK(*row.waiting == sync::WaitingReport{0, 2, 4096});
}
