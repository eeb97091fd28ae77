#include "escucha/capture/audio.h"

#include "escucha/storage/clock.h"

#include <opus/opusenc.h>
#include <opus/opusfile.h>
#include <sndfile.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <thread>
#include <unistd.h>

namespace escucha::capture {

namespace errc = storage::errc;
using storage::Json;

namespace {

/// Ogg pages at most this long (48 kHz samples): what reaches the blob is
/// never more than half a second behind what was said.
constexpr int MUXING_DELAY = AUDIO_RATE / 2;
/// Imports longer than this are refused: a day of talk is not one recording.
constexpr int64_t MAX_IMPORT_SECONDS = 24 * 3600;

} // namespace

// [SECTION] Encoder

struct Encoder::State {
    storage::BlobWriter& out;
    EncoderSettings settings;
    int input_rate;
    int channels;
    OggOpusEnc* enc = nullptr;
    std::vector<float> mono;
    int64_t frames = 0;
    int64_t frames_at_flush = 0;
    uint64_t chunks_at_flush = 0;
    bool finished = false;
    std::string write_error; ///< a failed blob write, said after libopusenc returns

    State(storage::BlobWriter& o, EncoderSettings s, int rate, int ch)
        : out(o), settings(s), input_rate(rate), channels(ch) {}
    ~State() {
        if (enc) ope_encoder_destroy(enc);
    }

    static int WritePage(void* user, const unsigned char* page, opus_int32 size) {
        auto* self = static_cast<State*>(user);
        try {
            self->out.Write(page, static_cast<size_t>(size));
        } catch (const std::exception& e) {
            self->write_error = e.what();
            return 1;
        }
        return 0;
    }
    static int Close(void*) { return 0; }

    void Check(int result, const char* doing) {
        if (!write_error.empty())
            throw AudioError("cannot write the recording: " + write_error, errc::AUDIO_WRITE_FAILED,
                             {{"reason", write_error}});
        if (result != OPE_OK)
            throw AudioError(std::string("cannot ") + doing + " the recording: " + ope_strerror(result),
                             errc::AUDIO_WRITE_FAILED, {{"reason", ope_strerror(result)}});
    }
};

Encoder::Encoder(storage::BlobWriter& out, int input_rate, int channels, EncoderSettings settings)
    : m_state(std::make_unique<State>(out, settings, input_rate, channels)) {
    if (input_rate < 8000 || input_rate > 192000 || channels < 1 || channels > AUDIO_MAX_CHANNELS)
        throw AudioError("unsupported audio: " + std::to_string(input_rate) + " Hz, " + std::to_string(channels) +
                             " channels",
                         errc::AUDIO_UNREADABLE, {{"reason", "format"}});
    OggOpusComments* comments = ope_comments_create();
    if (!comments) throw std::bad_alloc();
    // Nothing that names the person or the place goes into the stream.
    OpusEncCallbacks callbacks{&State::WritePage, &State::Close};
    int error = 0;
    m_state->enc = ope_encoder_create_callbacks(&callbacks, m_state.get(), comments, input_rate, 1, 0, &error);
    ope_comments_destroy(comments);
    if (!m_state->enc) m_state->Check(error, "start");
    m_state->Check(ope_encoder_ctl(m_state->enc, OPUS_SET_BITRATE(settings.bitrate)), "set up");
    m_state->Check(ope_encoder_ctl(m_state->enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)), "set up");
    m_state->Check(ope_encoder_ctl(m_state->enc, OPE_SET_MUXING_DELAY(MUXING_DELAY)), "set up");
    m_state->Check(ope_encoder_ctl(m_state->enc, OPE_SET_DECISION_DELAY(AUDIO_RATE / 10)), "set up");
    // No bits spent above what the input holds (a phone's 16 kHz has nothing over 8 kHz).
    const int bandwidth = input_rate <= 8000    ? OPUS_BANDWIDTH_NARROWBAND
                          : input_rate <= 12000 ? OPUS_BANDWIDTH_MEDIUMBAND
                          : input_rate <= 16000 ? OPUS_BANDWIDTH_WIDEBAND
                          : input_rate <= 24000 ? OPUS_BANDWIDTH_SUPERWIDEBAND
                                                : OPUS_BANDWIDTH_FULLBAND;
    m_state->Check(ope_encoder_ctl(m_state->enc, OPUS_SET_MAX_BANDWIDTH(bandwidth)), "set up");
    m_state->Check(ope_encoder_flush_header(m_state->enc), "start");
}

