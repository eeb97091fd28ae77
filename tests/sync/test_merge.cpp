// The merge rules alone: what HQ does with a change, given what it holds.
#include "escucha/capture/listening_records.h"
#include "escucha/interpret/interpretation_records.h"
#include "escucha/sync/hq_server.h"

#include <catch2/catch.hpp>

#include <set>

using namespace escucha;
using sync::Json;

namespace {

const storage::Catalogue& Types() { return interpret::AllRecordTypes(); }

const std::string PROJECT = "01a20bc5-0000-7000-8000-000000000001";
const std::string RECORD = "01a20bc5-0000-7000-8000-000000000002";
const int64_t DAY = 86'400'000;

std::string Hlc(int64_t ms) { return storage::HlcTimestamp{ms, 0}.ToString(); }

Json Profile(int64_t rev, int64_t at, Json fields) {
    Json j = {{"id", RECORD},           {"type", "profile"},
              {"project_id", PROJECT},  {"kind", "collective"},
              {"name", "Recolectoras"}, {"created_at", "2026-01-01T00:00:00.000Z"},
              {"updated_at", Hlc(at)},  {"author", "ana"},
              {"device", "a"},          {"rev", rev},
              {"deleted", false}};
    for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
    return j;
}

sync::Change ChangeOf(const Json& body, const std::string& op = "upsert") {
    return {
        "01a20bc5-0000-7000-8000-0000000000c1", body["type"], body["id"], body["rev"], op, body["updated_at"], body};
}

const sync::DeviceInfo INTERPRETER_B{"b", PROJECT, "P", sync::Role::Interpreter, "Luis"};

} // namespace

TEST_CASE("A change based on what HQ holds is taken whole", "[sync]") {
    const auto base = Profile(1, 1000, {{"context", "inicio"}});
    sync::StoredRecord current{base, 1, Hlc(1000), false, "a", 1, "profile", PROJECT};
    const auto d =
        sync::DecideChange(Types(), INTERPRETER_B, ChangeOf(Profile(2, 2000, {{"context", "nuevo"}})), &current, &base);
    CHECK(d.status == sync::ItemStatus::Applied);
    CHECK(d.body["context"] == "nuevo");
    CHECK(d.body["rev"] == 2);
}

TEST_CASE("Concurrent edits merge field by field and keep both versions of a field", "[sync]") {
    const auto base = Profile(1, 1000, {{"context", "inicio"}, {"needs", {"agua"}}});
    // HQ already took A's edit (rev 2): new context, new needs.
    const auto a = Profile(2, 2000, {{"context", "versión de Ana"}, {"needs", {"agua", "guardería"}}});
    sync::StoredRecord current{a, 2, a["updated_at"], false, "a", 5, "profile", PROJECT};
    const auto decide = [&](int64_t b_clock) {
        // B edited its rev-1 copy: the same context differently, and aspirations.
        const auto b = Profile(
            2, b_clock, {{"context", "versión de Luis"}, {"needs", {"agua"}}, {"aspirations", {"tierra propia"}}});
        return sync::DecideChange(Types(), INTERPRETER_B, ChangeOf(b), &current, &base);
    };
    SECTION("whatever the device clocks say, nothing is lost") {
        for (const int64_t b_clock : {2000 - 3 * DAY, 2000 + 3 * DAY}) {
            const auto d = decide(b_clock);
            CHECK(d.status == sync::ItemStatus::Conflict);
            CHECK(d.body["rev"] == 3);
            CHECK(d.body["needs"] == Json::array({"agua", "guardería"}));   // only A changed it
            CHECK(d.body["aspirations"] == Json::array({"tierra propia"})); // only B changed it
            REQUIRE(d.conflicts.size() == 1);
            CHECK(d.conflicts[0].field == "context");
            const std::set<std::string> both = {d.body["context"], d.conflicts[0].other};
            CHECK(both == std::set<std::string>{"versión de Ana", "versión de Luis"});
        }
    }
    SECTION("the later clock reading is the one shown; the other waits for a person") {
        CHECK(decide(2000 + DAY).body["context"] == "versión de Luis");
        CHECK(decide(2000 - DAY).body["context"] == "versión de Ana");
    }
}

