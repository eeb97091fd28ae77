// The SQLite store commits the pushes that arrive together in one
// transaction (group commit). Whatever group a push lands in, it is answered
// as if it had been alone: its own results, stored once, all or nothing, and
// a replay answered `duplicate`. First through a real escucha-hq on loopback,
// many devices pushing at once; then on the store itself, where one push of
// a group fails midway and is rolled back alone.
#include "escucha/storage/clock.h"
#include "escucha/storage/error_code.h"
#include "escucha/sync/hq_api.h"
#include "escucha/sync/http.h"
#include "sync/sync_fixture.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

using namespace escucha;
using namespace escucha::test;
using sync::Json;

namespace {

Json Note(const std::string& project, const std::string& id, int64_t millis = storage::SystemMillis()) {
    return RecordBody(project, id, std::string("nota ").append(id), 1, "field_note", millis);
}

sync::Change ChangeOf(const Json& body, const std::string& change_id = storage::NewUuidV7()) {
    return WholeChange(body, change_id);
}

/// A push request's body, as a device sends it (the protocol's own JSON).
Json PushOf(const std::vector<sync::Change>& changes) { return sync::PushRequest{changes}; }

std::string EnrolOver(const std::string& url, const std::string& code) {
    sync::HttpClient http;
    const auto r = http.Post(url + "/v1/enrol",
                             Json{{"code", code}, {"device_id", storage::NewUuidV7()}, {"device_name", "t"}}.dump());
    REQUIRE(r.status == 200);
    return Json::parse(r.body)["token"].get<std::string>();
}

/// What one change was answered, as the device reads it.
struct Answer {
    std::string status;
    int64_t seq = 0;
    std::string code;
};

/// What a device expects for one change the first time.
enum class Expect { Applied, ClockAhead, IdTaken };

} // namespace

