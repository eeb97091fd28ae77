// The headquarters HTTP(S) server: Boost.Beast over Boost.Asio, answering
// with HqApi (hq_api.h).
//
// A connection costs a socket and a little memory, never a thread: requests
// are read by a few event threads, and only a whole, admitted request goes to
// the worker threads that call the store. So callers who send slowly, or
// not at all, cannot starve the devices that sync:
//   - every request has a deadline: its headers within `header_deadline`,
//     its body at no less than `min_body_rate` after that, its answer likewise;
//   - connections are capped per address (per /64 for IPv6) and in all; past
//     the address cap a new one is closed at once; when the server is full,
//     the connection that has waited longest for a request makes room;
//   - a body larger than its endpoint takes is refused (413) from the
//     headers, before it is read; chunked bodies are cut off at the same size;
//   - the bodies held at once, all connections together, stay within a budget.
// See docs/decisions/0007-hq-transport.md.
//
// Thread contract: Listen() blocks its thread; Stop() may be called from any
// other thread. Nothing secret is logged.
#pragma once

#include "escucha/sync/hq_api.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace escucha::sync {

struct ServerLimits {
    int max_connections = 4000; ///< lowered to what the process may open
    int max_per_address = 64;   ///< a village behind one carrier address stays well under it
    std::chrono::seconds header_deadline{20};
    std::chrono::seconds idle_keep_alive{10}; ///< a device sends its requests back to back
    /// A body (or an answer) may take header_deadline plus its size at this rate:
    /// 4 MiB at 1 KiB/s is about 70 minutes, slower than any link that syncs.
    int64_t min_body_rate = 1024;
    int event_threads = 2;
    int worker_threads = 8;
    /// Request bodies held at once, all connections together; past it a
    /// request is answered 503 (the device tries again later), so enrolled
    /// devices sending many large pushes at once cannot exhaust memory.
    uint64_t body_budget = 256ull * 1024 * 1024;
    /// Of which one device (or, before enrolment, one address) may hold this much.
    uint64_t body_budget_per_caller = 64ull * 1024 * 1024;
};

struct ServerOptions {
    std::string tls_cert_path; ///< PEM; with tls_key_path, serve HTTPS
    std::string tls_key_path;
    /// One line per request (method, path, status); never headers, bodies or addresses.
    std::function<void(const std::string&)> log;
    /// Where blobs go; without it the blob endpoints answer 503.
    HqBlobStore* blobs = nullptr;
    /// Addresses of TCP balancers (haproxy with `send-proxy-v2`) that open
    /// each connection with a PROXY protocol version 2 header naming the
    /// device's address. A connection from one of them must begin with that
    /// header, and is counted and limited under the device's address, not
    /// the balancer's; from any other address no such header is read.
    std::vector<std::string> proxy_from;
    ServerLimits limits;
    ApiLimits api;
};

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
    [[nodiscard]] bool Tls() const noexcept;

    struct Impl; ///< defined in hq_server.cpp, where the connections reach it

private:
    std::unique_ptr<Impl> m_impl;
};

} // namespace escucha::sync
