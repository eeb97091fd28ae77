// [SECTION] Connection limits
// [SECTION] Sessions
// [SECTION] Server
#include "escucha/sync/hq_server.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <limits>
#include <map>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace escucha::sync {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// [SECTION] Connection limits

/// Counts open connections, per address and in all, and knows which ones
/// wait for a request: when the server is full, the one that has waited
/// longest is closed to make room, so holding every slot with idle
/// connections keeps nobody out for long.
class Gate {
public:
    Gate(int max_total, int max_per_address) : m_max_total(max_total), m_max_per_address(max_per_address) {}

    /// Held for the life of a connection; gives its place back when dropped.
    class Ticket {
    public:
        Ticket(Gate& gate, std::string address) : m_gate(gate), m_address(std::move(address)) {}
        ~Ticket() {
            Working();
            m_gate.Leave(m_address);
        }
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        [[nodiscard]] const std::string& Address() const noexcept { return m_address; }
        /// The connection waits for a request; `evict` closes it (from any thread).
        void Waiting(std::function<void()> evict) {
            Working();
            m_waiting = m_gate.AddWaiting(std::move(evict));
        }
        /// The connection has a request in hand.
        void Working() {
            if (m_waiting) m_gate.RemoveWaiting(*m_waiting);
            m_waiting.reset();
        }

    private:
        Gate& m_gate;
        std::string m_address;
        std::optional<uint64_t> m_waiting;
    };

    /// A ticket, or null when the address has its share. When the server is
    /// full, the connection that has waited longest for a request is closed.
    std::unique_ptr<Ticket> Enter(const std::string& address) {
        std::function<void()> evict;
        std::unique_ptr<Ticket> ticket;
        {
            std::lock_guard lock(m_mutex);
            auto& mine = m_per_address[address];
            if (mine >= m_max_per_address) return nullptr;
            if (m_total >= m_max_total) {
                if (m_waiting.empty()) return nullptr;
                evict = std::move(m_waiting.begin()->second);
                m_waiting.erase(m_waiting.begin());
            }
            ++mine;
            ++m_total;
            ticket = std::make_unique<Ticket>(*this, address);
        }
        if (evict) evict();
        return ticket;
    }

private:
    uint64_t AddWaiting(std::function<void()> evict) {
        std::lock_guard lock(m_mutex);
        const auto id = ++m_next_waiting;
        m_waiting.emplace(id, std::move(evict));
        return id;
    }
    void RemoveWaiting(uint64_t id) {
        std::lock_guard lock(m_mutex);
        m_waiting.erase(id);
    }
    void Leave(const std::string& address) {
        std::lock_guard lock(m_mutex);
        --m_total;
        const auto it = m_per_address.find(address);
        if (it != m_per_address.end() && --it->second <= 0) m_per_address.erase(it);
    }

    std::mutex m_mutex;
    const int m_max_total;
    const int m_max_per_address;
    int m_total = 0;
    std::unordered_map<std::string, int> m_per_address;
    uint64_t m_next_waiting = 0;
    std::map<uint64_t, std::function<void()>> m_waiting; ///< oldest first
};

/// The key connections are counted under: an IPv4 address, or the /64 an
/// IPv6 address belongs to (one subscriber holds a whole /64).
std::string AddressKey(const asio::ip::address& address) {
    if (address.is_v6()) {
        const auto v6 = address.to_v6();
        if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
        auto bytes = v6.to_bytes();
        std::fill(bytes.begin() + 8, bytes.end(), 0);
        return asio::ip::address_v6(bytes).to_string() + "/64";
    }
    return address.to_string();
}

/// Bytes of request bodies held at once: in all, and per caller (a device,
/// or an address before enrolment), so that one caller cannot take it all.
class BodyBudget {
public:
    BodyBudget(uint64_t limit, uint64_t per_caller) : m_limit(limit), m_per_caller(per_caller) {}

