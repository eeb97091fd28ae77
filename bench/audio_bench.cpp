// Audio benchmark: recordings through the project's pipeline (capture::Encoder
// into an encrypted BlobWriter, made durable every second of audio) against
// `opusenc` (opus-tools) on the same PCM at the same bitrate, and against the
// same libopusenc settings writing plain Ogg to a file (durable every second
// too), so the cost of encryption shows as a ratio. Then seek latency into a
// long recording, and the CPU a live recording takes.
//
//   escucha-bench-audio SPEECH.wav [MINUTES]
//
// SPEECH.wav: mono speech at 16 kHz (a phone's rate), looped to MINUTES of
// audio (default 60). Make one with espeak-ng and sox, as docs/PERFORMANCE.md
// shows. Everything is written under one fresh directory in /tmp, removed at
// the end. Times are wall-clock on one core (the pipeline is single-threaded;
// opusenc too).
#include "escucha/capture/audio.h"
#include "escucha/capture/listening_records.h"
#include "escucha/storage/vault.h"

#include <opus/opusenc.h>
#include <sndfile.h>
#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace escucha;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

double CpuSeconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::vector<float> ReadSpeech(const std::string& path, int& rate) {
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    if (!f || info.channels != 1) throw std::runtime_error("need a mono WAV: " + path);
    std::vector<float> pcm(static_cast<size_t>(info.frames));
    pcm.resize(static_cast<size_t>(sf_readf_float(f, pcm.data(), info.frames)));
    sf_close(f);
    rate = info.samplerate;
    return pcm;
}

/// `minutes` of audio: the speech again and again.
std::vector<float> Loop(const std::vector<float>& speech, int rate, int minutes) {
    std::vector<float> out(static_cast<size_t>(rate) * 60 * static_cast<size_t>(minutes));
    for (size_t i = 0; i < out.size(); ++i) out[i] = speech[i % speech.size()];
    return out;
}

void WriteWav(const std::string& path, const std::vector<float>& pcm, int rate) {
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!f) throw std::runtime_error("cannot write " + path);
    sf_writef_float(f, pcm.data(), static_cast<sf_count_t>(pcm.size()));
    sf_close(f);
}

/// The same libopusenc settings as capture::Encoder, into a plain file, made
/// durable once a second of audio.
struct PlainOgg {
    FILE* file;
    static int Write(void* user, const unsigned char* data, opus_int32 size) {
        return std::fwrite(data, 1, static_cast<size_t>(size), static_cast<PlainOgg*>(user)->file) ==
                       static_cast<size_t>(size)
                   ? 0
                   : 1;
    }
    static int Close(void*) { return 0; }
};

double EncodePlain(const std::vector<float>& pcm, int rate, const std::string& path, int64_t& bytes) {
    const auto start = Clock::now();
    PlainOgg out{std::fopen(path.c_str(), "wb")};
    OpusEncCallbacks callbacks{&PlainOgg::Write, &PlainOgg::Close};
    OggOpusComments* comments = ope_comments_create();
    int error = 0;
    OggOpusEnc* enc = ope_encoder_create_callbacks(&callbacks, &out, comments, rate, 1, 0, &error);
    ope_encoder_ctl(enc, OPUS_SET_BITRATE(20000));
    ope_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    ope_encoder_ctl(enc, OPE_SET_MUXING_DELAY(24000));
    ope_encoder_ctl(enc, OPE_SET_DECISION_DELAY(4800));
    if (rate <= 16000) ope_encoder_ctl(enc, OPUS_SET_MAX_BANDWIDTH(OPUS_BANDWIDTH_WIDEBAND));
    const int block = rate / 10;
    for (size_t at = 0; at < pcm.size(); at += static_cast<size_t>(block)) {
        ope_encoder_write_float(enc, pcm.data() + at, static_cast<int>(std::min<size_t>(block, pcm.size() - at)));
        if ((at / static_cast<size_t>(block)) % 10 == 9) {
            std::fflush(out.file);
            fdatasync(fileno(out.file));
        }
    }
    ope_encoder_drain(enc);
    ope_encoder_destroy(enc);
    ope_comments_destroy(comments);
    std::fflush(out.file);
    fsync(fileno(out.file));
    std::fclose(out.file);
    bytes = static_cast<int64_t>(fs::file_size(path));
    return Seconds(start);
}

