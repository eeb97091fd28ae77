// HQ's doors: every endpoint refuses the wrong caller and bad input in words,
// and changes nothing when it does. TLS with a certificate pinned at enrolment.
#include "escucha/sync/hq_api.h"
#include "escucha/sync/hq_store.h"
#include "escucha/sync/http.h"
#include "sync/sync_fixture.h"

#include <sodium.h>

#include <cerrno>
#include <chrono>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>

using namespace escucha;
using namespace escucha::test;

namespace {

struct Caller {
    sync::HttpClient http{sync::HttpOptions{}};
    std::string base;
    std::string token;
    sync::HttpResult Post(const std::string& path, const std::string& body) {
        return http.Post(base + path, body, token);
    }
    sync::HttpResult Get(const std::string& path) { return http.Get(base + path, token); }
};

Json Error(const sync::HttpResult& r) {
    auto j = Json::parse(r.body, nullptr, false);
    return j.is_discarded() ? Json() : j.value("error", Json());
}

/// Enrols a device by hand, as the protocol says; returns its token.
std::string EnrolToken(const Hq& hq, const std::string& role, const std::string& device_id) {
    sync::HttpClient http;
    const auto r = http.Post(hq.process.Url() + "/v1/enrol",
                             Json{{"code", hq.Code(role)}, {"device_id", device_id}, {"device_name", "t"}}.dump());
    REQUIRE(r.status == 200);
    return Json::parse(r.body)["token"];
}

Json Note(const std::string& project, const std::string& id, int rev = 1) {
    return {{"id", id},
            {"type", "field_note"},
            {"project_id", project},
            {"text", "nota"},
            {"created_at", "2026-01-01T00:00:00.000Z"},
            {"updated_at", storage::HlcTimestamp{1, 0}.ToString()},
            {"author", "a"},
            {"device", "d"},
            {"rev", rev},
            {"deleted", false}};
}

Json Push(const std::vector<Json>& bodies) {
    Json changes = Json::array();
    for (const auto& b : bodies)
        changes.push_back({{"change_id", storage::NewUuidV7()},
                           {"record_type", b["type"]},
                           {"record_id", b["id"]},
                           {"rev", b["rev"]},
                           {"op", "upsert"},
                           {"hlc", b["updated_at"]},
                           {"body", b}});
    return {{"changes", changes}};
}

} // namespace

TEST_CASE("Every endpoint but enrolment needs a live token", "[sync]") {
    Hq hq;
    const auto device = storage::NewUuidV7();
    const auto token = EnrolToken(hq, "researcher", device);
    Caller anonymous{sync::HttpClient(sync::HttpOptions{}), hq.process.Url(), ""};
    Caller stranger{sync::HttpClient(sync::HttpOptions{}), hq.process.Url(), std::string(64, 'a')};
    Caller me{sync::HttpClient(sync::HttpOptions{}), hq.process.Url(), token};
    const auto body = Push({Note(hq.project, storage::NewUuidV7())}).dump();
    for (auto* caller : {&anonymous, &stranger}) {
        CHECK(caller->Post("/v1/push", body).status == 401);
        CHECK(caller->Get("/v1/pull").status == 401);
        CHECK(caller->Get("/v1/whoami").status == 401);
    }
    CHECK_THAT(Error(anonymous.Get("/v1/pull")).get<std::string>(), Catch::Contains("token"));
    const auto who = me.Get("/v1/whoami");
    REQUIRE(who.status == 200);
    CHECK(Json::parse(who.body)["project_id"] == hq.project);
    CHECK(me.Post("/v1/push", body).status == 200);

    SECTION("a revoked device is shut out") {
        (void)hq.process.Admin({"revoke", device});
        CHECK(me.Get("/v1/whoami").status == 401);
        CHECK(me.Post("/v1/push", body).status == 401);
        CHECK(me.Get("/v1/pull").status == 401);
    }
    SECTION("an enrolment code works once") {
        sync::HttpClient http;
        const auto code = hq.Code("researcher");
        const Json request = {{"code", code}, {"device_id", storage::NewUuidV7()}};
        CHECK(http.Post(hq.process.Url() + "/v1/enrol", request.dump()).status == 200);
        const auto again = http.Post(hq.process.Url() + "/v1/enrol", request.dump());
        CHECK(again.status == 403);
        CHECK_THAT(again.ErrorText(), Catch::Contains("used already"));
    }
}

