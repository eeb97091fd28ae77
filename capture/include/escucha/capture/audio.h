// Recordings: speech encoded as Opus in Ogg, straight into an encrypted blob.
//
// PCM goes through libopusenc (mono, a speech setting of 20 kbit/s, Ogg pages
// at most half a second long) into a storage::BlobWriter, whose sealed chunks
// are made durable once a second of audio: nothing of a recording is ever on
// disk in plaintext, and a crash loses at most about two seconds (see
// docs/decisions/0011-audio.md). Playback decodes with
// opusfile from the blob, decrypting only the chunks it reads, so it seeks
// anywhere at once. Files from other devices come in through the same
// pipeline: Ogg Opus through opusfile, WAV, FLAC, Ogg Vorbis and MP3 through
// libsndfile.
//
// The recording record (catalogue type "recording") is created when
// recording starts, with status "recording"; its audio is a blob part owned
// by the record until it is finished. RecoverRecordings, run when the vault
// opens, turns what a crash left into a playable "recovered" recording.
//
// Thread contract: an Encoder and a Decoder belong to one thread at a time
// (the Encoder's may differ from the vault's: it touches only the blob
// file). ImportAudio and RecoverRecordings run on the vault's thread.
// Errors: AudioError with a code from storage/error_code.h; RecordError from
// the store; BlobDamaged for audio that fails authentication.
#pragma once

#include "escucha/storage/blobs.h"
#include "escucha/storage/error_code.h"
#include "escucha/storage/records.h"

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace escucha::capture {

/// Decoded audio: 48 kHz, as Opus decodes.
inline constexpr int AUDIO_RATE = 48000;
/// At most this many input channels are taken in (mixed down to mono).
inline constexpr int AUDIO_MAX_CHANNELS = 8;

/// An audio file that cannot be read, or audio that cannot be encoded.
class AudioError : public std::runtime_error {
public:
    AudioError(const std::string& what, std::string code, storage::Json params = storage::Json::object())
        : std::runtime_error(what), m_code(std::move(code)), m_params(std::move(params)) {}
    [[nodiscard]] const std::string& Code() const noexcept { return m_code; }
    [[nodiscard]] const storage::Json& Params() const noexcept { return m_params; }

private:
    std::string m_code;
    storage::Json m_params;
};

struct EncoderSettings {
    int bitrate = 20000;       ///< bits per second
    int flush_every_ms = 1000; ///< audio time between two durable points
};

/// Encodes PCM into a blob being written.
class Encoder {
public:
    /// `input_rate` in Hz (any rate; resampled to 48 kHz), `channels` interleaved.
    Encoder(storage::BlobWriter& out, int input_rate, int channels, EncoderSettings settings = {});
    Encoder(const Encoder&) = delete;
    Encoder& operator=(const Encoder&) = delete;
    ~Encoder();

    /// Appends `frames` frames of interleaved samples in [-1, 1].
    void Write(const float* pcm, int frames);
    /// Ends the Ogg stream (the blob is then finished by its owner).
    void Finish();
    /// Milliseconds of audio taken in.
    [[nodiscard]] int64_t DurationMs() const noexcept;

private:
    struct State;
    std::unique_ptr<State> m_state;
};

/// Decodes a recording from its blob, mono at 48 kHz.
class Decoder {
public:
    explicit Decoder(storage::BlobReader reader);
    Decoder(const Decoder&) = delete;
    Decoder& operator=(const Decoder&) = delete;
    ~Decoder();

    [[nodiscard]] int64_t DurationMs() const;
    /// Up to `frames` samples; 0 at the end.
    int Read(float* out, int frames);
    void SeekMs(int64_t ms);
    [[nodiscard]] int64_t PositionMs() const;

private:
    struct State;
    std::unique_ptr<State> m_state;
};

/// An audio file from another device, read as PCM.
class AudioFile {
public:
    /// Throws AudioError (AUDIO_UNREADABLE) for a file that is not audio it reads.
    explicit AudioFile(const std::string& path);
    /// Reads audio held in memory (a voice note out of a chat export): Ogg
    /// Opus, or what libsndfile reads. `bytes` must outlive the AudioFile;
    /// `name` is what errors say. Throws AudioError (AUDIO_UNREADABLE).
    AudioFile(std::string_view bytes, const std::string& name);
    AudioFile(const AudioFile&) = delete;
    AudioFile& operator=(const AudioFile&) = delete;
    ~AudioFile();

    [[nodiscard]] int Rate() const noexcept;
    [[nodiscard]] int Channels() const noexcept;
    /// Frames in the file, when it says (0 when unknown).
    [[nodiscard]] int64_t Frames() const noexcept;
    /// Up to `frames` interleaved frames; 0 at the end.
    int Read(float* out, int frames);

private:
    struct State;
    std::unique_ptr<State> m_state;
};

struct ImportAudioOptions {
    /// Called now and then with the share done (0..1); returning false stops
    /// the import (nothing is kept).
    std::function<bool(double)> progress;
    /// Taken in no faster than real time, as a microphone would (tests of
    /// what a crash while recording leaves).
    bool real_time = false;
    EncoderSettings encoder;
};

/// The fields a new recording of record `of_id` takes from it: its project,
/// the recording's reference to it (interview_id, consent_id: the recording
/// type's reference to that record's type), and as participant_ids every
/// person it names (whose voices it holds: it goes if any of them withdraws
/// consent). Throws RecordError when it is missing or not something a
/// recording is of.
storage::Json RecordingFieldsFor(storage::RecordStore& store, const std::string& of_id);

/// Whether records of `type` are recorded onto, or their audio imported by
/// hand (an interview, a consent); false for a chat message, whose voice
/// notes come only with its export.
[[nodiscard]] bool RecordedOnto(const std::string& type);

/// Imports `path` as a new recording with `fields` (title, interview_id or
/// consent_id, participant_ids; project_id). Returns the recording record.
storage::Json ImportAudio(storage::Vault& vault, storage::RecordStore& store, storage::Json fields,
                          const std::string& path, const ImportAudioOptions& options = {});

/// Audio encoded into a new blob, with its length.
struct StoredAudio {
    storage::BlobInfo blob;
    int64_t duration_ms = 0;
};

/// Encodes the audio file held in `bytes` (a voice note out of a chat
/// export, never written anywhere as it is) into a new blob, for a recording
/// the caller then creates naming it. Nothing stays when it throws
/// (AudioError: AUDIO_UNREADABLE when it is not audio this program reads).
/// Runs on the vault's thread.
StoredAudio StoreAudioBytes(storage::Vault& vault, std::string_view bytes, const std::string& name,
                            const ImportAudioOptions& options = {});

/// Recordings a crash cut short, made playable from their whole chunks
/// (status "recovered"); parts that held no audio are dropped with their
/// record. Returns the recordings recovered.
std::vector<storage::Json> RecoverRecordings(storage::Vault& vault, storage::RecordStore& store);

/// Writes the recording's audio, decrypted, as an Ogg Opus file at `path`
/// (created, never overwritten). The caller has warned that it leaves the vault.
void ExportAudio(storage::Vault& vault, storage::RecordStore& store, const std::string& recording_id,
                 const std::string& path);

/// The length of the Ogg Opus stream `bytes` up to its last complete page.
[[nodiscard]] size_t WholeOggPages(const unsigned char* bytes, size_t size);

} // namespace escucha::capture