TEST_CASE("Ownership and roles decide who may change what", "[sync]") {
    const std::string interview = "01a20bc5-0000-7000-8000-000000000003";
    Json body = {{"id", interview},
                 {"type", "interview"},
                 {"project_id", PROJECT},
                 {"kind", "informal"},
                 {"created_at", "2026-01-01T00:00:00.000Z"},
                 {"updated_at", Hlc(5000)},
                 {"author", "ana"},
                 {"device", "a"},
                 {"rev", 2},
                 {"deleted", false}};
    Json base = body;
    base["rev"] = 1;
    sync::StoredRecord current{base, 1, Hlc(1000), false, "a", 3, "interview", PROJECT};
    const sync::DeviceInfo researcher_c{"c", PROJECT, "P", sync::Role::Researcher, "Carla"};
    const sync::DeviceInfo coordinator{"d", PROJECT, "P", sync::Role::Coordinator, "Dora"};
    CHECK(sync::DecideChange(Types(), researcher_c, ChangeOf(body), &current, &base).status ==
          sync::ItemStatus::Rejected);
    CHECK(sync::DecideChange(Types(), INTERPRETER_B, ChangeOf(body), &current, &base).status ==
          sync::ItemStatus::Rejected);
    CHECK(sync::DecideChange(Types(), coordinator, ChangeOf(body), &current, &base).status ==
          sync::ItemStatus::Applied);
    Json project = {
        {"id", PROJECT},           {"type", "project"}, {"name", "P2"},  {"created_at", "2026-01-01T00:00:00.000Z"},
        {"updated_at", Hlc(5000)}, {"author", "c"},     {"device", "c"}, {"rev", 2},
        {"deleted", false}};
    CHECK_THAT(sync::DecideChange(Types(), researcher_c, ChangeOf(project), nullptr, nullptr).reason,
               Catch::Contains("coordinator"));
    SECTION("who reads what") {
        CHECK(sync::MayRead(Types(), researcher_c, "profile", "a"));
        CHECK_FALSE(sync::MayRead(Types(), researcher_c, "interview", "a"));
        CHECK(sync::MayRead(Types(), researcher_c, "interview", "c"));
        CHECK(sync::MayRead(Types(), INTERPRETER_B, "interview", "a"));
        CHECK_FALSE(sync::MayRead(Types(), INTERPRETER_B, "identity_link", "a"));
        // Real names reach no other device, a coordinator's neither: they come
        // out of HQ only in an export that asks for them.
        CHECK_FALSE(sync::MayRead(Types(), coordinator, "identity_link", "a"));
        CHECK(sync::MayRead(Types(), coordinator, "identity_link", "d")); // its own
        CHECK(sync::MayRead(Types(), coordinator, "interview", "a"));
    }
}

TEST_CASE("A deletion wins over concurrent edits, and a deleted record takes no edits", "[sync]") {
    const auto base = Profile(1, 1000, {{"context", "x"}});
    const auto edited = Profile(2, 2000, {{"context", "y"}});
    sync::StoredRecord current{edited, 2, Hlc(2000), false, "a", 5, "profile", PROJECT};
    Json tomb = {{"id", RECORD},
                 {"type", "profile"},
                 {"project_id", PROJECT},
                 {"created_at", "2026-01-01T00:00:00.000Z"},
                 {"updated_at", Hlc(1500)},
                 {"author", "ana"},
                 {"device", "b"},
                 {"rev", 2},
                 {"deleted", true}};
    const auto d = sync::DecideChange(Types(), INTERPRETER_B, ChangeOf(tomb, "delete"), &current, &base);
    CHECK(d.status == sync::ItemStatus::Applied);
    CHECK(d.body["deleted"] == true);
    CHECK(d.body["rev"] == 3);
    sync::StoredRecord gone{d.body, 3, Hlc(2000), true, "a", 6, "profile", PROJECT};
    const auto late =
        sync::DecideChange(Types(), INTERPRETER_B, ChangeOf(Profile(3, 9000, {{"context", "z"}})), &gone, &edited);
    CHECK(late.status == sync::ItemStatus::Rejected);
    CHECK_THAT(late.reason, Catch::Contains("deleted"));
    CHECK(late.code == storage::errc::DELETED_AT_HQ);
    CHECK(late.params == Json{{"type", "profile"}});
}