double EncodeEscucha(storage::Vault& vault, const std::vector<float>& pcm, int rate, storage::BlobInfo& blob,
                     bool real_time = false) {
    storage::BlobStore blobs(vault);
    const auto start = Clock::now();
    auto writer = blobs.Begin();
    capture::Encoder encoder(writer, rate, 1);
    const int block = rate / 10;
    for (size_t at = 0; at < pcm.size(); at += static_cast<size_t>(block)) {
        encoder.Write(pcm.data() + at, static_cast<int>(std::min<size_t>(block, pcm.size() - at)));
        if (real_time) std::this_thread::sleep_until(start + std::chrono::milliseconds((at + block) * 1000 / rate));
    }
    encoder.Finish();
    blob = writer.Finish(blobs);
    return Seconds(start);
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: escucha-bench-audio SPEECH.wav [MINUTES]\n");
        return 2;
    }
    const int minutes = argc > 2 ? std::atoi(argv[2]) : 60;
    if (sodium_init() < 0) return 1;
    const fs::path dir = fs::temp_directory_path() / ("escucha-bench-audio-" + std::to_string(getpid()));
    fs::create_directories(dir);
    int rate = 0;
    const auto speech = ReadSpeech(argv[1], rate);
    const auto pcm = Loop(speech, rate, minutes);
    const double audio_seconds = static_cast<double>(pcm.size()) / rate;
    const auto wav = (dir / "speech.wav").string();
    WriteWav(wav, pcm, rate);
    std::printf("audio: %d min of speech at %d Hz (%.1f s of speech looped); WAV %.1f MB\n", minutes, rate,
                static_cast<double>(speech.size()) / rate, static_cast<double>(fs::file_size(wav)) / 1e6);

    storage::Catalogue catalogue;
    capture::AddListeningTypes(catalogue);
    storage::VaultOptions options;
    options.kdf_opslimit = crypto_pwhash_OPSLIMIT_MIN;
    options.kdf_memlimit = crypto_pwhash_MEMLIMIT_MIN;
    auto vault =
        storage::Vault::Create(dir / "vault", storage::Passphrase("frase de paso de banco"), catalogue, options);

    // (a, b) Encode: opusenc, plain Ogg, escucha; in that order, then again in reverse.
    double t_opusenc = 0, t_plain = 0, t_escucha = 0;
    int64_t b_opusenc = 0, b_plain = 0;
    storage::BlobInfo blob;
    constexpr int ROUNDS = 3;
    for (int round = 0; round < ROUNDS; ++round) {
        const auto run_opusenc = [&] {
            const auto out = (dir / "opusenc.opus").string();
            const std::string cmd = "opusenc --quiet --bitrate 20 --speech '" + wav + "' '" + out + "'";
            const auto start = Clock::now();
            if (std::system(cmd.c_str()) != 0) throw std::runtime_error("opusenc failed (apt-get install opus-tools)");
            t_opusenc += Seconds(start);
            b_opusenc = static_cast<int64_t>(fs::file_size(out));
            fs::remove(out);
        };
        const auto run_plain = [&] {
            t_plain += EncodePlain(pcm, rate, (dir / "plain.opus").string(), b_plain);
            fs::remove(dir / "plain.opus");
        };
        const auto run_escucha = [&] {
            t_escucha += EncodeEscucha(vault, pcm, rate, blob);
            if (round < ROUNDS - 1) storage::BlobStore(vault).Remove(blob.sha256);
        };
        // Each program goes first, second and last once: drift in the
        // machine's speed during the run falls on all three alike.
        if (round == 0) {
            run_opusenc();
            run_plain();
            run_escucha();
        } else if (round == 1) {
            run_escucha();
            run_opusenc();
            run_plain();
        } else {
            run_plain();
            run_escucha();
            run_opusenc();
        }
    }
    const auto blob_file = dir / "vault" / "blobs" / blob.file;
    const double on_disk = static_cast<double>(fs::file_size(blob_file));
    const double hours = audio_seconds / 3600;
    std::printf("\nsize per hour of speech (20 kbit/s):\n");
    std::printf("  escucha blob on disk  %6.2f MB/h  (Ogg inside %.2f MB/h; chunks, tags, padding %.2f%%)\n",
                on_disk / 1e6 / hours, static_cast<double>(blob.size) / 1e6 / hours,
                100 * (on_disk - static_cast<double>(blob.size)) / static_cast<double>(blob.size));
    std::printf("  plain Ogg, same settings %6.2f MB/h\n", static_cast<double>(b_plain) / 1e6 / hours);
    std::printf("  opusenc --bitrate 20 --speech %6.2f MB/h\n", static_cast<double>(b_opusenc) / 1e6 / hours);
    std::printf("\nencode, real-time factor on one core (audio time / wall time, over %d runs each):\n", ROUNDS);
    std::printf("  escucha (Opus + encryption, durable each second) %6.1fx\n", ROUNDS * audio_seconds / t_escucha);
    std::printf("  plain Ogg, same settings, durable each second    %6.1fx\n", ROUNDS * audio_seconds / t_plain);
    std::printf("  opusenc (reads the WAV)                          %6.1fx\n", ROUNDS * audio_seconds / t_opusenc);
    std::printf("  encryption overhead: escucha / plain time %.3f; escucha / opusenc time %.3f\n", t_escucha / t_plain,
                t_escucha / t_opusenc);

    // (c) Seek latency: open the blob, seek, decode 20 ms, at random moments.
    {
        storage::BlobStore blobs(vault);
        std::mt19937 rng(7);
        std::vector<double> open_ms, seek_ms;
        std::vector<float> out(960);
        for (int i = 0; i < 50; ++i) {
            const auto t0 = Clock::now();
            capture::Decoder decoder(blobs.Open(blob.sha256));
            open_ms.push_back(Seconds(t0) * 1000);
            const int64_t at = static_cast<int64_t>(rng() % static_cast<uint32_t>(audio_seconds * 1000 - 1000));
            const auto t1 = Clock::now();
            decoder.SeekMs(at);
            int got = 0;
            while (got < 960) {
                const int n = decoder.Read(out.data() + got, 960 - got);
                if (n == 0) break;
                got += n;
            }
            seek_ms.push_back(Seconds(t1) * 1000);
        }
        std::sort(open_ms.begin(), open_ms.end());
        std::sort(seek_ms.begin(), seek_ms.end());
        std::printf(
            "\nseek into the %d-minute recording (50 random moments): open median %.2f ms; seek + 20 ms decoded "
            "median %.2f ms, worst %.2f ms\n",
            minutes, open_ms[25], seek_ms[25], seek_ms.back());
    }

    // (d) CPU while recording live: 30 s of speech taken in at real time.
    {
        const auto live = Loop(speech, rate, 1);
        const std::vector<float> half(live.begin(), live.begin() + rate * 30);
        const double cpu0 = CpuSeconds();
        storage::BlobInfo b;
        const double wall = EncodeEscucha(vault, half, rate, b, true);
        const double cpu = CpuSeconds() - cpu0;
        std::printf("\nlive recording, 30 s at real time: %.2f s of CPU in %.1f s (%.2f%% of one core)\n", cpu, wall,
                    100 * cpu / wall);
    }
    fs::remove_all(dir);
    return 0;
}