TEST_CASE("A device reads and writes only its own project", "[sync]") {
    Hq hq;
    const auto other = hq.process.Admin({"create-project", "Pêcheurs du Sud"});
    Caller me{sync::HttpClient(sync::HttpOptions{}), hq.process.Url(),
              EnrolToken(hq, "interpreter", storage::NewUuidV7())};
    const auto before = hq.Records().size();
    const auto r = me.Post("/v1/push", Push({Note(other, storage::NewUuidV7())}).dump());
    CHECK(r.status == 403);
    CHECK_THAT(Error(r).get<std::string>(), Catch::Contains("own project"));
    CHECK(hq.Records().size() == before);
    const auto pulled = Json::parse(me.Get("/v1/pull").body);
    for (const auto& rec : pulled["records"])
        CHECK(rec.value("project_id", rec["id"].get<std::string>()) == hq.project);
}

TEST_CASE("Bad input gets a 4xx in words and changes nothing", "[sync]") {
    Hq hq;
    Caller me{sync::HttpClient(sync::HttpOptions{}), hq.process.Url(),
              EnrolToken(hq, "coordinator", storage::NewUuidV7())};
    const auto before = hq.Records();
    const auto refused = [&](const std::string& path, const std::string& body, long status, const std::string& words) {
        const auto r = path == "GET" ? me.Get(body) : me.Post(path, body);
        INFO(path << " " << body.substr(0, 200) << " -> " << r.status << " " << r.body.substr(0, 300));
        CHECK(r.status == status);
        CHECK_THAT(Error(r).is_string() ? Error(r).get<std::string>() : std::string(), Catch::Contains(words));
        // Every refusal has a code of the catalogue, and fixed words: no parser's message quoting the request.
        const auto answer = Json::parse(r.body, nullptr, false);
        REQUIRE(answer.is_object());
        REQUIRE(answer.contains("code"));
        CHECK(storage::FindErrorCode(answer["code"].get<std::string>()));
        CHECK(r.Problem(me.base).code == answer["code"]);
        // ... with the parameters that code carries.
        const auto problem = r.Problem(me.base);
        if (const auto* spec = storage::FindErrorCode(problem.code))
            for (const auto& name : spec->params) CHECK(problem.params.contains(std::string(name)));
        for (const char* leak : {"json.exception", "parse_error", "type_error", "out_of_range", "[json", "what()"})
            CHECK_THAT(r.body, !Catch::Contains(leak));
    };
    const auto note = Note(hq.project, storage::NewUuidV7());
    refused("/v1/push", "{not json", 400, "not valid JSON");
    refused("/v1/push", "[1, 2]", 400, "JSON object");
    refused("/v1/push", R"({"changes": 7})", 400, "push request lacks a member or has one of the wrong kind");
    refused("/v1/push", R"({"changes": [{"change_id": 1}]})", 400, "push request");
    refused("/v1/push", std::string(100'000, '[') + std::string(100'000, ']'), 400, "nested too deeply");
    auto push = Push({note});
    push["changes"][0]["record_type"] = "alien";
    push["changes"][0]["body"]["type"] = "alien";
    refused("/v1/push", push.dump(), 422, "unknown record type 'alien'");
    {
        // The code's parameters come with it, for the device to word.
        const auto r = me.Post("/v1/push", push.dump());
        CHECK(r.Problem(me.base).code == storage::errc::UNKNOWN_TYPE);
        CHECK(r.Problem(me.base).params.value("type", "") == "alien");
    }
    push = Push({note});
    push["changes"][0]["record_id"] = "../../etc/passwd";
    refused("/v1/push", push.dump(), 400, "record_id must be a UUID");
    push = Push({note});
    push["changes"][0]["body"]["id"] = storage::NewUuidV7();
    refused("/v1/push", push.dump(), 400, "does not match");
    push = Push({note});
    push["changes"][0]["hlc"] = "yesterday";
    refused("/v1/push", push.dump(), 400, "hlc");
    std::vector<Json> many(sync::MAX_PUSH_ITEMS + 1, note);
    refused("/v1/push", Push(many).dump(), 413, "at most");
    refused("/v1/push", std::string(sync::MAX_REQUEST_BYTES + 1024, ' '), 413, "too large");
    refused("GET", "/v1/pull?since=abc", 400, "since");
    refused("GET", "/v1/pull?limit=100000", 400, "limit");
    refused("GET", "/v1/nothing", 404, "no such endpoint");
    refused("/v1/enrol", R"({"code": 5})", 400, "enrolment request lacks");
    refused("/v1/enrol", R"({"code": "X", "device_id": "not-a-uuid"})", 400, "UUID");
    CHECK(hq.Records() == before);

    SECTION("a record whose fields are wrong is rejected alone, with the field named") {
        auto bad = Note(hq.project, storage::NewUuidV7());
        bad["kind"] = "rumour";
        const auto good = Note(hq.project, storage::NewUuidV7());
        const auto r = me.Post("/v1/push", Push({bad, good}).dump());
        REQUIRE(r.status == 200);
        const auto results = Json::parse(r.body)["results"];
        CHECK(results[0]["status"] == "rejected");
        CHECK_THAT(results[0]["reason"].get<std::string>(), Catch::Contains("field 'kind'"));
        CHECK(results[0].value("code", "") == storage::errc::UNKNOWN_CHOICE);
        const auto params = results[0].value("params", Json::object());
        CHECK(params.value("field", "") == "kind");
        CHECK(params.value("value", "") == "rumour");
        CHECK(results[1]["status"] == "applied");
        CHECK(hq.Records().size() == before.size() + 1);
    }
    SECTION("a replayed change answers duplicate and applies once") {
        const auto body = Push({note}).dump();
        const auto first = Json::parse(me.Post("/v1/push", body).body)["results"][0];
        const auto second = Json::parse(me.Post("/v1/push", body).body)["results"][0];
        CHECK(first["status"] == "applied");
        CHECK(second["status"] == "duplicate");
        CHECK(second["server_seq"] == first["server_seq"]);
        CHECK(hq.Records().at(note["id"])["rev"] == 1);
    }
}

TEST_CASE("Blob uploads refuse bad names, wrong offsets and wrong hashes", "[sync]") {
    Hq hq;
    Caller me{sync::HttpClient(sync::HttpOptions{}), hq.process.Url(),
              EnrolToken(hq, "researcher", storage::NewUuidV7())};
    const std::string content = "grabación de prueba";
    unsigned char digest[32];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(content.data()), content.size());
    const auto sha = storage::HexEncode(digest, sizeof digest);
    const auto total = std::to_string(content.size());
    const auto put = [&](const std::string& name, const std::string& query, const std::string& body) {
        return me.http.Put(me.base + "/v1/blobs/" + name + query, body, me.token);
    };
    CHECK(put("..%2F..%2Fetc%2Fpasswd", "?offset=0&total=1", "x").status / 100 == 4);
    CHECK(put("..", "?offset=0&total=1", "x").status / 100 == 4);
    CHECK(put("a.b", "?offset=0&total=1", "x").status == 400);
    CHECK(put(std::string(64, 'A'), "?offset=0&total=1", "x").status == 400);
    CHECK(me.Get("/v1/blobs/abc").status == 400);
    CHECK(put(sha, "?offset=x&total=1", "x").status == 400);
    CHECK(put(sha, "?offset=0&total=3", "too long for total").status == 413);
    const auto gap = put(sha, "?offset=5&total=" + total, "x");
    CHECK(gap.status == 409);
    CHECK(Json::parse(gap.body)["have"] == 0);
    const auto wrong = put(sha, "?offset=0&total=" + total, std::string(content.size(), 'z'));
    CHECK(wrong.status == 422);
    CHECK_THAT(Error(wrong).get<std::string>(), Catch::Contains("do not hash"));
    CHECK(Json::parse(me.Get("/v1/blobs/" + sha).body)["have"] == 0);
    CHECK(put(sha, "?offset=0&total=" + total, content.substr(0, 4)).status == 200);
    CHECK(Json::parse(me.Get("/v1/blobs/" + sha).body)["have"] == 4);
    const auto done = put(sha, "?offset=4&total=" + total, content.substr(4));
    CHECK(done.status == 200);
    CHECK(Json::parse(done.body)["complete"] == true);
    CHECK(Caller{sync::HttpClient(sync::HttpOptions{}), hq.process.Url(), ""}.Get("/v1/blobs/" + sha).status == 401);
}

