#include "player.h"

#include "escucha/storage/error_code.h"

#include <SoundTouch.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

namespace escucha::gui {

namespace {

constexpr int BLOCK = capture::AUDIO_RATE / 50; // 20 ms

int64_t SamplesToMs(double samples) { return static_cast<int64_t>(samples * 1000.0 / capture::AUDIO_RATE); }

} // namespace

Player::Player(std::unique_ptr<capture::Decoder> decoder)
    : m_decoder(std::move(decoder)), m_duration_ms(m_decoder->DurationMs()), m_thread([this] { Run(); }) {}

Player::~Player() {
    {
        std::lock_guard lock(m_mutex);
        m_quit = true;
    }
    m_cv.notify_all();
    m_thread.join();
}

void Player::Play() {
    if (PositionMs() >= m_duration_ms) SeekMs(0); // at the end: from the start again
    m_sink.playing.store(true, std::memory_order_release);
    m_playing.store(true, std::memory_order_release);
    m_cv.notify_all();
}

void Player::Pause() {
    m_sink.playing.store(false, std::memory_order_release);
    m_playing.store(false, std::memory_order_release);
}

void Player::SeekMs(int64_t ms) {
    {
        std::lock_guard lock(m_mutex);
        m_request.seek_ms = std::clamp<int64_t>(ms, 0, m_duration_ms);
    }
    m_cv.notify_all();
}

void Player::SetSpeed(double speed) {
    {
        std::lock_guard lock(m_mutex);
        m_request.speed = std::clamp(speed, MIN_SPEED, MAX_SPEED);
    }
    m_cv.notify_all();
}

double Player::Speed() const {
    std::lock_guard lock(m_mutex);
    return m_request.speed.value_or(m_speed);
}

int64_t Player::PositionMs() const {
    std::lock_guard lock(m_mutex);
    // A seek asked for, or under way, is where playback is about to be.
    if (m_request.seek_ms) return *m_request.seek_ms;
    if (m_restarting_ms) return *m_restarting_ms;
    return PositionLocked();
}

int64_t Player::PositionLocked() const {
    // The device has not dropped the old queue yet: nothing of the new one was played.
    if (m_sink.flush_done.load(std::memory_order_acquire) != m_epoch) return m_anchor_ms;
    const auto played = static_cast<double>(m_sink.played.load(std::memory_order_acquire));
    return std::min(m_duration_ms, m_anchor_ms + SamplesToMs(played * m_speed));
}

bool Player::Settled() const {
    std::lock_guard lock(m_mutex);
    return !m_request.seek_ms && !m_request.speed && !m_restarting_ms;
}

std::string Player::ErrorCode() const {
    std::lock_guard lock(m_mutex);
    return m_error_code;
}

void Player::Restart(int64_t ms, double speed) {
    std::lock_guard lock(m_mutex);
    m_anchor_ms = ms;
    m_speed = speed;
    m_restarting_ms.reset();
    // The device drops what was queued before, and counts what it plays from here.
    m_epoch = m_sink.flush_asked.load(std::memory_order_relaxed) + 1;
    m_sink.flush_asked.store(m_epoch, std::memory_order_release);
}

void Player::Run() {
    pthread_setname_np(pthread_self(), "escucha-player");
    soundtouch::SoundTouch stretch;
    stretch.setSampleRate(capture::AUDIO_RATE);
    stretch.setChannels(1);
    std::vector<float> block(BLOCK);
    double speed = 1.0;
    bool decoded_all = false;
    const auto wait_a_little = [this] {
        std::unique_lock lock(m_mutex);
        m_cv.wait_for(lock, std::chrono::milliseconds(5),
                      [this] { return m_quit || m_request.seek_ms || m_request.speed; });
    };
    try {
        while (true) {
            Request request;
            {
                std::lock_guard lock(m_mutex);
                if (m_quit) break;
                request = std::exchange(m_request, Request{});
                // A new speed starts where playback is now.
                if (request.speed && !request.seek_ms) request.seek_ms = PositionLocked();
                if (request.seek_ms) m_restarting_ms = request.seek_ms;
            }
            if (request.seek_ms) {
                if (request.speed) speed = *request.speed;
                stretch.clear();
                stretch.setTempo(speed);
                m_decoder->SeekMs(*request.seek_ms);
                Restart(*request.seek_ms, speed);
                decoded_all = false;
                continue;
            }
            // Nothing new is queued before the device dropped the old queue.
            const bool flushed =
                m_sink.flush_done.load(std::memory_order_acquire) == m_sink.flush_asked.load(std::memory_order_relaxed);
            const bool playing = m_playing.load(std::memory_order_acquire);
            if (playing && flushed && decoded_all && m_sink.ring.Size() == 0 && stretch.numSamples() == 0) {
                // Everything was played: playback stops at the end.
                Pause();
                Restart(m_duration_ms, speed);
                continue;
            }
            if (!playing || !flushed || m_sink.ring.WriteSpace() < static_cast<size_t>(BLOCK)) {
                wait_a_little();
                continue;
            }
            if (speed != 1.0 && stretch.numSamples() > 0) {
                const auto got = stretch.receiveSamples(block.data(), static_cast<unsigned>(BLOCK));
                m_sink.ring.Write(block.data(), got);
                continue;
            }
            if (decoded_all) {
                wait_a_little();
                continue;
            }
            const int got = m_decoder->Read(block.data(), BLOCK);
            if (got <= 0) {
                decoded_all = true;
                if (speed != 1.0) stretch.flush(); // what SoundTouch still holds comes out
            } else if (speed == 1.0) {
                m_sink.ring.Write(block.data(), static_cast<size_t>(got));
            } else {
                stretch.putSamples(block.data(), static_cast<unsigned>(got));
            }
        }
    } catch (const capture::AudioError& e) {
        Pause();
        std::lock_guard lock(m_mutex);
        m_error_code = e.Code();
        m_restarting_ms.reset();
    } catch (const std::exception&) {
        Pause();
        std::lock_guard lock(m_mutex);
        m_error_code = storage::errc::AUDIO_UNREADABLE;
        m_restarting_ms.reset();
    }
    // Broken off by an error: wait to be told to quit (the owner joins).
    std::unique_lock lock(m_mutex);
    m_cv.wait(lock, [this] { return m_quit; });
}

// [SECTION] Clock text

std::string ClockText(int64_t ms) {
    const int64_t s = std::max<int64_t>(0, ms) / 1000;
    char out[32];
    if (s >= 3600)
        std::snprintf(out, sizeof out, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                      static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    else std::snprintf(out, sizeof out, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
    return out;
}

std::string ClockTextTenths(int64_t ms) {
    ms = std::max<int64_t>(0, ms);
    return ClockText(ms) + "." + std::to_string(ms / 100 % 10);
}

std::optional<int64_t> ParseClock(const std::string& text) {
    // Up to three numbers split by ':', the last with an optional fraction.
    int64_t parts[3] = {0, 0, 0};
    int count = 0;
    double fraction = 0;
    size_t i = 0;
    const auto digit = [&](size_t at) { return at < text.size() && text[at] >= '0' && text[at] <= '9'; };
    while (i < text.size() && text[i] == ' ') ++i;
    while (true) {
        if (!digit(i) || count == 3) return std::nullopt;
        int64_t value = 0;
        while (digit(i)) {
            value = value * 10 + (text[i] - '0');
            if (value > 1000000000) return std::nullopt;
            ++i;
        }
        parts[count++] = value;
        if (i < text.size() && text[i] == ':') {
            ++i;
            continue;
        }
        if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
            ++i;
            double scale = 0.1;
            if (!digit(i)) return std::nullopt;
            while (digit(i)) {
                fraction += (text[i] - '0') * scale;
                scale /= 10;
                ++i;
            }
        }
        break;
    }
    while (i < text.size() && text[i] == ' ') ++i;
    if (i != text.size()) return std::nullopt;
    int64_t seconds = 0;
    for (int k = 0; k < count; ++k) {
        if (k > 0 && parts[k] >= 60) return std::nullopt;
        seconds = seconds * 60 + parts[k];
    }
    return seconds * 1000 + static_cast<int64_t>(std::lround(fraction * 1000));
}

} // namespace escucha::gui
