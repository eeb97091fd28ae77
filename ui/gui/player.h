// Playing a recording back: its decoder on a thread of its own
// ("escucha-player") that keeps the PlaybackSink's ring filled, at a speed
// from 0.5× to 2× with the pitch kept (SoundTouch), and seeks anywhere. The
// output device (audio_io.h) pulls from the ring. Decoded audio is only ever
// in memory.
//
// Where playback is: the position the last seek (or speed change) set, plus
// what the device has played since, times the speed. A seek asks the
// callback to drop what is queued, so it is heard within a quarter second.
//
// Thread contract: public functions on one thread (the UI's); the player
// thread is private and owns the decoder and SoundTouch.
#pragma once

#include "audio_io.h"

#include "escucha/capture/audio.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace escucha::gui {

class Player {
public:
    static constexpr double MIN_SPEED = 0.5;
    static constexpr double MAX_SPEED = 2.0;

    /// Takes the recording's decoder (made on the vault's thread from its blob).
    explicit Player(std::unique_ptr<capture::Decoder> decoder);
    ~Player();
    Player(const Player&) = delete;
    Player& operator=(const Player&) = delete;

    /// What the output device pulls from.
    [[nodiscard]] PlaybackSink& Sink() { return m_sink; }

    void Play();
    void Pause();
    void Toggle() { Playing() ? Pause() : Play(); }
    void SeekMs(int64_t ms);
    /// Back by `ms` (5 s on the button), not before the start.
    void BackMs(int64_t ms) { SeekMs(PositionMs() - ms); }
    /// 0.5 to 2; the pitch stays.
    void SetSpeed(double speed);

    [[nodiscard]] bool Playing() const { return m_playing.load(std::memory_order_acquire); }
    [[nodiscard]] double Speed() const;
    [[nodiscard]] int64_t DurationMs() const { return m_duration_ms; }
    /// Where playback is, in milliseconds of the recording.
    [[nodiscard]] int64_t PositionMs() const;
    /// No seek or speed change is waiting for the player thread.
    [[nodiscard]] bool Settled() const;
    /// A code (storage/error_code.h) when the audio could not be decoded on; empty otherwise.
    [[nodiscard]] std::string ErrorCode() const;

private:
    struct Request {
        std::optional<int64_t> seek_ms;
        std::optional<double> speed;
    };
    void Run();
    /// The player thread, once the decoder is at `ms`: playback goes on from there at `speed`.
    void Restart(int64_t ms, double speed);
    [[nodiscard]] int64_t PositionLocked() const; ///< with m_mutex held

    PlaybackSink m_sink;
    std::unique_ptr<capture::Decoder> m_decoder; ///< the player thread's once it runs
    int64_t m_duration_ms = 0;
    std::atomic<bool> m_playing{false};

    mutable std::mutex m_mutex; ///< guards what follows (not the callback's: it only sees the sink)
    std::condition_variable m_cv;
    Request m_request;
    bool m_quit = false;
    int64_t m_anchor_ms = 0;                ///< where the last restart began
    double m_speed = 1.0;                   ///< the speed since the last restart
    uint64_t m_epoch = 0;                   ///< the flush that began it (PlaybackSink::flush_asked)
    std::optional<int64_t> m_restarting_ms; ///< a seek taken up by the thread, not yet done
    std::string m_error_code;

    std::thread m_thread; ///< last
};

/// "12:34" or "1:02:03" for a length or a position in milliseconds.
[[nodiscard]] std::string ClockText(int64_t ms);
/// "12:34.5": a position to tenths of a second.
[[nodiscard]] std::string ClockTextTenths(int64_t ms);
/// Reads "12:34", "1:02:03", "12:34.5" or "754" (seconds) back to milliseconds; nullopt when it is none of those.
[[nodiscard]] std::optional<int64_t> ParseClock(const std::string& text);

} // namespace escucha::gui
