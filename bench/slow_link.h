// A rural link on loopback: a TCP proxy that delays every byte by half a
// round trip and lets each direction through at a fixed rate (a 2G/3G link
// of 64 kbit/s and 300 ms round trip, say), counts the bytes each way, and
// can drop every connection once after a number of upstream bytes.
//
// Model: each direction is one serial line. A piece read at time t leaves
// the line at max(t, line free) + size / rate and arrives half a round trip
// later. Pieces are read at most 1,400 bytes at a time, about a packet.
//
// Thread contract: the counters and Drop() may be used from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace escucha::bench {

class SlowLink {
public:
    /// Forwards 127.0.0.1:<port>, once listening, to 127.0.0.1:`target_port`.
    SlowLink(int target_port, double bits_per_second, int round_trip_ms);
    ~SlowLink();
    SlowLink(const SlowLink&) = delete;
    SlowLink& operator=(const SlowLink&) = delete;

    [[nodiscard]] std::string Url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
    /// Bytes that crossed towards the target (device to headquarters), and back.
    [[nodiscard]] uint64_t Up() const { return m_up; }
    [[nodiscard]] uint64_t Down() const { return m_down; }
    /// The connections open now are cut (both ends closed) once `after_up`
    /// more upstream bytes have crossed; connections made later are not.
    void DropAfter(uint64_t after_up);
    [[nodiscard]] bool Dropped() const { return m_dropped; }

private:
    struct Connection;
    void AcceptLoop();
    void Serve(int client);

    int m_target_port;
    double m_bytes_per_second;
    int m_one_way_ms;
    int m_listen = -1;
    int m_port = 0;
    std::atomic<bool> m_stop{false};
    std::atomic<uint64_t> m_up{0};
    std::atomic<uint64_t> m_down{0};
    std::atomic<uint64_t> m_drop_at{UINT64_MAX}; ///< m_up at which open connections are cut
    std::atomic<bool> m_dropped{false};
    std::thread m_acceptor;
    std::mutex m_mutex;
    std::vector<std::thread> m_workers; ///< under m_mutex
};

} // namespace escucha::bench