TEST_CASE("Pushes that arrive together are each answered as if alone, stored once, and replayed as duplicates",
          "[sync][group]") {
    Hq hq;
    const auto url = hq.process.Url();
    const auto other_project = hq.process.Admin({"create-project", "Otro"});
    constexpr int DEVICES = 12, PUSHES = 4;

    // A change id that a device used before the rush: another device's change
    // that reuses it is refused.
    const auto first_token = EnrolOver(url, hq.Code("researcher"));
    const auto taken = ChangeOf(Note(hq.project, storage::NewUuidV7()));
    {
        sync::HttpClient http;
        const auto r = http.Post(url + "/v1/push", PushOf({taken}).dump(), first_token);
        REQUIRE(r.status == 200);
        REQUIRE(Json::parse(r.body)["results"][0]["status"] == "applied");
    }

    struct Device {
        std::string token;
        std::vector<std::vector<sync::Change>> pushes;
        std::vector<std::vector<Expect>> expect;
        std::vector<std::vector<Answer>> first; ///< per push, per change
        int status_of_foreign = 0;              ///< its push to another project
    };
    std::vector<Device> devices(DEVICES);
    for (int d = 0; d < DEVICES; ++d) {
        auto& dev = devices[d];
        dev.token = EnrolOver(url, hq.Code("researcher"));
        for (int p = 0; p < PUSHES; ++p) {
            std::vector<sync::Change> push;
            std::vector<Expect> expect;
            for (int k = 0; k < 1 + (d + p) % 4; ++k) {
                push.push_back(ChangeOf(Note(hq.project, storage::NewUuidV7())));
                expect.push_back(Expect::Applied);
            }
            dev.pushes.push_back(push);
            dev.expect.push_back(expect);
        }
    }
    // Refused changes beside applied ones, in pushes of the rush: a clock
    // three days ahead, and a change id another device used.
    devices[0].pushes[1].push_back(
        ChangeOf(Note(hq.project, storage::NewUuidV7(), storage::SystemMillis() + 3LL * 24 * 3600 * 1000)));
    devices[0].expect[1].push_back(Expect::ClockAhead);
    devices[1].pushes[2].insert(devices[1].pushes[2].begin(),
                                ChangeOf(Note(hq.project, storage::NewUuidV7()), taken.change_id));
    devices[1].expect[2].insert(devices[1].expect[2].begin(), Expect::IdTaken);
    // The same push sent twice at once on two connections (a device that
    // timed out and sent again while the first was still being written).
    const auto twice =
        PushOf({ChangeOf(Note(hq.project, storage::NewUuidV7())), ChangeOf(Note(hq.project, storage::NewUuidV7()))})
            .dump();
    std::vector<std::vector<Answer>> twice_answers(2);
    // And a push for another project, refused as a whole.
    const auto foreign = PushOf({ChangeOf(Note(other_project, storage::NewUuidV7()))}).dump();

    std::atomic<int> failures{0};
    const auto send = [&](sync::HttpClient& http, const std::string& body, const std::string& token,
                          std::vector<Answer>& answers) {
        const auto r = http.Post(url + "/v1/push", body, token);
        if (r.status != 200) {
            std::fprintf(stderr, "push answered %ld: %s\n", static_cast<long>(r.status), r.body.c_str());
            ++failures;
            return;
        }
        const auto answer = Json::parse(r.body);
        for (const auto& item : answer["results"])
            answers.push_back({item["status"], item.value("server_seq", int64_t{0}), item.value("code", "")});
    };
    std::latch go(1);
    std::vector<std::thread> threads;
    for (auto& each : devices)
        threads.emplace_back([&, &dev = each] {
            sync::HttpClient http;
            go.wait();
            dev.first.resize(dev.pushes.size());
            for (size_t p = 0; p < dev.pushes.size(); ++p)
                send(http, PushOf(dev.pushes[p]).dump(), dev.token, dev.first[p]);
            dev.status_of_foreign = http.Post(url + "/v1/push", foreign, dev.token).status;
        });
    for (auto& each : twice_answers)
        threads.emplace_back([&, &answers = each] {
            sync::HttpClient http;
            go.wait();
            send(http, twice, devices[2].token, answers);
        });
    go.count_down();
    for (auto& t : threads) t.join();
    REQUIRE(failures == 0);

    // Each change answered for itself.
    std::set<int64_t> seqs;
    std::set<std::string> stored;
    for (const auto& dev : devices) {
        CHECK(dev.status_of_foreign == 403);
        for (size_t p = 0; p < dev.pushes.size(); ++p) {
            INFO("push " << p);
            REQUIRE(dev.first[p].size() == dev.pushes[p].size());
            for (size_t k = 0; k < dev.pushes[p].size(); ++k) {
                const auto& a = dev.first[p][k];
                switch (dev.expect[p][k]) {
                case Expect::Applied:
                    CHECK(a.status == "applied");
                    CHECK(seqs.insert(a.seq).second);
                    stored.insert(dev.pushes[p][k].record_id);
                    break;
                case Expect::ClockAhead:
                    CHECK(a.status == "rejected");
                    CHECK(a.code == "clock_ahead");
                    break;
                case Expect::IdTaken:
                    CHECK(a.status == "rejected");
                    CHECK(a.code == storage::errc::CHANGE_ID_TAKEN);
                    break;
                }
            }
        }
    }
    // The push sent twice at once: each change applied by one and answered
    // `duplicate`, with the same seq, by the other.
    REQUIRE(twice_answers[0].size() == 2);
    REQUIRE(twice_answers[1].size() == 2);
    for (size_t k = 0; k < 2; ++k) {
        const std::multiset<std::string> statuses{twice_answers[0][k].status, twice_answers[1][k].status};
        CHECK(statuses == std::multiset<std::string>{"applied", "duplicate"});
        CHECK(twice_answers[0][k].seq == twice_answers[1][k].seq);
        CHECK(seqs.insert(twice_answers[0][k].seq).second);
    }
    const auto twice_json = Json::parse(twice);
    for (const auto& c : twice_json["changes"]) stored.insert(c["record_id"].get<std::string>());
    stored.insert(taken.record_id);

    // Sent again, all at once: each change answered as the first time.
    threads.clear();
    std::latch again(1);
    for (auto& each : devices)
        threads.emplace_back([&, &dev = each] {
            sync::HttpClient http;
            again.wait();
            for (size_t p = 0; p < dev.pushes.size(); ++p) {
                std::vector<Answer> answers;
                send(http, PushOf(dev.pushes[p]).dump(), dev.token, answers);
                if (answers.size() != dev.pushes[p].size()) {
                    ++failures;
                    continue;
                }
                for (size_t k = 0; k < answers.size(); ++k) {
                    const bool applied = dev.expect[p][k] == Expect::Applied;
                    if (answers[k].status != (applied ? "duplicate" : "rejected") ||
                        answers[k].seq != dev.first[p][k].seq || answers[k].code != dev.first[p][k].code)
                        ++failures;
                }
            }
        });
    again.count_down();
    for (auto& t : threads) t.join();
    CHECK(failures == 0);

    // Stored: every applied note once (Records checks none comes twice),
    // nothing refused, nothing of the other project.
    const auto records = hq.Records();
    std::set<std::string> notes;
    for (const auto& [id, r] : records)
        if (r["type"] == "field_note") notes.insert(id);
    CHECK(notes == stored);
}