    /// Takes `bytes` more for `caller`; false when either limit would pass.
    bool Take(const std::string& caller, uint64_t bytes) {
        std::lock_guard lock(m_mutex);
        auto& mine = m_used_by[caller];
        if (m_used + bytes > m_limit || mine + bytes > m_per_caller) {
            if (mine == 0) m_used_by.erase(caller);
            return false;
        }
        mine += bytes;
        m_used += bytes;
        return true;
    }
    void Give(const std::string& caller, uint64_t bytes) {
        std::lock_guard lock(m_mutex);
        m_used -= bytes;
        const auto it = m_used_by.find(caller);
        if (it != m_used_by.end() && (it->second -= bytes) == 0) m_used_by.erase(it);
    }

private:
    std::mutex m_mutex;
    const uint64_t m_limit;
    const uint64_t m_per_caller;
    uint64_t m_used = 0;
    std::unordered_map<std::string, uint64_t> m_used_by;
};

/// What one request holds of the budget; given back when dropped.
class BodyHold {
public:
    BodyHold(BodyBudget& budget, std::string caller) : m_budget(budget), m_caller(std::move(caller)) {}
    ~BodyHold() {
        if (m_bytes) m_budget.Give(m_caller, m_bytes);
    }
    BodyHold(const BodyHold&) = delete;
    BodyHold& operator=(const BodyHold&) = delete;
    bool Grow(uint64_t bytes) {
        if (!m_budget.Take(m_caller, bytes)) return false;
        m_bytes += bytes;
        return true;
    }

private:
    BodyBudget& m_budget;
    std::string m_caller;
    uint64_t m_bytes = 0;
};

/// Raises the open-file limit as far as the system lets this process, and
/// returns how many connections fit under it with room for the store's files.
int ConnectionsThatFit(int wanted) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::min(wanted, 900);
    const rlim_t needed = static_cast<rlim_t>(wanted) + 128;
    if (limit.rlim_cur < needed) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? needed : std::min(needed, limit.rlim_max);
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    const auto room = static_cast<int64_t>(limit.rlim_cur) - 128;
    return static_cast<int>(std::max<int64_t>(16, std::min<int64_t>(wanted, room)));
}

/// gzip of `in`, or nullopt when zlib fails.
std::optional<std::string> Gzip(const std::string& in) {
    if (in.size() > (1u << 30)) return std::nullopt;
    z_stream zs{};
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return std::nullopt;
    std::string out(deflateBound(&zs, static_cast<uLong>(in.size())), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) return std::nullopt;
    return out;
}

bool HeaderHas(std::string_view header, std::string_view token) {
    std::string lower(header);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower.find(token) != std::string::npos;
}

std::chrono::seconds TimeFor(const ServerLimits& limits, uint64_t bytes) {
    return limits.header_deadline + std::chrono::seconds(static_cast<int64_t>(
                                        bytes / static_cast<uint64_t>(std::max<int64_t>(1, limits.min_body_rate))));
}

} // namespace

// [SECTION] Sessions

struct HqServer::Impl {
    ServerOptions options;
    HqApi api;
    Gate gate;
    std::vector<asio::ip::address> balancers; ///< options.proxy_from, parsed
    BodyBudget bodies{options.limits.body_budget, options.limits.body_budget_per_caller};
    std::optional<asio::ssl::context> tls;
    asio::io_context ioc;
    /// The acceptor's handlers, its retry timer's and Stop()'s closing run
    /// one at a time, whichever event thread runs them.
    asio::strand<asio::io_context::executor_type> accepting{asio::make_strand(ioc)};
    tcp::acceptor acceptor{accepting};
    asio::thread_pool workers;
    asio::steady_timer retry_accept{accepting};
    std::atomic<bool> running{false};

