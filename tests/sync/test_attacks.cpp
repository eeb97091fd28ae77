// Headquarters attacked as an outsider and as an enrolled device would
// attack it: a real escucha-hq on loopback, real devices enrolled with codes,
// raw sockets where a client library would be too polite.
#include "escucha/storage/blobs.h"
#include "escucha/sync/hq_server.h"
#include "escucha/sync/http.h"
#include "sync/sync_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <sstream>
#include <thread>

using namespace escucha;
using namespace escucha::test;

namespace {

// [SECTION] Helpers

struct Caller {
    std::string base;
    std::string token;
    sync::HttpClient http{sync::HttpOptions{}};
    sync::HttpResult Post(const std::string& path, const std::string& body) {
        return http.Post(base + path, body, token);
    }
    sync::HttpResult Get(const std::string& path) { return http.Get(base + path, token); }
};

std::string Code(const sync::HttpResult& r) {
    const auto j = Json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("code", std::string()) : std::string();
}

std::string EnrolIn(const Hq& hq, const std::string& project, const std::string& role, const std::string& device_id) {
    sync::HttpClient http;
    const auto code = hq.process.Admin({"enrol", "--project", project, "--role", role});
    const auto r = http.Post(hq.process.Url() + "/v1/enrol",
                             Json{{"code", code}, {"device_id", device_id}, {"device_name", role}}.dump());
    REQUIRE(r.status == 200);
    return Json::parse(r.body)["token"];
}

Json ChangeOf(const Json& body, const std::string& op = "upsert") {
    return {{"change_id", storage::NewUuidV7()},
            {"record_type", body["type"]},
            {"record_id", body["id"]},
            {"rev", body["rev"]},
            {"op", op},
            {"hlc", body["updated_at"]},
            {"body", body}};
}

Json PushOf(const std::vector<Json>& changes) { return {{"changes", changes}}; }

/// A TCP connection from `from` (any 127.x address) to HQ; -1 on failure.
int Connect(int port, const std::string& from = "127.0.0.1") {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, from.c_str(), &local.sin_addr);
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

bool SendAll(int fd, const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
        const auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return false;
        sent += static_cast<size_t>(n);
    }
    return true;
}

/// What arrives until the peer closes or `wait_ms` pass without a byte.
std::string ReadUntilQuiet(int fd, int wait_ms) {
    std::string out;
    char buffer[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, wait_ms) <= 0) break;
        const auto n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        out.append(buffer, static_cast<size_t>(n));
    }
    return out;
}

/// True when HQ has closed `fd` (a read returns end of file or a reset).
bool ClosedByPeer(int fd, int wait_ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, wait_ms) <= 0) return false;
    char c;
    return ::recv(fd, &c, 1, MSG_PEEK) <= 0;
}

/// A PROXY protocol v2 header (as haproxy's send-proxy-v2 sends it) saying
/// the connection comes from `device` over IPv4; `command` 0x21 is PROXY,
/// 0x20 LOCAL (the balancer's own check).
std::string ProxyHeader(const std::string& device, unsigned char command = 0x21) {
    std::string header("\r\n\r\n\0\r\nQUIT\n", 12);
    header += static_cast<char>(command);
    header += '\x11'; // TCP over IPv4
    header += std::string("\0\x0c", 2);
    in_addr source{};
    ::inet_pton(AF_INET, device.c_str(), &source);
    header.append(reinterpret_cast<const char*>(&source), 4);
    header.append(std::string("\x7f\0\0\x01", 4)); // destination
    header.append("\x30\x39\x20\xfb", 4);           // ports
    return header;
}

} // namespace

// [SECTION] Critical