Encoder::~Encoder() = default;

void Encoder::Write(const float* pcm, int frames) {
    auto& s = *m_state;
    if (s.finished) throw std::logic_error("Encoder: written after Finish");
    if (frames <= 0) return;
    const float* mono = pcm;
    if (s.channels > 1) {
        s.mono.resize(static_cast<size_t>(frames));
        for (int i = 0; i < frames; ++i) {
            float sum = 0;
            for (int c = 0; c < s.channels; ++c) sum += pcm[static_cast<size_t>(i) * s.channels + c];
            s.mono[static_cast<size_t>(i)] = sum / static_cast<float>(s.channels);
        }
        mono = s.mono.data();
    }
    s.Check(ope_encoder_write_float(s.enc, mono, frames), "encode");
    s.frames += frames;
    // A durable point every second of audio: the chunks sealed since the last
    // one are synced. A chunk is sealed half-full (padding) only when none
    // filled for two seconds (quiet talk takes few bytes), so a crash loses at
    // most about two seconds and padding costs next to nothing.
    const int64_t since = (s.frames - s.frames_at_flush) * 1000 / s.input_rate;
    if (since >= s.settings.flush_every_ms) {
        if (s.out.Chunks() > s.chunks_at_flush) {
            s.out.Sync();
            s.frames_at_flush = s.frames;
        } else if (since >= 2 * s.settings.flush_every_ms) {
            s.out.Flush();
            s.frames_at_flush = s.frames;
        }
        s.chunks_at_flush = s.out.Chunks();
    }
}

void Encoder::Finish() {
    auto& s = *m_state;
    if (s.finished) return;
    s.Check(ope_encoder_drain(s.enc), "finish");
    s.finished = true;
}

int64_t Encoder::DurationMs() const noexcept { return m_state->frames * 1000 / m_state->input_rate; }

// [SECTION] Decoder

struct Decoder::State {
    storage::BlobReader reader;
    int64_t position = 0;
    OggOpusFile* file = nullptr;
    std::string read_error;
    std::vector<float> buffer;

    explicit State(storage::BlobReader r) : reader(std::move(r)) {}
    ~State() {
        if (file) op_free(file);
    }

    static int Read(void* stream, unsigned char* ptr, int nbytes) {
        auto* self = static_cast<State*>(stream);
        try {
            const size_t n = self->reader.ReadAt(self->position, ptr, static_cast<size_t>(nbytes));
            self->position += static_cast<int64_t>(n);
            return static_cast<int>(n);
        } catch (const std::exception& e) {
            self->read_error = e.what();
            return -1;
        }
    }
    static int Seek(void* stream, opus_int64 offset, int whence) {
        auto* self = static_cast<State*>(stream);
        int64_t to = offset;
        if (whence == SEEK_CUR) to += self->position;
        else if (whence == SEEK_END) to += self->reader.Size();
        if (to < 0) return -1;
        self->position = to;
        return 0;
    }
    static opus_int64 Tell(void* stream) { return static_cast<State*>(stream)->position; }
};

Decoder::Decoder(storage::BlobReader reader) : m_state(std::make_unique<State>(std::move(reader))) {
    static const OpusFileCallbacks callbacks{&State::Read, &State::Seek, &State::Tell, nullptr};
    int error = 0;
    m_state->file = op_open_callbacks(m_state.get(), &callbacks, nullptr, 0, &error);
    if (!m_state->file) {
        if (!m_state->read_error.empty()) throw storage::BlobDamaged(m_state->read_error);
        throw AudioError("the recording cannot be decoded (opusfile error " + std::to_string(error) + ")",
                         errc::AUDIO_UNREADABLE, {{"reason", "decode"}});
    }
}

Decoder::~Decoder() = default;

int64_t Decoder::DurationMs() const {
    const auto total = op_pcm_total(m_state->file, -1);
    return total < 0 ? 0 : total * 1000 / AUDIO_RATE;
}