    Impl(HqStore& store, const storage::Catalogue& catalogue, ServerOptions o)
        : options(std::move(o)), api(store, catalogue, options.blobs, options.api),
          gate((options.limits.max_connections = ConnectionsThatFit(options.limits.max_connections)),
               options.limits.max_per_address),
          workers(static_cast<size_t>(std::max(1, options.limits.worker_threads))) {
        for (const auto& text : options.proxy_from) {
            beast::error_code ec;
            const auto address = asio::ip::make_address(text, ec);
            if (ec) throw std::invalid_argument("not an IP address: " + text);
            balancers.push_back(address.is_v6() && address.to_v6().is_v4_mapped()
                                    ? asio::ip::address(asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()))
                                    : address);
        }
    }

    void Accept();
    /// Serves a connection just accepted (through its PROXY header first when it comes from a balancer).
    void Take(tcp::socket socket);
    /// A session for `socket`, counted under `address` (closed when over a limit).
    void Serve(tcp::socket socket, const asio::ip::address& address);
    [[nodiscard]] bool FromBalancer(const asio::ip::address& peer) const {
        const auto plain = peer.is_v6() && peer.to_v6().is_v4_mapped()
                               ? asio::ip::address(asio::ip::make_address_v4(asio::ip::v4_mapped, peer.to_v6()))
                               : peer;
        return std::find(balancers.begin(), balancers.end(), plain) != balancers.end();
    }
    void Log(const ApiRequest& request, int status) const {
        if (options.log) options.log(request.method + " " + request.path + " " + std::to_string(status));
    }
};

namespace {

template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
public:
    static constexpr bool TLS = !std::is_same_v<Stream, beast::tcp_stream>;

    template <typename... Args>
    Session(HqServer::Impl& server, std::unique_ptr<Gate::Ticket> ticket, Args&&... args)
        : m_server(server), m_ticket(std::move(ticket)), m_stream(std::forward<Args>(args)...) {}

    void Start() {
        auto self = this->shared_from_this();
        Lowest().expires_after(m_server.options.limits.header_deadline);
        if constexpr (TLS) {
            m_stream.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
                if (!ec) self->ReadHeader(true);
            });
        } else {
            ReadHeader(true);
        }
    }

