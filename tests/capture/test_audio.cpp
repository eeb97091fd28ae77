// Recordings through the real pipeline: PCM -> Opus -> encrypted chunks ->
// decrypted -> decoded, measured against what went in. Speech is real speech
// made by espeak-ng (Spanish and French), resampled by sox.
#include "escucha/capture/audio.h"
#include "escucha/capture/listening_records.h"
#include "escucha/capture/operations.h"

#include "files.h"
#include "storage/fast_vault.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <random>

using namespace escucha;
using storage::Json;
using test::TempDir;

namespace {

constexpr double PI = 3.14159265358979323846;

storage::Catalogue Catalogue() {
    storage::Catalogue c;
    capture::AddListeningTypes(c);
    return c;
}

/// A rising tone, 200 Hz to 3 kHz: every moment sounds different, so where
/// decoded audio sits in time can be told by comparing.
std::vector<float> Chirp(int rate, double seconds) {
    std::vector<float> out(static_cast<size_t>(rate * seconds));
    const double f0 = 200, f1 = 3000;
    for (size_t i = 0; i < out.size(); ++i) {
        const double t = static_cast<double>(i) / rate;
        const double phase = 2 * PI * (f0 * t + (f1 - f0) * t * t / (2 * seconds));
        out[i] = static_cast<float>(0.5 * std::sin(phase));
    }
    return out;
}

double SnrAt(const std::vector<float>& reference, const std::vector<float>& decoded, size_t from, size_t count,
             int lag) {
    double signal = 0, noise = 0;
    for (size_t i = from; i < from + count && i < reference.size(); ++i) {
        const auto j = static_cast<long>(i) + lag;
        if (j < 0 || static_cast<size_t>(j) >= decoded.size()) continue;
        signal += reference[i] * reference[i];
        const double d = reference[i] - decoded[static_cast<size_t>(j)];
        noise += d * d;
    }
    return 10 * std::log10(signal / std::max(noise, 1e-12));
}

/// Signal-to-noise ratio in dB of `decoded` against `reference` from
/// `from` on, over `count` samples, at the lag (within ±max_lag, found on the
/// first 4,800 samples) that fits best.
double SnrDb(const std::vector<float>& reference, const std::vector<float>& decoded, size_t from, size_t count,
             int max_lag, int* best_lag = nullptr) {
    double best = -1e9;
    int lag_found = 0;
    for (int lag = -max_lag; lag <= max_lag; ++lag) {
        const double snr = SnrAt(reference, decoded, from, std::min<size_t>(count, 4800), lag);
        if (snr > best) {
            best = snr;
            lag_found = lag;
        }
    }
    if (best_lag) *best_lag = lag_found;
    return SnrAt(reference, decoded, from, count, lag_found);
}

std::vector<float> DecodeAll(capture::Decoder& decoder) {
    std::vector<float> out;
    std::vector<float> buffer(4800);
    while (const int n = decoder.Read(buffer.data(), static_cast<int>(buffer.size())))
        out.insert(out.end(), buffer.begin(), buffer.begin() + n);
    return out;
}

std::vector<float> ReadAll(const std::string& path) {
    capture::AudioFile file(path);
    REQUIRE(file.Channels() == 1);
    std::vector<float> out(static_cast<size_t>(file.Frames()));
    size_t at = 0;
    while (at < out.size()) {
        const int n = file.Read(out.data() + at, static_cast<int>(std::min<size_t>(4800, out.size() - at)));
        if (n == 0) break;
        at += static_cast<size_t>(n);
    }
    out.resize(at);
    return out;
}

void Run(const std::string& command) { REQUIRE(std::system(command.c_str()) == 0); }

/// Every file of the vault, scanned for what would show audio in plaintext.
void CheckNoPlainAudio(const std::filesystem::path& dir) {
    CHECK(test::FilesWithPlainMedia(dir) == "");
}

struct VaultFixture {
    TempDir dir;
    storage::Catalogue catalogue = Catalogue();
    storage::Vault vault = storage::Vault::Create(dir.Path() / "vault", storage::Passphrase("frase de paso larga"),
                                                  catalogue, test::FastVaultOptions());
    storage::RecordStore& store = vault.Records();
    std::string project = store.Create("project", {{"name", "Cafetaleras"}})["id"];
    std::string interview = store.Create(
        "interview", {{"project_id", project}, {"kind", "unstructured_interview"}, {"title", "Cosecha"}})["id"];
};

} // namespace