TEST_CASE("TLS: a pinned self-signed certificate is trusted, any other is refused", "[sync]") {
    TempDir certs;
    const auto make = [&](const std::string& name) {
        const auto cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
                         "-addext subjectAltName=IP:127.0.0.1 -keyout " +
                         ShellQuote((certs / (name + ".key")).string()) + " -out " +
                         ShellQuote((certs / (name + ".pem")).string()) + " > /dev/null 2>&1";
        REQUIRE(std::system(cmd.c_str()) == 0);
        return ReadFile(certs / (name + ".pem"));
    };
    const auto hq_cert = make("hq");
    const auto impostor = make("impostor");
    Hq hq({"--tls-cert", (certs / "hq.pem").string(), "--tls-key", (certs / "hq.key").string()});
    REQUIRE(hq.process.Url().rfind("https://", 0) == 0);

    storage::Vault vault =
        storage::Vault::Create(certs / "vault", storage::Passphrase("frase de paso larga"), AllTypes(), {"ana"});
    const auto wrong = sync::EnrolDevice(vault, hq.process.Url(), hq.Code("researcher"), impostor);
    REQUIRE(wrong);
    CHECK(wrong->code == storage::errc::TLS_CERTIFICATE);
    CHECK(wrong->params["server"] == hq.process.Url());
    CHECK_THAT(wrong->words, Catch::Contains("certificate"));
    const auto system_cas = sync::Enrol(vault, hq.process.Url(), hq.Code("researcher"), "");
    CHECK(system_cas);
    CHECK_FALSE(vault.GetMeta("sync.token"));

    const auto ok = sync::Enrol(vault, hq.process.Url(), hq.Code("researcher"), hq_cert);
    INFO(ok.value_or(""));
    REQUIRE_FALSE(ok);
    vault.Records().Create("field_note",
                           {{"project_id", vault.GetMeta("sync.project_id").value()}, {"text", "cifrada"}});
    sync::SyncClient client(vault);
    const auto report = client.SyncOnce();
    INFO(report.error);
    CHECK(report.ok);
    RequireSameAsHq(hq, vault);
}