private:
    beast::tcp_stream& Lowest() { return beast::get_lowest_layer(m_stream); }
    const ServerLimits& Limits() const { return m_server.options.limits; }

    void ReadHeader(bool first) {
        m_parser.emplace();
        m_parser->header_limit(16 * 1024);
        // No body limit while the headers are read: the declared length is
        // judged by Admit(), which knows the endpoint; the limit is set after.
        m_parser->body_limit(std::numeric_limits<std::uint64_t>::max());
        // The first request of a connection has the header deadline; a kept
        // connection may wait idle a while for its next one.
        Lowest().expires_after(first ? Limits().header_deadline : Limits().idle_keep_alive);
        // Until its request is in, this connection may be closed to make room.
        m_ticket->Waiting([weak = this->weak_from_this(), executor = m_stream.get_executor()] {
            asio::post(executor, [weak] {
                if (auto self = weak.lock()) self->Lowest().close();
            });
        });
        http::async_read_header(
            m_stream, m_buffer, *m_parser,
            [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
    }

    void OnHeader(beast::error_code ec) {
        m_ticket->Working();
        if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
            return Refuse(431, "headers_too_large", "the request headers are too large");
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
            ec == asio::error::connection_reset || ec == asio::error::eof)
            return Close();
        if (ec) return Refuse(400, "bad_http", "the request is not understood as HTTP");
        const auto& header = m_parser->get();
        // Devices always say how long a body is. Chunked bodies are refused:
        // their chunk headers are not bounded by any body limit, and a
        // transfer coding other than chunked is a way to smuggle a request.
        if (header.count(http::field::transfer_encoding))
            return Refuse(411, "length_required", "send the body with a Content-Length, in one piece");
        m_request = {};
        m_request.received = std::chrono::steady_clock::now();
        m_request.method = std::string(header.method_string());
        const std::string target(header.target());
        const auto question = target.find('?');
        m_request.path = target.substr(0, question);
        if (question != std::string::npos && !ParseQuery(target.substr(question + 1), m_request.query))
            return Refuse(400, "bad_query", "the query string is not understood");
        m_request.authorization = std::string(header[http::field::authorization]);
        m_request.content_type = std::string(header[http::field::content_type]);
        m_request.content_encoding = std::string(header[http::field::content_encoding]);
        // Sent twice, it says two things: neither is taken.
        if (header.count(WAITING_HEADER) == 1) m_request.waiting = std::string(header[WAITING_HEADER]);
        m_request.peer = m_ticket->Address();
        m_keep_alive = header.keep_alive();
        m_gzip = HeaderHas(std::string(header[http::field::accept_encoding]), "gzip");
        m_expect_continue = HeaderHas(std::string(header[http::field::expect]), "100-continue");
        std::optional<uint64_t> length;
        if (const auto declared = m_parser->content_length()) length = *declared;
        // Checking the token reads the store: not on an event thread.
        asio::post(m_server.workers, [self = this->shared_from_this(), length] {
            auto admission = self->m_server.api.Admit(self->m_request, length);
            asio::post(self->m_stream.get_executor(),
                       [self, admission = std::move(admission)]() mutable { self->OnAdmitted(std::move(admission)); });
        });
    }

    void OnAdmitted(Admission admission) {
        if (admission.refusal) return Respond(std::move(*admission.refusal), true);
        m_admission = std::move(admission);
        if (m_admission.answer_limit > 0) {
            // A large answer (a piece of a blob) is held against the same
            // budget as bodies until it has been sent.
            m_answer_hold = std::make_unique<BodyHold>(
                m_server.bodies, m_admission.device ? m_admission.device->device_id : "address " + m_request.peer);
            if (!m_answer_hold->Grow(m_admission.answer_limit))
                return Refuse(503, "busy", "headquarters is sending a lot at once; the device tries again shortly");
        }
        if (m_parser->is_done()) return Dispatch();
        // Only a declared length gets here (no transfer coding), within the
        // endpoint's limit: Admit() saw it.
        m_remaining = static_cast<size_t>(m_parser->content_length().value_or(0));
        m_request.body.clear();
        m_body_hold = std::make_unique<BodyHold>(m_server.bodies, m_admission.device ? m_admission.device->device_id
                                                                                     : "address " + m_request.peer);
        Lowest().expires_after(TimeFor(Limits(), m_remaining));
        if (m_expect_continue) {
            // The caller waits for this before it sends a large body.
            m_continue.emplace(http::status::continue_, 11);
            http::async_write(m_stream, *m_continue, [self = this->shared_from_this()](beast::error_code ec, size_t) {
                if (ec) return self->Close();
                self->ReadBody();
            });
            return;
        }
        ReadBody();
    }

    /// Reads the body a step at a time, straight into memory (Beast's parser
    /// would read it 64 KiB at a time, and a 4 MiB blob piece took twice as
    /// long as the disk write behind it), taking the budget for each step
    /// before it is read: a caller holds what it has sent, not what it said
    /// it would send.
    void ReadBody() {
        if (m_remaining == 0) return Dispatch();
        constexpr size_t STEP = 1024 * 1024;
        const size_t step = std::min(STEP, m_remaining);
        if (!m_body_hold->Grow(step))
            return Refuse(503, "busy", "headquarters is receiving a lot at once; the device tries again shortly");
        auto& body = m_request.body;
        const size_t start = body.size();
        body.resize(start + step);
        const size_t buffered = std::min(m_buffer.size(), step);
        asio::buffer_copy(asio::buffer(body.data() + start, buffered), m_buffer.data());
        m_buffer.consume(buffered);
        m_remaining -= buffered;
        if (buffered == step) return ReadBody();
        const size_t wanted = step - buffered;
        asio::async_read(m_stream, asio::buffer(body.data() + start + buffered, wanted),
                         [self = this->shared_from_this(), wanted](beast::error_code ec, size_t) {
                             if (ec) return self->Close();
                             self->m_remaining -= wanted;
                             self->ReadBody();
                         });
    }

    void Dispatch() {
        asio::post(m_server.workers, [self = this->shared_from_this()] {
            ApiAnswer answer;
            try {
                // A compressed body is decoded here, each step of it held
                // against the caller's budget like the bytes that were read.
                auto refusal = DecodeBody(self->m_request, self->m_admission.body_limit, [&self](size_t bytes) {
                    if (!self->m_body_hold)
                        self->m_body_hold = std::make_unique<BodyHold>(
                            self->m_server.bodies, self->m_admission.device ? self->m_admission.device->device_id
                                                                            : "address " + self->m_request.peer);
                    return self->m_body_hold->Grow(bytes);
                });
                answer = refusal ? std::move(*refusal) : self->m_server.api.Handle(self->m_request, self->m_admission);
            } catch (const std::exception& e) {
                // The details stay in headquarters' log: they may name files
                // or quote the request, and a caller needs none of them.
                std::fprintf(stderr, "escucha-hq: %s %s failed: %s\n", self->m_request.method.c_str(),
                             self->m_request.path.c_str(), e.what());
                answer = {500,
                          Json{{"error", "headquarters failed on this request; try again later"}, {"code", "internal"}}
                              .dump(),
                          "application/json"};
            }
            self->m_request.body.clear();
            self->m_request.body.shrink_to_fit();
            self->m_body_hold.reset();
            asio::post(self->m_stream.get_executor(),
                       [self, answer = std::move(answer)]() mutable { self->Respond(std::move(answer), false); });
        });
    }

    void Refuse(int status, const char* code, const std::string& words) {
        Respond({status, Json{{"error", words}, {"code", code}}.dump(), "application/json"}, true);
    }

    void Respond(ApiAnswer answer, bool close) {
        m_server.Log(m_request, answer.status);
        m_close = close || !m_keep_alive;
        m_response = {};
        m_response.version(11);
        m_response.result(static_cast<unsigned>(answer.status));
        m_response.set(http::field::content_type, answer.content_type);
        for (const auto& [name, value] : answer.headers) m_response.set(name, value);
        // Blobs are compressed audio already: gzip would only cost time.
        if (m_gzip && answer.body.size() >= 1024 && answer.content_type == "application/json") {
            if (auto packed = Gzip(answer.body)) {
                m_response.set(http::field::content_encoding, "gzip");
                answer.body = std::move(*packed);
            }
        }
        m_response.body() = std::move(answer.body);
        m_response.keep_alive(!m_close);
        m_response.prepare_payload();
        Lowest().expires_after(TimeFor(Limits(), m_response.body().size()));
        http::async_write(m_stream, m_response, [self = this->shared_from_this()](beast::error_code ec, size_t) {
            self->m_response = {};
            self->m_answer_hold.reset();
            if (ec || self->m_close) return self->Close();
            self->ReadHeader(false);
        });
    }

    /// Ends the connection. What the caller sent and we did not read is
    /// drained for a moment first: closing over unread bytes resets the
    /// connection, and the caller would lose the answer it was just sent.
    void Close() {
        beast::error_code ignored;
        Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
        Lowest().expires_after(std::chrono::seconds(2));
        Drain(0);
    }

    void Drain(size_t drained) {
        if (drained > 1024 * 1024) return;
        if (!m_scratch) m_scratch = std::make_unique<std::array<char, 16 * 1024>>();
        Lowest().async_read_some(asio::buffer(*m_scratch),
                                 [self = this->shared_from_this(), drained](beast::error_code ec, size_t n) {
                                     if (!ec) self->Drain(drained + n);
                                 });
    }

    HqServer::Impl& m_server;
    std::unique_ptr<Gate::Ticket> m_ticket;
    Stream m_stream;
    beast::flat_buffer m_buffer{64 * 1024}; ///< at most this much read ahead
    std::optional<http::request_parser<http::string_body>> m_parser;
    std::optional<http::response<http::empty_body>> m_continue;
    http::response<http::string_body> m_response;
    ApiRequest m_request;
    Admission m_admission;
    bool m_keep_alive = false;
    bool m_gzip = false;
    bool m_expect_continue = false;
    bool m_close = false;
    std::unique_ptr<std::array<char, 16 * 1024>> m_scratch; ///< only while draining
    std::unique_ptr<BodyHold> m_body_hold;
    std::unique_ptr<BodyHold> m_answer_hold; ///< of a large answer, until it is sent
    size_t m_remaining = 0;                  ///< body bytes still to read
};