TEST_CASE("Deeply nested JSON is refused with a code, before any value is built", "[sync][security]") {
    Hq hq;
    Caller me{hq.process.Url(), EnrolIn(hq, hq.project, "researcher", storage::NewUuidV7())};
    const std::string deep = "{\"a\":" + std::string(90'000, '[') + std::string(90'000, ']') + ",\"b\":1}";
    // Enrolment takes a few hundred bytes: refused from the headers.
    const auto enrol = Caller{hq.process.Url(), ""}.Post("/v1/enrol", deep);
    CHECK(enrol.status == 413);
    CHECK(Code(enrol) == "too_large");
    const auto push = me.Post("/v1/push", deep);
    CHECK(push.status == 400);
    CHECK(Code(push) == "json_too_deep");
    CHECK_THAT(push.ErrorText(), Catch::Contains("nested"));
    // Still serving.
    CHECK(me.Get("/v1/whoami").status == 200);
}

TEST_CASE("Whatever type a change claims, a device changes and reads only what its role allows", "[sync][security]") {
    Hq hq;
    const auto other = hq.process.Admin({"create-project", "Pêcheurs du Sud"});
    // The project shares identities, so identity links reach HQ at all.
    Device dora(hq, "coordinator");
    dora.vault.Records().Update(dora.Project(), {{"share_identities", true}});
    REQUIRE(dora.Sync().ok);
    Device ana(hq, "researcher");
    REQUIRE(ana.Sync().ok);
    const auto rosa = ana.Add("participant", {{"pseudonym", "Rosa"}, {"notes", "SECRETO-PARTICIPANTE"}});
    ana.Add("identity_link",
            {{"participant_id", rosa["id"]}, {"full_name", "SECRETO Rosa Quispe"}, {"contact", "+57 300 555 0101"}});
    ana.Add("consent",
            {{"participant_id", rosa["id"]}, {"script_version", "v1"}, {"language", "es"}, {"mode", "oral_recorded"}});
    ana.Add("field_note", {{"text", "SECRETO-NOTA de Ana"}});
    ana.Add("narrative", {{"title", "La cosecha"}, {"text", "SECRETO-RELATO"}, {"teller_ids", {rosa["id"]}}});
    ana.Add("profile", {{"kind", "individual"}, {"name", "Rosa"}, {"participant_ids", {rosa["id"]}}});
    const auto sync = ana.Sync();
    INFO(sync.error);
    REQUIRE(sync.ok);
    const auto before = hq.Records();
    std::vector<Json> victims;
    for (const auto& [id, r] : before)
        if (r["author"] == "researcher-person") victims.push_back(r);
    REQUIRE(victims.size() == 6);

    struct Attacker {
        std::string name;
        std::string project;
        sync::Role role;
        Caller caller;
        std::string device_id = storage::NewUuidV7();
    };
    std::vector<Attacker> attackers;
    const auto add = [&](const std::string& name, const std::string& project, sync::Role role) {
        Attacker a{name, project, role, {hq.process.Url(), ""}};
        a.caller.token = EnrolIn(hq, project, sync::RoleName(role), a.device_id);
        attackers.push_back(std::move(a));
    };
    add("researcher of A", hq.project, sync::Role::Researcher);
    add("interpreter of A", hq.project, sync::Role::Interpreter);
    add("researcher of B", other, sync::Role::Researcher);
    add("coordinator of B", other, sync::Role::Coordinator);
    add("interpreter of B", other, sync::Role::Interpreter);
    const std::vector<std::string> secrets = {"SECRETO", "+57 300", "Quispe"};

    const auto fresh = [&](const std::string& type, const std::string& id, const Attacker& a, int64_t rev) {
        Json body = {{"id", id},
                     {"type", type},
                     {"project_id", a.project},
                     {"created_at", "2026-01-01T00:00:00.000Z"},
                     {"updated_at", storage::HlcTimestamp{storage::SystemMillis(), 0}.ToString()},
                     {"author", a.name},
                     {"device", a.device_id},
                     {"rev", rev},
                     {"deleted", false}};
        if (type == "profile") body.update({{"kind", "collective"}, {"name", "tomado"}});
        else body["text"] = "tomado";
        return body;
    };
    int refused = 0;
    for (const auto& v : victims) {
        const std::string type = v["type"];
        for (auto& a : attackers) {
            const bool same_project = a.project == hq.project;
            for (const auto& claimed : {type, std::string("profile"), std::string("field_note")}) {
                for (const auto& op : {std::string("upsert"), std::string("delete")}) {
                    // Only the changes the rules must refuse are sent, so the
                    // victims stay as they were and can be compared at the end.
                    const bool honest = claimed == type;
                    const bool may = same_project && honest && type == "profile";
                    if (may) continue;
                    Json body = honest ? v : fresh(claimed, v["id"], a, v["rev"].get<int64_t>() + 1);
                    if (honest) {
                        body["rev"] = v["rev"].get<int64_t>() + 1;
                        body["project_id"] = a.project;
                        body["updated_at"] = storage::HlcTimestamp{storage::SystemMillis(), 0}.ToString();
                    }
                    if (claimed == "profile" && !honest) body["rev"] = 1;
                    const auto r = a.caller.Post("/v1/push", PushOf({ChangeOf(body, op)}).dump());
                    INFO(a.name << " " << op << " " << type << " claimed as " << claimed << " -> " << r.status << " "
                                << r.body);
                    if (r.status == 200) {
                        const auto result = Json::parse(r.body)["results"][0];
                        CHECK(result["status"] == "rejected");
                    } else {
                        CHECK(r.status == 403);
                    }
                    for (const auto& s : secrets) CHECK(r.body.find(s) == std::string::npos);
                    ++refused;
                }
            }
        }
    }
    CHECK(refused > 100);
    // Nothing of theirs moved, changed or went away.
    const auto after = hq.Records();
    for (const auto& v : victims) {
        INFO(v["type"]);
        REQUIRE(after.count(v["id"]) == 1);
        CHECK(after.at(v["id"]) == v);
    }
    // And what each attacker pulls holds none of it.
    for (auto& a : attackers) {
        const auto pulled = a.caller.Get("/v1/pull?since=0&limit=1000");
        REQUIRE(pulled.status == 200);
        INFO(a.name);
        const auto page = Json::parse(pulled.body);
        for (const auto& r : page["records"]) {
            CHECK(r.value("project_id", r["id"].get<std::string>()) == a.project);
            if (a.role == sync::Role::Researcher) CHECK(r["type"] != "field_note");
        }
        const bool may_read_notes = a.project == hq.project && a.role == sync::Role::Interpreter;
        for (const auto& s : secrets)
            if (!may_read_notes || s != "SECRETO") CHECK(pulled.body.find(s) == std::string::npos);
        CHECK(pulled.body.find("+57 300") == std::string::npos);
    }
    SECTION("the rules still let the right people in") {
        // The coordinator of A edits Ana's note; an interpreter edits the shared profile.
        Json note;
        for (const auto& v : victims)
            if (v["type"] == "field_note") note = v;
        note["rev"] = note["rev"].get<int64_t>() + 1;
        note["text"] = "corregida por Dora";
        Caller coordinator{hq.process.Url(), EnrolIn(hq, hq.project, "coordinator", storage::NewUuidV7())};
        const auto r = coordinator.Post("/v1/push", PushOf({ChangeOf(note)}).dump());
        REQUIRE(r.status == 200);
        CHECK(Json::parse(r.body)["results"][0]["status"] == "applied");
    }
}

// [SECTION] High

TEST_CASE("Enrolling with an enrolled device's id does not take it over", "[sync][security]") {
    Hq hq;
    Device victim(hq, "researcher");
    victim.Add("field_note", {{"text", "mía"}});
    REQUIRE(victim.Sync().ok);
    const auto id = victim.vault.DeviceId();
    sync::HttpClient http;
    const auto r = http.Post(hq.process.Url() + "/v1/enrol",
                             Json{{"code", hq.Code("coordinator")}, {"device_id", id}, {"device_name", "x"}}.dump());
    CHECK(r.status == 409);
    CHECK(Code(r) == "device_enrolled");
    CHECK(Json::parse(r.body).count("token") == 0);
    // The victim still syncs, and the code was not spent on the attempt.
    victim.Add("field_note", {{"text", "sigo aquí"}});
    CHECK(victim.Sync().ok);
    SECTION("a device enrols again with its own token") {
        const auto token = victim.vault.GetMeta("sync.token").value();
        const auto again =
            http.Post(hq.process.Url() + "/v1/enrol",
                      Json{{"code", hq.Code("researcher")}, {"device_id", id}, {"device_name", "x"}}.dump(), token);
        CHECK(again.status == 200);
    }
    SECTION("a revoked device comes back with a new code, as its person would") {
        (void)hq.process.Admin({"revoke", id});
        CHECK_FALSE(victim.Sync().ok);
        const auto error = sync::Enrol(victim.vault, hq.process.Url(), hq.Code("researcher"), "");
        INFO(error.value_or(""));
        CHECK_FALSE(error);
        CHECK(victim.Sync().ok);
    }
}

TEST_CASE("A legitimate sync completes while 500 slow connections are open", "[sync][security]") {
    Hq hq;
    Device ana(hq, "researcher");
    for (int i = 0; i < 50; ++i) ana.Add("field_note", {{"text", "nota " + std::to_string(i)}});
    // Ten addresses, fifty slow connections each: every one sends a header
    // line now and then and never finishes its request.
    std::vector<int> slow;
    for (int a = 0; a < 10; ++a)
        for (int i = 0; i < 50; ++i) {
            const int fd = Connect(hq.process.Port(), "127.0.1." + std::to_string(a + 1));
            REQUIRE(fd >= 0);
            REQUIRE(SendAll(fd, "POST /v1/push HTTP/1.1\r\nHost: x\r\n"));
            slow.push_back(fd);
        }
    for (int fd : slow) CHECK(SendAll(fd, "X-Slow: 1\r\n"));
    const auto report = ana.Sync();
    INFO(report.error);
    CHECK(report.ok);
    CHECK(report.acknowledged == 50);
    CHECK(Caller{hq.process.Url(), ""}.Get("/v1/health").status == 200);
    SECTION("one address gets at most its share of connections; past it, closed at once") {
        std::vector<int> mine;
        int closed = 0;
        for (int i = 0; i < 80; ++i) {
            const int fd = Connect(hq.process.Port(), "127.0.2.1");
            REQUIRE(fd >= 0);
            mine.push_back(fd);
        }
        std::this_thread::sleep_for(std::chrono::seconds(1));
        for (int fd : mine)
            if (ClosedByPeer(fd, 0)) ++closed;
        CHECK(closed >= 80 - sync::ServerLimits{}.max_per_address);
        CHECK(closed < 80);
        for (int fd : mine) ::close(fd);
    }
    for (int fd : slow) ::close(fd);
}

TEST_CASE("Behind a balancer, a connection counts under the address its PROXY header names", "[sync][security]") {
    // 127.0.4.1 plays the balancer (haproxy with send-proxy-v2).
    Hq hq({"--proxy-from", "127.0.4.1"});
    const int port = hq.process.Port();
    const std::string health = "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    SECTION("a request behind the header is served") {
        for (unsigned char command : {0x21, 0x20}) {
            const int fd = Connect(port, "127.0.4.1");
            REQUIRE(fd >= 0);
            REQUIRE(SendAll(fd, ProxyHeader("10.1.2.3", command) + health));
            CHECK_THAT(ReadUntilQuiet(fd, 5000), Catch::StartsWith("HTTP/1.1 200"));
            ::close(fd);
        }
    }
    SECTION("one device gets its share of connections through the balancer, and many devices all theirs") {
        std::vector<int> one, many;
        for (int i = 0; i < 80; ++i) {
            const int a = Connect(port, "127.0.4.1");
            const int b = Connect(port, "127.0.4.1");
            REQUIRE(a >= 0);
            REQUIRE(b >= 0);
            REQUIRE(SendAll(a, ProxyHeader("10.0.0.1")));
            REQUIRE(SendAll(b, ProxyHeader("10.0.1." + std::to_string(i + 1))));
            one.push_back(a);
            many.push_back(b);
        }
        std::this_thread::sleep_for(std::chrono::seconds(1));
        int closed_one = 0, closed_many = 0;
        for (int fd : one) closed_one += ClosedByPeer(fd, 0) ? 1 : 0;
        for (int fd : many) closed_many += ClosedByPeer(fd, 0) ? 1 : 0;
        CHECK(closed_one >= 80 - sync::ServerLimits{}.max_per_address);
        CHECK(closed_one < 80);
        CHECK(closed_many == 0);
        for (int fd : one) ::close(fd);
        for (int fd : many) ::close(fd);
    }
    SECTION("from the balancer, anything but the header is closed unanswered") {
        std::string too_long = ProxyHeader("10.1.2.3");
        too_long[14] = '\xff';
        too_long[15] = '\xff';
        std::string version_one = ProxyHeader("10.1.2.3");
        version_one[12] = '\x11';
        for (const auto& bytes : {health, too_long + health, version_one + health,
                                  std::string("PROXY TCP4 10.1.2.3 127.0.0.1 12345 8443\r\n") + health}) {
            const int fd = Connect(port, "127.0.4.1");
            REQUIRE(fd >= 0);
            REQUIRE(SendAll(fd, bytes));
            CHECK(ReadUntilQuiet(fd, 2000).empty());
            ::close(fd);
        }
    }
    SECTION("from any other address a PROXY header is not believed: it is bad HTTP") {
        const int fd = Connect(port, "127.0.4.2");
        REQUIRE(fd >= 0);
        REQUIRE(SendAll(fd, ProxyHeader("10.1.2.3") + health));
        CHECK_THAT(ReadUntilQuiet(fd, 5000), Catch::StartsWith("HTTP/1.1 400"));
        ::close(fd);
    }
}

