// The PostgreSQL store's pull cursor never passes a record whose writer has
// yet to commit, whatever order writers commit in: first with two writers
// held in place by hand, then with three escucha-hq processes on one
// database, many writers and pullers running throughout.
#include "escucha/storage/clock.h"
#include "escucha/sync/hq_api.h"
#include "escucha/sync/http.h"
#include "sync/store_factories.h"
#include "sync/sync_fixture.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace escucha;
using namespace escucha::test;
using sync::Json;

namespace {

Json Note(const std::string& project, const std::string& id, const std::string& text = "nota") {
    return RecordBody(project, id, text);
}

sync::Change ChangeOf(const Json& body) { return WholeChange(body); }

sync::Decision Applied(const sync::Change& c) {
    sync::Decision d;
    d.body = c.body;
    return d;
}

Json PushOf(const std::vector<Json>& bodies) {
    Json changes = Json::array();
    for (const auto& b : bodies) {
        const auto c = ChangeOf(b);
        changes.push_back({{"change_id", c.change_id},
                           {"record_type", c.record_type},
                           {"record_id", c.record_id},
                           {"rev", c.rev},
                           {"op", c.op},
                           {"hlc", c.hlc},
                           {"body", c.body}});
    }
    return {{"changes", changes}};
}

} // namespace

TEST_CASE("A record committed late is pulled after the ones committed before it, never skipped",
          "[sync][store][postgres]") {
    PostgresStoreFactory fixture;
    if (!fixture.store) {
        WARN(PgServer::Skipped());
        return;
    }
    auto& store = *fixture.store;
    const auto project = store.CreateProject("P");
    const auto code = sync::NewEnrolmentCode(), code2 = sync::NewEnrolmentCode();
    store.AddEnrolment(sync::HashSecret(code), project.id, sync::Role::Researcher, "", "2999-01-01T00:00:00.000Z");
    store.AddEnrolment(sync::HashSecret(code2), project.id, sync::Role::Coordinator, "", "2999-01-01T00:00:00.000Z");
    const auto writer = store.Enrol(sync::HashSecret(code), storage::NewUuidV7(), "", "tw", "").device;
    const auto reader = store.Enrol(sync::HashSecret(code2), storage::NewUuidV7(), "", "tr", "").device;
    const sync::ReadScope scope{reader.device_id, {"field_note"}, {"field_note"}};
    int64_t since = store.Pull(reader, 0, 100, scope).next;

    // Writer 1 begins first (its transaction takes its id), and is held
    // inside its transaction, before it commits.
    const auto first = Note(project.id, storage::NewUuidV7(), "primero");
    const auto second = Note(project.id, storage::NewUuidV7(), "segundo");
    std::promise<void> entered, release;
    auto released = release.get_future().share();
    auto held = std::async(std::launch::async, [&] {
        return store.ApplyBatch(writer, {ChangeOf(first)},
                                [&](const sync::Change& c, auto&&...) {
                                    entered.set_value();
                                    released.wait();
                                    return Applied(c);
                                });
    });
    entered.get_future().wait();
    // Writer 2 begins later and commits first, through another process's store.
    const auto later = fixture.Other().ApplyBatch(
        writer, {ChangeOf(second)},
        [](const sync::Change& c, auto&&...) { return Applied(c); });
    REQUIRE(later[0].status == sync::ItemStatus::Applied);

    // A pull now must not hand out the second: its cursor would pass the first.
    const auto before = store.Pull(reader, since, 100, scope);
    CHECK(before.records.empty());
    CHECK_FALSE(before.more);
    CHECK(before.next < later[0].server_seq);
    since = before.next;

    release.set_value();
    const auto committed = held.get();
    REQUIRE(committed[0].status == sync::ItemStatus::Applied);
    // The first's cursor is below the second's: it began first.
    CHECK(committed[0].server_seq < later[0].server_seq);
    const auto after = store.Pull(reader, since, 100, scope);
    std::vector<std::string> ids;
    for (const auto& r : after.records) ids.push_back(r["id"]);
    CHECK(ids == std::vector<std::string>{first["id"], second["id"]});
    CHECK(store.Pull(reader, after.next, 100, scope).records.empty());
}

