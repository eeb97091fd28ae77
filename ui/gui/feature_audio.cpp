// [SECTION] Reading recordings
// [SECTION] Recording
// [SECTION] Import and export
// [SECTION] Playing
// [SECTION] Transcribing
// [SECTION] Recovery, lock and exit
#include "feature_audio.h"

#include "error_words.h"
#include "i18n.h"
#include "summaries.h"

#include "escucha/capture/audio.h"
#include "escucha/storage/blobs.h"
#include "escucha/storage/clock.h"
#include "escucha/sync/sync_client.h"

#include <algorithm>
#include <cstdio>

namespace escucha::gui {

using storage::Json;
namespace errc = storage::errc;

namespace {

constexpr const char* RECORDING = "recording";
constexpr const char* MARK = "audio_mark";
constexpr const char* SEGMENT = "transcript_segment";

/// The field of a recording that names a record of `type` (interview_id, consent_id); empty when none does.
std::string OwnerField(const std::string& type) {
    for (const auto& f : TypeNamed(RECORDING).fields)
        if (f.kind == storage::FieldKind::Reference && f.ref_type == type) return f.name;
    return {};
}

std::string Str(const Json& r, const char* field) {
    const auto it = r.find(field);
    return it != r.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t Int(const Json& r, const char* field) {
    const auto it = r.find(field);
    return it != r.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

RecordingRow RecordingOf(const Json& r) {
    RecordingRow row;
    row.id = Str(r, "id");
    row.title = Str(r, "title");
    row.status = Str(r, "status");
    row.source = Str(r, "source");
    row.audio_sha256 = Str(r, "audio_sha256");
    row.started_at = Str(r, "started_at");
    row.interview_id = Str(r, "interview_id");
    row.owner_id = row.interview_id.empty() ? Str(r, "consent_id") : row.interview_id;
    row.duration_ms = Int(r, "duration_ms");
    return row;
}

MarkRow MarkOf(const Json& r) { return {Str(r, "id"), Int(r, "at_ms"), Str(r, "note")}; }

SegmentRow SegmentOf(const Json& r) {
    return {Str(r, "id"), Int(r, "start_ms"), Int(r, "end_ms"), Str(r, "speaker"), Str(r, "text")};
}

/// Live records of `type` that name `id`.
std::vector<Json> Referring(storage::RecordStore& store, const std::string& id, const char* type) {
    std::vector<Json> out;
    for (const auto& ref : store.ReferencesTo(id))
        if (store.TypeOf(ref) == type)
            if (auto r = store.Get(ref); r && !r->value("deleted", false)) out.push_back(std::move(*r));
    return out;
}

void SortMarks(std::vector<MarkRow>& marks) {
    std::stable_sort(marks.begin(), marks.end(), [](const auto& a, const auto& b) { return a.at_ms < b.at_ms; });
}

void SortSegments(std::vector<SegmentRow>& segments) {
    std::stable_sort(segments.begin(), segments.end(), [](const auto& a, const auto& b) {
        return a.start_ms != b.start_ms ? a.start_ms < b.start_ms : a.end_ms < b.end_ms;
    });
}

std::string Now() { return storage::FormatIsoMillis(storage::SystemMillis()); }

/// `words` (translated, with one %s) filled with `value`.
std::string Format(const char* words, const std::string& value) {
    std::string out = words;
    if (const auto at = out.find("%s"); at != std::string::npos) out.replace(at, 2, value);
    return out;
}

} // namespace

AudioFeature::AudioFeature(AppContext& ctx, ListsFeature& lists, EditingFeature& editing)
    : m_ctx(ctx), m_lists(lists), m_editing(editing) {}

AudioFeature::~AudioFeature() {
    // The owner flushed the worker; what is still running here stops now.
    m_output.reset();
    m_player.reset();
    m_recorder.reset();
}

bool AudioFeature::Live() const {
    return m_recorder || (m_player && m_player->Playing()) || m_import_cancel || m_player_loading;
}

bool AudioFeature::HasRecordings(const std::string& type) { return !type.empty() && !OwnerField(type).empty(); }

// [SECTION] Reading recordings

void AudioFeature::Tick(double now) {
    m_last_tick = now;
    // The record open in the form: its recordings are read when it changes.
    const RecordDraft* d = m_editing.Draft();
    const std::string owner = d && HasRecordings(d->type) ? d->id : std::string();
    if (owner != m_owner_id) {
        m_owner_id = owner;
        m_owner_type = owner.empty() ? std::string() : d->type;
        m_recordings.clear();
        m_recordings_loaded = false;
        m_notice.clear();
        if (!owner.empty()) LoadRecordings();
        // The player belongs to the record it was opened from: another one opened closes it.
        if (!owner.empty() && !m_playing.owner_id.empty() && m_playing.owner_id != owner) ClosePlayer();
    }
    if (m_recorder) FollowRecorder();
    if (m_player && m_output && m_output->Failed()) {
        m_player->Pause();
        m_output.reset();
        m_player_error = WordError(errc::AUDIO_DEVICE_FAILED, {{"reason", ""}});
    }
    if (m_player) {
        if (const std::string code = m_player->ErrorCode(); !code.empty() && m_player_error.empty())
            m_player_error = WordError(code, {{"reason", code}, {"id", m_playing.id}});
    }
}

void AudioFeature::LoadRecordings() {
    if (m_owner_id.empty()) return;
    const int request = ++m_load_request, session = m_ctx.session;
    const std::string owner = m_owner_id;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post([this, &ui, request, session, owner](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        std::vector<RecordingRow> rows;
        for (const auto& r : Referring(vault->Records(), owner, RECORDING)) rows.push_back(RecordingOf(r));
        std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        ui.Post([this, request, session, owner, rows = std::move(rows)]() mutable {
            if (session != m_ctx.session || request != m_load_request || owner != m_owner_id) return;
            m_recordings = std::move(rows);
            m_recordings_loaded = true;
        });
    });
}

// [SECTION] Recording

void AudioFeature::StartRecording() {
    if (m_recorder || m_owner_id.empty()) return;
    if (m_player) ClosePlayer();
    m_recorder_error.clear();
    m_notice.clear();
    m_session_marks.clear();
    m_mark_note.clear();
    m_rec_id.clear();
    m_rec_requested = false;
    m_rec_owner_id = m_owner_id;
    m_rec_owner_type = m_owner_type;
    m_rec_project_id = m_editing.Draft() ? m_editing.Draft()->project_id : m_lists.ProjectId();
    ++m_rec_token;
    m_level = 0;
    m_last_duration_ms = 0;
    m_recorder = std::make_unique<Recorder>(open_input);
    m_screen = AudioScreen::Recorder;
    std::fprintf(stderr, "escucha: recording asked\n");
}

void AudioFeature::SetPaused(bool paused) {
    if (m_recorder) m_recorder->SetPaused(paused);
}

void AudioFeature::StopRecording() {
    if (m_recorder) m_recorder->Stop();
}

void AudioFeature::FollowRecorder() {
    auto& r = *m_recorder;
    m_level = std::max(r.Level(), m_level * 0.85f);
    switch (r.CurrentState()) {
    case Recorder::State::Opening: break;
    case Recorder::State::Capturing:
    case Recorder::State::Encoding:
        if (!m_rec_requested) CreateRecording();
        break;
    case Recorder::State::Finished:
    case Recorder::State::Failed: FinishRecording(); break;
    }
}

void AudioFeature::CreateRecording() {
    m_rec_requested = true;
    const int session = m_ctx.session, token = m_rec_token;
    const std::string owner = m_rec_owner_id;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, token, owner](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            auto& store = vault->Records();
            Json fields = capture::RecordingFieldsFor(store, owner);
            fields["source"] = "recorded";
            fields["status"] = "recording";
            fields["started_at"] = Now();
            const Json record = store.Create(RECORDING, fields);
            storage::BlobStore blobs(*vault);
            auto writer = std::make_shared<storage::BlobWriter>(blobs.Begin(record["id"]));
            const RecordingRow row = RecordingOf(record);
            ui.Post([this, session, token, row, writer]() mutable {
                if (session == m_ctx.session && token == m_rec_token && m_recorder) {
                    m_rec_id = row.id;
                    m_recorder->GiveWriter(std::move(writer));
                    if (row.owner_id == m_owner_id) m_recordings.push_back(row);
                    std::fprintf(stderr, "escucha: recording started\n");
                    return;
                }
                // The recording was stopped (or the vault locked) before it began: its part goes
                // at the next recovery, which drops parts that hold no audio.
            });
        },
        [this, session, token](std::string what) {
            if (session != m_ctx.session || token != m_rec_token || !m_recorder) return;
            m_recorder_error = std::move(what);
            m_recorder->Stop();
        });
}

void AudioFeature::AddMark() {
    if (!m_recorder || m_rec_id.empty()) return;
    const int64_t at = m_recorder->ElapsedMs();
    std::string note = m_mark_note;
    m_mark_note.clear();
    const int session = m_ctx.session;
    const Json fields = {{"project_id", m_rec_project_id}, {"recording_id", m_rec_id}, {"at_ms", at}, {"note", note}};
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, fields](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            const MarkRow mark = MarkOf(vault->Records().Create(MARK, fields));
            ui.Post([this, session, mark] {
                if (session != m_ctx.session) return;
                m_session_marks.push_back(mark);
                SortMarks(m_session_marks);
            });
        },
        [this, session](std::string what) {
            if (session == m_ctx.session) m_ctx.error = std::move(what);
        });
}

