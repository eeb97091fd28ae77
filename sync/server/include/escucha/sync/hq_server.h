// The headquarters HTTP(S) server: cpp-httplib over an HqStore.
//
// Handlers parse, call the store, and serialise. Every request outside
// /v1/enrol carries "Authorization: Bearer <token>". Bad input gets a 4xx with
// {"error": "<words>"} and changes nothing. Nothing secret is logged.
//
// Thread contract: Listen() blocks its thread; Stop() may be called from any
// other thread. The store is shared by httplib's worker threads.
#pragma once

#include "escucha/storage/records.h"
#include "escucha/sync/hq_blobs.h"
#include "escucha/sync/hq_store.h"

#include <functional>
#include <memory>
#include <string>

namespace escucha::sync {

struct ServerOptions {
    std::string tls_cert_path; ///< PEM; with tls_key_path, serve HTTPS
    std::string tls_key_path;
    /// One line per request (method, path, status, ms); never headers or bodies.
    std::function<void(const std::string&)> log;
    /// Where blobs go; without it the blob endpoints answer 503.
    HqBlobStore* blobs = nullptr;
};

/// Decides what a change does to the record HQ holds: the merge rules.
/// Pure: exposed for tests.
[[nodiscard]] Decision DecideChange(const storage::Catalogue& catalogue, const DeviceInfo& device, const Change& change,
                                    const StoredRecord* current, const Json* base);
/// Whether `device` may read a record of `type` created by `owner_device`.
[[nodiscard]] bool MayRead(const storage::Catalogue& catalogue, const DeviceInfo& device, const std::string& type,
                           const std::string& owner_device);

class HqServer {
public:
    HqServer(HqStore& store, const storage::Catalogue& catalogue, ServerOptions options = {});
    ~HqServer();
    HqServer(const HqServer&) = delete;
    HqServer& operator=(const HqServer&) = delete;

    /// Binds; port 0 lets the OS choose. Returns the port, or -1 on failure.
    int Bind(const std::string& host, int port);
    /// Serves until Stop(). Returns false when it could not serve.
    bool ListenAfterBind();
    void Stop();
    void WaitUntilReady() const;
    [[nodiscard]] bool Tls() const noexcept { return m_tls; }

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
    bool m_tls = false;
};

/// A fresh enrolment code (e.g. "K7QF-M2XD-9PLA-3RTB"), to be given to one person.
[[nodiscard]] std::string NewEnrolmentCode();
/// A fresh device token (64 hex digits).
[[nodiscard]] std::string NewToken();

} // namespace escucha::sync