TEST_CASE("A change that does not fit its type is rejected with the field named", "[sync]") {
    auto body = Profile(1, 1000, {{"kind", "tribal"}});
    const auto d = sync::DecideChange(Types(), INTERPRETER_B, ChangeOf(body), nullptr, nullptr);
    CHECK(d.status == sync::ItemStatus::Rejected);
    CHECK_THAT(d.reason, Catch::Contains("field 'kind'"));
    CHECK(d.code == storage::errc::UNKNOWN_CHOICE);
    CHECK(d.params.value("field", "") == "kind");
    CHECK(d.params.value("value", "") == "tribal");
    auto alien = body;
    alien["type"] = "alien";
    auto change = ChangeOf(alien);
    change.record_type = "alien";
    const auto unknown = sync::DecideChange(Types(), INTERPRETER_B, change, nullptr, nullptr);
    CHECK(unknown.code == storage::errc::UNKNOWN_TYPE);
    CHECK(unknown.params.value("type", "") == "alien");
}

TEST_CASE("The stored record decides the rules, never the type a change claims", "[sync][security]") {
    // Another researcher's participant, claimed to be a profile (which
    // anyone may edit): refused, and the refusal says nothing of it.
    const auto participant_id = RECORD;
    Json stored = {{"id", participant_id},
                   {"type", "participant"},
                   {"project_id", PROJECT},
                   {"pseudonym", "Rosa"},
                   {"created_at", "2026-01-01T00:00:00.000Z"},
                   {"updated_at", Hlc(1000)},
                   {"author", "ana"},
                   {"device", "a"},
                   {"rev", 1},
                   {"deleted", false}};
    sync::StoredRecord current{stored, 1, Hlc(1000), false, "a", 1, "participant", PROJECT};
    const sync::DeviceInfo researcher_c{"c", PROJECT, "P", sync::Role::Researcher, "Carla"};
    const auto claimed = Profile(1, 2000, {});
    for (const auto* op : {"upsert", "delete"}) {
        const auto d = sync::DecideChange(Types(), researcher_c, ChangeOf(claimed, op), &current, nullptr);
        CHECK(d.status == sync::ItemStatus::Rejected);
        CHECK(d.conflicts.empty());
        CHECK(d.reason.find("Rosa") == std::string::npos);
        CHECK(d.reason.find("participant") == std::string::npos);
    }
    SECTION("a record of another project is not there for this device") {
        const sync::DeviceInfo other{"e", "01a20bc5-0000-7000-8000-0000000000ff", "Q", sync::Role::Coordinator, "Eva"};
        sync::StoredRecord profile{Profile(1, 1000, {}), 1, Hlc(1000), false, "a", 1, "profile", PROJECT};
        auto change = Profile(2, 2000, {{"context", "x"}});
        change["project_id"] = other.project_id;
        CHECK(sync::DecideChange(Types(), other, ChangeOf(change), &profile, nullptr).status ==
              sync::ItemStatus::Rejected);
    }
    SECTION("a record the device may not read is not merged, so no conflict shows it") {
        Json link = {{"id", RECORD},
                     {"type", "identity_link"},
                     {"project_id", PROJECT},
                     {"created_at", "2026-01-01T00:00:00.000Z"},
                     {"updated_at", Hlc(1000)},
                     {"author", "ana"},
                     {"device", "a"},
                     {"rev", 2},
                     {"deleted", false}};
        sync::StoredRecord held{link, 2, Hlc(1000), false, "a", 1, "identity_link", PROJECT};
        for (const auto& who : {researcher_c, INTERPRETER_B}) {
            const auto d = sync::DecideChange(Types(), who, ChangeOf(link), &held, nullptr);
            CHECK(d.status == sync::ItemStatus::Rejected);
            CHECK(d.conflicts.empty());
        }
    }
}

TEST_CASE("A clock reading far ahead of HQ is refused with a code", "[sync][security]") {
    const int64_t now = 1'800'000'000'000;
    auto change = ChangeOf(Profile(1, now + 2 * sync::MAX_CLOCK_AHEAD_MS, {}));
    const auto ahead = sync::ClockTooFarAhead(change, now);
    REQUIRE(ahead);
    CHECK(ahead->code == storage::errc::CLOCK_AHEAD);
    CHECK(ahead->params.value("hq_time", "") == storage::FormatIsoMillis(now));
    CHECK(ahead->params.value("device_time", "") == storage::FormatIsoMillis(now + 2 * sync::MAX_CLOCK_AHEAD_MS));
    change = ChangeOf(Profile(1, now + sync::MAX_CLOCK_AHEAD_MS / 2, {}));
    CHECK_FALSE(sync::ClockTooFarAhead(change, now));
    // The body's own clock counts too, whatever the change says.
    change.body["updated_at"] = storage::HlcTimestamp{now + 100 * DAY, 0}.ToString();
    CHECK(sync::ClockTooFarAhead(change, now));
}