void AudioFeature::FinishRecording() {
    auto& r = *m_recorder;
    r.Join();
    const bool failed = r.CurrentState() == Recorder::State::Failed;
    const std::string code = r.ErrorCode(), id = m_rec_id;
    const bool device_lost = r.DeviceLost();
    const int64_t duration = r.DurationMs();
    m_last_duration_ms = r.ElapsedMs();
    auto writer = r.Writer();
    m_recorder.reset();
    if (!writer) {
        // The device never opened (no microphone), or it was stopped before the vault began:
        // nothing was written, and nothing is lost.
        if (!code.empty()) m_recorder_error = WordError(code, {{"reason", ""}});
        return;
    }
    ++m_finishing;
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    std::fprintf(stderr, "escucha: recording stopped\n");
    m_ctx.worker.Post(
        [this, &ui, session, writer, failed, code, id, device_lost,
         duration](std::optional<storage::Vault>& vault) mutable {
            if (!vault) return;
            auto& store = vault->Records();
            storage::BlobStore blobs(*vault);
            std::optional<Json> done;
            bool recovered = false;
            if (!failed && duration > 0) {
                try {
                    const auto blob = writer->Finish(blobs);
                    done = store.Update(
                        id, {{"status", "complete"}, {"audio_sha256", blob.sha256}, {"duration_ms", duration}});
                } catch (const std::exception&) {
                    // Finishing failed (a full disk): what was made durable is recovered below.
                }
            } else if (!failed) {
                // Stopped before a moment of audio: nothing to keep.
                writer->Abandon(blobs);
                writer.reset();
                store.Delete(id, true);
            }
            if (!done && writer) {
                // Left as a crash would leave it, then recovered up to its last durable second.
                writer.reset();
                for (auto& r : capture::RecoverRecordings(*vault, store))
                    if (r["id"] == id) done = std::move(r);
                recovered = true;
            }
            ui.Post([this, session, done, recovered, code, device_lost] {
                if (session != m_ctx.session) return;
                --m_finishing;
                const std::string kept = done ? ClockText(done->value("duration_ms", int64_t{0})) : std::string();
                if (recovered) {
                    m_recorder_error = WordError(code.empty() ? errc::AUDIO_WRITE_FAILED : code, {{"reason", ""}});
                    m_recorder_error +=
                        " " + (done ? Format(Tr("Kept: %s."), kept) : std::string(Tr("Nothing could be kept.")));
                } else if (device_lost) {
                    m_recorder_error = WordError(errc::AUDIO_INPUT_LOST, {{"kept", kept}});
                } else if (done) {
                    m_notice = Format(Tr("Recording saved: %s."), kept);
                }
                if (done) {
                    const RecordingRow row = RecordingOf(*done);
                    for (auto& r : m_recordings)
                        if (r.id == row.id) r = row;
                    m_ctx.status = Format(Tr("Recording saved: %s."), kept);
                    std::fprintf(stderr, "escucha: recording saved\n");
                }
                LoadRecordings();
            });
        },
        [this, session](std::string what) {
            if (session != m_ctx.session) return;
            --m_finishing;
            m_recorder_error = std::move(what);
            LoadRecordings();
        });
}