TEST_CASE("escucha-hq refuses a balancer address it cannot read", "[sync][errors]") {
    TempDir dir;
    const auto r = RunProgram({HqPath(), "--data", (dir / "hq").string(), "--listen", "127.0.0.1:0", "--proxy-from",
                               "127.0.0.1,haproxy.local"});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("--proxy-from") && Catch::Contains("haproxy.local"));
}

TEST_CASE("A request that does not finish in time is closed", "[sync][security]") {
    // The header deadline is 20 s by default; a connection that sends one
    // line every few seconds is closed when it passes, whatever it sends.
    Hq hq;
    const int fd = Connect(hq.process.Port());
    REQUIRE(fd >= 0);
    REQUIRE(SendAll(fd, "GET /v1/health HTTP/1.1\r\n"));
    bool closed = false;
    for (int i = 0; i < 30 && !closed; ++i) {
        if (!SendAll(fd, "X-Slow: 1\r\n")) closed = true;
        else closed = ClosedByPeer(fd, 1000);
    }
    CHECK(closed);
    ::close(fd);
}

TEST_CASE("A clock far in the future is refused with a code and does not spread", "[sync][security]") {
    Hq hq;
    Device mallory(hq, "interpreter");
    const auto profile = mallory.Add("profile", {{"kind", "collective"}, {"name", "Futuro"}});
    Json body = *mallory.vault.Records().Get(profile["id"]);
    body["updated_at"] = "2099-12-31T23:59:59.000Z/0000";
    Caller caller{hq.process.Url(), mallory.vault.GetMeta("sync.token").value()};
    auto change = ChangeOf(body);
    const auto r = caller.Post("/v1/push", PushOf({change}).dump());
    REQUIRE(r.status == 200);
    const auto result = Json::parse(r.body)["results"][0];
    CHECK(result["status"] == "rejected");
    CHECK(result["code"] == "clock_ahead");
    CHECK_THAT(result["reason"].get<std::string>(), Catch::Contains("date and time"));
    CHECK(hq.Records().count(profile["id"]) == 0);
    // A device whose own clock is a year ahead is told so by its sync.
    Device ahead(hq, "researcher", "", "", 365LL * 86'400'000);
    ahead.Add("field_note", {{"text", "desde el futuro"}});
    const auto report = ahead.Sync();
    CHECK_FALSE(report.ok);
    const auto outbox = ahead.vault.Records().PendingJournal(10, 0, true);
    REQUIRE(outbox.size() == 1);
    CHECK_THAT(outbox[0].last_error, Catch::Contains("date and time"));
}