int Decoder::Read(float* out, int frames) {
    auto& s = *m_state;
    const int channels = op_channel_count(s.file, -1);
    while (true) {
        int got = 0;
        if (channels == 1) {
            got = op_read_float(s.file, out, frames, nullptr);
        } else {
            s.buffer.resize(static_cast<size_t>(frames) * static_cast<size_t>(channels));
            got = op_read_float(s.file, s.buffer.data(), static_cast<int>(s.buffer.size()), nullptr);
            for (int i = 0; i < got; ++i) {
                float sum = 0;
                for (int c = 0; c < channels; ++c) sum += s.buffer[static_cast<size_t>(i * channels + c)];
                out[i] = sum / static_cast<float>(channels);
            }
        }
        if (got == OP_HOLE) continue; // a gap (a page lost in a crash): play on
        if (got < 0) {
            if (!s.read_error.empty()) throw storage::BlobDamaged(s.read_error);
            throw AudioError("the recording cannot be decoded (opusfile error " + std::to_string(got) + ")",
                             errc::AUDIO_UNREADABLE, {{"reason", "decode"}});
        }
        return got;
    }
}

void Decoder::SeekMs(int64_t ms) {
    const int64_t total = op_pcm_total(m_state->file, -1);
    int64_t at = std::max<int64_t>(0, ms) * AUDIO_RATE / 1000;
    if (total >= 0) at = std::min(at, total);
    const int result = op_pcm_seek(m_state->file, at);
    if (result != 0) {
        if (!m_state->read_error.empty()) throw storage::BlobDamaged(m_state->read_error);
        throw AudioError("cannot seek in the recording", errc::AUDIO_UNREADABLE, {{"reason", "seek"}});
    }
}

int64_t Decoder::PositionMs() const {
    const auto at = op_pcm_tell(m_state->file);
    return at < 0 ? 0 : at * 1000 / AUDIO_RATE;
}

// [SECTION] Files from other devices

struct AudioFile::State {
    OggOpusFile* opus = nullptr;
    int opus_channels = 0; ///< as the stream says (up to 255)
    SNDFILE* sf = nullptr;
    SF_INFO info{};
    std::vector<float> buffer; ///< all of a stream's channels, when it has more than are taken in
    // Audio held in memory: libsndfile reads it through these.
    std::string_view memory;
    sf_count_t position = 0;
    ~State() {
        if (opus) op_free(opus);
        if (sf) sf_close(sf);
    }

    static sf_count_t Length(void* user) { return static_cast<sf_count_t>(static_cast<State*>(user)->memory.size()); }
    static sf_count_t Seek(sf_count_t offset, int whence, void* user) {
        auto* s = static_cast<State*>(user);
        const auto size = static_cast<sf_count_t>(s->memory.size());
        sf_count_t to = offset;
        if (whence == SEEK_CUR) to = s->position + offset;
        else if (whence == SEEK_END) to = size + offset;
        if (to < 0 || to > size) return -1;
        s->position = to;
        return to;
    }
    static sf_count_t ReadBytes(void* out, sf_count_t count, void* user) {
        auto* s = static_cast<State*>(user);
        const auto left = static_cast<sf_count_t>(s->memory.size()) - s->position;
        const auto n = std::max<sf_count_t>(0, std::min(count, left));
        if (n > 0) std::memcpy(out, s->memory.data() + s->position, static_cast<size_t>(n));
        s->position += n;
        return n;
    }
    static sf_count_t WriteBytes(const void*, sf_count_t, void*) { return 0; }
    static sf_count_t Tell(void* user) { return static_cast<State*>(user)->position; }

    void CheckFormat(const std::string& name) const {
        if (info.channels < 1 || info.channels > AUDIO_MAX_CHANNELS || info.samplerate < 8000 ||
            info.samplerate > 192000)
            throw AudioError("unsupported audio in " + name, errc::AUDIO_UNREADABLE, {{"reason", "format"}});
    }
};

AudioFile::AudioFile(const std::string& path) : m_state(std::make_unique<State>()) {
    auto& s = *m_state;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw AudioError("cannot read " + path + ": not a file", errc::AUDIO_UNREADABLE, {{"reason", "missing"}});
    int error = 0;
    s.opus = op_open_file(path.c_str(), &error);
    if (s.opus) {
        s.opus_channels = op_channel_count(s.opus, -1);
        return;
    }
    s.sf = sf_open(path.c_str(), SFM_READ, &s.info);
    if (!s.sf)
        throw AudioError("cannot read " + path + " as audio: " + sf_strerror(nullptr), errc::AUDIO_UNREADABLE,
                         {{"reason", "format"}});
    s.CheckFormat(path);
}