// [SECTION] Import and export

void AudioFeature::StartImport() {
    std::string path = m_import_path;
    while (!path.empty() && (path.back() == ' ' || path.back() == '\n')) path.pop_back();
    path.erase(0, std::min(path.size(), path.find_first_not_of(' ')));
    if (path.empty() || m_owner_id.empty() || m_import_cancel) return;
    m_notice.clear();
    m_ctx.error.clear();
    m_import_cancel = std::make_shared<std::atomic<bool>>(false);
    m_import_progress = 0;
    const int session = m_ctx.session, token = ++m_import_token;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, token, path, owner = m_owner_id,
         cancel = m_import_cancel](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            const Json fields = capture::RecordingFieldsFor(vault->Records(), owner);
            capture::ImportAudioOptions options;
            double shown = 0;
            options.progress = [&](double done) {
                // Posted once a percent, not for every block.
                if (done - shown >= 0.01) {
                    shown = done;
                    ui.Post([this, session, token, done] {
                        if (session == m_ctx.session && token == m_import_token) m_import_progress = done;
                    });
                }
                return !cancel->load(std::memory_order_relaxed);
            };
            const Json r = capture::ImportAudio(*vault, vault->Records(), fields, path, options);
            ui.Post([this, session, token, row = RecordingOf(r)] {
                if (session != m_ctx.session || token != m_import_token) return;
                m_import_cancel.reset();
                m_import_path.clear();
                m_notice = Format(Tr("Imported: %s."), ClockText(row.duration_ms));
                LoadRecordings();
            });
        },
        [this, session, token](std::string what) {
            if (session != m_ctx.session || token != m_import_token) return;
            m_import_cancel.reset();
            m_ctx.error = std::move(what);
        });
}

