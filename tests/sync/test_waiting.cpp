// What a device still has to send: it says so on its requests (the
// Escucha-Waiting header), headquarters keeps the last report with the device
// and `admin devices` shows it. A header that is not exactly right is ignored.
#include "escucha/storage/blobs.h"
#include "escucha/sync/hq_api.h"
#include "escucha/sync/hq_store.h"
#include "escucha/sync/http.h"
#include "sync/fault_proxy.h"
#include "sync/sync_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <sstream>
#include <vector>

using namespace escucha;
using namespace escucha::test;

namespace {

// [SECTION] Helpers

/// The line `admin devices` prints for `device_id`.
std::string DeviceLine(const Hq& hq, const std::string& device_id) {
    std::istringstream lines(hq.process.Admin({"devices", "--project", hq.project}));
    for (std::string line; std::getline(lines, line);)
        if (line.rfind(device_id, 0) == 0) return line;
    FAIL("admin devices does not list " << device_id);
    return {};
}

/// One request on a connection of its own, written byte for byte as given
/// (headers that a client library would refuse to send); the status, or 0.
int RawRequest(int port, const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
        ::close(fd);
        return 0;
    }
    for (size_t sent = 0; sent < request.size();) {
        const auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
    }
    std::string answer;
    char buffer[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) break;
        const auto n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        answer.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    int status = 0;
    std::sscanf(answer.c_str(), "HTTP/1.1 %d", &status);
    return status;
}

/// A pull as a device makes it, with `headers` ("Name: value\r\n" each) as given.
std::string RawPull(const std::string& token, const std::string& headers) {
    return "GET /v1/pull?since=0&limit=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\n" +
           headers + "Connection: close\r\n\r\n";
}

/// A headquarters in this process, on a clock the test moves.
struct LocalHq {
    TempDir dir;
    sync::SqliteHqStore store{(dir / "hq.db").string()};
    int64_t now = *storage::ParseIsoMillis("2026-03-01T08:00:00.000Z");
    sync::HqApi api{store, AllTypes(), nullptr, [this] {
                        sync::ApiLimits limits;
                        limits.clock = [this] { return now; };
                        return limits;
                    }()};
    sync::Project project = store.CreateProject("P");
    sync::DeviceInfo device;
    std::string token = sync::NewToken();
    LocalHq() {
        const auto code = sync::NewEnrolmentCode();
        store.AddEnrolment(sync::HashSecret(code), project.id, sync::Role::Researcher, "Ana",
                           "2999-01-01T00:00:00.000Z");
        device = store.Enrol(sync::HashSecret(code), storage::NewUuidV7(), "phone", sync::HashSecret(token), "").device;
    }
    sync::ApiAnswer Request(const std::string& method, const std::string& path, const std::string& waiting,
                            const std::string& body = "", const std::string& bearer = "") {
        sync::ApiRequest r;
        r.method = method;
        r.path = path;
        r.authorization = "Bearer " + (bearer.empty() ? token : bearer);
        r.content_type = "application/json";
        r.peer = "127.0.0.1";
        r.body = body;
        r.waiting = waiting;
        return api.Serve(r);
    }
    sync::DeviceRow Row() {
        for (auto& row : store.ListDevices(project.id))
            if (row.info.device_id == device.device_id) return row;
        FAIL("the device is not listed");
        return {};
    }
};

Json NotePush(const std::string& project, const std::string& device) {
    const auto id = storage::NewUuidV7();
    const Json body = {{"id", id},
                       {"type", "field_note"},
                       {"project_id", project},
                       {"text", "nota"},
                       {"created_at", "2026-01-01T00:00:00.000Z"},
                       {"updated_at", storage::HlcTimestamp{1, 0}.ToString()},
                       {"author", "a"},
                       {"device", device},
                       {"rev", 1},
                       {"deleted", false}};
    return {{"changes",
             {{{"change_id", storage::NewUuidV7()},
               {"record_type", "field_note"},
               {"record_id", id},
               {"rev", 1},
               {"op", "upsert"},
               {"hlc", body["updated_at"]},
               {"body", body}}}}};
}

} // namespace