TEST_CASE("Three escucha-hq on one PostgreSQL: every puller ends with every record exactly once",
          "[sync][postgres][slow]") {
    auto* pg = PgServer::Shared();
    if (!pg) {
        WARN(PgServer::Skipped());
        return;
    }
    TempDir dir;
    const auto url = pg->NewDatabase();
    const auto key = NewKeyFile(dir / "hq.key");
    const auto blobs = (dir / "shared").string();
    std::vector<std::unique_ptr<HqProcess>> hqs;
    for (int i = 0; i < 3; ++i)
        hqs.push_back(std::make_unique<HqProcess>(blobs, std::vector<std::string>{"--store", url, "--key-file", key}));
    const auto project = hqs[0]->Admin({"create-project", "P"});
    const auto enrol = [&](int at, const std::string& role) {
        sync::HttpClient http;
        const auto code = hqs[at % 3]->Admin({"enrol", "--project", project, "--role", role});
        const auto r = http.Post(hqs[(at + 1) % 3]->Url() + "/v1/enrol",
                                 Json{{"code", code}, {"device_id", storage::NewUuidV7()}, {"device_name", "t"}}.dump());
        REQUIRE(r.status == 200);
        return Json::parse(r.body)["token"].get<std::string>();
    };
    constexpr int WRITERS = 8, PUSHES = 25, PULLERS = 3;
    std::vector<std::string> writer_tokens, puller_tokens;
    for (int i = 0; i < WRITERS; ++i) writer_tokens.push_back(enrol(i, "researcher"));
    for (int i = 0; i < PULLERS; ++i) puller_tokens.push_back(enrol(i, "coordinator"));

    std::mutex mutex;
    std::set<std::string> written;
    std::atomic<int> failures{0};
    std::atomic<bool> writing{true};
    std::vector<std::thread> writers;
    for (int w = 0; w < WRITERS; ++w)
        writers.emplace_back([&, w] {
            std::mt19937 random(static_cast<unsigned>(w));
            sync::HttpClient http;
            for (int i = 0; i < PUSHES; ++i) {
                std::vector<Json> notes;
                const int n = 1 + static_cast<int>(random() % 5);
                for (int k = 0; k < n; ++k) notes.push_back(Note(project, storage::NewUuidV7()));
                const auto r = http.Post(hqs[(w + i) % 3]->Url() + "/v1/push", PushOf(notes).dump(), writer_tokens[w]);
                bool ok = r.status == 200;
                if (ok) {
                    const auto answer = Json::parse(r.body);
                    for (const auto& item : answer["results"]) ok = ok && item["status"] == "applied";
                }
                if (!ok) {
                    ++failures;
                    continue;
                }
                std::lock_guard lock(mutex);
                for (const auto& note : notes) written.insert(note["id"].get<std::string>());
            }
        });
    struct Seen {
        std::map<std::string, int> times;
        int pages = 0;
    };
    std::vector<Seen> seen(PULLERS);
    std::vector<std::thread> pullers;
    for (int p = 0; p < PULLERS; ++p)
        pullers.emplace_back([&, p] {
            sync::HttpClient http;
            int64_t since = 0;
            int turn = p;
            const auto drain = [&] {
                for (;;) {
                    const auto r = http.Get(hqs[turn++ % 3]->Url() + "/v1/pull?since=" + std::to_string(since) +
                                                "&limit=" + std::to_string(7 + p),
                                            puller_tokens[p]);
                    if (r.status != 200) {
                        ++failures;
                        return;
                    }
                    const auto page = Json::parse(r.body);
                    ++seen[p].pages;
                    for (const auto& rec : page["records"])
                        if (rec["type"] == "field_note") ++seen[p].times[rec["id"].get<std::string>()];
                    since = page["next"].get<int64_t>();
                    if (!page["more"].get<bool>()) return;
                }
            };
            while (writing) drain();
            // Every writer has had its answer: what remains comes now.
            for (int i = 0; i < 1000; ++i) {
                drain();
                std::lock_guard lock(mutex);
                if (seen[p].times.size() >= written.size()) break;
            }
        });
    for (auto& t : writers) t.join();
    writing = false;
    for (auto& t : pullers) t.join();

    CHECK(failures == 0);
    REQUIRE(written.size() >= WRITERS * PUSHES);
    for (int p = 0; p < PULLERS; ++p) {
        INFO("puller " << p << " in " << seen[p].pages << " pages");
        int twice = 0, missing = 0;
        for (const auto& [id, n] : seen[p].times) twice += n > 1;
        for (const auto& id : written) missing += seen[p].times.count(id) == 0;
        CHECK(twice == 0);
        CHECK(missing == 0);
        CHECK(seen[p].times.size() == written.size());
    }
}