void AudioFeature::CancelImport() {
    if (m_import_cancel) m_import_cancel->store(true, std::memory_order_relaxed);
}

void AudioFeature::Export(const std::string& recording_id) {
    std::string path = m_export_paths[recording_id];
    while (!path.empty() && path.back() == ' ') path.pop_back();
    if (path.empty()) return;
    m_ctx.error.clear();
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, recording_id, path](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            capture::ExportAudio(*vault, vault->Records(), recording_id, path);
            ui.Post([this, session, recording_id, path] {
                if (session != m_ctx.session) return;
                m_export_paths.erase(recording_id);
                m_notice = Format(Tr("Copied out of the vault to %s."), path);
            });
        },
        [this, session](std::string what) {
            if (session == m_ctx.session) m_ctx.error = std::move(what);
        });
}

// [SECTION] Playing

void AudioFeature::OpenPlayer(const std::string& recording_id, int64_t at_ms) {
    if (m_recorder) return; // one thing at a time with the sound card
    ClosePlayer();
    m_player_loading = true;
    m_screen = AudioScreen::Player;
    const int session = m_ctx.session, request = ++m_player_request;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, request, recording_id, at_ms](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            auto& store = vault->Records();
            const auto r = store.Get(recording_id);
            if (!r || r->value("deleted", false))
                throw storage::RecordError("id", "no such recording", errc::RECORD_NOT_FOUND, {{"id", recording_id}});
            const RecordingRow row = RecordingOf(*r);
            storage::BlobStore blobs(*vault);
            if (!row.audio_sha256.empty() && !blobs.Find(row.audio_sha256)) {
                // Recorded on another device: headquarters has it.
                ui.Post([this, session, request, recording_id, sha = row.audio_sha256] {
                    if (session != m_ctx.session || request != m_player_request) return;
                    m_player_loading = false;
                    m_missing_id = recording_id;
                    m_missing_sha = sha;
                    m_player_error = WordError(errc::AUDIO_NOT_HERE, {{"id", recording_id}});
                });
                return;
            }
            if (row.audio_sha256.empty())
                throw capture::AudioError("the audio is not on this device", errc::AUDIO_NOT_HERE,
                                          {{"id", recording_id}});
            // Opened here (the vault holds its key); read on the player's thread from then on.
            auto decoder = std::make_shared<std::unique_ptr<capture::Decoder>>(
                std::make_unique<capture::Decoder>(blobs.Open(row.audio_sha256)));
            std::vector<MarkRow> marks;
            for (const auto& m : Referring(store, recording_id, MARK)) marks.push_back(MarkOf(m));
            std::vector<SegmentRow> segments;
            for (const auto& s : Referring(store, recording_id, SEGMENT)) segments.push_back(SegmentOf(s));
            ui.Post([this, session, request, row, decoder, marks = std::move(marks), segments = std::move(segments),
                     at_ms]() mutable {
                if (session != m_ctx.session || request != m_player_request) return;
                ShowPlayer(row, std::move(*decoder), std::move(marks), std::move(segments), at_ms);
            });
        },
        [this, session, request](std::string what) {
            if (session != m_ctx.session || request != m_player_request) return;
            m_player_loading = false;
            m_player_error = std::move(what);
        });
}