AudioFile::AudioFile(std::string_view bytes, const std::string& name) : m_state(std::make_unique<State>()) {
    auto& s = *m_state;
    s.memory = bytes;
    int error = 0;
    s.opus = op_open_memory(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), &error);
    if (s.opus) {
        s.opus_channels = op_channel_count(s.opus, -1);
        return;
    }
    SF_VIRTUAL_IO io{&State::Length, &State::Seek, &State::ReadBytes, &State::WriteBytes, &State::Tell};
    s.sf = sf_open_virtual(&io, SFM_READ, &s.info, &s);
    if (!s.sf)
        throw AudioError("cannot read " + name + " as audio: " + sf_strerror(nullptr), errc::AUDIO_UNREADABLE,
                         {{"reason", "format"}});
    s.CheckFormat(name);
}

AudioFile::~AudioFile() = default;

int AudioFile::Rate() const noexcept { return m_state->opus ? AUDIO_RATE : m_state->info.samplerate; }

int AudioFile::Channels() const noexcept {
    return m_state->opus ? std::min(m_state->opus_channels, AUDIO_MAX_CHANNELS) : m_state->info.channels;
}

int64_t AudioFile::Frames() const noexcept {
    if (m_state->opus) {
        const auto total = op_pcm_total(m_state->opus, -1);
        return total < 0 ? 0 : total;
    }
    return m_state->info.frames;
}

int AudioFile::Read(float* out, int frames) {
    auto& s = *m_state;
    if (s.sf) return static_cast<int>(sf_readf_float(s.sf, out, frames));
    const int channels = s.opus_channels;
    // A stream of more channels than are taken in is read whole into a
    // buffer of its own: `out` holds only AUDIO_MAX_CHANNELS per frame.
    const bool wide = channels > AUDIO_MAX_CHANNELS;
    if (wide) s.buffer.resize(static_cast<size_t>(frames) * static_cast<size_t>(channels));
    float* into = wide ? s.buffer.data() : out;
    while (true) {
        // opusfile counts samples over all channels in the buffer size.
        const int got = op_read_float(s.opus, into, frames * channels, nullptr);
        if (got == OP_HOLE) continue;
        if (got < 0)
            throw AudioError("the audio file is damaged (opusfile error " + std::to_string(got) + ")",
                             errc::AUDIO_UNREADABLE, {{"reason", "decode"}});
        if (wide) {
            for (int i = 0; i < got; ++i)
                for (int c = 0; c < AUDIO_MAX_CHANNELS; ++c)
                    out[i * AUDIO_MAX_CHANNELS + c] = into[static_cast<size_t>(i) * channels + c];
            sodium_memzero(s.buffer.data(), s.buffer.size() * sizeof(float));
        }
        return got;
    }
}

// [SECTION] Ogg pages

size_t WholeOggPages(const unsigned char* bytes, size_t size) {
    size_t at = 0;
    while (size - at >= 27) {
        if (std::memcmp(bytes + at, "OggS", 4) != 0 || bytes[at + 4] != 0) break;
        const size_t segments = bytes[at + 26];
        if (size - at < 27 + segments) break;
        size_t body = 0;
        for (size_t i = 0; i < segments; ++i) body += bytes[at + 27 + i];
        const size_t page = 27 + segments + body;
        if (size - at < page) break;
        at += page;
    }
    return at;
}

// [SECTION] Operations

namespace {

std::string Now() { return storage::FormatIsoMillis(storage::SystemMillis()); }

} // namespace

bool RecordedOnto(const std::string& type) { return type != "social_media_item"; }

