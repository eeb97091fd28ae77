// The device side of sync: enrolment, push of the journal (outbox), pull of
// what the device may see. No UI: escucha-cli and the app both drive it.
//
// Thread contract: a SyncClient uses the Vault it is given, from the thread
// that owns that Vault. Cancel() may be called from any thread.
//
// Errors: transport, server and local failures are values in SyncReport: a
// code of storage/error_code.h with its parameters, and English words; a
// damaged blob is set aside and the rest of the cycle goes on.
#pragma once

#include "escucha/storage/vault.h"
#include "escucha/sync/http.h"
#include "escucha/sync/protocol.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace escucha::sync {

struct SyncReport {
    bool ok = false;          ///< everything pushed was acknowledged and pull finished
    int64_t acknowledged = 0; ///< journal rows HQ confirmed (applied, duplicate, conflict)
    int64_t rejected = 0;     ///< rows HQ refused; they stay in the outbox with the reason
    int64_t conflicts = 0;    ///< rows merged with both versions kept
    int64_t pulled = 0;       ///< records received and newer than the device's
    int64_t pending = 0;      ///< rows still in the outbox after this cycle
    /// Rows of records in projects other than the enrolled one (work from
    /// before enrolment not moved into it): kept on this device, not sent.
    int64_t kept_local = 0;
    int64_t blobs_uploaded = 0;  ///< recordings and photos HQ now holds whole
    int64_t blob_bytes_sent = 0; ///< bytes sent for them in this cycle
    /// Files found damaged in this cycle, in words: set aside, not sent again.
    std::vector<std::string> damaged;
    std::string error;                  ///< the failure, in English words, when !ok
    std::string error_code;             ///< the failure's code (storage/error_code.h), when !ok
    Json error_params = Json::object(); ///< that code's parameters
};

/// How far a sync cycle has gone, for progress bars. Reported from the
/// thread that runs the cycle.
struct SyncProgress {
    enum class Phase { Push, Blobs, Pull } phase = Phase::Push;
    int64_t changes_sent = 0;    ///< journal rows answered by HQ so far
    int64_t changes_total = 0;   ///< journal rows waiting when the cycle began
    int64_t blob_bytes_done = 0; ///< bytes HQ holds of the blobs being sent
    int64_t blob_bytes_total = 0;
    int64_t pulled = 0; ///< records received so far
};

/// How a download of a blob from headquarters went (SyncClient::DownloadBlob).
struct DownloadReport {
    bool ok = false;
    bool already_here = false; ///< the vault held it already: nothing was asked
    int64_t size = 0;          ///< the blob's size, once known
    int64_t resumed_from = 0;  ///< bytes a download cut short earlier had kept (not asked again)
    int64_t received = 0;      ///< bytes received from headquarters in this call
    int requests = 0;          ///< GETs of its bytes made in this call
    std::string error;         ///< the failure, in English words, when !ok
    std::string error_code;    ///< its code (storage/error_code.h)
    Json error_params = Json::object();
};

struct DownloadOptions {
    /// Called as bytes arrive: what the vault holds of the blob, and its size
    /// (0 until headquarters has said). From the thread that downloads.
    std::function<void(int64_t done, int64_t total)> progress;
    /// A connection that broke after it brought bytes is asked again from
    /// where it stopped, at most this many times in one call.
    int retries = 5;
};

/// What the vault remembers about sync (kept in its encrypted meta table).
struct SyncState {
    std::string server;
    std::string project_id;
    std::string project_name;
    std::string role;
    std::string last_success;
    std::string last_error;      ///< "<time> <words>" of the last failure
    std::string last_error_code; ///< its code (storage/error_code.h), empty before codes were kept
    Json last_error_params = Json::object();
    std::string last_attempt;
    int64_t cursor = 0;
    bool enrolled = false;
};

[[nodiscard]] SyncState ReadSyncState(storage::Vault& vault);

/// A record pulled from headquarters that this version could not store: it
/// is skipped, not fatal, and pulled again by a newer version.
struct SkippedRecord {
    storage::ErrorValue error; ///< errc::RECORD_SKIPPED with the record's id and type
    storage::ErrorValue cause; ///< the record's own error (code, parameters, English words)
};

/// The records skipped so far (kept in the vault's meta as sync.skipped.<id>).
[[nodiscard]] std::vector<SkippedRecord> SkippedRecords(storage::Vault& vault);

/// An enrolment code as headquarters issues it (XXXX-XXXX-XXXX-XXXX, upper
/// case), however it was typed: any case, with or without spaces, dashes or
/// underscores. Letters outside the code's alphabet are left for HQ to refuse.
[[nodiscard]] std::string NormaliseEnrolmentCode(const std::string& typed);