void AudioFeature::DownloadMissing() {
    if (m_downloading || m_missing_sha.empty()) return;
    m_downloading = true;
    m_player_error.clear();
    m_download_done = m_download_total = 0;
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    // On the sync connection: a long download does not hold up saves.
    m_ctx.sync_worker.Post(
        [this, &ui, session, id = m_missing_id, sha = m_missing_sha](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            sync::SyncClient client(*vault);
            sync::DownloadOptions options;
            auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
            options.progress = [&](int64_t done, int64_t total) {
                const auto t = std::chrono::steady_clock::now();
                if (t - last < std::chrono::milliseconds(100) && done != total) return;
                last = t;
                ui.Post([this, session, done, total] {
                    if (session != m_ctx.session) return;
                    m_download_done = done;
                    m_download_total = total;
                });
            };
            const auto report = client.DownloadBlob(sha, options);
            ui.Post([this, session, id, report] {
                if (session != m_ctx.session) return;
                m_downloading = false;
                if (!report.ok) {
                    m_player_error =
                        report.error_code.empty() ? report.error : WordError(report.error_code, report.error_params);
                    return;
                }
                std::fprintf(stderr, "escucha: recording downloaded\n");
                OpenPlayer(id, 0);
            });
        },
        [this, session](std::string what) {
            if (session != m_ctx.session) return;
            m_downloading = false;
            m_player_error = std::move(what);
        });
}

void AudioFeature::ShowPlayer(const RecordingRow& row, std::unique_ptr<capture::Decoder> decoder,
                              std::vector<MarkRow> marks, std::vector<SegmentRow> segments, int64_t at_ms) {
    m_player_loading = false;
    m_player_error.clear();
    m_playing = row;
    m_marks = std::move(marks);
    m_segments = std::move(segments);
    SortMarks(m_marks);
    SortSegments(m_segments);
    m_player = std::make_unique<Player>(std::move(decoder));
    if (m_playing.duration_ms <= 0) m_playing.duration_ms = m_player->DurationMs();
    if (at_ms > 0) m_player->SeekMs(at_ms);
    NewSegment();
    try {
        m_output = open_output(m_player->Sink());
        m_output->Start();
    } catch (const capture::AudioError& e) {
        m_output.reset();
        // Without a speaker the transcript can still be read and written.
        m_player_error = WordError(e.Code(), e.Params());
    }
    std::fprintf(stderr, "escucha: player open\n");
}

