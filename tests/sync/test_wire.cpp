// What crosses the wire: push bodies go gzip-compressed when that makes them
// smaller, headquarters decodes them within the same limits as plain ones and
// refuses what it cannot decode, and pull answers stay compressed.
#include "escucha/sync/http.h"
#include "sync/fault_proxy.h"
#include "sync/sync_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <stdexcept>
#include <thread>

using namespace escucha;
using namespace escucha::test;

namespace {

/// A proxy on loopback that passes everything and counts the bytes each way.
class CountingProxy {
public:
    explicit CountingProxy(int target_port) : m_target(target_port) {
        m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(m_listen, 16) != 0)
            throw std::runtime_error("counting proxy cannot listen");
        socklen_t len = sizeof addr;
        ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len);
        m_port = ntohs(addr.sin_port);
        m_acceptor = std::thread([this] { Accept(); });
    }
    ~CountingProxy() {
        m_stop = true;
        ::shutdown(m_listen, SHUT_RDWR);
        ::close(m_listen);
        m_acceptor.join();
        for (auto& t : m_pumps) t.join();
    }
    CountingProxy(const CountingProxy&) = delete;
    CountingProxy& operator=(const CountingProxy&) = delete;
    [[nodiscard]] std::string Url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
    std::atomic<size_t> up{0};   ///< device to headquarters
    std::atomic<size_t> down{0}; ///< headquarters to device

private:
    void Accept() {
        while (!m_stop) {
            pollfd p{m_listen, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            const int client = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
            if (client >= 0) m_pumps.emplace_back([this, client] { Pump(client); });
        }
    }
    void Pump(int client) {
        const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(m_target));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
            char buffer[16384];
            while (!m_stop) {
                pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
                if (::poll(fds, 2, 100) < 0) break;
                bool open = true;
                for (int i = 0; i < 2 && open; ++i) {
                    if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                    const ssize_t n = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
                    if (n <= 0) {
                        open = false;
                        break;
                    }
                    (i == 0 ? up : down) += static_cast<size_t>(n);
                    const int to = i == 0 ? server : client;
                    for (ssize_t sent = 0; sent < n && open;) {
                        const ssize_t m = ::send(to, buffer + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
                        if (m <= 0) open = false;
                        else sent += m;
                    }
                }
                if (!open) break;
            }
        }
        ::close(server);
        ::close(client);
    }
    int m_target;
    int m_listen = -1;
    int m_port = 0;
    std::atomic<bool> m_stop{false};
    std::thread m_acceptor;
    std::vector<std::thread> m_pumps; ///< only the acceptor adds
};

/// A field note's text as researchers write them: Spanish or French words,
/// 300 to 800 characters.
std::string FieldText(std::mt19937& rng) {
    static const std::vector<std::string> words = {
        "la",        "cosecha",   "de",         "café",       "llegó",    "tarde",     "este",      "año",
        "y",         "los",       "jornaleros", "dicen",      "que",      "el",        "pago",      "por",
        "kilo",      "bajó",      "otra",       "vez",        "una",      "mujer",     "contó",     "cómo",
        "caminan",   "dos",       "horas",      "hasta",      "la",       "finca",     "sin",       "agua",
        "potable",   "les",       "water",      "récolte",    "les",      "ouvriers",  "agricoles", "disent",
        "que",       "le",        "salaire",    "journalier", "ne",       "suffit",    "pas",       "pour",
        "nourrir",   "leur",      "famille",    "pendant",    "la",       "saison",    "sèche",     "chemin",
        "vereda",    "patrón",    "contrato",   "verbal",     "miedo",    "a",         "perder",    "trabajo",
        "reunión",   "comunidad", "niños",      "escuela",    "lluvia",   "pluie",     "marché",    "prix"};
    std::uniform_int_distribution<size_t> pick(0, words.size() - 1);
    std::uniform_int_distribution<size_t> length(300, 800);
    const size_t want = length(rng);
    std::string text;
    while (text.size() < want) text += (text.empty() ? "" : " ") + words[pick(rng)];
    return text + ".";
}

