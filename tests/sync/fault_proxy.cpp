#include "sync/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <stdexcept>

namespace escucha::test {

namespace {

int ConnectLoopback(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

void ResetAndClose(int fd) {
    linger l{1, 0}; // close with RST instead of FIN
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
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

} // namespace

FaultProxy::FaultProxy(int target_port) : m_target_port(target_port) {
    m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0; // the OS chooses
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(m_listen, 64) != 0)
        throw std::runtime_error("fault proxy cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
    m_acceptor = std::thread([this] { AcceptLoop(); });
}

FaultProxy::~FaultProxy() {
    m_stop = true;
    ::shutdown(m_listen, SHUT_RDWR);
    ::close(m_listen);
    m_acceptor.join();
    for (auto& w : m_workers) w.join();
}

void FaultProxy::Inject(Fault fault, size_t after_bytes, size_t answer_bytes) {
    std::lock_guard lock(m_mutex);
    if (m_plan.empty()) m_base = m_upstream;
    m_plan.push_back({fault, after_bytes, answer_bytes});
}

size_t FaultProxy::BytesFromClient() {
    std::lock_guard lock(m_mutex);
    return m_upstream;
}

int FaultProxy::FaultsLeft() {
    std::lock_guard lock(m_mutex);
    return static_cast<int>(m_plan.size());
}

void FaultProxy::AcceptLoop() {
    while (!m_stop) {
        pollfd p{m_listen, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const int client = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        ++m_connections;
        m_workers.emplace_back([this, client] { Serve(client); });
    }
}

void FaultProxy::Serve(int client) {
    const int server = ConnectLoopback(m_target_port);
    if (server < 0) {
        ::close(client);
        return;
    }
    std::optional<Planned> armed; // the fault this connection carries, once struck
    bool stalled = false;
    size_t downstream = 0; // answer bytes passed since the fault struck (CutAnswer)
    char buffer[16384];
    const auto finish = [&](bool reset) {
        if (reset) ResetAndClose(client);
        else ::close(client);
        ::close(server);
    };
    while (!m_stop) {
        pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
        if (::poll(fds, 2, 100) < 0) break;
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
            if (n <= 0) break;
            if (stalled) continue; // swallow: nothing moves on
            size_t pass = static_cast<size_t>(n);
            {
                std::lock_guard lock(m_mutex);
                if (!armed && !m_plan.empty() && m_upstream - m_base + pass >= m_plan.front().after_bytes) {
                    armed = m_plan.front();
                    m_plan.pop_front();
                    if (armed->fault != Fault::CutResponse && armed->fault != Fault::CutAnswer)
                        pass = std::min(pass, armed->after_bytes - (m_upstream - m_base));
                    m_base = m_upstream + static_cast<size_t>(n);
                }
                m_upstream += static_cast<size_t>(n);
            }
            if (!SendAll(server, buffer, pass)) break;
            if (armed && armed->fault == Fault::Stall) {
                stalled = true;
            } else if (armed && armed->fault != Fault::CutResponse && armed->fault != Fault::CutAnswer) {
                return finish(armed->fault == Fault::Reset);
            }
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t n = ::recv(server, buffer, sizeof buffer, 0);
            if (n <= 0) break;
            if (stalled) continue;
            // The server has answered, so it has committed: the client must
            // cope with never hearing about it.
            if (armed && armed->fault == Fault::CutResponse) return finish(false);
            if (armed && armed->fault == Fault::CutAnswer) {
                // Part of the answer reaches the client, then the line drops.
                const size_t pass = std::min(static_cast<size_t>(n), armed->answer_bytes - downstream);
                downstream += pass;
                if (!SendAll(client, buffer, pass)) break;
                if (downstream == armed->answer_bytes) return finish(false);
                continue;
            }
            if (!SendAll(client, buffer, static_cast<size_t>(n))) break;
        }
    }
    finish(false);
}

} // namespace escucha::test
