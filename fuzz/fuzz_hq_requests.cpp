// Fuzz target: headquarters' request handling (hq_api.h) with arbitrary
// paths, query strings and bodies, as an enrolled device and as a stranger.
//
// Input: byte 0 chooses the endpoint and the caller, then the query string up
// to the first '\n', then the body. The query string's bytes are sent as the
// Escucha-Waiting header too.
#include "escucha/interpret/interpretation_records.h"
#include "escucha/storage/clock.h"
#include "escucha/sync/hq_api.h"

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>

using namespace escucha;

namespace {

struct World {
    std::filesystem::path dir;
    std::unique_ptr<sync::SqliteHqStore> store;
    std::unique_ptr<sync::HqBlobStore> blobs;
    std::unique_ptr<sync::HqApi> api;
    std::string token;

    World() {
        char pattern[] = "/tmp/escucha-fuzz-hq-XXXXXX";
        dir = ::mkdtemp(pattern);
        store = std::make_unique<sync::SqliteHqStore>((dir / "hq.db").string());
        blobs = std::make_unique<sync::HqBlobStore>(dir / "blobs");
        api = std::make_unique<sync::HqApi>(*store, interpret::AllRecordTypes(), blobs.get());
        const auto project = store->CreateProject("Fuzz");
        store->AddEnrolment(sync::HashSecret("CODE"), project.id, sync::Role::Coordinator, "fuzz",
                            storage::FormatIsoMillis(storage::SystemMillis() + 86'400'000));
        token = sync::NewToken();
        const auto enrolled =
            store->Enrol(sync::HashSecret("CODE"), storage::NewUuidV7(), "fuzz", sync::HashSecret(token), "");
        if (enrolled.result != sync::EnrolResult::Enrolled) std::abort();
    }
    ~World() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static World world;
    if (size == 0) return 0;
    static const char* const PATHS[] = {"/v1/enrol",
                                        "/v1/push",
                                        "/v1/pull",
                                        "/v1/whoami",
                                        "/v1/health",
                                        "/v1/blobs/"
                                        "0000000000000000000000000000000000000000000000000000000000000000",
                                        "/v1/blobs/x",
                                        "/v1/nothing"};
    const uint8_t selector = data[0];
    const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto newline = rest.find('\n');
    sync::ApiRequest request;
    request.path = PATHS[selector % 8];
    request.method = request.path == "/v1/enrol" || request.path == "/v1/push"       ? "POST"
                     : (selector & 0x10) && request.path.rfind("/v1/blobs/", 0) == 0 ? "PUT"
                                                                                     : "GET";
    request.content_type = request.method == "PUT" ? "application/octet-stream" : "application/json";
    if (!(selector & 0x20)) request.authorization = "Bearer " + world.token;
    request.peer = "127.0.0.1";
    if (newline != std::string::npos) {
        request.waiting = rest.substr(0, newline);
        if (!sync::ParseQuery(rest.substr(0, newline), request.query)) return 0;
        request.body = rest.substr(newline + 1);
    } else {
        request.body = rest;
    }
    const auto answer = world.api->Serve(request);
    if (answer.status < 200 || answer.status > 599) std::abort();
    return 0;
}