/// Trades an enrolment code (normalised first: see NormaliseEnrolmentCode)
/// for a device token and keeps both the token and the pinned certificate
/// (`ca_pem`, may be empty) in the vault, then pulls the project so records
/// can be filed under it at once.
/// Returns the failure (a code, its parameters and English words), or
/// nullopt on success. Plain http:// is refused (errc::SERVER_MUST_BE_HTTPS)
/// unless the server is on this machine (localhost, 127.x.x.x, [::1]).
[[nodiscard]] std::optional<storage::ErrorValue> EnrolDevice(storage::Vault& vault, const std::string& server,
                                                             const std::string& code, const std::string& ca_pem,
                                                             const HttpOptions& http = {});
/// As EnrolDevice, the failure in English words only.
[[nodiscard]] std::optional<std::string> Enrol(storage::Vault& vault, const std::string& server,
                                               const std::string& code, const std::string& ca_pem,
                                               const HttpOptions& http = {});
/// Why `server` may not be used (errc::SERVER_MUST_BE_HTTPS), or nullopt:
/// https:// anywhere, http:// only on this machine.
[[nodiscard]] std::optional<storage::ErrorValue> CheckServerAddress(const std::string& server);

/// What `vault` still has to send to headquarters, as the Escucha-Waiting
/// header says it (protocol.h): journal rows not acknowledged (refused ones
/// and those of another project included), and recordings and photos not
/// uploaded whole (damaged ones, set aside, left out). Two counting queries.
[[nodiscard]] WaitingReport WaitingNow(storage::Vault& vault);

class SyncClient {
public:
    explicit SyncClient(storage::Vault& vault, HttpOptions http = {});

    /// Receives what changed at HQ, sending nothing. Enrolment calls it so the
    /// project is on the device at once.
    SyncReport PullOnly();

    /// One cycle: push the whole outbox in batches, upload blobs HQ lacks
    /// (from where HQ's copy stops), then pull. Records the
    /// outcome (last success / last error) in the vault. Never throws.
    SyncReport SyncOnce();

    struct WatchOptions {
        std::chrono::milliseconds interval{std::chrono::minutes(5)};
        std::chrono::milliseconds first_backoff{std::chrono::seconds(2)};
        std::chrono::milliseconds max_backoff{std::chrono::seconds(60)};
    };
    /// Syncs at once, then every `interval`; after a failure retries with
    /// exponential backoff and jitter, so a returning connection is used
    /// within `max_backoff`. Returns when Cancel() is called.
    void Watch(const WatchOptions& options, const std::function<void(const SyncReport&)>& on_cycle);
    void Cancel() { m_cancel = true; }
    /// Downloads blob `sha256` (a recording's audio_sha256) from headquarters
    /// into the vault, encrypted like any blob of its own, and marks it as
    /// one HQ holds so it is never sent back. A vault that holds it already
    /// asks nothing. Only audio that a live record on this device names is
    /// kept (HQ, for its part, sends only what a record this device may read
    /// names: anything else answers errc::NO_SUCH_BLOB). What arrives is
    /// written as it comes into a part of the vault (owner "download:<sha>")
    /// and made durable when a request ends, so a download cut short (the
    /// connection, the app) resumes at the byte; the SHA-256 of the whole is
    /// checked before the blob is kept (errc::DOWNLOAD_DAMAGED: nothing
    /// kept). Never throws.
    DownloadReport DownloadBlob(const std::string& sha256, const DownloadOptions& options = {});

    /// Called as a cycle advances (after each batch, blob piece and pull page).
    void OnProgress(std::function<void(const SyncProgress&)> callback) { m_on_progress = std::move(callback); }

    /// Pushes at most this many journal rows per request.
    static constexpr int64_t BATCH = 200;

private:
    /// The server and token from the vault; false (with the reason) when not enrolled.
    bool Credentials(SyncReport& report, std::string& server, std::string& token);
    bool Push(SyncReport& report, const std::string& base, const std::string& token);
    bool PushBatch(const std::vector<storage::JournalEntry>& batch, SyncReport& report, const std::string& base,
                   const std::string& token);
    bool Pull(SyncReport& report, const std::string& base, const std::string& token);
    bool UploadBlobs(SyncReport& report, const std::string& base, const std::string& token);

    void Report() {
        if (m_on_progress) m_on_progress(m_progress);
    }
    /// The Escucha-Waiting line every request with the token carries,
    /// counted as the request leaves; empty when the vault cannot say.
    std::string WaitingHeader();

    storage::Vault& m_vault;
    std::atomic<bool> m_cancel{false};
    SyncProgress m_progress;
    std::function<void(const SyncProgress&)> m_on_progress;
    HttpOptions m_http_options;
    HttpClient m_http;
};

} // namespace escucha::sync
