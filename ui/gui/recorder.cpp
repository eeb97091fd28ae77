#include "recorder.h"

#include "escucha/capture/audio.h"
#include "escucha/storage/error_code.h"

#include <pthread.h>

#include <chrono>
#include <vector>

namespace escucha::gui {

namespace errc = storage::errc;

Recorder::Recorder(InputFactory open_input) : m_open_input(std::move(open_input)), m_thread([this] { Run(); }) {}

Recorder::~Recorder() {
    Stop();
    Join();
}

void Recorder::GiveWriter(std::shared_ptr<storage::BlobWriter> writer) {
    {
        std::lock_guard lock(m_mutex);
        m_writer = std::move(writer);
    }
    m_cv.notify_all();
}

void Recorder::Stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_stop_asked.store(true, std::memory_order_release);
    m_cv.notify_all();
}

void Recorder::Join() {
    if (m_thread.joinable()) m_thread.join();
}

int64_t Recorder::ElapsedMs() const {
    const int rate = m_rate.load(std::memory_order_acquire);
    return rate > 0 ? m_sink.taken.load(std::memory_order_relaxed) * 1000 / rate : 0;
}

void Recorder::End(State state) { m_state.store(state, std::memory_order_release); }

void Recorder::Run() {
    pthread_setname_np(pthread_self(), "escucha-encoder");
    std::unique_ptr<AudioInput> input;
    try {
        input = m_open_input(m_sink);
        m_rate.store(input->Rate(), std::memory_order_release);
        input->Start();
    } catch (const capture::AudioError& e) {
        m_error_code = e.Code();
        return End(State::Failed);
    } catch (const std::exception&) {
        m_error_code = errc::AUDIO_DEVICE_FAILED;
        return End(State::Failed);
    }
    m_state.store(State::Capturing, std::memory_order_release);

    std::shared_ptr<storage::BlobWriter> writer;
    {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [this] { return m_stop || m_writer; });
        writer = m_writer;
    }
    if (!writer) { // stopped before the vault had begun the recording: nothing to keep
        input->Stop();
        return End(State::Finished);
    }
    m_state.store(State::Encoding, std::memory_order_release);

    std::vector<float> block(4800); // 100 ms at 48 kHz
    try {
        capture::Encoder encoder(*writer, input->Rate(), 1);
        int64_t last_callbacks = -1;
        auto last_sign_of_life = std::chrono::steady_clock::now();
        // A device that delivers faster than the encoder keeps the ring full: the stop is looked at every block.
        while (!m_stop_asked.load(std::memory_order_acquire)) {
            if (const size_t n = m_sink.ring.Read(block.data(), block.size())) {
                encoder.Write(block.data(), static_cast<int>(n));
                continue;
            }
            {
                std::unique_lock lock(m_mutex);
                // Woken by Stop; otherwise the ring is looked at again in 10 ms
                // (the callback may not lock, so it cannot wake us).
                if (m_cv.wait_for(lock, std::chrono::milliseconds(10), [this] { return m_stop; })) break;
            }
            const auto now = std::chrono::steady_clock::now();
            if (const int64_t calls = m_sink.callbacks.load(std::memory_order_relaxed); calls != last_callbacks) {
                last_callbacks = calls;
                last_sign_of_life = now;
            }
            if (input->Failed() || now - last_sign_of_life > std::chrono::milliseconds(STALL_MS)) {
                m_device_lost = true;
                break;
            }
        }
        input->Stop();
        // What the callback wrote before it stopped is part of the recording.
        while (const size_t n = m_sink.ring.Read(block.data(), block.size()))
            encoder.Write(block.data(), static_cast<int>(n));
        encoder.Finish();
        m_duration_ms = encoder.DurationMs();
    } catch (const capture::AudioError& e) {
        input->Stop();
        m_error_code = e.Code();
        return End(State::Failed);
    } catch (const std::exception&) {
        input->Stop();
        m_error_code = errc::AUDIO_WRITE_FAILED;
        return End(State::Failed);
    }
    End(State::Finished);
}

} // namespace escucha::gui