TEST_CASE("A chirp goes through Opus and encrypted chunks and comes back above a noise floor", "[audio]") {
    VaultFixture f;
    const auto pcm = Chirp(48000, 12.0);
    storage::BlobStore blobs(f.vault);
    auto writer = blobs.Begin();
    capture::Encoder encoder(writer, 48000, 1);
    for (size_t at = 0; at < pcm.size(); at += 960)
        encoder.Write(pcm.data() + at, static_cast<int>(std::min<size_t>(960, pcm.size() - at)));
    encoder.Finish();
    CHECK(encoder.DurationMs() == 12000);
    const auto blob = writer.Finish(blobs);
    // 20 kbit/s: 12 s is about 30 KB.
    CHECK(blob.size < 40 * 1000);
    CheckNoPlainAudio(f.dir.Path());

    capture::Decoder decoder(blobs.Open(blob.sha256));
    CHECK(std::abs(decoder.DurationMs() - 12000) <= 20);
    const auto decoded = DecodeAll(decoder);
    int lag = 99;
    const double snr = SnrDb(pcm, decoded, 48000, 48000 * 10, 480, &lag);
    INFO("SNR " << snr << " dB at lag " << lag);
    CHECK(std::abs(lag) <= 48); // within a millisecond: nothing shifts the audio in time
    CHECK(snr > 10.0);
}

/// Tone bursts of random lengths with silences of random lengths between
/// them: the loudness over time says where in the recording one is.
std::vector<float> Bursts(int rate, double seconds, unsigned seed) {
    std::vector<float> out(static_cast<size_t>(rate * seconds), 0.0f);
    std::mt19937 rng(seed);
    size_t at = 0;
    bool on = false;
    while (at < out.size()) {
        const size_t length = static_cast<size_t>(rate) * (20 + rng() % 180) / 1000;
        for (size_t i = at; i < std::min(out.size(), at + length); ++i)
            out[i] = on ? static_cast<float>(0.5 * std::sin(2 * PI * 700 * static_cast<double>(i) / rate)) : 0.0f;
        at += length;
        on = !on;
    }
    return out;
}

/// Loudness in 1 ms steps.
std::vector<double> Envelope(const std::vector<float>& pcm, size_t from, size_t count) {
    std::vector<double> out;
    for (size_t i = from; i + 48 <= from + count && i + 48 <= pcm.size(); i += 48) {
        double e = 0;
        for (size_t j = i; j < i + 48; ++j) e += pcm[j] * pcm[j];
        out.push_back(e);
    }
    return out;
}

TEST_CASE("Seeking to ten random moments lands within one Opus frame (20 ms)", "[audio]") {
    VaultFixture f;
    const auto pcm = Bursts(48000, 30.0, 5);
    storage::BlobStore blobs(f.vault);
    auto writer = blobs.Begin();
    capture::Encoder encoder(writer, 48000, 1);
    encoder.Write(pcm.data(), static_cast<int>(pcm.size()));
    encoder.Finish();
    const auto blob = writer.Finish(blobs);
    capture::Decoder decoder(blobs.Open(blob.sha256));
    std::mt19937 rng(3);
    for (int i = 0; i < 10; ++i) {
        const int64_t ms = 300 + static_cast<int64_t>(rng() % 29000);
        decoder.SeekMs(ms);
        CHECK(decoder.PositionMs() == ms);
        std::vector<float> piece(24000); // half a second
        size_t n = 0;
        while (n < piece.size()) {
            const int got = decoder.Read(piece.data() + n, static_cast<int>(piece.size() - n));
            if (got == 0) break;
            n += static_cast<size_t>(got);
        }
        REQUIRE(n == piece.size());
        // Which shift of the original's loudness, within ±100 ms, matches the piece's?
        const auto heard = Envelope(piece, 0, piece.size());
        int best_shift = 0;
        double best = -1;
        for (int shift = -100; shift <= 100; ++shift) {
            const auto start = ms + shift;
            if (start < 0) continue;
            const auto original = Envelope(pcm, static_cast<size_t>(start * 48), piece.size());
            double dot = 0, a = 0, b = 0;
            for (size_t k = 0; k < std::min(heard.size(), original.size()); ++k) {
                dot += heard[k] * original[k];
                a += heard[k] * heard[k];
                b += original[k] * original[k];
            }
            const double score = dot / std::sqrt(std::max(a * b, 1e-20));
            if (score > best) {
                best = score;
                best_shift = shift;
            }
        }
        INFO("seek to " << ms << " ms: heard what was at " << ms + best_shift << " ms (match " << best << ")");
        CHECK(std::abs(best_shift) <= 20);
        CHECK(best > 0.8);
    }
}