// [SECTION] PROXY protocol

/// The header a balancer sends first on each connection (PROXY protocol
/// version 2, binary): 12 signature bytes, version and command, family,
/// and the length of the addresses that follow. Read exactly, so not a
/// byte of the request behind it is taken; a connection that does not
/// send it whole within the header deadline, or sends anything else, is
/// closed.
class ProxyPreamble : public std::enable_shared_from_this<ProxyPreamble> {
public:
    ProxyPreamble(HqServer::Impl& server, tcp::socket socket, asio::ip::address balancer)
        : m_server(server), m_stream(std::move(socket)), m_balancer(std::move(balancer)) {}

    void Start() {
        m_stream.expires_after(m_server.options.limits.header_deadline);
        asio::async_read(m_stream, asio::buffer(m_fixed),
                         [self = shared_from_this()](beast::error_code ec, size_t) { self->OnFixed(ec); });
    }

private:
    /// Addresses longer than this (TLVs a balancer was told to add) are refused.
    static constexpr size_t MAX_ADDRESSES = 512;
    static constexpr unsigned char SIGNATURE[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    void OnFixed(beast::error_code ec) {
        if (ec || !std::equal(std::begin(SIGNATURE), std::end(SIGNATURE), m_fixed.begin())) return Close();
        if ((m_fixed[12] >> 4) != 2) return Close(); // version 2 only
        const size_t length = (static_cast<size_t>(m_fixed[14]) << 8) | m_fixed[15];
        if (length > MAX_ADDRESSES) return Close();
        m_addresses.resize(length);
        asio::async_read(m_stream, asio::buffer(m_addresses),
                         [self = shared_from_this()](beast::error_code e, size_t) { self->OnAddresses(e); });
    }

    void OnAddresses(beast::error_code ec) {
        if (ec) return Close();
        const unsigned command = m_fixed[12] & 0x0F;
        const unsigned family = m_fixed[13];
        asio::ip::address device = m_balancer; // LOCAL (the balancer's own check), or a family without addresses
        if (command == 1 && family == 0x11 && m_addresses.size() >= 12) {
            asio::ip::address_v4::bytes_type bytes;
            std::copy_n(m_addresses.begin(), bytes.size(), bytes.begin());
            device = asio::ip::address_v4(bytes);
        } else if (command == 1 && family == 0x21 && m_addresses.size() >= 36) {
            asio::ip::address_v6::bytes_type bytes;
            std::copy_n(m_addresses.begin(), bytes.size(), bytes.begin());
            device = asio::ip::address_v6(bytes);
        } else if (command > 1) {
            return Close();
        }
        m_stream.expires_never();
        m_server.Serve(m_stream.release_socket(), device);
    }

    void Close() {
        beast::error_code ignored;
        m_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        m_stream.close();
    }

    HqServer::Impl& m_server;
    beast::tcp_stream m_stream;
    asio::ip::address m_balancer;
    std::array<unsigned char, 16> m_fixed{};
    std::vector<unsigned char> m_addresses;
};

} // namespace

