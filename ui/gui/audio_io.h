// The sound card, behind a small interface: an input that copies what the
// microphone hears into a CaptureSink, and an output that pulls what is
// played from a PlaybackSink. The sinks are all the device callbacks touch
// (a lock-free ring and a few atomics, pcm_ring.h): they never lock,
// allocate, log or do file I/O, and never start or stop their own stream.
// Tests drive the same sinks from a thread of their own, without a sound
// card (tests/gui/test_audio.cpp).
//
// PortAudio is initialised once per stream object (PortAudio counts its own
// initialisations) and terminated when the object goes; every stream is
// closed by its owner, on the thread that opened it.
//
// Thread contract: a device object belongs to the thread that made it; its
// callback runs on PortAudio's thread and touches only its sink.
// Errors: capture::AudioError with AUDIO_NO_INPUT, AUDIO_NO_OUTPUT or
// AUDIO_DEVICE_FAILED (storage/error_code.h).
#pragma once

#include "pcm_ring.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace escucha::gui {

/// What the microphone's callback writes into. Mono samples in [-1, 1].
struct CaptureSink {
    /// Ten seconds at 48 kHz: the encoder may stall that long (a slow card) without a gap.
    explicit CaptureSink(size_t capacity = 48000 * 10) : ring(capacity) {}

    PcmRing ring;
    std::atomic<bool> paused{false};   ///< set by the UI: samples are dropped, not counted
    std::atomic<int64_t> taken{0};     ///< samples taken in while not paused (the recording's clock)
    std::atomic<int64_t> dropped{0};   ///< samples that did not fit (overflow policy: drop the newest, counted)
    std::atomic<float> peak{0};        ///< loudest sample since the UI last read it (Level())
    std::atomic<int64_t> callbacks{0}; ///< raised by every callback: a device that stalls stops raising it

    /// The device's thread: copies `count` samples in; never blocks.
    void Push(const float* pcm, size_t count) noexcept;
    /// The UI: the loudest sample since the last call, 0..1.
    float Level() noexcept { return peak.exchange(0.0f, std::memory_order_relaxed); }
};

/// What the speaker's callback reads from. Mono samples at 48 kHz.
struct PlaybackSink {
    /// A quarter of a second: a seek or a pause is heard that soon.
    explicit PlaybackSink(size_t capacity = 48000 / 4) : ring(capacity) {}

    PcmRing ring;
    std::atomic<bool> playing{false};     ///< paused: the callback plays silence and keeps what is queued
    std::atomic<uint64_t> flush_asked{0}; ///< raised by the player: drop what is queued (a seek)
    std::atomic<uint64_t> flush_done{0};  ///< set by the callback once it dropped it
    std::atomic<int64_t> played{0};       ///< samples played since the last flush
    std::atomic<int64_t> callbacks{0};

    /// The device's thread: fills `out` with `count` samples (silence where none are queued).
    void Pull(float* out, size_t count) noexcept;
};

/// A microphone: delivers into its sink once started.
class AudioInput {
public:
    virtual ~AudioInput() = default;
    [[nodiscard]] virtual int Rate() const = 0;
    /// Starts the callbacks. Throws capture::AudioError.
    virtual void Start() = 0;
    /// Stops the callbacks (waits for the last one to return).
    virtual void Stop() = 0;
    /// The device stopped by itself (unplugged, a driver error).
    [[nodiscard]] virtual bool Failed() const = 0;
};

/// A speaker: pulls from its sink once started.
class AudioOutput {
public:
    virtual ~AudioOutput() = default;
    virtual void Start() = 0;
    virtual void Stop() = 0;
    [[nodiscard]] virtual bool Failed() const = 0;
};

using InputFactory = std::function<std::unique_ptr<AudioInput>(CaptureSink&)>;
using OutputFactory = std::function<std::unique_ptr<AudioOutput>(PlaybackSink&)>;

/// The default input device through PortAudio, mono. Throws AUDIO_NO_INPUT
/// when there is none, AUDIO_DEVICE_FAILED when it cannot be opened.
[[nodiscard]] std::unique_ptr<AudioInput> OpenDefaultInput(CaptureSink& sink);
/// A sound file heard as a microphone would hear it: mono, paced in real time,
/// then silence. For demonstrations, screenshots and tests on machines without
/// a sound card (the window app takes it from $ESCUCHA_AUDIO_INPUT_FILE).
/// Throws capture::AudioError (AUDIO_UNREADABLE) for a file it cannot read.
[[nodiscard]] std::unique_ptr<AudioInput> OpenFileInput(CaptureSink& sink, const std::string& path);
/// The default output device through PortAudio, mono at 48 kHz. Throws
/// AUDIO_NO_OUTPUT when there is none, AUDIO_DEVICE_FAILED when it cannot be opened.
[[nodiscard]] std::unique_ptr<AudioOutput> OpenDefaultOutput(PlaybackSink& sink);

} // namespace escucha::gui