Json RecordingFieldsFor(storage::RecordStore& store, const std::string& of_id) {
    const auto of = store.Get(of_id);
    if (!of || (*of)["deleted"].get<bool>())
        throw storage::RecordError("interview_id", "no record " + of_id + " in this vault", errc::RECORD_NOT_FOUND,
                                   {{"id", of_id}});
    const auto& catalogue = store.Types();
    const auto& of_type = catalogue.Get((*of)["type"].get<std::string>());
    const auto& recording = catalogue.Get("recording");
    Json fields = {{"project_id", (*of)["project_id"]}};
    for (const auto& f : recording.fields)
        if (f.kind == storage::FieldKind::Reference && f.ref_type == of_type.name) fields[f.name] = of_id;
    if (fields.size() == 1)
        throw storage::RecordError("interview_id", "a recording is of an interview or of a consent",
                                   errc::FIELD_REQUIRED, {{"field", "interview_id"}});
    const auto* person = catalogue.WithRole(storage::RecordRole::Person);
    Json participants = Json::array();
    for (const auto& f : of_type.fields) {
        if (!person || f.ref_type != person->name || !of->contains(f.name)) continue;
        const auto& value = (*of)[f.name];
        if (value.is_string()) participants.push_back(value);
        else if (value.is_array())
            for (const auto& p : value) participants.push_back(p);
    }
    if (!participants.empty()) fields["participant_ids"] = participants;
    return fields;
}

namespace {

/// Encodes all of `file` into `writer` (and finishes the Ogg stream).
/// Returns the milliseconds of audio. Throws AudioError.
int64_t EncodeAll(AudioFile& file, storage::BlobWriter& writer, const std::string& name,
                  const ImportAudioOptions& options) {
    if (file.Frames() > MAX_IMPORT_SECONDS * file.Rate())
        throw AudioError(name + " is longer than a day", errc::AUDIO_UNREADABLE, {{"reason", "too_long"}});
    Encoder encoder(writer, file.Rate(), file.Channels(), options.encoder);
    const int block = file.Rate() / 10; // 100 ms
    std::vector<float> pcm(static_cast<size_t>(block) * static_cast<size_t>(file.Channels()));
    const auto start = std::chrono::steady_clock::now();
    int64_t done = 0;
    const int64_t total = file.Frames();
    while (const int got = file.Read(pcm.data(), block)) {
        encoder.Write(pcm.data(), got);
        done += got;
        if (done > MAX_IMPORT_SECONDS * file.Rate())
            throw AudioError(name + " is longer than a day", errc::AUDIO_UNREADABLE, {{"reason", "too_long"}});
        if (options.real_time)
            std::this_thread::sleep_until(start + std::chrono::milliseconds(done * 1000 / file.Rate()));
        if (options.progress && total > 0 && !options.progress(static_cast<double>(done) / total))
            throw AudioError("import stopped", errc::AUDIO_IMPORT_STOPPED);
    }
    sodium_memzero(pcm.data(), pcm.size() * sizeof(float));
    if (done == 0) throw AudioError(name + " holds no audio", errc::AUDIO_UNREADABLE, {{"reason", "empty"}});
    encoder.Finish();
    return encoder.DurationMs();
}

} // namespace

Json ImportAudio(storage::Vault& vault, storage::RecordStore& store, Json fields, const std::string& path,
                 const ImportAudioOptions& options) {
    AudioFile file(path);
    if (file.Frames() > MAX_IMPORT_SECONDS * file.Rate())
        throw AudioError(path + " is longer than a day", errc::AUDIO_UNREADABLE, {{"reason", "too_long"}});
    fields["source"] = "imported";
    fields["status"] = "recording";
    if (!fields.contains("started_at")) fields["started_at"] = Now();
    // The record first: a crash from here on leaves a recording to recover.
    Json recording = store.Create("recording", fields);
    const std::string id = recording["id"];
    storage::BlobStore blobs(vault);
    auto writer = blobs.Begin(id);
    try {
        const int64_t duration = EncodeAll(file, writer, path, options);
        const auto blob = writer.Finish(blobs);
        return store.Update(id, {{"status", "complete"}, {"audio_sha256", blob.sha256}, {"duration_ms", duration}});
    } catch (...) {
        // Nothing half-imported stays: the audio and its record go.
        writer.Abandon(blobs);
        store.Delete(id, true);
        throw;
    }
}

StoredAudio StoreAudioBytes(storage::Vault& vault, std::string_view bytes, const std::string& name,
                            const ImportAudioOptions& options) {
    AudioFile file(bytes, name);
    storage::BlobStore blobs(vault);
    auto writer = blobs.Begin();
    try {
        StoredAudio out;
        out.duration_ms = EncodeAll(file, writer, name, options);
        out.blob = writer.Finish(blobs);
        return out;
    } catch (...) {
        writer.Abandon(blobs);
        throw;
    }
}

