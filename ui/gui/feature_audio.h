// Recordings: what an interview or a consent was recorded as, recording from
// the microphone with marks, importing a file, exporting a copy, playing back
// and transcribing against the recording, and recordings a crash cut short.
// The recordings list in the form, the recorder and the player with its
// transcript draw from it (panel_audio.cpp).
//
// Threads: the recorder's encoder thread and the player's thread (recorder.h,
// player.h) touch only their blob file and their ring; everything that
// touches the vault (the recording record, BlobStore::Begin and
// BlobWriter::Finish, marks, segments, import, export, recovery) runs on the
// vault worker and comes back as posted closures, dropped after a lock.
//
// Thread contract: UI thread only.
#pragma once

#include "app_context.h"
#include "audio_io.h"
#include "feature_editing.h"
#include "feature_lists.h"
#include "player.h"
#include "recorder.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace escucha::gui {

/// One recording as lists show it.
struct RecordingRow {
    std::string id;
    std::string title;
    std::string status; ///< recording, complete, recovered
    std::string source; ///< recorded, imported
    std::string audio_sha256;
    std::string started_at;
    std::string owner_id; ///< the interview or consent
    std::string interview_id;
    int64_t duration_ms = 0;
};

struct MarkRow {
    std::string id;
    int64_t at_ms = 0;
    std::string note;
};

struct SegmentRow {
    std::string id;
    int64_t start_ms = 0;
    int64_t end_ms = 0;
    std::string speaker;
    std::string text;
};

/// The segment being typed while listening. Times as typed ("12:34.5").
struct SegmentDraft {
    std::string id; ///< empty for a new one
    std::string start;
    std::string end;
    std::string speaker;
    std::string text;
    std::string error; ///< why it was not saved, in words
    bool saving = false;
    bool focus_text = false; ///< give the text field the keyboard next frame
};

enum class AudioScreen { None, Recorder, Player };

class AudioFeature {
public:
    AudioFeature(AppContext& ctx, ListsFeature& lists, EditingFeature& editing);
    ~AudioFeature();
    AudioFeature(const AudioFeature&) = delete;
    AudioFeature& operator=(const AudioFeature&) = delete;

    /// The devices: PortAudio's defaults; tests put their own feeds here.
    InputFactory open_input = OpenDefaultInput;
    OutputFactory open_output = OpenDefaultOutput;

    // --- what is drawn ---
    [[nodiscard]] AudioScreen Screen() const { return m_screen; }
    /// Recording or playing: the window redraws often and the vault stays open.
    [[nodiscard]] bool Live() const;
    [[nodiscard]] bool Recording() const { return m_recorder != nullptr; }
    /// Whether records of `type` have recordings (an interview, a consent).
    [[nodiscard]] static bool HasRecordings(const std::string& type);
    /// The recordings of the record open in the form, oldest first.
    [[nodiscard]] const std::vector<RecordingRow>& Recordings() const { return m_recordings; }
    [[nodiscard]] bool RecordingsLoaded() const { return m_recordings_loaded; }
    /// What the panel says of itself (saved, exported), in words.
    [[nodiscard]] const std::string& Notice() const { return m_notice; }

    // Recording
    [[nodiscard]] Recorder* CurrentRecorder() { return m_recorder.get(); }
    [[nodiscard]] const std::string& RecordingId() const { return m_rec_id; } ///< once the vault created it
    [[nodiscard]] const std::string& RecorderError() const { return m_recorder_error; }
    /// The level meter's reading: the loudest sample lately, falling back slowly.
    [[nodiscard]] float Level() const { return m_level; }
    [[nodiscard]] const std::vector<MarkRow>& SessionMarks() const { return m_session_marks; }
    std::string& MarkNote() { return m_mark_note; }
    /// The recording being finished in the vault after Stop (the "Saving…" state).
    [[nodiscard]] bool Finishing() const { return m_finishing > 0; }
    /// The length of the last recording made here, shown once it stopped.
    [[nodiscard]] int64_t LastDurationMs() const { return m_last_duration_ms; }

    // Import and export
    std::string& ImportPath() { return m_import_path; }
    [[nodiscard]] bool Importing() const { return m_import_cancel != nullptr; }
    [[nodiscard]] double ImportProgress() const { return m_import_progress; }
    std::string& ExportPath(const std::string& recording_id) { return m_export_paths[recording_id]; }