TEST_CASE("escucha-hq refuses plain HTTP off loopback", "[sync]") {
    TempDir dir;
    const auto r = RunProgram({HqPath(), "--data", (dir / "hq").string(), "--listen", "0.0.0.0:0"});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("--tls-cert"));
}

TEST_CASE("Plain http:// is refused with a code, except for a server on this machine", "[sync][errors]") {
    for (const char* fine : {"https://hq.example.org", "https://hq.example.org:8443/", "http://127.0.0.1:8080",
                             "http://127.0.0.1", "http://localhost", "http://localhost:9000/", "http://[::1]:9000"})
        CHECK_FALSE(sync::CheckServerAddress(fine));
    for (const char* refused : {"http://example.org", "http://127.example.org", "http://localhost.example.org",
                                "hq.example.org", "ftp://hq.example.org", "https://"}) {
        INFO(refused);
        const auto problem = sync::CheckServerAddress(refused);
        REQUIRE(problem);
        CHECK(problem->code == storage::errc::SERVER_MUST_BE_HTTPS);
        CHECK(problem->params["server"] == refused);
        CHECK_THAT(problem->words, Catch::Contains("https://") && Catch::Contains("this machine"));
    }

    TempDir dir;
    auto vault = storage::Vault::Create(dir / "vault", storage::Passphrase("frase de paso larga"), AllTypes(), {"ana"});
    const auto off_machine = sync::EnrolDevice(vault, "http://example.org", "ABCD-EFGH-JKLM-NPQR", "");
    REQUIRE(off_machine);
    CHECK(off_machine->code == storage::errc::SERVER_MUST_BE_HTTPS);

    Hq hq;
    REQUIRE(hq.process.Url().rfind("http://127.0.0.1:", 0) == 0);
    const auto wrong_code = sync::EnrolDevice(vault, hq.process.Url(), "ABCD-EFGH-JKLM-NPQR", "");
    REQUIRE(wrong_code);
    CHECK(wrong_code->code == storage::errc::BAD_CODE);
    CHECK(wrong_code->params["status"] == 403);
    const auto on_machine = sync::EnrolDevice(vault, hq.process.Url(), hq.Code("researcher"), "");
    INFO((on_machine ? on_machine->words : std::string()));
    CHECK_FALSE(on_machine);
}

