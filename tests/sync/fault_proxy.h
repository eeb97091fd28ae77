// A TCP proxy on loopback that misbehaves on purpose: cuts a connection in
// the middle of a request or of a response, stalls it, or resets it.
#pragma once

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace escucha::test {

/// A fault strikes the connection on which the client's bytes, counted over
/// all connections since the previous fault struck (or since Inject() when
/// none had), pass `after_bytes`.
enum class Fault {
    CutRequest,  ///< close in the middle of a request: the server never answers
    CutResponse, ///< pass the request whole, close as the answer starts: the client never hears it
    Stall,       ///< stop forwarding; the client must give up on its own
    Reset,       ///< like CutRequest, with a TCP reset
    CutAnswer,   ///< pass the request whole and `answer_bytes` of the answer, then close (a download cut midway)
};

class FaultProxy {
public:
    explicit FaultProxy(int target_port);
    ~FaultProxy();
    FaultProxy(const FaultProxy&) = delete;
    FaultProxy& operator=(const FaultProxy&) = delete;

    [[nodiscard]] int Port() const { return m_port; }
    /// Faults strike in order, one at a time; when none is left, all passes.
    void Inject(Fault fault, size_t after_bytes = 0, size_t answer_bytes = 0);
    [[nodiscard]] int FaultsLeft();
    [[nodiscard]] int Connections() const { return m_connections; }
    /// Bytes the clients have sent through it so far, over all connections.
    [[nodiscard]] size_t BytesFromClient();

private:
    void AcceptLoop();
    void Serve(int client);

    struct Planned {
        Fault fault;
        size_t after_bytes;
        size_t answer_bytes = 0; ///< for CutAnswer
    };
    int m_target_port;
    int m_listen = -1;
    int m_port = 0;
    std::atomic<bool> m_stop{false};
    std::atomic<int> m_connections{0};
    size_t m_upstream = 0; ///< client bytes so far, under m_mutex
    size_t m_base = 0;     ///< where the next fault's count starts, under m_mutex
    std::mutex m_mutex;
    std::deque<Planned> m_plan;
    std::vector<std::thread> m_workers;
    std::thread m_acceptor;
};

} // namespace escucha::test