TEST_CASE("A push that fails while written with others is rolled back alone", "[sync][group]") {
    TempDir dir;
    sync::SqliteHqStore store((dir / "hq.db").string());
    const auto project = store.CreateProject("P");
    constexpr int WRITERS = 8;
    std::vector<sync::DeviceInfo> devices;
    for (int i = 0; i < WRITERS; ++i)
        devices.push_back({storage::NewUuidV7(), project.id, project.name, sync::Role::Researcher, ""});
    const auto apply = [](const sync::Change& c, const sync::StoredRecord*, const Json*, const sync::StoredRecord*,
                          const sync::LookupFn&) {
        sync::Decision d;
        d.body = c.body;
        return d;
    };

    std::set<std::string> stored;
    std::set<int64_t> given; // every sequence number an answer carried
    bool written_by_another = false;
    bool written_again = false;
    // Rounds until one push was written by another caller's thread (in a
    // group) and one was written again after another of its group failed;
    // every round checks the answers whatever the grouping was.
    for (int round = 0; round < 40 && !(written_by_another && written_again); ++round) {
        // Two pushes of each round fail: a group may be written three times.
        const std::set<int> bad = {round % WRITERS, (round + 3) % WRITERS};
        std::vector<std::vector<sync::Change>> pushes(WRITERS);
        for (auto& push : pushes)
            for (int k = 0; k < 3; ++k) push.push_back(ChangeOf(Note(project.id, storage::NewUuidV7())));
        std::vector<std::vector<sync::ItemResult>> results(WRITERS);
        std::vector<std::string> errors(WRITERS);
        std::vector<std::atomic<int>> decided(WRITERS);
        std::atomic<bool> foreign{false};
        std::latch holding(1);
        std::latch entered(WRITERS);
        std::latch release(1);
        // Holds the store's connection (ForEachRecord visits under its lock)
        // until every writer has set out, so that they queue up behind it.
        std::thread holder([&] {
            bool first = true;
            store.ForEachRecord(project.id, [&](const sync::StoredRecord&) {
                if (!first) return;
                first = false;
                holding.count_down();
                entered.wait();
                release.wait();
            });
        });
        std::vector<std::thread> writers;
        for (int w = 0; w < WRITERS; ++w)
            writers.emplace_back([&, w] {
                const auto caller = std::this_thread::get_id();
                const sync::DecideFn decide = [&, w, caller](const sync::Change& c, const sync::StoredRecord* cur,
                                                             const Json* base, const sync::StoredRecord* cause,
                                                             const sync::LookupFn& lookup) {
                    if (std::this_thread::get_id() != caller) foreign = true;
                    ++decided[w];
                    // A bad push fails on its last change, after two were written.
                    if (bad.count(w) && c.change_id == pushes[w].back().change_id)
                        throw std::runtime_error("the rules failed on this change");
                    return apply(c, cur, base, cause, lookup);
                };
                holding.wait();
                entered.count_down();
                try {
                    results[w] = store.ApplyBatch(devices[w], pushes[w], decide);
                } catch (const std::exception& e) {
                    errors[w] = e.what();
                }
            });
        entered.wait();
        // The writers are on their way into ApplyBatch; give them a moment to
        // queue. Nothing below depends on how many did.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        release.count_down();
        holder.join();
        for (auto& t : writers) t.join();
        written_by_another = written_by_another || foreign;

        for (int w = 0; w < WRITERS; ++w) {
            INFO("round " << round << ", writer " << w << (bad.count(w) ? " (a bad one)" : ""));
            if (bad.count(w)) {
                CHECK(errors[w] == "the rules failed on this change");
                CHECK(results[w].empty());
                continue;
            }
            // More than once per change: written, then written again after
            // a bad push of its group failed.
            if (decided[w] > 3) written_again = true;
            CHECK(errors[w].empty());
            REQUIRE(results[w].size() == 3);
            for (size_t k = 0; k < 3; ++k) {
                CHECK(results[w][k].change_id == pushes[w][k].change_id);
                CHECK(results[w][k].status == sync::ItemStatus::Applied);
                CHECK(given.insert(results[w][k].server_seq).second);
                stored.insert(pushes[w][k].record_id);
            }
        }
        // Nothing of a bad push stayed, not even its change ids: sent again
        // with rules that work, it is applied, not a duplicate.
        for (const int w : bad) {
            const auto retry = store.ApplyBatch(devices[w], pushes[w], apply);
            REQUIRE(retry.size() == 3);
            for (const auto& r : retry) {
                CHECK(r.status == sync::ItemStatus::Applied);
                CHECK(given.insert(r.server_seq).second);
            }
            for (const auto& c : pushes[w]) stored.insert(c.record_id);
        }
        // And the others, sent again, are duplicates with their first seq.
        for (int w = 0; w < WRITERS; ++w) {
            if (bad.count(w)) continue;
            const auto replay = store.ApplyBatch(devices[w], pushes[w], apply);
            REQUIRE(replay.size() == 3);
            for (size_t k = 0; k < 3; ++k) {
                CHECK(replay[k].status == sync::ItemStatus::Duplicate);
                CHECK(replay[k].server_seq == results[w][k].server_seq);
            }
        }
    }
    // The grouped path was taken, and a group was written again.
    CHECK(written_by_another);
    CHECK(written_again);
    // The numbers handed out have no gap: a rolled-back push gave its back.
    REQUIRE(!given.empty());
    CHECK(*given.begin() == 2); // 1 is the project's
    CHECK(*given.rbegin() - *given.begin() + 1 == static_cast<int64_t>(given.size()));

    std::set<std::string> notes;
    std::set<int64_t> seqs;
    store.ForEachRecord(project.id, [&](const sync::StoredRecord& r) {
        if (r.record_type != "field_note") return;
        CHECK(notes.insert(r.body["id"].get<std::string>()).second);
        CHECK(seqs.insert(r.seq).second);
    });
    CHECK(notes == stored);
}
