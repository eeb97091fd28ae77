// The window app's recordings without a sound card: the ring buffer between
// two threads, the recorder fed with known PCM through the same ring and
// encoder thread, a missing or failing microphone, playback position, seek
// and speed, transcription against the player, and the recovery offer after
// a crash.
#include "app_state.h"
#include "audio_io.h"
#include "error_words.h"
#include "gui_fixture.h"
#include "pcm_ring.h"
#include "player.h"

#include "escucha/capture/audio.h"
#include "escucha/interpret/interpretation_records.h"
#include "escucha/storage/blobs.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

using namespace escucha;
using namespace escucha::gui;
using escucha::test::GuiApp;
using escucha::test::Until;

namespace {

constexpr double PI = 3.14159265358979323846;

/// A 440 Hz tone, `ms` long at `rate`.
std::vector<float> Tone(int64_t ms, int rate = 48000) {
    std::vector<float> pcm(static_cast<size_t>(ms * rate / 1000));
    for (size_t i = 0; i < pcm.size(); ++i)
        pcm[i] = 0.4f * static_cast<float>(std::sin(2 * PI * 440.0 * static_cast<double>(i) / rate));
    return pcm;
}

/// A microphone that is not there: delivers `pcm` into its sink from its own
/// thread, in 10 ms callbacks, as fast as the ring takes it, then keeps calling
/// back with nothing (a quiet device). Failed() once `fail_after` callbacks ran.
class FeedInput final : public AudioInput {
public:
    FeedInput(CaptureSink& sink, std::vector<float> pcm, int rate, int64_t fail_after = -1)
        : m_sink(sink), m_pcm(std::move(pcm)), m_rate(rate), m_fail_after(fail_after) {}
    ~FeedInput() override { Stop(); }
    [[nodiscard]] int Rate() const override { return m_rate; }
    void Start() override {
        m_thread = std::thread([this] {
            const size_t block = static_cast<size_t>(m_rate / 100);
            size_t at = 0;
            while (!m_stop.load()) {
                if (m_fail_after >= 0 && m_calls >= m_fail_after) {
                    m_failed = true;
                    break;
                }
                ++m_calls;
                if (at < m_pcm.size() && m_sink.ring.WriteSpace() >= block) {
                    const size_t n = std::min(block, m_pcm.size() - at);
                    m_sink.Push(m_pcm.data() + at, n);
                    at += n;
                    if (at == m_pcm.size()) fed = true;
                } else {
                    m_sink.Push(nullptr, 0);
                    std::this_thread::sleep_for(std::chrono::milliseconds(2));
                }
            }
        });
    }
    void Stop() override {
        m_stop = true;
        if (m_thread.joinable()) m_thread.join();
    }
    [[nodiscard]] bool Failed() const override { return m_failed.load(); }
    inline static std::atomic<bool> fed{false}; ///< every sample went in

private:
    CaptureSink& m_sink;
    std::vector<float> m_pcm;
    int m_rate;
    int64_t m_fail_after;
    int64_t m_calls = 0;
    std::atomic<bool> m_stop{false};
    std::atomic<bool> m_failed{false};
    std::thread m_thread;
};

/// A speaker that is not there and pulls nothing: playback stays where it is put.
class SilentOutput final : public AudioOutput {
public:
    void Start() override {}
    void Stop() override {}
    [[nodiscard]] bool Failed() const override { return false; }
};

/// The device's side of playback: once the player took in the last seek or
/// speed, pulls from the sink until `samples` were played.
bool PullPlayed(Player& p, int64_t samples) {
    auto& sink = p.Sink();
    std::vector<float> out(480);
    for (int i = 0; i < 2000 && !p.Settled(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    sink.Pull(out.data(), 0); // drops what was queued before, as the device's next callback would
    const int64_t start = sink.played.load();
    for (int i = 0; i < 20000 && sink.played.load() - start < samples; ++i) {
        const int64_t want = samples - (sink.played.load() - start);
        sink.Pull(out.data(), static_cast<size_t>(std::min<int64_t>(480, want)));
        if (sink.ring.Size() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return sink.played.load() - start >= samples;
}

/// A recording's audio written straight into a vault: the blob of `ms` of tone.
storage::BlobInfo EncodeTone(storage::Vault& vault, int64_t ms) {
    storage::BlobStore blobs(vault);
    auto writer = blobs.Begin();
    capture::Encoder encoder(writer, 48000, 1);
    const auto pcm = Tone(ms);
    encoder.Write(pcm.data(), static_cast<int>(pcm.size()));
    encoder.Finish();
    return writer.Finish(blobs);
}

/// An app with a project and an interview open in the form.
struct AudioApp : GuiApp {
    std::string interview;
    double clock = 0;
    AudioApp() {
        Create();
        Project("Cafetaleras");
        interview = Add("interview", {{"kind", "life_journey"}, {"title", "Doña Rosa"}});
        state.editing.OpenRecord(interview);
        REQUIRE(Run([&] { return state.audio.RecordingsLoaded(); }));
    }
    /// Runs the UI queue and the app's clock until `done`.
    template <typename F>
    bool Run(F done) {
        return Until(ui, [&] {
            state.Tick(clock += 0.01);
            return done();
        });
    }
};

} // namespace

TEST_CASE("The sample ring loses nothing and keeps the order between two threads", "[gui][audio]") {
    PcmRing ring(1000); // rounded up to 1024: wraps many times below
    CHECK(ring.Capacity() == 1024);
    constexpr size_t TOTAL = 2'000'000;
    std::thread producer([&] {
        std::vector<float> block(333);
        size_t next = 0;
        while (next < TOTAL) {
            const size_t n = std::min(block.size(), TOTAL - next);
            for (size_t i = 0; i < n; ++i) block[i] = static_cast<float>((next + i) % 4096);
            size_t written = 0;
            while (written < n) {
                written += ring.Write(block.data() + written, n - written);
                if (written < n) std::this_thread::yield();
            }
            next += n;
        }
    });
    std::vector<float> out(500);
    size_t seen = 0, wrong = 0;
    while (seen < TOTAL) {
        const size_t n = ring.Read(out.data(), out.size());
        for (size_t i = 0; i < n; ++i)
            if (out[i] != static_cast<float>((seen + i) % 4096)) ++wrong;
        seen += n;
        if (n == 0) std::this_thread::yield();
    }
    producer.join();
    CHECK(wrong == 0);
    CHECK(seen == TOTAL);
    CHECK(ring.Size() == 0);

    SECTION("what does not fit is refused and counted, never written over") {
        CaptureSink sink(1024);
        const auto tone = Tone(100); // 4800 samples
        sink.Push(tone.data(), tone.size());
        CHECK(sink.ring.Size() == 1024);
        CHECK(sink.dropped.load() == 4800 - 1024);
        CHECK(sink.taken.load() == 4800);
        std::vector<float> first(1024);
        sink.ring.Read(first.data(), first.size());
        CHECK(first[100] == tone[100]); // the oldest samples stayed
        CHECK(sink.Level() > 0.35f);
        CHECK(sink.Level() == 0.0f); // read once
    }
}

TEST_CASE("Recording: known PCM through the ring and the encoder thread becomes a recording of its length",
          "[gui][audio]") {
    AudioApp app;
    auto& a = app.state.audio;
    FeedInput::fed = false;
    const int rate = GENERATE(48000, 44100);
    a.open_input = [rate](CaptureSink& sink) { return std::make_unique<FeedInput>(sink, Tone(3000, rate), rate); };
    a.StartRecording();
    CHECK(a.Screen() == AudioScreen::Recorder);
    REQUIRE(app.Run([&] { return !a.RecordingId().empty(); }));
    // A mark while it records.
    a.MarkNote() = "Habla de la cosecha";
    a.AddMark();
    REQUIRE(app.Run([&] { return a.SessionMarks().size() == 1; }));
    REQUIRE(app.Run([&] { return FeedInput::fed.load(); }));
    CHECK(a.CurrentRecorder()->ElapsedMs() == 3000);
    CHECK(a.CurrentRecorder()->Dropped() == 0);
    a.StopRecording();
    REQUIRE(app.Run([&] { return !a.Recording() && !a.Finishing(); }));
    CHECK(a.RecorderError().empty());
    REQUIRE(app.Run([&] { return a.Recordings().size() == 1 && a.Recordings().front().status != "recording"; }));

    const auto& row = a.Recordings().front();
    CHECK(row.status == "complete");
    CHECK(row.duration_ms == 3000);
    const auto stored = app.Read(row.id);
    CHECK(stored["source"] == "recorded");
    CHECK(stored["interview_id"] == app.interview);
    // The blob decodes to the length that went in.
    int64_t decoded = 0;
    app.worker.Post([&](std::optional<storage::Vault>& v) {
        storage::BlobStore blobs(*v);
        capture::Decoder decoder(blobs.Open(stored["audio_sha256"]));
        std::vector<float> pcm(4800);
        while (const int n = decoder.Read(pcm.data(), 4800)) decoded += n;
    });
    app.worker.Flush();
    CHECK(std::abs(decoded - 3 * 48000) <= 48000 / 50); // within one Opus frame
    const auto mark = app.Read(a.SessionMarks().front().id);
    CHECK(mark["recording_id"] == row.id);
    CHECK(mark["note"] == "Habla de la cosecha");
    CHECK(mark["at_ms"].get<int64_t>() <= 3000);
}

TEST_CASE("Recording faults: no microphone, a microphone that stops", "[gui][audio]") {
    AudioApp app;
    auto& a = app.state.audio;

    SECTION("no input device: the coded error in words, and nothing is created") {
        a.open_input = [](CaptureSink&) -> std::unique_ptr<AudioInput> {
            throw capture::AudioError("no input device (microphone) found", storage::errc::AUDIO_NO_INPUT);
        };
        a.StartRecording();
        REQUIRE(app.Run([&] { return !a.Recording(); }));
        CHECK(a.RecorderError() == WordError(storage::errc::AUDIO_NO_INPUT, {}));
        CHECK_THAT(a.RecorderError(), Catch::Contains("microphone"));
        a.LoadRecordings();
        app.worker.Flush();
        app.ui.Run();
        CHECK(a.Recordings().empty());
    }
    SECTION("the real default device on a machine without one says the same") {
        CaptureSink sink;
        try {
            auto input = OpenDefaultInput(sink);
            WARN("this machine has a microphone: the no-device case is checked with a fake only");
        } catch (const capture::AudioError& e) {
            CHECK(e.Code() == storage::errc::AUDIO_NO_INPUT);
        }
    }
    SECTION("a microphone that stops mid-recording: what it heard is kept, and the person told") {
        FeedInput::fed = false;
        a.open_input = [](CaptureSink& sink) {
            return std::make_unique<FeedInput>(sink, Tone(2000), 48000, 400); // fails after 400 callbacks
        };
        a.StartRecording();
        REQUIRE(app.Run([&] { return !a.Recording() && !a.Finishing(); }));
        CHECK_THAT(a.RecorderError(), Catch::Contains("0:02"));
        CHECK(a.RecorderError() == WordError(storage::errc::AUDIO_INPUT_LOST, {{"kept", "0:02"}}));
        REQUIRE(app.Run([&] { return a.Recordings().size() == 1; }));
        CHECK(a.Recordings().front().status == "complete");
        CHECK(a.Recordings().front().duration_ms == 2000);
    }
}

TEST_CASE("Playback: position, seek, speed and the end, with the device's pulls simulated", "[gui][audio]") {
    test::TempDir dir;
    auto vault = storage::Vault::Create(dir / "vault", storage::Passphrase("frase de paso larga"),
                                        interpret::AllRecordTypes(), {"Ana"});
    const auto blob = EncodeTone(vault, 4000);
    storage::BlobStore blobs(vault);
    Player p(std::make_unique<capture::Decoder>(blobs.Open(blob.sha256)));
    auto& sink = p.Sink();
    CHECK(std::abs(p.DurationMs() - 4000) <= 20);
    CHECK(p.PositionMs() == 0);
    CHECK_FALSE(p.Playing());
    // Paused: the device hears silence and the position stays.
    std::vector<float> out(480, 1.0f);
    sink.Pull(out.data(), out.size());
    CHECK(out[0] == 0.0f);
    CHECK(p.PositionMs() == 0);

    p.Play();
    REQUIRE(PullPlayed(p, 48000));
    CHECK(std::abs(p.PositionMs() - 1000) <= 30);

    p.SeekMs(3000);
    CHECK(p.PositionMs() == 3000); // at once, before the device drops what was queued
    REQUIRE(PullPlayed(p, 24000));
    CHECK(std::abs(p.PositionMs() - 3500) <= 30);

    p.BackMs(5000);
    CHECK(p.PositionMs() == 0); // not before the start

    SECTION("twice as fast: a second of the device is two of the recording") {
        p.SetSpeed(2.0);
        CHECK(p.Speed() == 2.0);
        REQUIRE(PullPlayed(p, 24000));
        CHECK(std::abs(p.PositionMs() - 1000) <= 60);
        p.SetSpeed(7.0);
        CHECK(p.Speed() == Player::MAX_SPEED);
    }
    SECTION("half as fast, the sound still there (the pitch kept by SoundTouch)") {
        p.SetSpeed(0.5);
        REQUIRE(PullPlayed(p, 48000));
        CHECK(std::abs(p.PositionMs() - 500) <= 60);
        float loudest = 0;
        std::vector<float> heard(4800);
        for (int i = 0; i < 200 && loudest < 0.2f; ++i) {
            sink.Pull(heard.data(), heard.size());
            for (float s : heard) loudest = std::max(loudest, std::fabs(s));
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        CHECK(loudest > 0.2f);
    }
    SECTION("played to the end, it stops there; Play starts it again from the start") {
        p.SeekMs(3800);
        REQUIRE(PullPlayed(p, 48000 / 5 - 480));
        for (int i = 0; i < 2000 && p.Playing(); ++i) {
            sink.Pull(out.data(), out.size());
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        CHECK_FALSE(p.Playing());
        CHECK(p.PositionMs() == p.DurationMs());
        p.Play();
        CHECK(p.PositionMs() == 0);
    }
}

TEST_CASE("Clock text reads back what it writes", "[gui][audio]") {
    CHECK(ClockText(754000) == "12:34");
    CHECK(ClockText(3723000) == "1:02:03");
    CHECK(ClockTextTenths(754500) == "12:34.5");
    CHECK(ParseClock("12:34") == 754000);
    CHECK(ParseClock("12:34.5") == 754500);
    CHECK(ParseClock("1:02:03") == 3723000);
    CHECK(ParseClock(" 75 ") == 75000);
    CHECK(ParseClock("12:34,25") == 754250);
    CHECK_FALSE(ParseClock(""));
    CHECK_FALSE(ParseClock("12:75"));
    CHECK_FALSE(ParseClock("doce"));
    CHECK_FALSE(ParseClock("1:2:3:4"));
}

TEST_CASE("Transcribing: stamps from the player, segments in time order, a search hit opens its moment",
          "[gui][audio]") {
    AudioApp app;
    auto& s = app.state;
    auto& a = s.audio;
    a.open_output = [](PlaybackSink&) { return std::make_unique<SilentOutput>(); };
    std::string recording;
    app.worker.Post([&](std::optional<storage::Vault>& v) {
        const auto blob = EncodeTone(*v, 6000);
        recording = v->Records().Create("recording", {{"project_id", s.lists.ProjectId()},
                                                      {"interview_id", app.interview},
                                                      {"status", "complete"},
                                                      {"audio_sha256", blob.sha256},
                                                      {"duration_ms", 6000}})["id"];
    });
    app.worker.Flush();
    a.LoadRecordings();
    REQUIRE(app.Run([&] { return a.Recordings().size() == 1; }));
    a.OpenRecording(a.Recordings().front());
    REQUIRE(app.Run([&] { return a.CurrentPlayer() != nullptr; }));
    CHECK(a.Screen() == AudioScreen::Player);
    CHECK(a.CanTranscribe());
    CHECK(a.PlayerError().empty());

    // The second stretch first: Ctrl+Enter stamps the start where playback is.
    a.SeekMs(3000);
    a.StampStart();
    CHECK(a.Segment().start == "0:03.0");
    a.SeekMs(4500);
    a.Segment().speaker = "Rosa";
    a.Segment().text = "Y luego vino la roya.";
    a.SaveSegment(); // no end given: it ends where playback is
    REQUIRE(app.Run([&] { return a.Segments().size() == 1; }));
    CHECK(a.Segments()[0].start_ms == 3000);
    CHECK(a.Segments()[0].end_ms == 4500);
    CHECK(a.Segment().start == "0:04.5"); // the next one starts where it ended

    a.SeekMs(500);
    a.StampStart();
    a.SeekMs(2500);
    a.StampEnd();
    a.Segment().text = "Primero sembramos café.";
    a.SaveSegment();
    REQUIRE(app.Run([&] { return a.Segments().size() == 2; }));
    CHECK(a.Segments()[0].text == "Primero sembramos café.");
    CHECK(a.Segments()[1].text == "Y luego vino la roya.");

    SECTION("a segment is stored against its recording and its interview") {
        const auto stored = app.Read(a.Segments()[0].id);
        CHECK(stored["type"] == "transcript_segment");
        CHECK(stored["recording_id"] == recording);
        CHECK(stored["interview_id"] == app.interview);
        CHECK(stored["start_ms"] == 500);
        CHECK(stored["end_ms"] == 2500);
    }
    SECTION("an end before the start is refused in words, nothing saved") {
        a.Segment().start = "0:05";
        a.Segment().end = "0:04";
        a.Segment().text = "x";
        a.SaveSegment();
        CHECK_FALSE(a.Segment().error.empty());
        app.worker.Flush();
        app.ui.Run();
        CHECK(a.Segments().size() == 2);
    }
    SECTION("clicking a segment seeks to its start and edits it") {
        a.EditSegment(a.Segments()[1].id);
        CHECK(a.CurrentPlayer()->PositionMs() == 3000);
        CHECK(a.Segment().speaker == "Rosa");
    }
    SECTION("a search hit in a segment opens the recording at its start") {
        a.ClosePlayer();
        s.search.Query() = "roya";
        s.search.Search();
        REQUIRE(app.Run([&] { return !s.search.View().ranks.empty(); }));
        s.search.NeedHits(0, 1);
        REQUIRE(app.Run([&] { return s.search.View().hits.count(0) == 1; }));
        s.search.OpenHit(0);
        REQUIRE(app.Run([&] { return a.CurrentPlayer() != nullptr; }));
        CHECK(a.Playing().id == recording);
        CHECK(a.CurrentPlayer()->PositionMs() == 3000);
        REQUIRE(app.Run([&] { return s.editing.Draft() && s.editing.Draft()->id == app.interview; }));
        CHECK(a.CurrentPlayer() != nullptr); // the interview's form opening keeps its player
    }
}

TEST_CASE("A recording cut short by a crash is recovered at the next unlock and offered", "[gui][audio]") {
    AudioApp app;
    auto& s = app.state;
    std::string recording;
    // As the recorder leaves it when the app is killed: a record being
    // recorded and a blob part whose writer never finished.
    app.worker.Post([&](std::optional<storage::Vault>& v) {
        recording = v->Records().Create(
            "recording",
            {{"project_id", s.lists.ProjectId()}, {"interview_id", app.interview}, {"status", "recording"}})["id"];
        storage::BlobStore blobs(*v);
        auto writer = blobs.Begin(recording);
        capture::Encoder encoder(writer, 48000, 1);
        const auto pcm = Tone(2500);
        encoder.Write(pcm.data(), static_cast<int>(pcm.size())); // durable at 1 s and 2 s
    });
    app.worker.Flush();
    CHECK(s.audio.Recovered().empty());
    s.Lock();
    app.Unlock();
    REQUIRE(app.Run([&] { return !s.audio.Recovered().empty(); }));
    const RecordingRow row = s.audio.Recovered().front();
    CHECK(row.id == recording);
    CHECK(row.status == "recovered");
    CHECK(row.duration_ms >= 1000);
    CHECK(row.duration_ms <= 2500);
    CHECK(app.Read(recording)["status"] == "recovered");
    // "Open it": the interview and the recording's player.
    s.audio.open_output = [](PlaybackSink&) { return std::make_unique<SilentOutput>(); };
    s.audio.OpenRecording(row);
    CHECK(s.audio.Recovered().empty());
    REQUIRE(app.Run([&] { return s.audio.CurrentPlayer() != nullptr; }));
    CHECK(s.audio.Playing().id == recording);
    REQUIRE(app.Run([&] { return s.editing.Draft() && s.editing.Draft()->id == app.interview; }));
}