// [SECTION] The header

TEST_CASE("A waiting report is taken only when it follows the grammar to the letter", "[sync][waiting][security]") {
    using sync::ParseWaitingHeader;
    using sync::WaitingReport;
    SECTION("what a device sends, and the same in other spellings the grammar allows") {
        for (const auto& report :
             {WaitingReport{3, 1, 1'234'567}, WaitingReport{0, 0, 0}, WaitingReport{0, 1, 0},
              WaitingReport{sync::MAX_WAITING_COUNT, sync::MAX_WAITING_COUNT, sync::MAX_WAITING_BYTES}}) {
            const auto text = sync::FormatWaitingHeader(report);
            INFO(text);
            const auto parsed = ParseWaitingHeader(text);
            REQUIRE(parsed);
            CHECK(*parsed == report);
        }
        CHECK(sync::FormatWaitingHeader({3, 1, 1'234'567}) == "changes=3; recordings=1; bytes=1234567");
        CHECK(ParseWaitingHeader("bytes=10;recordings=2;changes=0") == WaitingReport{0, 2, 10});
        CHECK(ParseWaitingHeader(" changes=1 ;\trecordings=0;  bytes=0\t") == WaitingReport{1, 0, 0});
        // A newer device may say more; what this version does not know is passed over.
        CHECK(ParseWaitingHeader("changes=1; refused=1; recordings=0; bytes=0; damaged_2=0") == WaitingReport{1, 0, 0});
    }
    SECTION("anything else says nothing") {
        const std::string padded = "changes=1;" + std::string(600, ' ') + "recordings=0; bytes=0";
        std::string many = "changes=1; recordings=0; bytes=0";
        for (int i = 0; i < 14; ++i) many += "; x" + std::to_string(i) + "=1";
        for (const std::string& text : std::vector<std::string>{"",
                                                                " ",
                                                                ";",
                                                                "changes=3; recordings=1",
                                                                "recordings=1; bytes=1",
                                                                "changes=3; bytes=0",
                                                                "changes=-1; recordings=0; bytes=0",
                                                                "changes=+1; recordings=0; bytes=0",
                                                                "changes=01; recordings=0; bytes=0",
                                                                "changes=1.0; recordings=0; bytes=0",
                                                                "changes=1e3; recordings=0; bytes=0",
                                                                "changes=0x10; recordings=0; bytes=0",
                                                                "changes= 1; recordings=0; bytes=0",
                                                                "changes=; recordings=0; bytes=0",
                                                                "changes==1; recordings=0; bytes=0",
                                                                "changes=1000000001; recordings=0; bytes=0",
                                                                "changes=0; recordings=1000000001; bytes=0",
                                                                "changes=0; recordings=1; bytes=1000000000000001",
                                                                "changes=99999999999999999999; recordings=0; bytes=0",
                                                                "changes=9223372036854775808; recordings=0; bytes=0",
                                                                "changes=1; changes=2; recordings=0; bytes=0",
                                                                "changes=1; recordings=0; bytes=5",
                                                                "Changes=1; recordings=0; bytes=0",
                                                                "CHANGES=1; RECORDINGS=0; BYTES=0",
                                                                "changes=1; recordings=0; bytes=0;",
                                                                "changes=1;; recordings=0; bytes=0",
                                                                "changes=1, recordings=0, bytes=0",
                                                                "changes=1 recordings=0 bytes=0",
                                                                "changes=1; recordings=0; bytes=0; x=1; x=1",
                                                                "changes=1; recordings=0; bytes=0; other=abc",
                                                                "changes=1; recordings=0; bytes=0; other=-1",
                                                                "changes=1; recordings=0; bytes=0; =1",
                                                                "changes=1; recordings=0; bytes=0; 9x=1",
                                                                "changes=1; recordings=0; bytes=0; \xc3\xa9=1",
                                                                "changes=1; recordings=0; bytes=0\r\nX-Evil: 1",
                                                                "changes=1; recordings=0; bytes=0\n",
                                                                std::string("changes=1\0; recordings=0; bytes=0", 32),
                                                                padded,
                                                                many}) {
            INFO("'" << text << "'");
            CHECK_FALSE(ParseWaitingHeader(text));
        }
    }
}