TEST_CASE("Real speech in Spanish and French imports, plays back and seeks", "[audio]") {
    VaultFixture f;
    const auto speech = f.dir / "habla.wav";
    const auto reference = f.dir / "referencia.wav";
    const std::string voice = GENERATE(std::string("es-419"), std::string("fr"));
    const std::string text = voice == "fr" ? "Les cueilleuses sont payées à la caisse et personne ne voit la balance."
                                           : "Las recolectoras cobran por arroba y nadie ve la báscula del patrón.";
    Run("espeak-ng -v " + voice + " -w '" + (f.dir / "espeak.wav").string() + "' '" + text + "'");
    // A phone's 16 kHz, and the same speech at 48 kHz to compare with.
    Run("sox '" + (f.dir / "espeak.wav").string() + "' -r 16000 '" + speech.string() + "'");
    Run("sox '" + speech.string() + "' -r 48000 '" + reference.string() + "'");

    std::vector<double> progress;
    capture::ImportAudioOptions options;
    options.progress = [&](double p) {
        progress.push_back(p);
        return true;
    };
    const auto recording = capture::ImportAudio(
        f.vault, f.store, {{"project_id", f.project}, {"interview_id", f.interview}, {"title", "Rosa"}},
        speech.string(), options);
    CHECK(recording["status"] == "complete");
    CHECK(recording["source"] == "imported");
    REQUIRE(!progress.empty());
    CHECK(progress.back() == Approx(1.0));
    CHECK(f.store.Get(recording["id"])->at("audio_sha256") == recording["audio_sha256"]);
    CheckNoPlainAudio(f.dir.Path() / "vault");

    const auto ref = ReadAll(reference.string());
    storage::BlobStore blobs(f.vault);
    capture::Decoder decoder(blobs.Open(recording["audio_sha256"]));
    CHECK(std::abs(decoder.DurationMs() - static_cast<int64_t>(ref.size()) / 48) <= 30);
    CHECK(std::abs(recording["duration_ms"].get<int64_t>() - static_cast<int64_t>(ref.size()) / 48) <= 30);
    const auto decoded = DecodeAll(decoder);
    int lag = 0;
    const double snr = SnrDb(ref, decoded, 4800, ref.size() - 9600, 480, &lag);
    INFO(voice << ": SNR " << snr << " dB at lag " << lag);
    CHECK(snr > 8.0);

    SECTION("exported only on request, never over a file") {
        const auto out = f.dir / "exportado.opus";
        capture::ExportAudio(f.vault, f.store, recording["id"], out.string());
        CHECK(ReadAll(out.string()).size() == decoded.size());
        CHECK_THROWS_AS(capture::ExportAudio(f.vault, f.store, recording["id"], out.string()), capture::AudioError);
    }
    SECTION("a recording's audio goes with the record, and with a withdrawn consent") {
        const auto sha = recording["audio_sha256"].get<std::string>();
        const auto file = blobs.Find(sha)->file;
        f.store.Delete(recording["id"]);
        CHECK_FALSE(blobs.Find(sha));
        CHECK_THROWS(blobs.Open(sha));
        CHECK(std::filesystem::exists(f.dir / "vault" / "blobs" / file)); // unreadable without its key
        // The next start tidies it away; a download under way is left alone.
        auto download = blobs.Begin("download:" + std::string(64, 'a'));
        download.Write("x", 1);
        download.Flush();
        CHECK(capture::RecoverRecordings(f.vault, f.store).empty());
        CHECK_FALSE(std::filesystem::exists(f.dir / "vault" / "blobs" / file));
        REQUIRE(blobs.Parts().size() == 1);
        CHECK(std::filesystem::exists(f.dir / "vault" / "blobs" / download.PartName()));
    }
}

TEST_CASE("What is not audio is refused in words, and nothing is kept of it", "[audio]") {
    VaultFixture f;
    const auto fake = f.dir / "no-es-audio.wav";
    test::WriteFile(fake, "RIFF....WAVEfmt esto no es audio");
    const Json fields = {{"project_id", f.project}, {"interview_id", f.interview}};
    try {
        (void)capture::ImportAudio(f.vault, f.store, fields, fake.string());
        FAIL("imported");
    } catch (const capture::AudioError& e) {
        CHECK(e.Code() == storage::errc::AUDIO_UNREADABLE);
    }
    CHECK_THROWS_AS(capture::ImportAudio(f.vault, f.store, fields, (f.dir / "missing.wav").string()),
                    capture::AudioError);
    CHECK(f.store.List("recording").empty());
    CHECK(storage::BlobStore(f.vault).List().empty());
    CHECK(storage::BlobStore(f.vault).Parts().empty());

    SECTION("an import stopped half way keeps nothing") {
        Run("sox -n -r 16000 -c 1 '" + (f.dir / "tono.wav").string() + "' synth 5 sine 440");
        capture::ImportAudioOptions options;
        options.progress = [](double p) { return p < 0.5; };
        CHECK_THROWS_AS(capture::ImportAudio(f.vault, f.store, fields, (f.dir / "tono.wav").string(), options),
                        capture::AudioError);
        CHECK(f.store.List("recording").empty());
        CHECK(storage::BlobStore(f.vault).Parts().empty());
    }
}

