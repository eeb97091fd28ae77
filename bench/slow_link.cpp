#include "slow_link.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <stdexcept>

namespace escucha::bench {

namespace {

using Clock = std::chrono::steady_clock;

/// Bytes in flight on a line (about a second of a 64 kbit/s link) before the
/// proxy stops reading from the sender, and the sockets' receive buffers: a
/// real link pushes back, so a sender's progress follows the link's rate
/// (libcurl would otherwise hand over a whole body at once and then see no
/// progress while it crosses).
constexpr size_t IN_FLIGHT = 8 * 1024;
constexpr int SOCKET_BUFFER = 16 * 1024;

int ConnectLoopback(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &SOCKET_BUFFER, sizeof SOCKET_BUFFER);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

bool SendAll(int fd, const char* data, size_t size) {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n <= 0) return false;
        data += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

/// One direction of a connection: pieces in flight, delivered in order at
/// their arrival time by a thread of its own.
class Line {
public:
    Line(int to, double bytes_per_second, int one_way_ms)
        : m_to(to), m_rate(bytes_per_second), m_delay(std::chrono::milliseconds(one_way_ms)),
          m_thread([this] { Deliver(); }) {}
    ~Line() {
        Close();
        m_thread.join();
    }
    Line(const Line&) = delete;
    Line& operator=(const Line&) = delete;

    void Put(std::string piece) {
        const auto now = Clock::now();
        std::lock_guard lock(m_mutex);
        if (m_free < now) m_free = now;
        m_free += std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(static_cast<double>(piece.size()) / m_rate));
        m_queued += piece.size();
        m_queue.push_back({m_free + m_delay, std::move(piece)});
        m_wake.notify_one();
    }
    /// No more pieces: what is queued is still delivered, then the far end
    /// sees the end of the stream.
    void Finish() {
        std::lock_guard lock(m_mutex);
        m_finishing = true;
        m_wake.notify_one();
    }
    void Close() {
        std::lock_guard lock(m_mutex);
        m_closed = true;
        m_wake.notify_one();
        m_drained.notify_all();
    }
    [[nodiscard]] bool Broken() const { return m_broken; }
    /// Bytes read and not yet delivered.
    [[nodiscard]] size_t Queued() {
        std::lock_guard lock(m_mutex);
        return m_queued;
    }
    /// Waits until every queued piece has been delivered (or the line broke).
    void Drain() {
        std::unique_lock lock(m_mutex);
        m_drained.wait(lock, [this] { return m_queue.empty() || m_closed || m_broken; });
    }

private:
    struct Piece {
        Clock::time_point arrives;
        std::string bytes;
    };
    void Deliver() {
        std::unique_lock lock(m_mutex);
        while (!m_closed) {
            if (m_queue.empty()) {
                if (m_finishing) {
                    ::shutdown(m_to, SHUT_WR);
                    m_wake.wait(lock, [this] { return m_closed; });
                    break;
                }
                m_wake.wait(lock);
                continue;
            }
            const auto arrives = m_queue.front().arrives;
            if (Clock::now() < arrives) {
                m_wake.wait_until(lock, arrives);
                continue;
            }
            auto piece = std::move(m_queue.front().bytes);
            m_queue.pop_front();
            m_queued -= piece.size();
            lock.unlock();
            if (!SendAll(m_to, piece.data(), piece.size())) m_broken = true;
            lock.lock();
            m_drained.notify_all();
        }
    }

    int m_to;
    double m_rate;
    Clock::duration m_delay;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_drained;
    std::deque<Piece> m_queue;
    Clock::time_point m_free{};
    size_t m_queued = 0;
    bool m_finishing = false;
    bool m_closed = false;
    std::atomic<bool> m_broken{false};
    std::thread m_thread; ///< last: started once the rest is ready
};

} // namespace

SlowLink::SlowLink(int target_port, double bits_per_second, int round_trip_ms)
    : m_target_port(target_port), m_bytes_per_second(bits_per_second / 8), m_one_way_ms(round_trip_ms / 2) {
    m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    // Set before listen: accepted sockets inherit it, with their window scale.
    ::setsockopt(m_listen, SOL_SOCKET, SO_RCVBUF, &SOCKET_BUFFER, sizeof SOCKET_BUFFER);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(m_listen, 64) != 0)
        throw std::runtime_error("the slow link cannot listen on 127.0.0.1");
    socklen_t len = sizeof addr;
    ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
    m_acceptor = std::thread([this] { AcceptLoop(); });
}

SlowLink::~SlowLink() {
    m_stop = true;
    ::shutdown(m_listen, SHUT_RDWR);
    ::close(m_listen);
    m_acceptor.join();
    std::lock_guard lock(m_mutex);
    for (auto& w : m_workers) w.join();
}

void SlowLink::DropAfter(uint64_t after_up) {
    m_dropped = false;
    m_drop_at = m_up + after_up;
}

void SlowLink::AcceptLoop() {
    while (!m_stop) {
        pollfd p{m_listen, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const int client = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        const int one = 1;
        ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::lock_guard lock(m_mutex);
        m_workers.emplace_back([this, client] { Serve(client); });
    }
}

void SlowLink::Serve(int client) {
    const int server = ConnectLoopback(m_target_port);
    if (server < 0) {
        ::close(client);
        return;
    }
    const uint64_t drop_at = m_drop_at; // a drop reaches the connections open when it was set
    {
        Line up(server, m_bytes_per_second, m_one_way_ms);
        Line down(client, m_bytes_per_second, m_one_way_ms);
        bool client_open = true, server_open = true;
        char buffer[1400];
        while (!m_stop && (client_open || server_open) && !up.Broken() && !down.Broken()) {
            const short up_room = up.Queued() < IN_FLIGHT ? POLLIN : 0;
            const short down_room = down.Queued() < IN_FLIGHT ? POLLIN : 0;
            pollfd fds[2] = {{client_open ? client : -1, up_room, 0}, {server_open ? server : -1, down_room, 0}};
            if (::poll(fds, 2, 50) < 0) break;
            if (m_up >= drop_at) {
                // The first connection to see it ends the drop for those made later.
                uint64_t expected = drop_at;
                if (m_drop_at.compare_exchange_strong(expected, UINT64_MAX)) m_dropped = true;
                break;
            }
            if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
                if (n <= 0) {
                    client_open = false;
                    up.Finish();
                } else {
                    m_up += static_cast<uint64_t>(n);
                    up.Put(std::string(buffer, static_cast<size_t>(n)));
                }
            }
            if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                const ssize_t n = ::recv(server, buffer, sizeof buffer, 0);
                if (n <= 0) {
                    server_open = false;
                    down.Finish();
                    // The answer still travels; the connection ends when both
                    // sides have finished and their lines are empty.
                } else {
                    m_down += static_cast<uint64_t>(n);
                    down.Put(std::string(buffer, static_cast<size_t>(n)));
                }
            }
            if (!client_open && !server_open) {
                // Let the queued bytes arrive before the sockets close.
                up.Drain();
                down.Drain();
                break;
            }
        }
    }
    ::close(server);
    ::close(client);
}

} // namespace escucha::bench