// [SECTION] Headquarters, in this process

TEST_CASE("Headquarters keeps a waiting report from any request of an enrolled device, and ignores a bad one",
          "[sync][waiting][security]") {
    LocalHq hq;
    CHECK_FALSE(hq.Row().waiting);

    SECTION("a pull's report is kept with the time it was made") {
        REQUIRE(hq.Request("GET", "/v1/pull", "changes=2; recordings=1; bytes=4000").status == 200);
        const auto row = hq.Row();
        REQUIRE(row.waiting);
        CHECK(*row.waiting == sync::WaitingReport{2, 1, 4000});
        CHECK(row.waiting_at == "2026-03-01T08:00:00.000Z");
        CHECK(row.last_seen == "2026-03-01T08:00:00.000Z");

        // A request without the header (an older device) leaves it as it was.
        hq.now += 60'000;
        CHECK(hq.Request("GET", "/v1/pull", "").status == 200);
        CHECK(*hq.Row().waiting == sync::WaitingReport{2, 1, 4000});
        // So do malformed ones, and the request is answered as without them.
        for (const std::string& bad : std::vector<std::string>{
                 "changes=-2; recordings=0; bytes=0", "changes=0; recordings=0; bytes=7", "garbage",
                 "changes=5; recordings=0; bytes=0; changes=0", "changes=1000000000000; recordings=0; bytes=0"}) {
            INFO(bad);
            const auto answer = hq.Request("GET", "/v1/pull", bad);
            CHECK(answer.status == 200);
            CHECK(answer.body == hq.Request("GET", "/v1/pull", "").body);
            CHECK(*hq.Row().waiting == sync::WaitingReport{2, 1, 4000});
            CHECK(hq.Row().waiting_at == "2026-03-01T08:00:00.000Z");
        }
        // Any other request with the token counts.
        CHECK(hq.Request("GET", "/v1/whoami", "changes=0; recordings=1; bytes=4000").status == 200);
        CHECK(*hq.Row().waiting == sync::WaitingReport{0, 1, 4000});
        CHECK(hq.Row().waiting_at == "2026-03-01T08:01:00.000Z");
    }
    SECTION("a push keeps the report it carries, and so does a push refused whole") {
        const auto pushed = hq.Request("POST", "/v1/push", "changes=1; recordings=0; bytes=0",
                                       NotePush(hq.project.id, hq.device.device_id).dump());
        REQUIRE(pushed.status == 200);
        CHECK(Json::parse(pushed.body)["results"][0]["status"] == "applied");
        CHECK(*hq.Row().waiting == sync::WaitingReport{1, 0, 0});
        const auto refused = hq.Request("POST", "/v1/push", "changes=4; recordings=0; bytes=0", R"({"changes": 1})");
        CHECK(refused.status == 400);
        CHECK(*hq.Row().waiting == sync::WaitingReport{4, 0, 0});
    }
    SECTION("a caller without a live token is not listened to") {
        CHECK(hq.Request("GET", "/v1/pull", "changes=9; recordings=0; bytes=0", "", std::string(64, 'a')).status ==
              401);
        CHECK(hq.store.RevokeDevice(hq.device.device_id));
        CHECK(hq.Request("GET", "/v1/pull", "changes=9; recordings=0; bytes=0").status == 401);
        CHECK_FALSE(hq.Row().waiting);
    }
    SECTION("the metrics say what each device that reported has waiting") {
        REQUIRE(hq.Request("GET", "/v1/pull", "changes=2; recordings=1; bytes=4000").status == 200);
        sync::ApiRequest metrics;
        metrics.method = "GET";
        metrics.path = "/v1/metrics";
        metrics.peer = "127.0.0.1";
        const auto text = hq.api.Serve(metrics).body;
        const auto labels = "{project=\"" + hq.project.id + "\",device=\"" + hq.device.device_id + "\"} ";
        CHECK_THAT(text, Catch::Contains("escucha_hq_device_waiting_changes" + labels + "2\n"));
        CHECK_THAT(text, Catch::Contains("escucha_hq_device_waiting_recordings" + labels + "1\n"));
        CHECK_THAT(text, Catch::Contains("escucha_hq_device_waiting_bytes" + labels + "4000\n"));
        CHECK_THAT(text, Catch::Contains("# TYPE escucha_hq_device_waiting_bytes gauge"));
    }
}