TEST_CASE("A recording cut short is recovered from its whole chunks and plays", "[audio]") {
    VaultFixture f;
    const auto pcm = Chirp(16000, 6.0);
    std::string id;
    {
        const auto recording =
            f.store.Create("recording", {{"project_id", f.project}, {"interview_id", f.interview}, {"title", "Luz"}});
        id = recording["id"];
        storage::BlobStore blobs(f.vault);
        auto writer = blobs.Begin(id);
        capture::Encoder encoder(writer, 16000, 1);
        for (size_t at = 0; at < pcm.size(); at += 320) encoder.Write(pcm.data() + at, 320);
        // No Finish: the app stops here, as in a crash.
    }
    const auto recovered = capture::RecoverRecordings(f.vault, f.store);
    REQUIRE(recovered.size() == 1);
    CHECK(recovered[0]["id"] == id);
    CHECK(recovered[0]["status"] == "recovered");
    // Up to the last durable point: about a second may be lost, never more than two.
    const auto duration = recovered[0]["duration_ms"].get<int64_t>();
    INFO("recovered " << duration << " ms of 6000");
    CHECK(duration >= 4000);
    CHECK(duration <= 6000);
    storage::BlobStore blobs(f.vault);
    CHECK(blobs.Parts().empty());
    capture::Decoder decoder(blobs.Open(recovered[0]["audio_sha256"]));
    CHECK(DecodeAll(decoder).size() >= static_cast<size_t>(duration * 48 - 960));
    CHECK(capture::RecoverRecordings(f.vault, f.store).empty());
    CheckNoPlainAudio(f.dir.Path() / "vault");
}

TEST_CASE("Only whole Ogg pages are kept of a stream cut anywhere", "[audio]") {
    // Two pages: 27-byte headers with one segment each, of 5 and 3 bytes.
    std::string stream;
    for (const int body : {5, 3}) {
        std::string page = "OggS";
        page += std::string(22, '\0');
        page += static_cast<char>(1);
        page += static_cast<char>(body);
        page += std::string(static_cast<size_t>(body), 'x');
        stream += page;
    }
    const auto* bytes = reinterpret_cast<const unsigned char*>(stream.data());
    CHECK(capture::WholeOggPages(bytes, stream.size()) == stream.size());
    CHECK(capture::WholeOggPages(bytes, stream.size() - 1) == 33);
    CHECK(capture::WholeOggPages(bytes, 33) == 33);
    CHECK(capture::WholeOggPages(bytes, 20) == 0);
    std::string junk = stream;
    junk[33] = 'X';
    CHECK(capture::WholeOggPages(reinterpret_cast<const unsigned char*>(junk.data()), junk.size()) == 33);
}

TEST_CASE("A recording takes its project, what it is of and whose voices from the record it records", "[audio]") {
    VaultFixture f;
    const std::string rosa = f.store.Create("participant", {{"project_id", f.project}, {"pseudonym", "Rosa"}})["id"];
    const std::string luz = f.store.Create("participant", {{"project_id", f.project}, {"pseudonym", "Luz"}})["id"];
    f.store.Update(f.interview, {{"participant_ids", {rosa, luz}}});
    const auto of_interview = capture::RecordingFieldsFor(f.store, f.interview);
    CHECK(of_interview["project_id"] == f.project);
    CHECK(of_interview["interview_id"] == f.interview);
    CHECK(of_interview["participant_ids"] == Json::array({rosa, luz}));
    const std::string consent = f.store.Create("consent", {{"project_id", f.project},
                                                           {"participant_id", rosa},
                                                           {"script_version", "v1"},
                                                           {"language", "es"},
                                                           {"mode", "oral_recorded"}})["id"];
    const auto of_consent = capture::RecordingFieldsFor(f.store, consent);
    CHECK(of_consent["consent_id"] == consent);
    CHECK(of_consent["participant_ids"] == Json::array({rosa}));
    CHECK_FALSE(of_consent.contains("interview_id"));
    // Nothing else is recorded, and what is not there is said.
    CHECK_THROWS_AS(capture::RecordingFieldsFor(f.store, rosa), storage::RecordError);
    CHECK_THROWS_AS(capture::RecordingFieldsFor(f.store, "01a23591-0000-7000-8000-000000000000"), storage::RecordError);
}