std::vector<Json> RecoverRecordings(storage::Vault& vault, storage::RecordStore& store) {
    storage::BlobStore blobs(vault);
    std::vector<Json> recovered;
    const auto now = storage::SystemMillis();
    for (const auto& part : blobs.Parts()) {
        // Parts of other writers (a download from headquarters) are theirs to resume.
        if (part.owner.rfind("download:", 0) == 0) continue;
        if (part.owner.empty()) {
            // A file being stored when the app stopped: gone after an hour
            // (another program may still be writing it now).
            const auto started = storage::ParseIsoMillis(part.started_at);
            if (started && now - *started > 3600 * 1000) blobs.DropPart(part.file);
            continue;
        }
        const auto record = store.Get(part.owner);
        if (!record || (*record)["deleted"].get<bool>() || (*record)["type"] != "recording") {
            blobs.DropPart(part.file);
            continue;
        }
        // The whole Ogg pages among the whole chunks, as a new blob.
        std::string audio;
        try {
            auto reader = blobs.OpenPart(part.file);
            audio.resize(static_cast<size_t>(reader.Size()));
            audio.resize(reader.ReadAt(0, audio.data(), audio.size()));
        } catch (const storage::BlobDamaged&) {
            audio.clear();
        }
        audio.resize(WholeOggPages(reinterpret_cast<const unsigned char*>(audio.data()), audio.size()));
        std::optional<storage::BlobInfo> blob;
        int64_t duration = 0;
        if (!audio.empty()) {
            auto writer = blobs.Begin(part.owner);
            writer.Write(audio.data(), audio.size());
            blob = writer.Finish(blobs);
            try {
                Decoder decoder(blobs.Open(blob->sha256));
                duration = decoder.DurationMs();
            } catch (const AudioError&) {
                duration = 0;
            }
        }
        sodium_memzero(audio.data(), audio.size());
        blobs.DropPart(part.file);
        if (!blob || duration == 0) {
            // Not a moment of audio made it: nothing to offer.
            if (blob) blobs.Remove(blob->sha256);
            store.Delete(part.owner, true);
            continue;
        }
        recovered.push_back(store.Update(
            part.owner, {{"status", "recovered"}, {"audio_sha256", blob->sha256}, {"duration_ms", duration}}));
    }
    // Files whose key went with an erased record are unreadable; they go too.
    (void)blobs.SweepUnnamedFiles();
    return recovered;
}

void ExportAudio(storage::Vault& vault, storage::RecordStore& store, const std::string& recording_id,
                 const std::string& path) {
    const auto record = store.Get(recording_id);
    if (!record || (*record)["deleted"].get<bool>() || (*record)["type"] != "recording")
        throw storage::RecordError("id", "no recording " + recording_id + " in this vault", errc::RECORD_NOT_FOUND,
                                   {{"id", recording_id}});
    if (!record->contains("audio_sha256"))
        throw AudioError("the recording has no audio yet", errc::AUDIO_NOT_HERE, {{"id", recording_id}});
    storage::BlobStore blobs(vault);
    const std::string sha = (*record)["audio_sha256"];
    if (!blobs.Find(sha))
        throw AudioError("the audio of this recording is not on this device", errc::AUDIO_NOT_HERE,
                         {{"id", recording_id}});
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        throw AudioError("cannot create " + path + ": " + std::strerror(errno), errc::AUDIO_EXPORT_FAILED,
                         {{"path", path}, {"reason", std::strerror(errno)}});
    bool ok = true;
    try {
        blobs.Read(sha, 0, [&](const char* data, size_t size) {
            while (size) {
                const ssize_t n = ::write(fd, data, size);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) {
                    ok = false;
                    return false;
                }
                data += n;
                size -= static_cast<size_t>(n);
            }
            return true;
        });
        if (ok && ::fsync(fd) != 0) ok = false;
    } catch (...) {
        ::close(fd);
        ::unlink(path.c_str());
        throw;
    }
    const int saved = errno;
    ::close(fd);
    if (!ok) {
        ::unlink(path.c_str());
        throw AudioError("cannot write " + path + ": " + std::strerror(saved), errc::AUDIO_EXPORT_FAILED,
                         {{"path", path}, {"reason", std::strerror(saved)}});
    }
    store.Audit("export_audio", "recording", recording_id);
}

} // namespace escucha::capture
