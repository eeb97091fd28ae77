// A lock-free ring of audio samples between exactly two threads: one writes
// (a sound card's callback, or the player thread), the other reads (the
// encoder thread, or the output callback). Neither ever waits, locks or
// allocates, so a callback that must return within milliseconds can use it.
//
// Each side owns one index and only reads the other's: the writer publishes
// its index with release after copying the samples in, the reader sees it
// with acquire before copying them out (and the other way round for the
// space freed). Indices count samples from the start and wrap only through
// the mask, so "full" and "empty" never look alike.
//
// Overflow policy: what does not fit is not written; Write says how much
// went in, and the caller counts the rest (CaptureSink::dropped).
//
// Thread contract: Write and WriteSpace from one thread, Read, ReadAvailable
// and Discard from one other thread; Size from either (a snapshot).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <vector>

namespace escucha::gui {

class PcmRing {
public:
    /// Room for at least `capacity` samples (rounded up to a power of two).
    explicit PcmRing(size_t capacity) {
        size_t size = 1;
        while (size < capacity) size <<= 1;
        m_samples.assign(size, 0.0f);
        m_mask = size - 1;
    }
    PcmRing(const PcmRing&) = delete;
    PcmRing& operator=(const PcmRing&) = delete;

    [[nodiscard]] size_t Capacity() const noexcept { return m_samples.size(); }

    /// Writer: copies up to `count` samples in; returns how many fitted.
    size_t Write(const float* in, size_t count) noexcept {
        const size_t write = m_write.load(std::memory_order_relaxed); // only this thread moves it
        const size_t read = m_read.load(std::memory_order_acquire);   // the reader is done with those
        const size_t n = std::min(count, Capacity() - (write - read));
        for (size_t i = 0; i < n; ++i) m_samples[(write + i) & m_mask] = in[i];
        m_write.store(write + n, std::memory_order_release); // the samples are there before the index says so
        return n;
    }
    /// Writer: how many samples would fit now.
    [[nodiscard]] size_t WriteSpace() const noexcept {
        return Capacity() - (m_write.load(std::memory_order_relaxed) - m_read.load(std::memory_order_acquire));
    }

    /// Reader: copies up to `count` samples out; returns how many there were.
    size_t Read(float* out, size_t count) noexcept {
        const size_t read = m_read.load(std::memory_order_relaxed);
        const size_t write = m_write.load(std::memory_order_acquire);
        const size_t n = std::min(count, write - read);
        for (size_t i = 0; i < n; ++i) out[i] = m_samples[(read + i) & m_mask];
        m_read.store(read + n, std::memory_order_release); // copied out before the space is given back
        return n;
    }
    /// Reader: how many samples are waiting.
    [[nodiscard]] size_t ReadAvailable() const noexcept {
        return m_write.load(std::memory_order_acquire) - m_read.load(std::memory_order_relaxed);
    }
    /// Reader: drops every sample waiting (a seek: what was queued is stale).
    size_t Discard() noexcept {
        const size_t write = m_write.load(std::memory_order_acquire);
        const size_t read = m_read.exchange(write, std::memory_order_release);
        return write - read;
    }

    /// Samples waiting, as either side sees them now.
    [[nodiscard]] size_t Size() const noexcept {
        return m_write.load(std::memory_order_acquire) - m_read.load(std::memory_order_acquire);
    }

private:
    std::vector<float> m_samples;
    size_t m_mask = 0;
    // Apart, so that the two threads do not fight over one cache line.
    alignas(64) std::atomic<size_t> m_write{0};
    alignas(64) std::atomic<size_t> m_read{0};
};

} // namespace escucha::gui