void AudioFeature::ClosePlayer() {
    ++m_player_request;
    m_output.reset(); // the device stops pulling before the player goes
    m_player.reset();
    m_player_loading = false;
    m_player_error.clear();
    if (!m_downloading) m_missing_id.clear(), m_missing_sha.clear();
    m_playing = {};
    m_marks.clear();
    m_segments.clear();
    m_segment = {};
    if (m_screen == AudioScreen::Player) m_screen = AudioScreen::None;
}

void AudioFeature::CloseScreen() {
    if (m_recorder) return; // a recording ends with Stop
    ClosePlayer();
    m_screen = AudioScreen::None;
    m_recorder_error.clear();
    m_session_marks.clear();
}

int64_t AudioFeature::Position() const { return m_player ? m_player->PositionMs() : 0; }

void AudioFeature::Toggle() {
    if (m_player) m_player->Toggle();
}

void AudioFeature::SeekMs(int64_t ms) {
    if (m_player) m_player->SeekMs(ms);
}

void AudioFeature::BackMs(int64_t ms) {
    if (m_player) m_player->BackMs(ms);
}

void AudioFeature::SetSpeed(double speed) {
    if (m_player) m_player->SetSpeed(speed);
}

// [SECTION] Transcribing

void AudioFeature::StampStart() {
    if (!m_player) return;
    m_segment.start = ClockTextTenths(Position());
    m_segment.error.clear();
    m_segment.focus_text = true;
}

void AudioFeature::StampEnd() {
    if (!m_player) return;
    m_segment.end = ClockTextTenths(Position());
    m_segment.error.clear();
    m_segment.focus_text = true;
}

void AudioFeature::NewSegment() {
    m_segment = {};
    m_segment.start = ClockTextTenths(Position());
}

void AudioFeature::EditSegment(const std::string& id) {
    for (const auto& s : m_segments) {
        if (s.id != id) continue;
        m_segment = {};
        m_segment.id = s.id;
        m_segment.start = ClockTextTenths(s.start_ms);
        m_segment.end = ClockTextTenths(s.end_ms);
        m_segment.speaker = s.speaker;
        m_segment.text = s.text;
        SeekMs(s.start_ms);
        return;
    }
}

void AudioFeature::SaveSegment() {
    if (!m_player || !CanTranscribe() || m_segment.saving) return;
    auto& d = m_segment;
    const auto start = ParseClock(d.start);
    if (!start) {
        d.error = Tr("Give the start as minutes and seconds (12:34), or stamp it (Ctrl+Enter).");
        return;
    }
    std::optional<int64_t> end =
        d.end.empty() ? std::optional<int64_t>(std::max(*start, Position())) : ParseClock(d.end);
    if (!end) {
        d.error = Tr("Give the end as minutes and seconds (12:34), or leave it empty to end where playback is.");
        return;
    }
    if (*end < *start) {
        d.error = Tr("The end comes before the start.");
        return;
    }
    if (d.text.find_first_not_of(" \n\t") == std::string::npos) {
        d.error = Tr("Write what was said first.");
        return;
    }
    d.error.clear();
    d.saving = true;
    Json fields = {{"start_ms", *start}, {"end_ms", *end}, {"text", d.text}};
    fields["speaker"] = d.speaker.empty() ? Json() : Json(d.speaker);
    const std::string id = d.id;
    if (id.empty()) {
        fields["project_id"] = m_editing.Draft() ? m_editing.Draft()->project_id : m_lists.ProjectId();
        fields["interview_id"] = m_playing.interview_id;
        fields["recording_id"] = m_playing.id;
        if (d.speaker.empty()) fields.erase("speaker");
    }
    const int session = m_ctx.session, request = m_player_request;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, request, id, fields](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            auto& store = vault->Records();
            const SegmentRow saved = SegmentOf(id.empty() ? store.Create(SEGMENT, fields) : store.Update(id, fields));
            ui.Post([this, session, request, saved] {
                if (session != m_ctx.session || request != m_player_request) return;
                std::erase_if(m_segments, [&](const SegmentRow& s) { return s.id == saved.id; });
                m_segments.push_back(saved);
                SortSegments(m_segments);
                // The next segment starts where this one ended.
                m_segment = {};
                m_segment.start = ClockTextTenths(saved.end_ms);
                m_segment.focus_text = true;
                m_ctx.status = Tr("Segment saved");
            });
        },
        [this, session, request](std::string what) {
            if (session != m_ctx.session || request != m_player_request) return;
            m_segment.saving = false;
            m_segment.error = std::move(what);
        });
}