// [SECTION] Server

void HqServer::Impl::Serve(tcp::socket socket, const asio::ip::address& address) {
    auto ticket = gate.Enter(AddressKey(address));
    if (!ticket) {
        // Over a limit: closed at once, before a byte of the request is read.
        beast::error_code ignored;
        socket.close(ignored);
        return;
    }
    if (tls) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(*this, std::move(ticket), std::move(socket),
                                                                        *tls)
            ->Start();
    } else {
        std::make_shared<Session<beast::tcp_stream>>(*this, std::move(ticket), std::move(socket))->Start();
    }
}

void HqServer::Impl::Accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        if (ec) {
            // Out of file descriptors, say: try again shortly instead of spinning.
            retry_accept.expires_after(std::chrono::milliseconds(100));
            retry_accept.async_wait([this](beast::error_code wait) {
                if (!wait) Accept();
            });
            return;
        }
        Take(std::move(socket));
        // Every connection already waiting is taken now (the acceptor does
        // not block). Taken one per completion, each would queue behind all
        // the work of the connections before it: when a village's devices
        // connect together, the first ones would sync twice before the last
        // were even accepted.
        for (int i = 0; i < 1024; ++i) {
            tcp::socket next(asio::make_strand(ioc));
            beast::error_code again;
            acceptor.accept(next, again);
            if (again) break; // would_block: none waiting; anything else, the next async_accept meets it
            Take(std::move(next));
        }
        Accept();
    });
}