// [SECTION] End to end

TEST_CASE("admin devices shows what a device still has to send after a cut sync, and nothing once it synced",
          "[sync][waiting]") {
    Hq hq;
    FaultProxy proxy(hq.process.Port());
    Device ana(hq, "researcher", "http://127.0.0.1:" + std::to_string(proxy.Port()));
    // A device enrolled by hand that never says what it has waiting, as one older than the report.
    sync::HttpClient http;
    const auto old_id = storage::NewUuidV7();
    const auto enrolled =
        http.Post(hq.process.Url() + "/v1/enrol",
                  Json{{"code", hq.Code("researcher")}, {"device_id", old_id}, {"device_name", "viejo"}}.dump());
    REQUIRE(enrolled.status == 200);
    const std::string old_token = Json::parse(enrolled.body)["token"];
    CHECK(http.Get(hq.process.Url() + "/v1/pull?since=0", old_token).status == 200);
    CHECK_THAT(DeviceLine(hq, old_id), Catch::EndsWith("last sync never  not reported"));
    // Enrolment pulled the project already, and said so.
    CHECK_THAT(DeviceLine(hq, ana.vault.DeviceId()), Catch::Contains("  nothing waiting, reported 20"));

    ana.Add("field_note", {{"text", "primera"}});
    ana.Add("field_note", {{"text", "segunda"}});
    std::string audio(3'000'000, '\0');
    std::mt19937 rng(26);
    for (auto& c : audio) c = static_cast<char>(rng());
    storage::BlobStore blobs(ana.vault);
    (void)blobs.AddBytes(audio);
    REQUIRE(sync::WaitingNow(ana.vault) == sync::WaitingReport{2, 1, 3'000'000});

    // The push reaches headquarters, its answer never reaches the device.
    proxy.Inject(Fault::CutResponse, 0);
    CHECK_FALSE(ana.Sync().ok);
    CHECK_THAT(DeviceLine(hq, ana.vault.DeviceId()),
               Catch::Contains("active  last sync 20") &&
                   Catch::Contains("  2 changes, 1 recording (3.0 MB) waiting, reported 20"));

    // Next time the push goes through and the recording's upload is cut
    // midway (twice: libcurl tries a broken request once more): what the
    // device said when it asked what HQ had of the recording stands.
    proxy.Inject(Fault::CutRequest, 1'500'000);
    proxy.Inject(Fault::CutRequest, 0);
    CHECK_FALSE(ana.Sync().ok);
    CHECK(sync::WaitingNow(ana.vault) == sync::WaitingReport{0, 1, 3'000'000});
    CHECK_THAT(DeviceLine(hq, ana.vault.DeviceId()), Catch::Contains("  1 recording (3.0 MB) waiting, reported 20"));
    const auto metrics = http.Get(hq.process.Url() + "/v1/metrics").body;
    const auto labels = "{project=\"" + hq.project + "\",device=\"" + ana.vault.DeviceId() + "\"} ";
    CHECK_THAT(metrics, Catch::Contains("escucha_hq_device_waiting_changes" + labels + "0\n") &&
                            Catch::Contains("escucha_hq_device_waiting_recordings" + labels + "1\n") &&
                            Catch::Contains("escucha_hq_device_waiting_bytes" + labels + "3000000\n"));
    CHECK_THAT(metrics, !Catch::Contains("escucha_hq_device_waiting_changes{project=\"" + hq.project + "\",device=\"" +
                                         old_id + "\"}"));

    // A whole sync: the pull, last, says nothing is left.
    auto healed = ana.Sync();
    for (int i = 0; i < 2 && !healed.ok; ++i) healed = ana.Sync();
    INFO(healed.error);
    REQUIRE(healed.ok);
    CHECK(sync::WaitingNow(ana.vault) == sync::WaitingReport{0, 0, 0});
    CHECK_THAT(DeviceLine(hq, ana.vault.DeviceId()), Catch::Contains("  nothing waiting, reported 20"));
    CHECK_THAT(http.Get(hq.process.Url() + "/v1/metrics").body,
               Catch::Contains("escucha_hq_device_waiting_recordings" + labels + "0\n"));
}

