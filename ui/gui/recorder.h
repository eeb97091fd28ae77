// One recording being made: the microphone and the encoder thread.
//
// The encoder thread ("escucha-encoder") opens the input device (through the
// factory: PortAudio, or a test's feed) and starts it at once, so nothing is
// missed while the vault creates the recording record and begins its blob.
// The device's callback only copies into the CaptureSink's ring; the thread
// drains the ring into capture::Encoder, which writes Opus in Ogg into the
// BlobWriter and makes it durable every second. Vault work (creating the
// record, BlobStore::Begin, BlobWriter::Finish) stays on the vault's thread:
// the owner hands the writer in with GiveWriter and takes it back once the
// thread is done.
//
// Faults: a device that cannot be opened ends in Failed with its code and
// nothing written; a device that stops by itself (or stalls for 3 s) ends the
// recording as a stop would, keeping what was heard (DeviceLost()); a write
// that fails (a full disk) ends in Failed with AUDIO_WRITE_FAILED, the writer
// left as it was so that its durable part can be recovered.
//
// Thread contract: every public function on one thread (the UI's); the
// encoder thread is private. State() is safe to poll every frame.
#pragma once

#include "audio_io.h"

#include "escucha/storage/blobs.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace escucha::gui {

class Recorder {
public:
    enum class State {
        Opening,   ///< the device is being opened
        Capturing, ///< hearing, into the ring; waiting for the writer
        Encoding,  ///< hearing and writing
        Finished,  ///< stopped, the Ogg stream ended: the writer can be finished
        Failed,    ///< see ErrorCode(); the writer (if any) holds what was made durable
    };

    explicit Recorder(InputFactory open_input);
    /// Stops and waits for the thread. A writer still held is left unfinished (its part is recovered later).
    ~Recorder();
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    /// The writer the vault began for this recording; encoding starts.
    void GiveWriter(std::shared_ptr<storage::BlobWriter> writer);
    void SetPaused(bool paused) { m_sink.paused.store(paused, std::memory_order_relaxed); }
    [[nodiscard]] bool Paused() const { return m_sink.paused.load(std::memory_order_relaxed); }
    /// Asks the thread to stop hearing, write what is left and end the stream.
    void Stop();
    /// Waits for the thread to end (after Finished or Failed, at once).
    void Join();

    [[nodiscard]] State CurrentState() const { return m_state.load(std::memory_order_acquire); }
    /// Milliseconds heard so far, pauses left out: where a mark goes.
    [[nodiscard]] int64_t ElapsedMs() const;
    /// The loudest sample since the last call (0..1), for the level meter.
    [[nodiscard]] float Level() { return m_sink.Level(); }
    /// Samples lost because the encoder fell more than the ring's length behind.
    [[nodiscard]] int64_t Dropped() const { return m_sink.dropped.load(std::memory_order_relaxed); }

    // After Finished or Failed (read on the UI thread once State() says so):
    [[nodiscard]] const std::string& ErrorCode() const { return m_error_code; } ///< storage/error_code.h
    [[nodiscard]] bool DeviceLost() const { return m_device_lost; }
    [[nodiscard]] int64_t DurationMs() const { return m_duration_ms; }
    [[nodiscard]] std::shared_ptr<storage::BlobWriter> Writer() const { return m_writer; }

    /// The device is taken as lost when its callbacks stop for this long.
    static constexpr int STALL_MS = 3000;

private:
    void Run();
    void End(State state);

    InputFactory m_open_input;
    CaptureSink m_sink;
    std::atomic<State> m_state{State::Opening};
    std::atomic<int> m_rate{0};

    std::mutex m_mutex; ///< guards m_writer's hand-over and m_stop with m_cv
    std::condition_variable m_cv;
    std::shared_ptr<storage::BlobWriter> m_writer;
    bool m_stop = false;
    std::atomic<bool> m_stop_asked{false}; ///< m_stop, for the encoding loop to look at without the lock

    // Written by the thread before it publishes Finished or Failed (release), read after (acquire).
    std::string m_error_code;
    bool m_device_lost = false;
    int64_t m_duration_ms = 0;

    std::thread m_thread; ///< last: starts once everything above exists
};

} // namespace escucha::gui