void HqServer::Impl::Take(tcp::socket socket) {
    beast::error_code peer_ec;
    const auto peer = socket.remote_endpoint(peer_ec);
    if (peer_ec) {
        beast::error_code ignored;
        socket.close(ignored);
    } else if (FromBalancer(peer.address())) {
        std::make_shared<ProxyPreamble>(*this, std::move(socket), peer.address())->Start();
    } else {
        Serve(std::move(socket), peer.address());
    }
}

HqServer::HqServer(HqStore& store, const storage::Catalogue& catalogue, ServerOptions options)
    : m_impl(std::make_unique<Impl>(store, catalogue, std::move(options))) {
    const auto& o = m_impl->options;
    if (!o.tls_cert_path.empty()) {
        auto& ctx = m_impl->tls.emplace(asio::ssl::context::tls_server);
        ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                        asio::ssl::context::single_dh_use);
        beast::error_code ec;
        ctx.use_certificate_chain_file(o.tls_cert_path, ec);
        if (!ec) ctx.use_private_key_file(o.tls_key_path, asio::ssl::context::pem, ec);
        if (ec)
            throw std::runtime_error("cannot load the TLS certificate or key (" + o.tls_cert_path + ", " +
                                     o.tls_key_path + "): " + ec.message());
    }
}

HqServer::~HqServer() {
    Stop();
    m_impl->workers.join();
}

bool HqServer::Tls() const noexcept { return m_impl->tls.has_value(); }

int HqServer::Bind(const std::string& host, int port) {
    beast::error_code ec;
    tcp::resolver resolver(m_impl->ioc);
    const auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) return -1;
    const auto endpoint = results.begin()->endpoint();
    auto& a = m_impl->acceptor;
    a.open(endpoint.protocol(), ec);
    if (ec) return -1;
    a.set_option(asio::socket_base::reuse_address(true), ec);
    a.bind(endpoint, ec);
    if (ec) {
        a.close(ec);
        return -1;
    }
    // Many devices reconnect together when a village gets signal back; the
    // kernel caps the backlog at net.core.somaxconn.
    a.listen(1024, ec);
    if (!ec) a.non_blocking(true, ec); // Accept() takes every waiting connection without blocking
    if (ec) {
        beast::error_code ignored;
        a.close(ignored);
        return -1;
    }
    return a.local_endpoint().port();
}

bool HqServer::ListenAfterBind() {
    auto& impl = *m_impl;
    if (!impl.acceptor.is_open()) return false;
    impl.Accept();
    impl.running = true;
    std::vector<std::thread> threads;
    for (int i = 1; i < std::max(1, impl.options.limits.event_threads); ++i)
        threads.emplace_back([&impl] { impl.ioc.run(); });
    impl.ioc.run();
    for (auto& t : threads) t.join();
    impl.running = false;
    // Changes being applied finish: an answer that was sent promised a durable commit.
    impl.workers.join();
    return true;
}

void HqServer::Stop() {
    if (!m_impl) return;
    asio::post(m_impl->accepting, [impl = m_impl.get()] {
        beast::error_code ignored;
        impl->acceptor.close(ignored);
        impl->retry_accept.cancel();
    });
    m_impl->ioc.stop();
}

void HqServer::WaitUntilReady() const {
    while (!m_impl->running) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

} // namespace escucha::sync