TEST_CASE("Bodies are limited per endpoint before they are read", "[sync][security]") {
    Hq hq;
    SECTION("a declared length past the limit gets 413 at once") {
        const int fd = Connect(hq.process.Port());
        REQUIRE(SendAll(fd, "POST /v1/enrol HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            "Content-Length: 28000000\r\n\r\n[{},{},"));
        const auto answer = ReadUntilQuiet(fd, 3000);
        CHECK(answer.rfind("HTTP/1.1 413", 0) == 0);
        ::close(fd);
    }
    SECTION("a chunked body is refused from its headers: chunk headers escape every body limit") {
        const int fd = Connect(hq.process.Port());
        REQUIRE(SendAll(fd, "POST /v1/enrol HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n2;" +
                                std::string(60'000, 'a')));
        const auto answer = ReadUntilQuiet(fd, 3000);
        CHECK(answer.rfind("HTTP/1.1 411", 0) == 0);
        ::close(fd);
    }
    SECTION("a transfer coding other than chunked is refused too, not read as no body") {
        const int fd = Connect(hq.process.Port());
        REQUIRE(SendAll(fd, "POST /v1/enrol HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            "Transfer-Encoding: gzip\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
        const auto answer = ReadUntilQuiet(fd, 3000);
        CHECK(answer.rfind("HTTP/1.1 411", 0) == 0);
        CHECK(answer.find("\"ok\"") == std::string::npos);
        ::close(fd);
    }
    SECTION("a body of the wrong type is refused") {
        const int fd = Connect(hq.process.Port());
        REQUIRE(SendAll(
            fd, "POST /v1/enrol HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}"));
        const auto answer = ReadUntilQuiet(fd, 3000);
        CHECK(answer.rfind("HTTP/1.1 415", 0) == 0);
        ::close(fd);
    }
    CHECK(Caller{hq.process.Url(), ""}.Get("/v1/health").status == 200);
}

TEST_CASE("Bodies held at once stay within HQ's budget; past it, 503 and the device tries again", "[sync][security]") {
    TempDir dir;
    sync::SqliteHqStore store((dir / "hq.db").string());
    const auto project = store.CreateProject("P");
    store.AddEnrolment(sync::HashSecret("CODE"), project.id, sync::Role::Researcher, "",
                       storage::FormatIsoMillis(storage::SystemMillis() + 86'400'000));
    const auto token = sync::NewToken();
    REQUIRE(store.Enrol(sync::HashSecret("CODE"), storage::NewUuidV7(), "", sync::HashSecret(token), "").result ==
            sync::EnrolResult::Enrolled);
    sync::ServerOptions options;
    options.limits.body_budget = 64 * 1024;
    sync::HqServer server(store, AllTypes(), options);
    const int port = server.Bind("127.0.0.1", 0);
    REQUIRE(port > 0);
    std::thread serving([&] { server.ListenAfterBind(); });
    server.WaitUntilReady();
    Caller me{"http://127.0.0.1:" + std::to_string(port), token};
    const std::string push = "{\"changes\": [] " + std::string(32 * 1024, ' ') + "}";
    bool refused = false;
    std::string last_answer;
    int fd = -1;
    for (int attempt = 0; attempt < 50 && !refused; ++attempt) {
        if (fd >= 0) ::close(fd);
        // One connection holds 48 KiB of an unfinished body...
        fd = Connect(port);
        REQUIRE(SendAll(fd, "POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                                "\r\nContent-Type: application/json\r\nContent-Length: 49152\r\n\r\n{"));
        // ...once HQ has admitted it: soon, but on a busy machine not at once.
        std::this_thread::sleep_for(std::chrono::milliseconds(50 * (attempt + 1)));
        if (!ReadUntilQuiet(fd, 0).empty()) continue; // answered already: not holding anything
        // ...so a second body of 32 KiB does not fit while the first waits.
        const auto r = me.Post("/v1/push", push);
        last_answer = std::to_string(r.status) + " " + r.body.substr(0, 200);
        refused = r.status == 503 && Code(r) == "busy";
    }
    INFO("last answer: " << last_answer);
    CHECK(refused);
    ::close(fd);
    // Once the first connection is gone, the same push goes through.
    bool accepted = false;
    for (int i = 0; i < 500 && !accepted; ++i) {
        accepted = me.Post("/v1/push", push).status == 200;
        if (!accepted) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(accepted);
    server.Stop();
    serving.join();
}

TEST_CASE("When every connection slot is held by idle callers, a device still gets in", "[sync][security]") {
    TempDir dir;
    sync::SqliteHqStore store((dir / "hq.db").string());
    sync::ServerOptions options;
    options.limits.max_connections = 40;
    sync::HqServer server(store, AllTypes(), options);
    const int port = server.Bind("127.0.0.1", 0);
    REQUIRE(port > 0);
    std::thread serving([&] { server.ListenAfterBind(); });
    server.WaitUntilReady();
    std::vector<int> idle;
    for (int a = 0; a < 4; ++a)
        for (int i = 0; i < 10; ++i) {
            const int fd = Connect(port, "127.0.3." + std::to_string(a + 1));
            REQUIRE(fd >= 0);
            REQUIRE(SendAll(fd, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
            idle.push_back(fd);
        }
    for (int fd : idle) CHECK(ReadUntilQuiet(fd, 200).rfind("HTTP/1.1 200", 0) == 0);
    // All 40 slots are held, idle. A new caller is served all the same.
    for (int i = 0; i < 5; ++i)
        CHECK(Caller{"http://127.0.0.1:" + std::to_string(port), ""}.Get("/v1/health").status == 200);
    int closed = 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (int fd : idle) {
        if (ClosedByPeer(fd, 0)) ++closed;
        ::close(fd);
    }
    CHECK(closed >= 1);
    server.Stop();
    serving.join();
}

TEST_CASE("Odd numbers and big records do not break HQ", "[sync][security]") {
    Hq hq;
    Caller me{hq.process.Url(), EnrolIn(hq, hq.project, "coordinator", storage::NewUuidV7())};
    const auto note = [&](const std::string& text, int64_t rev) {
        return Json{{"id", storage::NewUuidV7()},
                    {"type", "field_note"},
                    {"project_id", hq.project},
                    {"text", text},
                    {"created_at", "2026-01-01T00:00:00.000Z"},
                    {"updated_at", storage::HlcTimestamp{storage::SystemMillis(), 0}.ToString()},
                    {"author", "a"},
                    {"device", "d"},
                    {"rev", rev},
                    {"deleted", false}};
    };
    SECTION("a revision past 2^53 is refused") {
        const auto r = me.Post("/v1/push", PushOf({ChangeOf(note("x", INT64_MAX))}).dump());
        CHECK(r.status == 400);
        CHECK_THAT(r.ErrorText(), Catch::Contains("rev"));
    }
    SECTION("a pull page stops past its size, and the next page has the rest") {
        for (int i = 0; i < 3; ++i)
            REQUIRE(me.Post("/v1/push", PushOf({ChangeOf(note(std::string(3'000'000, 'a' + i), 1))}).dump()).status ==
                    200);
        Caller reader{hq.process.Url(), EnrolIn(hq, hq.project, "coordinator", storage::NewUuidV7())};
        int64_t since = 0;
        size_t notes = 0, pages = 0;
        for (bool more = true; more && pages < 10; ++pages) {
            const auto r = reader.Get("/v1/pull?since=" + std::to_string(since) + "&limit=1000");
            REQUIRE(r.status == 200);
            CHECK(r.body.size() < sync::MAX_PULL_BYTES + 3'200'000);
            const auto page = Json::parse(r.body);
            for (const auto& rec : page["records"]) notes += rec["type"] == "field_note";
            since = page["next"];
            more = page["more"];
        }
        CHECK(notes == 3);
        CHECK(pages >= 2);
    }
}

TEST_CASE("An upload begun by one device is continued by it alone", "[sync][security]") {
    Hq hq;
    Caller ana{hq.process.Url(), EnrolIn(hq, hq.project, "researcher", storage::NewUuidV7())};
    Caller luis{hq.process.Url(), EnrolIn(hq, hq.project, "interpreter", storage::NewUuidV7())};
    const std::string content = std::string(1000, 'g') + "grabación";
    unsigned char digest[32];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(content.data()), content.size());
    const auto url = hq.process.Url() + "/v1/blobs/" + storage::HexEncode(digest, sizeof digest);
    const auto total = std::to_string(content.size());
    REQUIRE(ana.http.Put(url + "?offset=0&total=" + total, content.substr(0, 500), ana.token).status == 200);
    const auto spoiled =
        luis.http.Put(url + "?offset=500&total=" + total, std::string(content.size() - 500, 'x'), luis.token);
    CHECK(spoiled.status == 409);
    CHECK(Code(spoiled) == "upload_in_progress");
    const auto done = ana.http.Put(url + "?offset=500&total=" + total, content.substr(500), ana.token);
    REQUIRE(done.status == 200);
    CHECK(Json::parse(done.body)["complete"] == true);
}

// [SECTION] Medium and low

TEST_CASE("Unfinished uploads are limited per device, and counted in admin usage", "[sync][security]") {
    Hq hq;
    Caller me{hq.process.Url(), EnrolIn(hq, hq.project, "researcher", storage::NewUuidV7())};
    const auto put = [&](int i, int64_t total) {
        unsigned char digest[32];
        const auto name = "blob " + std::to_string(i);
        crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(name.data()), name.size());
        return me.http.Put(me.base + "/v1/blobs/" + storage::HexEncode(digest, sizeof digest) +
                               "?offset=0&total=" + std::to_string(total),
                           std::string(1024, 'x'), me.token);
    };
    CHECK(put(0, 8LL * 1024 * 1024 * 1024).status == 413); // past the largest blob HQ takes
    const auto quota = sync::BlobQuota{};
    for (int i = 0; i < quota.pending_per_device; ++i) CHECK(put(i, 1024 * 1024).status == 200);
    const auto over = put(99, 1024 * 1024);
    CHECK(over.status == 507);
    CHECK(Code(over) == "quota_exceeded");
    const auto usage = hq.process.Admin({"usage"});
    CHECK_THAT(usage, Catch::Contains("Café Nariño  0 file(s), 0 bytes; " + std::to_string(quota.pending_per_device) +
                                      " unfinished upload(s)"));
}

TEST_CASE("Headquarters' files are for its user alone", "[sync][security]") {
    Hq hq;
    Device ana(hq, "researcher");
    const std::string content = "grabación";
    (void)storage::BlobStore(ana.vault).AddBytes(content);
    REQUIRE(ana.Sync().ok);
    int checked = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(hq.dir / "hq")) {
        struct stat st {};
        REQUIRE(::stat(entry.path().c_str(), &st) == 0);
        INFO(entry.path());
        CHECK((st.st_mode & 077) == 0);
        ++checked;
    }
    CHECK(checked >= 4);
}

TEST_CASE("Enrolment codes expire, and wrong codes from one address are slowed down", "[sync][security]") {
    Hq hq;
    sync::HttpClient http;
    const auto enrol = [&](const std::string& code) {
        return http.Post(hq.process.Url() + "/v1/enrol",
                         Json{{"code", code}, {"device_id", storage::NewUuidV7()}, {"device_name", "x"}}.dump());
    };
    const auto code = hq.Code("researcher");
    // Age the code by hand, as a week would.
    const auto db = (hq.dir / "hq" / "hq.db").string();
    sync::HqKeySource key;
    key.key_file = hq.process.KeyFile();
    const auto raw = sync::HqRawKey(hq.dir / "hq", key);
    const auto aged = RunProgram({"/usr/bin/sqlcipher", db}, {},
                                 "PRAGMA key = \"" + std::string(raw.begin(), raw.end()) +
                                     "\";\nPRAGMA cipher_page_size = 4096;\n"
                                     "UPDATE enrolments SET expires_at = '2020-01-01T00:00:00.000Z';\n");
    INFO(aged.err);
    REQUIRE(aged.exit_code == 0);
    CHECK(enrol(code).status == 403);
    const auto valid = hq.Code("researcher");
    int throttled = 0;
    for (int i = 0; i < 15; ++i)
        if (enrol("WRONG-CODE-" + std::to_string(i)).status == 429) ++throttled;
    CHECK(throttled >= 4);
    // Throttled, even a right code waits.
    const auto r = enrol(valid);
    CHECK(r.status == 429);
    CHECK(Code(r) == "too_many_attempts");
}

TEST_CASE("escucha-hq on IPv6 loopback prints a URL a device can use", "[sync]") {
    TempDir dir;
    HqProcess hq((dir / "hq").string(), {}, "::1");
    CHECK(hq.Url().rfind("http://[::1]:", 0) == 0);
    CHECK(Caller{hq.Url(), ""}.Get("/v1/health").status == 200);
}

TEST_CASE("A push body of too many small values is refused before it becomes a tree", "[sync][security]") {
    TempDir dir;
    sync::SqliteHqStore store((dir / "hq.db").string());
    const auto project = store.CreateProject("P");
    store.AddEnrolment(sync::HashSecret("CODE"), project.id, sync::Role::Researcher, "",
                       storage::FormatIsoMillis(storage::SystemMillis() + 86'400'000));
    const auto token = sync::NewToken();
    REQUIRE(store.Enrol(sync::HashSecret("CODE"), storage::NewUuidV7(), "", sync::HashSecret(token), "").result ==
            sync::EnrolResult::Enrolled);
    sync::HqApi api(store, AllTypes(), nullptr);
    sync::ApiRequest request{"POST", "/v1/push", {}, "Bearer " + token, "application/json", "", "127.0.0.1", ""};
    std::string many = "{\"changes\": [], \"x\": [0";
    for (size_t i = 0; i < api.Limits().push_json_values; ++i) many += ",0";
    request.body = many + "]}";
    const auto answer = api.Serve(request);
    CHECK(answer.status == 413);
    CHECK(Json::parse(answer.body)["code"] == "json_too_large");
    request.body = "{\"changes\": []}";
    CHECK(api.Serve(request).status == 200);
}