// [SECTION] Recovery, lock and exit

void AudioFeature::Recover() {
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            std::vector<RecordingRow> rows;
            for (const auto& r : capture::RecoverRecordings(*vault, vault->Records())) rows.push_back(RecordingOf(r));
            if (rows.empty()) return;
            ui.Post([this, session, rows = std::move(rows)] {
                if (session != m_ctx.session) return;
                m_recovered = rows;
                std::fprintf(stderr, "escucha: %zu recording(s) recovered\n", rows.size());
            });
        },
        [this, session](std::string what) {
            if (session == m_ctx.session) m_ctx.error = std::move(what);
        });
}

void AudioFeature::OpenRecording(const RecordingRow& row, int64_t at_ms) {
    if (m_recorder) return;
    std::erase_if(m_recovered, [&](const RecordingRow& r) { return r.id == row.id; });
    if (!m_editing.Draft() || m_editing.Draft()->id != row.owner_id) m_editing.OpenRecord(row.owner_id);
    OpenPlayer(row.id, at_ms);
}

void AudioFeature::OpenInRecording(const std::string& segment_id, std::vector<std::string> terms) {
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, segment_id, terms](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            auto& store = vault->Records();
            const auto segment = store.Get(segment_id);
            std::optional<Json> recording;
            if (segment && (*segment)["type"] == RECORDING) recording = segment;
            else if (segment && segment->contains("recording_id")) recording = store.Get((*segment)["recording_id"]);
            const bool playable =
                recording && !recording->value("deleted", false) && recording->contains("audio_sha256") && !m_recorder;
            const RecordingRow row = playable ? RecordingOf(*recording) : RecordingRow{};
            const int64_t at = segment && (*segment)["type"] == SEGMENT ? Int(*segment, "start_ms") : 0;
            ui.Post([this, session, segment_id, terms, row, at]() mutable {
                if (session != m_ctx.session) return;
                if (row.id.empty() || m_recorder) return m_editing.OpenFound(segment_id, std::move(terms));
                OpenRecording(row, at);
            });
        },
        [this, session](std::string what) {
            if (session == m_ctx.session) m_ctx.error = std::move(what);
        });
}

void AudioFeature::Shutdown() {
    ClosePlayer();
    CancelImport();
    if (!m_recorder) return;
    m_recorder->Stop();
    m_recorder->Join();
    FinishRecording();
}

void AudioFeature::Clear() {
    ClosePlayer();
    m_recorder.reset();
    m_screen = AudioScreen::None;
    m_owner_id.clear();
    m_owner_type.clear();
    m_recordings.clear();
    m_recordings_loaded = false;
    m_recovered.clear();
    m_session_marks.clear();
    m_recorder_error.clear();
    m_notice.clear();
    m_import_cancel.reset();
    m_import_path.clear();
    m_export_paths.clear();
    m_finishing = 0;
}

} // namespace escucha::gui
