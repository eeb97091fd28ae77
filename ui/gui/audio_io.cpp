// PortAudio behind audio_io.h: RAII over Pa_Initialize/Pa_Terminate and each
// stream, callbacks that only copy to or from their sink.
#include "audio_io.h"

#include "escucha/capture/audio.h"
#include "escucha/storage/error_code.h"

#include <portaudio.h>

#ifdef ESCUCHA_HAVE_ALSA // set by CMake when PortAudio runs over ALSA here
#include <alsa/asoundlib.h>
#endif

#include <pthread.h>

#include <chrono>
#include <cmath>
#include <cstdarg>
#include <string>
#include <thread>
#include <vector>

namespace escucha::gui {

namespace errc = storage::errc;

// [SECTION] Sinks

void CaptureSink::Push(const float* pcm, size_t count) noexcept {
    callbacks.fetch_add(1, std::memory_order_relaxed);
    if (paused.load(std::memory_order_relaxed)) return;
    float loudest = 0;
    for (size_t i = 0; i < count; ++i) loudest = std::max(loudest, std::fabs(pcm[i]));
    // Only this thread raises the peak; the UI only resets it, so a lost race costs one reading.
    if (loudest > peak.load(std::memory_order_relaxed)) peak.store(loudest, std::memory_order_relaxed);
    const size_t in = ring.Write(pcm, count);
    taken.fetch_add(static_cast<int64_t>(count), std::memory_order_relaxed);
    if (in < count) dropped.fetch_add(static_cast<int64_t>(count - in), std::memory_order_relaxed);
}

void PlaybackSink::Pull(float* out, size_t count) noexcept {
    callbacks.fetch_add(1, std::memory_order_relaxed);
    const uint64_t asked = flush_asked.load(std::memory_order_acquire);
    if (asked != flush_done.load(std::memory_order_relaxed)) {
        ring.Discard();
        played.store(0, std::memory_order_relaxed);
        flush_done.store(asked, std::memory_order_release);
    }
    size_t got = 0;
    if (playing.load(std::memory_order_acquire)) got = ring.Read(out, count);
    for (size_t i = got; i < count; ++i) out[i] = 0.0f;
    if (got) played.fetch_add(static_cast<int64_t>(got), std::memory_order_release);
}

// [SECTION] PortAudio

namespace {

#ifdef ESCUCHA_HAVE_ALSA
/// ALSA writes every card it fails to find to stderr; the app says it in words instead.
extern "C" void QuietAlsa(const char*, int, const char*, int, const char*, ...) {}
#endif

capture::AudioError DeviceFailed(const char* doing, PaError error) {
    const std::string reason = Pa_GetErrorText(error);
    return {std::string("cannot ") + doing + " the sound device: " + reason,
            errc::AUDIO_DEVICE_FAILED,
            {{"reason", reason}}};
}

/// One Pa_Initialize, undone by its Pa_Terminate (PortAudio counts them).
class PortAudioLibrary {
public:
    PortAudioLibrary() {
#ifdef ESCUCHA_HAVE_ALSA
        snd_lib_error_set_handler(&QuietAlsa);
#endif
        if (const PaError e = Pa_Initialize(); e != paNoError) throw DeviceFailed("start", e);
    }
    ~PortAudioLibrary() { Pa_Terminate(); }
    PortAudioLibrary(const PortAudioLibrary&) = delete;
    PortAudioLibrary& operator=(const PortAudioLibrary&) = delete;
};

struct StreamCloser {
    void operator()(PaStream* s) const noexcept { Pa_CloseStream(s); }
};
using StreamHandle = std::unique_ptr<PaStream, StreamCloser>;

/// An open stream and where it stands: started, stopped by the app, or
/// stopped by itself (the device went away).
class RunningStream {
public:
    void Open(PaStream* stream) { m_stream.reset(stream); }
    void Start() {
        if (const PaError e = Pa_StartStream(m_stream.get()); e != paNoError) throw DeviceFailed("start", e);
        m_started = true;
    }
    void Stop() {
        if (!m_started || m_stopping) return;
        m_stopping = true;
        Pa_StopStream(m_stream.get());
    }
    /// It ran and is no longer active, though nobody stopped it.
    [[nodiscard]] bool Failed() const { return m_started && !m_stopping && Pa_IsStreamActive(m_stream.get()) != 1; }

private:
    StreamHandle m_stream;
    bool m_started = false;
    bool m_stopping = false;
};

class PortAudioInput final : public AudioInput {
public:
    explicit PortAudioInput(CaptureSink& sink) : m_sink(sink) {
        const PaDeviceIndex device = Pa_GetDefaultInputDevice();
        if (device == paNoDevice) throw capture::AudioError("no input device (microphone) found", errc::AUDIO_NO_INPUT);
        const PaDeviceInfo* info = Pa_GetDeviceInfo(device);
        PaStreamParameters in{};
        in.device = device;
        in.channelCount = 1;
        in.sampleFormat = paFloat32;
        in.suggestedLatency = info ? info->defaultHighInputLatency : 0.1;
        // 48 kHz when the card has it (no resampling), else the card's own rate.
        m_rate = 48000;
        if (Pa_IsFormatSupported(&in, nullptr, m_rate) != paFormatIsSupported && info)
            m_rate = static_cast<int>(info->defaultSampleRate);
        PaStream* stream = nullptr;
        if (const PaError e = Pa_OpenStream(&stream, &in, nullptr, m_rate, paFramesPerBufferUnspecified, paNoFlag,
                                            &PortAudioInput::Callback, &m_sink);
            e != paNoError)
            throw DeviceFailed("open", e);
        m_stream.Open(stream);
    }
    ~PortAudioInput() override { Stop(); }