TEST_CASE("A sync to a closed port says so with a code, not in libcurl's words", "[sync][errors]") {
    TempDir dir;
    auto vault = storage::Vault::Create(dir / "vault", storage::Passphrase("frase de paso larga"), AllTypes(), {"ana"});
    // Port 1 on this machine: nothing listens there, the connection is refused at once.
    const std::string closed = "http://127.0.0.1:1";
    const auto enrol = sync::EnrolDevice(vault, closed, "ABCD-EFGH-JKLM-NPQR", "");
    REQUIRE(enrol);
    CHECK(enrol->code == storage::errc::CONNECTION_REFUSED);
    CHECK(enrol->params["server"] == closed);

    vault.SetMeta("sync.server", closed);
    vault.SetMeta("sync.token", std::string(64, 'a'));
    sync::SyncClient client(vault);
    const auto report = client.SyncOnce();
    CHECK_FALSE(report.ok);
    CHECK(report.error_code == storage::errc::CONNECTION_REFUSED);
    CHECK(report.error_params["server"] == closed);
    CHECK_THAT(report.error, !Catch::Contains("Failed to connect") && !Catch::Contains("Couldn't connect"));
    const auto state = sync::ReadSyncState(vault);
    CHECK(state.last_error_code == storage::errc::CONNECTION_REFUSED);
    CHECK(state.last_error_params["server"] == closed);

    SECTION("libcurl's failures map to codes of the catalogue") {
        for (int curl_code = 1; curl_code < 100; ++curl_code)
            for (int os_errno : {0, ECONNREFUSED, ENETUNREACH, ETIMEDOUT})
                CHECK(storage::FindErrorCode(sync::TransportErrorCode(curl_code, os_errno)));
    }
}

TEST_CASE("Every code headquarters answers with is in the catalogue", "[sync][errors]") {
    // The refusals are written Error(status, "code", ...) and Refuse(status, "code", ...).
    const std::regex refusal(R"re((Error|Refuse)\([0-9]+, "([a-z_]+)")re");
    int found = 0;
    for (const char* file : {"sync/server/src/hq_api.cpp", "sync/server/src/hq_server.cpp"}) {
        const auto text = ReadFile(std::filesystem::path(ESCUCHA_SOURCE_DIR) / file);
        for (auto it = std::sregex_iterator(text.begin(), text.end(), refusal); it != std::sregex_iterator(); ++it) {
            INFO(file << ": " << (*it)[2].str());
            CHECK(storage::FindErrorCode((*it)[2].str()));
            ++found;
        }
    }
    CHECK(found > 30);
}

namespace {

/// GET /v1/metrics as asked from `peer`, for an HqApi in this process.
sync::ApiRequest MetricsAsked(const std::string& peer) {
    sync::ApiRequest request;
    request.method = "GET";
    request.path = "/v1/metrics";
    request.peer = peer;
    return request;
}

} // namespace

TEST_CASE("Metrics read the same where the locale writes a decimal comma", "[sync][metrics]") {
    TempDir dir;
    // Colombia's locale, built here from Debian's locale sources: escucha-hq
    // takes the locale it is started in, and a scraper reads only points.
    const auto locales = dir / "locales";
    std::filesystem::create_directories(locales);
    REQUIRE(std::system(("localedef -i es_CO -f UTF-8 '" + (locales / "es_CO.UTF-8").string() + "' >/dev/null 2>&1")
                            .c_str()) == 0);
    ::setenv("LOCPATH", locales.c_str(), 1);
    const std::string before = std::setlocale(LC_NUMERIC, nullptr);
    REQUIRE(std::setlocale(LC_NUMERIC, "es_CO.UTF-8") != nullptr);
    char probe[16];
    std::snprintf(probe, sizeof probe, "%g", 0.5);
    CHECK(std::string(probe) == "0,5"); // the locale does write a comma

    sync::SqliteHqStore store((dir / "hq.db").string());
    sync::HqApi api(store, AllTypes(), nullptr);
    auto request = MetricsAsked("127.0.0.1");
    request.received = std::chrono::steady_clock::now() - std::chrono::milliseconds(1500);
    (void)api.Serve(request); // counted, with the time it took
    const auto m = api.Serve(request).body;
    std::setlocale(LC_NUMERIC, before.c_str());
    ::unsetenv("LOCPATH");
    INFO(m);
    CHECK(m.find(R"(escucha_hq_request_duration_seconds_bucket{route="metrics",le="0.005"} 0)") != std::string::npos);
    CHECK(m.find(R"(escucha_hq_request_duration_seconds_bucket{route="metrics",le="1.25"} 0)") != std::string::npos);
    CHECK(m.find(R"(escucha_hq_request_duration_seconds_bucket{route="metrics",le="2"} 1)") != std::string::npos);
    CHECK(std::regex_search(m, std::regex(R"(escucha_hq_request_duration_seconds_sum\{route="metrics"\} 1\.5[0-9]*\n)")));
    CHECK(m.find("0,") == std::string::npos);
}