    // Playing and transcribing
    [[nodiscard]] Player* CurrentPlayer() { return m_player.get(); }
    [[nodiscard]] const RecordingRow& Playing() const { return m_playing; }
    [[nodiscard]] bool PlayerLoading() const { return m_player_loading; }
    [[nodiscard]] const std::string& PlayerError() const { return m_player_error; }
    /// The recording whose audio is not on this device (an interpreter's,
    /// recorded by a researcher): it can be downloaded from headquarters.
    [[nodiscard]] const std::string& MissingAudio() const { return m_missing_sha; }
    /// Downloads the missing audio from headquarters (resumable, checked by
    /// its SHA-256, kept encrypted), then opens the player.
    void DownloadMissing();
    [[nodiscard]] bool Downloading() const { return m_downloading; }
    /// Bytes received and the size, while downloading (size 0 until known).
    [[nodiscard]] std::pair<int64_t, int64_t> DownloadProgress() const { return {m_download_done, m_download_total}; }
    [[nodiscard]] const std::vector<MarkRow>& Marks() const { return m_marks; }
    /// The recording's transcript, in time order.
    [[nodiscard]] const std::vector<SegmentRow>& Segments() const { return m_segments; }
    /// A recording of an interview is transcribed; one of a consent is not.
    [[nodiscard]] bool CanTranscribe() const { return !m_playing.interview_id.empty(); }
    SegmentDraft& Segment() { return m_segment; }

    // Recovery
    /// Recordings a crash cut short that the vault recovered at this unlock.
    [[nodiscard]] const std::vector<RecordingRow>& Recovered() const { return m_recovered; }

    // --- commands ---
    /// Follows the open record (reads its recordings) and the recorder; once a frame.
    void Tick(double now);
    void LoadRecordings();

    /// Records for the interview or consent open in the form.
    void StartRecording();
    void SetPaused(bool paused);
    void StopRecording();
    /// A mark at this moment of the recording, with the note typed.
    void AddMark();

    void StartImport();
    void CancelImport();
    void Export(const std::string& recording_id);

    /// Opens the player on a recording, at `at_ms`.
    void OpenPlayer(const std::string& recording_id, int64_t at_ms = 0);
    void ClosePlayer();
    /// Back to the form (the player closes; a recording goes on until stopped).
    void CloseScreen();
    void Toggle();
    void SeekMs(int64_t ms);
    void BackMs(int64_t ms);
    void SetSpeed(double speed);

    /// The segment starts (or ends) where playback is.
    void StampStart();
    void StampEnd();
    /// Saves the segment typed (its end where playback is, when not given) and starts the next there.
    void SaveSegment();
    void EditSegment(const std::string& id);
    void NewSegment();

    /// After unlock: makes what a crash cut short playable and says so.
    void Recover();
    void DismissRecovered() { m_recovered.clear(); }
    /// Opens a recording's interview (or consent) and plays it.
    void OpenRecording(const RecordingRow& row, int64_t at_ms = 0);
    /// A recording, or a transcript segment at its start in its recording (a search
    /// found it); the record's own form when there is no audio to play.
    void OpenInRecording(const std::string& id, std::vector<std::string> terms);

    /// Stops a recording (finishing it in the vault) and closes the player: before a lock or at exit.
    void Shutdown();
    void Clear(); ///< at lock

private:
    void FollowRecorder();
    void FinishRecording();
    void CreateRecording();
    void ShowPlayer(const RecordingRow& row, std::unique_ptr<capture::Decoder> decoder, std::vector<MarkRow> marks,
                    std::vector<SegmentRow> segments, int64_t at_ms);
    [[nodiscard]] int64_t Position() const;

    AppContext& m_ctx;
    ListsFeature& m_lists;
    EditingFeature& m_editing;
    AudioScreen m_screen = AudioScreen::None;
    std::string m_notice;

    // The open record's recordings
    std::string m_owner_id;   ///< the interview or consent they are of
    std::string m_owner_type; ///< its type
    std::vector<RecordingRow> m_recordings;
    bool m_recordings_loaded = false;
    int m_load_request = 0;

    // Recording
    std::unique_ptr<Recorder> m_recorder;
    std::string m_rec_owner_id, m_rec_owner_type, m_rec_project_id;
    std::string m_rec_id;
    bool m_rec_requested = false;
    int m_rec_token = 0; ///< raised by every recording: a writer for an older one is dropped
    int m_finishing = 0; ///< recordings being finished in the vault
    std::string m_recorder_error;
    std::string m_mark_note;
    std::vector<MarkRow> m_session_marks;
    float m_level = 0;
    int64_t m_last_duration_ms = 0;
    double m_last_tick = 0;

    // Import and export
    std::string m_import_path;
    std::shared_ptr<std::atomic<bool>> m_import_cancel;
    double m_import_progress = 0;
    int m_import_token = 0;
    std::map<std::string, std::string> m_export_paths;

    // Playing and transcribing (the output goes before the player it pulls from)
    RecordingRow m_playing;
    std::unique_ptr<Player> m_player;
    std::unique_ptr<AudioOutput> m_output;
    bool m_player_loading = false;
    int m_player_request = 0;
    std::string m_player_error;
    std::string m_missing_id, m_missing_sha; ///< a recording whose audio is at headquarters only
    bool m_downloading = false;
    int64_t m_download_done = 0, m_download_total = 0;
    std::vector<MarkRow> m_marks;
    std::vector<SegmentRow> m_segments;
    SegmentDraft m_segment;

    std::vector<RecordingRow> m_recovered;
};

} // namespace escucha::gui