    [[nodiscard]] int Rate() const override { return m_rate; }
    void Start() override { m_stream.Start(); }
    void Stop() override { m_stream.Stop(); }
    [[nodiscard]] bool Failed() const override { return m_stream.Failed(); }

private:
    static int Callback(const void* input, void*, unsigned long frames, const PaStreamCallbackTimeInfo*,
                        PaStreamCallbackFlags, void* user) {
        if (input) static_cast<CaptureSink*>(user)->Push(static_cast<const float*>(input), frames);
        return paContinue;
    }

    PortAudioLibrary m_library; // first in, last out: the stream closes before PortAudio ends
    CaptureSink& m_sink;
    RunningStream m_stream;
    int m_rate = 48000;
};

class PortAudioOutput final : public AudioOutput {
public:
    explicit PortAudioOutput(PlaybackSink& sink) : m_sink(sink) {
        const PaDeviceIndex device = Pa_GetDefaultOutputDevice();
        if (device == paNoDevice) throw capture::AudioError("no output device (speaker) found", errc::AUDIO_NO_OUTPUT);
        const PaDeviceInfo* info = Pa_GetDeviceInfo(device);
        PaStreamParameters out{};
        out.device = device;
        out.channelCount = 1;
        out.sampleFormat = paFloat32;
        out.suggestedLatency = info ? info->defaultLowOutputLatency : 0.05;
        PaStream* stream = nullptr;
        if (const PaError e = Pa_OpenStream(&stream, nullptr, &out, capture::AUDIO_RATE, paFramesPerBufferUnspecified,
                                            paNoFlag, &PortAudioOutput::Callback, &m_sink);
            e != paNoError)
            throw DeviceFailed("open", e);
        m_stream.Open(stream);
    }
    ~PortAudioOutput() override { Stop(); }

    void Start() override { m_stream.Start(); }
    void Stop() override { m_stream.Stop(); }
    [[nodiscard]] bool Failed() const override { return m_stream.Failed(); }

private:
    static int Callback(const void*, void* output, unsigned long frames, const PaStreamCallbackTimeInfo*,
                        PaStreamCallbackFlags, void* user) {
        static_cast<PlaybackSink*>(user)->Pull(static_cast<float*>(output), frames);
        return paContinue;
    }

    PortAudioLibrary m_library;
    PlaybackSink& m_sink;
    RunningStream m_stream;
};

class FileInput final : public AudioInput {
public:
    FileInput(CaptureSink& sink, const std::string& path) : m_sink(sink), m_file(path) {}
    ~FileInput() override { Stop(); }
    [[nodiscard]] int Rate() const override { return m_file.Rate(); }
    void Start() override {
        m_thread = std::thread([this] {
            pthread_setname_np(pthread_self(), "escucha-file-in");
            const int channels = m_file.Channels(), block = m_file.Rate() / 100; // 10 ms, as a card would
            std::vector<float> frames(static_cast<size_t>(block * channels)), mono(static_cast<size_t>(block));
            auto next = std::chrono::steady_clock::now();
            bool ended = false;
            while (!m_stop.load(std::memory_order_acquire)) {
                const int got = ended ? 0 : m_file.Read(frames.data(), block);
                ended = ended || got == 0;
                for (int i = 0; i < got; ++i) {
                    float sum = 0;
                    for (int c = 0; c < channels; ++c) sum += frames[static_cast<size_t>(i * channels + c)];
                    mono[static_cast<size_t>(i)] = sum / static_cast<float>(channels);
                }
                m_sink.Push(mono.data(), static_cast<size_t>(got)); // silence once the file ended
                next += std::chrono::milliseconds(10);
                std::this_thread::sleep_until(next);
            }
        });
    }
    void Stop() override {
        m_stop.store(true, std::memory_order_release);
        if (m_thread.joinable()) m_thread.join();
    }
    [[nodiscard]] bool Failed() const override { return false; }

private:
    CaptureSink& m_sink;
    capture::AudioFile m_file;
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

} // namespace

std::unique_ptr<AudioInput> OpenFileInput(CaptureSink& sink, const std::string& path) {
    return std::make_unique<FileInput>(sink, path);
}

std::unique_ptr<AudioInput> OpenDefaultInput(CaptureSink& sink) { return std::make_unique<PortAudioInput>(sink); }

std::unique_ptr<AudioOutput> OpenDefaultOutput(PlaybackSink& sink) { return std::make_unique<PortAudioOutput>(sink); }

} // namespace escucha::gui