/// The size of the JSON the device's waiting changes make, as the client
/// builds it (one batch; the bodies dominate).
size_t PushJsonBytes(storage::Vault& vault) {
    size_t bytes = 0;
    for (const auto& e : vault.Records().PendingJournal(100'000, 0)) bytes += e.body.size() + 200;
    return bytes;
}

std::string Code(const sync::HttpResult& r) {
    const auto j = Json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("code", "") : "";
}

/// A push of one well-formed field note for `project`.
std::string OnePush(const std::string& project) {
    const auto id = storage::NewUuidV7();
    const Json body = {{"id", id},
                       {"type", "field_note"},
                       {"project_id", project},
                       {"text", "nota de campo"},
                       {"created_at", "2026-01-01T00:00:00.000Z"},
                       {"updated_at", storage::HlcTimestamp{1, 0}.ToString()},
                       {"author", "a"},
                       {"device", "d"},
                       {"rev", 1},
                       {"deleted", false}};
    return Json{{"changes", Json::array({{{"change_id", storage::NewUuidV7()},
                                          {"record_type", "field_note"},
                                          {"record_id", id},
                                          {"rev", 1},
                                          {"op", "upsert"},
                                          {"hlc", body["updated_at"]},
                                          {"body", body}}})}}
        .dump();
}

} // namespace

TEST_CASE("A device's push crosses the wire gzip-compressed and lands exactly once", "[sync][wire]") {
    Hq hq;
    CountingProxy proxy(hq.process.Port());
    Device device(hq, "researcher", proxy.Url());
    std::mt19937 rng(7);
    std::vector<std::string> notes;
    for (int i = 0; i < 300; ++i) notes.push_back(device.Add("field_note", {{"text", FieldText(rng)}})["id"]);
    const size_t json = PushJsonBytes(device.vault);
    const size_t before = proxy.up;
    auto report = device.Sync();
    INFO(report.error);
    REQUIRE(report.ok);
    const size_t sent = proxy.up - before;
    INFO("JSON about " << json << " bytes, " << sent << " bytes sent");
    // Spanish and French text shrinks about four times; headers and the
    // enrolment-free requests of a cycle are small beside it.
    CHECK(sent * 2 < json);
    RequireSameAsHq(hq, device.vault);

    SECTION("a cut answer after headquarters committed a compressed push: sent again, applied once") {
        FaultProxy faults(hq.process.Port());
        Device cut(hq, "researcher", "http://127.0.0.1:" + std::to_string(faults.Port()));
        for (int i = 0; i < 50; ++i) (void)cut.Add("field_note", {{"text", FieldText(rng)}});
        faults.Inject(Fault::CutResponse, 1);
        CHECK_FALSE(cut.Sync().ok);
        const auto again = cut.Sync();
        INFO(again.error);
        REQUIRE(again.ok);
        RequireSameAsHq(hq, cut.vault);
    }
    SECTION("an edit after the push goes out compressed too and is applied once") {
        const auto& id = notes.front();
        (void)device.vault.Records().Update(id, {{"text", FieldText(rng) + " " + FieldText(rng)}});
        REQUIRE(device.Sync().ok);
        RequireSameAsHq(hq, device.vault);
    }
    SECTION("pull answers stay compressed") {
        // The coordinator's device pulls the researcher's notes.
        Device coordinator(hq, "coordinator");
        sync::HttpClient http;
        const auto token = coordinator.vault.GetMeta("sync.token").value();
        const auto pulled = http.Get(hq.process.Url() + "/v1/pull?since=0&limit=500", token);
        REQUIRE(pulled.status == 200);
        CHECK(pulled.body.size() > 100'000); // decoded by libcurl
        CHECK(pulled.headers.count("content-encoding"));
        CHECK(pulled.headers.at("content-encoding") == "gzip");
    }
}

TEST_CASE("Headquarters refuses a body it cannot decode or that inflates past its limit, and changes nothing",
          "[sync][wire][security]") {
    Hq hq;
    Device device(hq, "researcher");
    const auto token = device.vault.GetMeta("sync.token").value();
    const auto url = hq.process.Url() + "/v1/push";
    sync::HttpClient http;
    const auto held = hq.Records().size();

    SECTION("a gzip bomb: a few tens of KB that would inflate to 40 MiB") {
        const auto bomb = sync::GzipCompress(std::string(40u * 1024 * 1024, '\0')).value();
        REQUIRE(bomb.size() < 64 * 1024);
        const auto r = http.PostEncoded(url, bomb, "gzip", token);
        CHECK(r.status == 413);
        CHECK(Code(r) == "too_large");
    }
    SECTION("a well-formed push that is past the limit once inflated") {
        auto json = OnePush(device.Project());
        json.insert(json.size() - 1, std::string(33u * 1024 * 1024, ' '));
        const auto packed = sync::GzipCompress(json).value();
        REQUIRE(packed.size() < 1024 * 1024);
        const auto r = http.PostEncoded(url, packed, "gzip", token);
        CHECK(r.status == 413);
        CHECK(Code(r) == "too_large");
    }
    SECTION("a truncated gzip body") {
        const auto packed = sync::GzipCompress(OnePush(device.Project())).value();
        const auto r = http.PostEncoded(url, packed.substr(0, packed.size() - 9), "gzip", token);
        CHECK(r.status == 400);
        CHECK(Code(r) == "bad_encoding");
    }
    SECTION("a damaged gzip body") {
        auto packed = sync::GzipCompress(OnePush(device.Project())).value();
        for (size_t i = 12; i < packed.size() - 8; i += 7) packed[i] = static_cast<char>(packed[i] ^ 0x5a);
        const auto r = http.PostEncoded(url, packed, "gzip", token);
        CHECK(r.status == 400);
        CHECK(Code(r) == "bad_encoding");
    }
    SECTION("a gzip body with bytes after its end, or a second member") {
        const auto packed = sync::GzipCompress(OnePush(device.Project())).value();
        CHECK(Code(http.PostEncoded(url, packed + "trailing", "gzip", token)) == "bad_encoding");
        CHECK(Code(http.PostEncoded(url, packed + packed, "gzip", token)) == "bad_encoding");
    }
    SECTION("gzip that is not gzip: a bare zlib stream, or plain JSON said to be gzip") {
        CHECK(Code(http.PostEncoded(url, OnePush(device.Project()), "gzip", token)) == "bad_encoding");
        CHECK(Code(http.PostEncoded(url, "", "gzip", token)) == "bad_encoding");
    }
    SECTION("an unknown or stacked encoding") {
        for (const char* encoding : {"br", "zstd", "deflate", "gzip, gzip", "compress"}) {
            INFO(encoding);
            const auto r = http.PostEncoded(url, OnePush(device.Project()), encoding, token);
            CHECK(r.status == 415);
            CHECK(Code(r) == "unsupported_encoding");
        }
    }
    // Nothing got in, and the connection's next well-formed gzip push does.
    CHECK(hq.Records().size() == held);
    const auto ok = http.PostEncoded(url, sync::GzipCompress(OnePush(device.Project())).value(), "GZIP", token);
    INFO(ok.body);
    CHECK(ok.status == 200);
    CHECK(hq.Records().size() == held + 1);
}

TEST_CASE("A body too small to gain from gzip is sent as it is, and still lands", "[sync][wire]") {
    Hq hq;
    CountingProxy proxy(hq.process.Port());
    Device device(hq, "researcher", proxy.Url());
    (void)device.Add("field_note", {{"text", "sí"}});
    REQUIRE(device.Sync().ok);
    RequireSameAsHq(hq, device.vault);
}

TEST_CASE("A compressed push cut, stalled or reset midway loses and duplicates nothing", "[sync][wire]") {
    Hq hq;
    FaultProxy proxy(hq.process.Port());
    Device ana(hq, "researcher", "http://127.0.0.1:" + std::to_string(proxy.Port()));
    REQUIRE(ana.Sync().ok);
    const auto fault = GENERATE(Fault::CutResponse, Fault::CutRequest, Fault::Stall, Fault::Reset);
    std::mt19937 rng(11);
    for (int i = 0; i < 450; ++i) (void)ana.Add("field_note", {{"text", FieldText(rng)}});
    // Three compressed requests of about 25 kB: the second is hit, and so is
    // the fresh connection libcurl retries it on.
    proxy.Inject(fault, 35'000);
    proxy.Inject(fault, 0);
    const auto broken = ana.Sync();
    INFO("connections " << proxy.Connections() << ", faults left " << proxy.FaultsLeft());
    CHECK_FALSE(broken.ok);
    const auto waiting = ana.vault.Records().PendingJournalCount();
    CHECK(waiting > 0);
    auto healed = ana.Sync();
    for (int i = 0; i < 2 && !healed.ok; ++i) healed = ana.Sync();
    INFO(healed.error);
    REQUIRE(healed.ok);
    RequireSameAsHq(hq, ana.vault);
    CHECK(hq.Records().size() == 451);
}