TEST_CASE("A change headquarters refused stays waiting until the person on the device deals with it",
          "[sync][waiting]") {
    Hq hq;
    // A clock a year ahead: headquarters refuses the device's changes.
    Device ahead(hq, "researcher", "", "", 365LL * 86'400'000);
    ahead.Add("field_note", {{"text", "desde el futuro"}});
    const auto refused = ahead.Sync();
    CHECK_FALSE(refused.ok);
    CHECK(refused.rejected == 1);
    // The push said one change was waiting, and so did the pull after it.
    CHECK_THAT(DeviceLine(hq, ahead.vault.DeviceId()), Catch::Contains("  1 change waiting, reported 20"));
    const auto outbox = ahead.vault.Records().RejectedJournal(10);
    REQUIRE(outbox.size() == 1);
    ahead.vault.Records().DiscardJournal(outbox[0].seq);
    REQUIRE(ahead.Sync().ok);
    CHECK_THAT(DeviceLine(hq, ahead.vault.DeviceId()), Catch::Contains("  nothing waiting, reported 20"));
}

TEST_CASE("A hostile Escucha-Waiting header is ignored and the request answered as without it",
          "[sync][waiting][security]") {
    Hq hq;
    Device ana(hq, "researcher");
    const auto token = ana.vault.GetMeta("sync.token").value();
    const auto line = [&] { return DeviceLine(hq, ana.vault.DeviceId()); };
    REQUIRE_THAT(line(), Catch::Contains("  nothing waiting, reported 20"));
    const std::string header = "Escucha-Waiting: ";
    for (const std::string& hostile : std::vector<std::string>{
             header + "changes=-1; recordings=0; bytes=0\r\n", header + "changes=1; recordings=0; bytes=99\r\n",
             header + "changes=18446744073709551617; recordings=0; bytes=0\r\n",
             header + "changes=1; recordings=1; bytes=1000000000000000000\r\n", header + "\r\n",
             header + "changes=1;recordings=1;bytes=1;changes=1\r\n",
             header + "changes=1; recordings=0; bytes=0 ; \r\n", header + std::string(8000, '9') + "\r\n",
             // Twice, even alike: a request that says two things says neither.
             header + "changes=5; recordings=0; bytes=0\r\n" + header + "changes=5; recordings=0; bytes=0\r\n",
             "escucha-waiting: changes=5; recordings=0; bytes=0\r\nESCUCHA-WAITING: changes=6; recordings=0; "
             "bytes=0\r\n"}) {
        INFO(hostile);
        CHECK(RawRequest(hq.process.Port(), RawPull(token, hostile)) == 200);
        CHECK_THAT(line(), Catch::Contains("  nothing waiting, reported 20"));
    }
    // Without a token nobody is listened to.
    CHECK(RawRequest(hq.process.Port(),
                     RawPull(std::string(64, 'f'), header + "changes=5; recordings=0; bytes=0\r\n")) == 401);
    CHECK_THAT(line(), Catch::Contains("  nothing waiting, reported 20"));
    // The same way, a header right to the letter is taken (in any case of its name).
    CHECK(RawRequest(hq.process.Port(), RawPull(token, "escucha-WAITING: changes=7; recordings=0; bytes=0\r\n")) ==
          200);
    CHECK_THAT(line(), Catch::Contains("  7 changes waiting, reported 20"));
}