TEST_CASE("Metrics: requests, refusals, records and each device's time since sync, for this machine only",
          "[sync][metrics]") {
    Hq hq;
    Device ana(hq, "researcher");
    ana.Add("field_note", {{"title", "Nota"}, {"text", "Se paga por arroba."}});
    REQUIRE(ana.Sync().ok);
    Caller stranger{sync::HttpClient{sync::HttpOptions{}}, hq.process.Url(), "0000"};
    CHECK(stranger.Get("/v1/pull").status == 401); // a refusal to count

    Caller local{sync::HttpClient{sync::HttpOptions{}}, hq.process.Url(), ""};
    const auto r = local.Get("/v1/metrics");
    REQUIRE(r.status == 200);
    const std::string& m = r.body;
    INFO(m);
    CHECK(m.find("# TYPE escucha_hq_requests_total counter") != std::string::npos);
    CHECK(std::regex_search(m, std::regex(R"(escucha_hq_requests_total\{route="push",status="200"\} [1-9])")));
    CHECK(std::regex_search(m, std::regex(R"(escucha_hq_refusals_total\{code="unknown_token"\} [1-9])")));
    // How long answers took: a histogram per route whose buckets only grow,
    // the last holding every answer of the route.
    CHECK(m.find("# TYPE escucha_hq_request_duration_seconds histogram") != std::string::npos);
    {
        const std::regex bucket(R"re(escucha_hq_request_duration_seconds_bucket\{route="push",le="([^"]+)"\} (\d+))re");
        std::vector<std::pair<std::string, long>> buckets;
        for (auto it = std::sregex_iterator(m.begin(), m.end(), bucket); it != std::sregex_iterator(); ++it)
            buckets.emplace_back((*it)[1], std::stol((*it)[2]));
        REQUIRE(buckets.size() == 21);
        CHECK(buckets.front().first == "0.005");
        CHECK(buckets.back().first == "+Inf");
        for (size_t i = 1; i < buckets.size(); ++i) CHECK(buckets[i].second >= buckets[i - 1].second);
        std::smatch count, answered;
        REQUIRE(std::regex_search(m, count, std::regex(R"(escucha_hq_request_duration_seconds_count\{route="push"\} (\d+))")));
        REQUIRE(std::regex_search(m, answered, std::regex(R"(escucha_hq_requests_total\{route="push",status="200"\} (\d+))")));
        CHECK(std::stol(count[1]) == buckets.back().second);
        CHECK(std::stol(count[1]) >= std::stol(answered[1]));
        CHECK(buckets.back().second >= 1);
        CHECK(std::regex_search(m, std::regex(R"(escucha_hq_request_duration_seconds_sum\{route="push"\} [0-9.e+-]+)")));
    }
    CHECK(std::regex_search(m, std::regex("escucha_hq_records\\{project=\"" + hq.project + "\"\\} [1-9]")));
    CHECK(std::regex_search(m, std::regex(R"(escucha_hq_device_seconds_since_sync\{project="[^"]+",device="[^"]+"\} [0-9]+)")));
    // Nothing of the testimony, no token, no name.
    CHECK(m.find("arroba") == std::string::npos);
    CHECK(m.find("researcher") == std::string::npos);
    // Unknown paths are counted under one label: a caller cannot make the metrics grow.
    CHECK(local.Get("/v1/" + std::string(40, 'x')).status == 404);
    CHECK(local.Get("/v1/metrics").body.find(std::string(40, 'x')) == std::string::npos);

    // The same API asked from another address: as if there were no such endpoint.
    TempDir dir;
    sync::SqliteHqStore store((dir / "hq.db").string());
    sync::HqApi api(store, AllTypes(), nullptr);
    CHECK(api.Serve(MetricsAsked("203.0.113.9")).status == 404);
    CHECK(api.Serve(MetricsAsked("127.0.0.1")).status == 200);
    CHECK(sync::IsLoopbackPeer("::1"));
    CHECK(sync::IsLoopbackPeer("::ffff:127.0.0.1"));
    CHECK_FALSE(sync::IsLoopbackPeer("10.0.0.1"));
    CHECK_FALSE(sync::IsLoopbackPeer("::ffff:10.127.0.1"));
}
