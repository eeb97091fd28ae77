#include "escucha/sync/sync_client.h"

#include "escucha/capture/operations.h"
#include "escucha/interpret/coding.h"

#include "escucha/storage/blobs.h"
#include "escucha/storage/clock.h"
#include "escucha/storage/json.h"

#include <sodium.h>

#include <algorithm>
#include <set>
#include <thread>

namespace escucha::sync {

namespace {

constexpr char META_SERVER[] = "sync.server";
constexpr char META_TOKEN[] = "sync.token";
constexpr char META_CA[] = "sync.ca_pem";
constexpr char META_PROJECT[] = "sync.project_id";
constexpr char META_PROJECT_NAME[] = "sync.project_name";
constexpr char META_ROLE[] = "sync.role";
constexpr char META_CURSOR[] = "sync.cursor";
/// The server that last said it takes partial changes (PushResponse::takes_fields).
constexpr char META_TAKES_FIELDS[] = "sync.takes_fields";
constexpr char META_SKIPPED[] = "sync.skipped."; ///< + a record id: a pulled record this version could not store
constexpr char META_LAST_SUCCESS[] = "sync.last_success";
constexpr char META_LAST_ERROR[] = "sync.last_error";
constexpr char META_LAST_ERROR_CODE[] = "sync.last_error_code";
constexpr char META_LAST_ERROR_PARAMS[] = "sync.last_error_params";
constexpr char META_LAST_ATTEMPT[] = "sync.last_attempt";

std::string Now() { return storage::FormatIsoMillis(storage::SystemMillis()); }

std::string TrimSlash(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

/// The report's failure: its code, parameters and words.
void Fail(SyncReport& report, storage::ErrorValue problem) {
    report.ok = false;
    report.error = std::move(problem.words);
    report.error_code = std::move(problem.code);
    report.error_params = problem.params.is_object() ? std::move(problem.params) : Json::object();
}

void Fail(SyncReport& report, const char* code, std::string words, Json params = Json::object()) {
    Fail(report, storage::ErrorValue{code, std::move(params), std::move(words)});
}

/// Reads a server answer as T; on failure says so in `report` (bad_answer).
template <typename T>
bool ParseAnswer(const std::string& body, T& out, SyncReport& report, const std::string& server) {
    try {
        out = storage::ParseUntrustedJson<Json>(body).get<T>();
        return true;
    } catch (const std::exception&) {
        Fail(report, storage::errc::BAD_ANSWER, "the server's answer was not understood", {{"server", server}});
        return false;
    }
}

constexpr char DOWNLOAD_OWNER[] = "download:"; ///< + a blob's SHA-256: the part a download writes into
/// No blob this big is a recording: an answer that says so is not believed.
constexpr int64_t MAX_DOWNLOAD_BYTES = 64LL * 1024 * 1024 * 1024;
/// A download is made durable every this many bytes (each time a padded chunk).
constexpr size_t DOWNLOAD_FLUSH_BYTES = 256 * 1024;

bool IsSha256Hex(const std::string& text) {
    return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

/// Whether a live record of the vault names blob `sha256` in one of its
/// type's blob fields (RecordType::blob_fields).
bool NamedByLiveRecord(storage::Vault& vault, const std::string& sha256) { return vault.Records().NamesBlob(sha256); }

/// Drops what downloads cut short kept of blobs no live record names any
/// more: a consent withdrawn (here, or pulled from HQ) must not leave part
/// of the participant's audio behind.
void DropUnnamedDownloads(storage::Vault& vault) {
    storage::BlobStore blobs(vault);
    for (const auto& part : blobs.Parts()) {
        if (part.owner.rfind(DOWNLOAD_OWNER, 0) != 0) continue;
        const auto sha = part.owner.substr(std::string_view(DOWNLOAD_OWNER).size());
        if (!NamedByLiveRecord(vault, sha)) blobs.DropPart(part.file);
    }
}

/// A Content-Range header: "bytes FIRST-LAST/TOTAL", or "bytes */TOTAL"
/// (first and last -1).
struct ContentRange {
    int64_t first = -1;
    int64_t last = -1;
    int64_t total = -1;
};

std::optional<int64_t> Digits(std::string_view text) {
    if (text.empty() || text.size() > 18) return std::nullopt;
    int64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return value;
}

std::optional<ContentRange> ParseContentRange(std::string_view text) {
    constexpr std::string_view PREFIX = "bytes ";
    if (!text.starts_with(PREFIX)) return std::nullopt;
    text.remove_prefix(PREFIX.size());
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    ContentRange range;
    const auto total = Digits(text.substr(slash + 1));
    if (!total) return std::nullopt;
    range.total = *total;
    const auto span = text.substr(0, slash);
    if (span == "*") return range;
    const auto dash = span.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    const auto first = Digits(span.substr(0, dash)), last = Digits(span.substr(dash + 1));
    if (!first || !last || *first > *last || *last >= range.total) return std::nullopt;
    range.first = *first;
    range.last = *last;
    return range;
}

} // namespace

SyncState ReadSyncState(storage::Vault& vault) {
    SyncState s;
    s.server = vault.GetMeta(META_SERVER).value_or("");
    s.project_id = vault.GetMeta(META_PROJECT).value_or("");
    s.project_name = vault.GetMeta(META_PROJECT_NAME).value_or("");
    s.role = vault.GetMeta(META_ROLE).value_or("");
    s.last_success = vault.GetMeta(META_LAST_SUCCESS).value_or("");
    s.last_error = vault.GetMeta(META_LAST_ERROR).value_or("");
    s.last_error_code = vault.GetMeta(META_LAST_ERROR_CODE).value_or("");
    if (const auto params = Json::parse(vault.GetMeta(META_LAST_ERROR_PARAMS).value_or(""), nullptr, false);
        params.is_object())
        s.last_error_params = params;
    s.last_attempt = vault.GetMeta(META_LAST_ATTEMPT).value_or("");
    s.cursor = std::stoll(vault.GetMeta(META_CURSOR).value_or("0"));
    s.enrolled = vault.GetMeta(META_TOKEN).has_value();
    return s;
}

std::vector<SkippedRecord> SkippedRecords(storage::Vault& vault) {
    std::vector<SkippedRecord> out;
    for (const auto& [key, value] : vault.MetaWithPrefix(META_SKIPPED)) {
        SkippedRecord r;
        const auto id = key.substr(std::string_view(META_SKIPPED).size());
        r.error = {storage::errc::RECORD_SKIPPED, {{"id", id}, {"type", "?"}}, value};
        // Before codes were kept the value was the error's English words.
        const auto kept = Json::parse(value, nullptr, false);
        if (kept.is_object()) {
            r.error.params = kept.value("params", r.error.params);
            r.error.words = kept.value("words", std::string());
            const auto cause = kept.value("cause", Json::object());
            r.cause = {cause.value("code", std::string()), cause.value("params", Json::object()), r.error.words};
        } else {
            r.cause.words = value;
        }
        out.push_back(std::move(r));
    }
    return out;
}

std::string NormaliseEnrolmentCode(const std::string& typed) {
    std::string symbols;
    for (const char c : typed) {
        if (c == ' ' || c == '-' || c == '_' || c == '\t' || c == '\r' || c == '\n') continue;
        symbols.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    }
    std::string code;
    for (size_t i = 0; i < symbols.size(); ++i) {
        if (i && i % 4 == 0) code.push_back('-');
        code.push_back(symbols[i]);
    }
    return code;
}

std::optional<storage::ErrorValue> CheckServerAddress(const std::string& server) {
    // Plain HTTP is for this machine only: testimony never crosses a network unencrypted.
    const auto url = TrimSlash(server);
    if (url.rfind("https://", 0) == 0 && url.size() > 8) return std::nullopt;
    if (url.rfind("http://", 0) == 0) {
        const auto host = UrlHost(url);
        if (host == "localhost" || host == "[::1]" ||
            (host.rfind("127.", 0) == 0 && host.find_first_not_of("0123456789.") == std::string::npos))
            return std::nullopt;
    }
    return storage::ErrorValue{storage::errc::SERVER_MUST_BE_HTTPS,
                               {{"server", server}},
                               "the server address must start with https:// (plain http:// only for a server on this "
                               "machine: localhost, 127.0.0.1 or [::1])"};
}

std::optional<std::string> Enrol(storage::Vault& vault, const std::string& server, const std::string& typed_code,
                                 const std::string& ca_pem, const HttpOptions& http) {
    auto problem = EnrolDevice(vault, server, typed_code, ca_pem, http);
    if (!problem) return std::nullopt;
    return problem->words;
}

std::optional<storage::ErrorValue> EnrolDevice(storage::Vault& vault, const std::string& server,
                                               const std::string& typed_code, const std::string& ca_pem,
                                               const HttpOptions& http) {
    const auto code = NormaliseEnrolmentCode(typed_code);
    const auto base = TrimSlash(server);
    if (auto problem = CheckServerAddress(base)) return problem;
    HttpOptions options = http;
    options.ca_pem = ca_pem;
    HttpClient client(options);
    const EnrolRequest request{code, vault.DeviceId(), vault.Author()};
    // Enrolling again (a new code after a revocation, say), the device proves
    // with its current token that the id is its own; HQ refuses the id otherwise.
    auto current = vault.GetMeta(META_TOKEN).value_or("");
    const auto result = client.Post(base + "/v1/enrol", Json(request).dump(), current);
    sodium_memzero(current.data(), current.size());
    if (!result.Ok()) return result.Problem(base);
    EnrolResponse response;
    SyncReport failed;
    if (!ParseAnswer(result.body, response, failed, base))
        return storage::ErrorValue{failed.error_code, failed.error_params, failed.error};
    vault.Records().Atomically([&] {
        vault.SetMeta(META_SERVER, base);
        vault.SetMeta(META_TOKEN, response.token);
        vault.SetMeta(META_CA, ca_pem);
        vault.SetMeta(META_PROJECT, response.project_id);
        vault.SetMeta(META_PROJECT_NAME, response.project_name);
        vault.SetMeta(META_ROLE, RoleName(response.role));
        vault.SetMeta(META_CURSOR, "0");
        vault.SetMeta(META_TAKES_FIELDS, "");
    });
    sodium_memzero(response.token.data(), response.token.size());
    // Failing here is not fatal: the next sync pulls the project.
    (void)SyncClient(vault, options).PullOnly();
    return std::nullopt;
}

SyncClient::SyncClient(storage::Vault& vault, HttpOptions http)
    : m_vault(vault), m_http_options(std::move(http)), m_http([&] {
          HttpOptions o = m_http_options;
          o.ca_pem = vault.GetMeta(META_CA).value_or("");
          o.cancel = &m_cancel;
          return o;
      }()) {
    m_http.SetRequestHeader([this] { return WaitingHeader(); });
}

std::string SyncClient::WaitingHeader() {
    try {
        WaitingReport report = WaitingNow(m_vault);
        report.changes = std::min(report.changes, MAX_WAITING_COUNT);
        report.recordings = std::min(report.recordings, MAX_WAITING_COUNT);
        report.bytes = std::min(report.bytes, MAX_WAITING_BYTES);
        return std::string(WAITING_HEADER) + ": " + FormatWaitingHeader(report);
    } catch (const std::exception&) {
        // A vault that cannot be read just now sends no report: headquarters
        // keeps the last one, and the request goes on.
        return {};
    }
}

WaitingReport WaitingNow(storage::Vault& vault) {
    const auto blobs = storage::BlobStore(vault).CountWaiting();
    return {vault.Records().UnacknowledgedJournalCount(), blobs.blobs, blobs.bytes};
}

bool SyncClient::Credentials(SyncReport& report, std::string& server, std::string& token) {
    auto s = m_vault.GetMeta(META_SERVER);
    auto t = m_vault.GetMeta(META_TOKEN);
    if (!s || !t) {
        Fail(report, storage::errc::NOT_ENROLLED,
             "this vault is not enrolled; run 'escucha-cli enrol --server URL --code CODE' first");
        return false;
    }
    server = std::move(*s);
    token = std::move(*t);
    return true;
}

SyncReport SyncClient::PullOnly() {
    SyncReport report;
    std::string server, token;
    if (Credentials(report, server, token)) report.ok = Pull(report, server, token);
    return report;
}

SyncReport SyncClient::SyncOnce() {
    SyncReport report;
    // Nothing escapes a cycle: a local failure (a full disk, a locked or
    // damaged database) is this cycle's error in words, so --watch and the
    // app's sync thread go on and the next cycle tries again.
    try {
        std::string server, token;
        if (!Credentials(report, server, token)) return report;
        m_vault.SetMeta(META_LAST_ATTEMPT, Now());
        report.ok = Push(report, server, token) && UploadBlobs(report, server, token) && Pull(report, server, token);
        report.pending = m_vault.Records().PendingJournalCount();
        if (report.ok && report.rejected > 0) {
            Fail(report, storage::errc::CHANGES_REFUSED,
                 std::to_string(report.rejected) + " change(s) refused by headquarters; see 'escucha-cli outbox'",
                 {{"count", report.rejected}});
        }
        if (report.ok && !report.damaged.empty()) {
            Fail(report, storage::errc::FILES_DAMAGED, "", {{"count", static_cast<int64_t>(report.damaged.size())}});
            report.error = report.damaged.front() +
                           (report.damaged.size() > 1
                                ? " (and " + std::to_string(report.damaged.size() - 1) + " more damaged file(s))"
                                : "") +
                           "; it was set aside and is not sent again, its file kept as it is for recovery; everything "
                           "else was synced ('escucha-cli check' lists damaged files)";
        }
    } catch (const std::exception& e) {
        Fail(report, storage::errc::SYNC_STOPPED, std::string("sync stopped on this device: ") + e.what());
    }
    if (!report.ok && report.error_code.empty()) report.error_code = storage::errc::SYNC_STOPPED;
    try {
        if (report.ok) {
            m_vault.SetMeta(META_LAST_SUCCESS, Now());
        } else {
            m_vault.Records().Atomically([&] {
                m_vault.SetMeta(META_LAST_ERROR, Now() + " " + report.error);
                m_vault.SetMeta(META_LAST_ERROR_CODE, report.error_code);
                m_vault.SetMeta(META_LAST_ERROR_PARAMS, report.error_params.dump());
            });
        }
    } catch (const std::exception&) {
        // The vault cannot be written: the report still carries the error.
    }
    return report;
}

bool SyncClient::Push(SyncReport& report, const std::string& base, const std::string& token) {
    int64_t after = 0;
    m_progress = {};
    m_progress.changes_total = m_vault.Records().PendingJournalCount();
    Report();
    const auto project = m_vault.GetMeta(META_PROJECT).value_or("");
    while (!m_cancel) {
        const auto rows = m_vault.Records().PendingJournal(BATCH, after);
        if (rows.empty()) return true;
        after = rows.back().seq;
        // Records of another project (recorded before enrolment and not
        // moved into the enrolled one) stay here: headquarters does not know
        // that project and would refuse them.
        std::vector<storage::JournalEntry> batch;
        for (const auto& e : rows) {
            const auto body = Json::parse(e.body, nullptr, false);
            const auto* type = m_vault.Records().Types().Find(e.record_type);
            const bool scoped = !type || type->project_scoped;
            const auto owner = body.is_object() ? body.value(scoped ? "project_id" : "id", "") : "";
            if (!project.empty() && owner != project) ++report.kept_local;
            else batch.push_back(e);
        }
        m_progress.changes_sent += static_cast<int64_t>(rows.size() - batch.size());
        if (batch.empty()) continue;
        // Marked sent as they are read for the request: an edit made while
        // this push is under way goes in a change of its own.
        std::vector<int64_t> seqs;
        for (const auto& e : batch) seqs.push_back(e.seq);
        batch = m_vault.Records().TakeJournalForPush(seqs);
        if (batch.empty()) continue;
        if (!PushBatch(batch, report, base, token)) return false;
        m_progress.changes_sent += static_cast<int64_t>(batch.size());
        Report();
    }
    Fail(report, storage::errc::CANCELLED, "cancelled");
    return false;
}

namespace {

/// Makes `change` send only the members of its record that `fields` names
/// (a journal row's changed members), when that is smaller than the record.
/// Returns whether it did.
bool SendOnlyChanged(Change& change, const Json& fields) {
    if (!fields.is_array() || change.op != "upsert" || change.base_rev < 1 || !change.body.is_object()) return false;
    Json set = Json::object();
    std::vector<std::string> removed;
    for (const auto& name : fields) {
        const auto& key = name.get_ref<const std::string&>();
        if (const auto it = change.body.find(key); it != change.body.end()) set[key] = *it;
        else removed.push_back(key);
    }
    // Small edits of large records are what this is for; a change of most of
    // a record goes whole, which any headquarters takes.
    size_t partial = set.dump().size();
    for (const auto& name : removed) partial += name.size() + 3;
    if (partial * 4 > change.body.dump().size() * 3) return false;
    change.digest = RecordDigest(change.body);
    change.fields = std::move(set);
    change.removed = std::move(removed);
    change.body = nullptr;
    return true;
}

} // namespace

bool SyncClient::PushBatch(const std::vector<storage::JournalEntry>& batch, SyncReport& report, const std::string& base,
                           const std::string& token) {
    // Only the members an edit changed go to a server that said it takes
    // them (docs/decisions/0027); the rest, and everything to any other, whole.
    const bool takes_fields = m_vault.GetMeta(META_TAKES_FIELDS).value_or("") == base;
    PushRequest request;
    std::vector<bool> partial(batch.size(), false);
    std::set<std::string> partial_records; // headquarters takes one partial change per record per push
    for (size_t i = 0; i < batch.size(); ++i) {
        const auto& e = batch[i];
        auto body = Json::parse(e.body, nullptr, false);
        Change change{e.change_id, e.record_type, e.record_id, e.rev, e.op, e.hlc, std::move(body), e.base_rev};
        partial[i] = takes_fields && !partial_records.count(e.record_id) && SendOnlyChanged(change, e.fields);
        if (partial[i]) partial_records.insert(e.record_id);
        request.changes.push_back(std::move(change));
    }
    const bool any_partial = !partial_records.empty();
    const auto result = m_http.PostCompressed(base + "/v1/push", Json(request).dump(), token);
    if (result.transport_error || result.status == 401 || result.status >= 500 || result.status == 413 ||
        result.status == 429) {
        Fail(report, result.Problem(base));
        return false;
    }
    if (!result.Ok() && any_partial && result.status == 400 && result.Problem(base).code == storage::errc::BAD_REQUEST) {
        // A server that cannot read partial changes (put back to an older
        // version): it hears whole records from now on.
        m_vault.SetMeta(META_TAKES_FIELDS, "");
        return PushBatch(batch, report, base, token);
    }
    if (!result.Ok()) {
        // The server refused the request as a whole (a type it does not know,
        // a record it finds malformed): push one by one so the rest goes
        // through and the culprit is kept with the server's reason.
        if (batch.size() == 1) {
            const auto problem = result.Problem(base);
            m_vault.Records().RejectJournal(batch[0].seq, result.ErrorText(), problem.code, problem.params);
            ++report.rejected;
            return true;
        }
        for (const auto& e : batch)
            if (!PushBatch({e}, report, base, token)) return false;
        return true;
    }
    PushResponse response;
    if (!ParseAnswer(result.body, response, report, base)) return false;
    if (response.results.size() != batch.size()) {
        Fail(report, storage::errc::BAD_ANSWER,
             "the server answered for " + std::to_string(response.results.size()) + " of " +
                 std::to_string(batch.size()) + " changes",
             {{"server", base}});
        return false;
    }
    for (size_t i = 0; i < batch.size(); ++i)
        if (response.results[i].change_id != batch[i].change_id) {
            Fail(report, storage::errc::BAD_ANSWER, "the server answered out of order", {{"server", base}});
            return false; // nothing acknowledged
        }
    // "Send whole" comes first for a partial change, then for every change
    // after it (headquarters took nothing from there on), never otherwise:
    // else the same request could be asked for again and again.
    size_t tail = batch.size();
    for (size_t i = 0; i < batch.size(); ++i) {
        const bool again = response.results[i].status == ItemStatus::SendWhole;
        if (tail == batch.size() ? again && !partial[i] : !again) {
            Fail(report, storage::errc::BAD_ANSWER, "the server asked for whole records out of turn",
                 {{"server", base}});
            return false; // nothing acknowledged
        }
        if (again && tail == batch.size()) tail = i;
    }
    if (response.takes_fields != takes_fields) m_vault.SetMeta(META_TAKES_FIELDS, response.takes_fields ? base : "");
    // Rows leave the outbox only now, after HQ said its commit is durable.
    std::vector<storage::JournalEntry> whole;
    m_vault.Records().Atomically([&] {
        for (size_t i = 0; i < batch.size(); ++i) {
            const auto& r = response.results[i];
            if (r.status == ItemStatus::SendWhole) {
                // Nothing was taken from here on, not even the change ids:
                // the same changes go again, in order, whole; the one that
                // could not be rebuilt stays whole.
                if (i == tail) m_vault.Records().SendJournalWhole(batch[i].seq);
                whole.push_back(batch[i]);
                whole.back().fields = nullptr;
            } else if (r.status == ItemStatus::Rejected) {
                m_vault.Records().RejectJournal(batch[i].seq, r.reason, r.code, r.params);
                ++report.rejected;
            } else {
                m_vault.Records().AcknowledgeJournal(batch[i].seq);
                ++report.acknowledged;
                if (r.status == ItemStatus::Conflict) ++report.conflicts;
            }
        }
    });
    if (!whole.empty()) return PushBatch(whole, report, base, token);
    return true;
}

bool SyncClient::UploadBlobs(SyncReport& report, const std::string& base, const std::string& token) {
    storage::BlobStore blobs(m_vault);
    const auto waiting = blobs.List(true);
    m_progress.phase = SyncProgress::Phase::Blobs;
    for (const auto& blob : waiting) m_progress.blob_bytes_total += blob.size;
    Report();
    int64_t done_before = 0; // bytes of the blobs already handled in this cycle
    for (const auto& blob : waiting) {
        const std::string url = base + "/v1/blobs/" + blob.sha256;
        // Ask first: a cut upload resumes where HQ's copy stops.
        const auto status = m_http.Get(url, token);
        if (!status.Ok()) {
            Fail(report, status.Problem(base));
            return false;
        }
        Json answer;
        if (!ParseAnswer(status.body, answer, report, base)) return false;
        int64_t have = answer.value("have", int64_t{-1});
        bool complete = answer.value("complete", false);
        if (have < 0 || have > blob.size) {
            Fail(report, storage::errc::BAD_ANSWER,
                 "the server's answer about blob " + blob.sha256 + " was not understood", {{"server", base}});
            return false;
        }
        std::string piece;
        bool failed = false;
        bool damaged = false;
        const auto send = [&]() {
            const auto r = m_http.Put(url + "?offset=" + std::to_string(have) + "&total=" + std::to_string(blob.size),
                                      piece, token);
            if (!r.Ok()) {
                Fail(report, r.Problem(base));
                failed = true;
                return false;
            }
            report.blob_bytes_sent += static_cast<int64_t>(piece.size());
            have += static_cast<int64_t>(piece.size());
            m_progress.blob_bytes_done = done_before + have;
            Report();
            const auto answer = storage::ParseUntrustedJsonOrDiscard<Json>(r.body);
            complete = answer.is_object() && answer.value("complete", false);
            piece.clear();
            return !m_cancel.load();
        };
        if (!complete) {
            if (blob.size == 0) {
                send();
            } else {
                try {
                    blobs.Read(blob.sha256, have, [&](const char* data, size_t size) {
                        piece.append(data, size);
                        return piece.size() < BLOB_PUT_BYTES || send();
                    });
                } catch (const storage::BlobDamaged& e) {
                    // One damaged file must not hold back the others, nor the
                    // records: it is set aside and the cycle goes on.
                    blobs.MarkDamaged(blob.sha256, e.what());
                    report.damaged.push_back(e.what());
                    damaged = true;
                }
                if (!failed && !damaged && !piece.empty()) send();
            }
        }
        if (failed) return false;
        if (damaged) {
            done_before += blob.size;
            continue;
        }
        if (m_cancel) {
            Fail(report, storage::errc::CANCELLED, "cancelled");
            return false;
        }
        if (complete) {
            blobs.MarkUploaded(blob.sha256);
            ++report.blobs_uploaded;
        }
        done_before += blob.size;
        m_progress.blob_bytes_done = done_before;
        Report();
    }
    return true;
}

DownloadReport SyncClient::DownloadBlob(const std::string& sha256, const DownloadOptions& options) {
    DownloadReport report;
    std::string server, token;
    std::optional<storage::BlobWriter> writer;
    storage::BlobStore blobs(m_vault);
    const auto fail = [&](storage::ErrorValue problem) {
        report.ok = false;
        report.error = std::move(problem.words);
        report.error_code = std::move(problem.code);
        report.error_params = problem.params.is_object() ? std::move(problem.params) : Json::object();
        // A part that holds nothing is not worth keeping for next time.
        try {
            if (writer && writer->Size() == 0) writer->Abandon(blobs);
        } catch (const std::exception&) {
            // Dropped by the next download of it, or of any other.
        }
        writer.reset();
        return report;
    };
    const auto progress = [&](int64_t done) {
        if (options.progress) options.progress(done, std::max<int64_t>(report.size, 0));
    };
    try {
        if (!IsSha256Hex(sha256))
            return fail({storage::errc::BAD_BLOB_NAME, {}, "a file is named by 64 lower-case hex digits"});
        SyncReport credentials;
        if (!Credentials(credentials, server, token))
            return fail({credentials.error_code, credentials.error_params, credentials.error});
        if (const auto held = blobs.Find(sha256)) {
            report.ok = report.already_here = true;
            report.size = held->size;
            progress(held->size);
            return report;
        }
        DropUnnamedDownloads(m_vault);
        const storage::ErrorValue not_named{storage::errc::NO_SUCH_BLOB,
                                            {},
                                            "no record on this device names file " + sha256 +
                                                " (it may have been erased); it was not kept"};
        // Audio kept here goes with the last record that names it (a
        // consent withdrawn erases it): a blob no record names would stay.
        if (!NamedByLiveRecord(m_vault, sha256)) return fail(not_named);

        const std::string owner = DOWNLOAD_OWNER + sha256;
        crypto_hash_sha256_state hash;
        crypto_hash_sha256_init(&hash);
        std::vector<std::string> earlier;
        for (const auto& part : blobs.Parts())
            if (part.owner == owner) earlier.push_back(part.file);
        writer.emplace(blobs.Begin(owner));
        if (!earlier.empty()) {
            // What a download cut short kept, up to its last durable byte:
            // copied into this part (a part is not reopened for writing),
            // hashed on the way, and not asked for again.
            std::vector<unsigned char> buffer(64 * 1024);
            try {
                auto reader = blobs.OpenPart(earlier.back());
                for (int64_t at = 0; at < reader.Size();) {
                    const size_t n = reader.ReadAt(at, buffer.data(), buffer.size());
                    if (n == 0) break;
                    writer->Write(buffer.data(), n);
                    crypto_hash_sha256_update(&hash, buffer.data(), n);
                    at += static_cast<int64_t>(n);
                }
            } catch (const storage::BlobDamaged&) {
                // Unreadable: start again from nothing.
                writer->Abandon(blobs);
                writer.reset();
                writer.emplace(blobs.Begin(owner));
                crypto_hash_sha256_init(&hash);
            }
            sodium_memzero(buffer.data(), buffer.size());
            writer->Flush();
            for (const auto& file : earlier) blobs.DropPart(file);
            report.resumed_from = writer->Size();
        }
        progress(writer->Size());

        const std::string url = server + "/v1/blobs/" + sha256 + "/data?offset=";
        int retries = std::max(0, options.retries);
        const auto keep_nothing = [&](storage::ErrorValue problem) {
            writer->Abandon(blobs);
            writer.reset();
            return fail(std::move(problem));
        };
        const auto bad_answer = [&] {
            return fail({storage::errc::BAD_ANSWER,
                         {{"server", server}},
                         "headquarters' answer for file " + sha256 + " was not understood"});
        };
        int64_t total = -1; // the blob's size, once headquarters has said
        for (;;) {
            if (total >= 0 && writer->Size() == total) break;
            if (m_cancel) {
                writer->Flush();
                return fail({storage::errc::CANCELLED, {}, "cancelled"});
            }
            const int64_t offset = writer->Size();
            ++report.requests;
            int64_t got = 0;
            size_t unflushed = 0;
            bool bad = false;
            std::optional<ContentRange> range;
            std::exception_ptr failure; // nothing may be thrown through libcurl
            const auto result = m_http.GetStreaming(
                url + std::to_string(offset), token,
                [&](const std::map<std::string, std::string>& headers, const char* data, size_t size) {
                    if (!range) {
                        const auto it = headers.find("content-range");
                        if (it != headers.end()) range = ParseContentRange(it->second);
                        if (!range || range->first != offset || range->total > MAX_DOWNLOAD_BYTES ||
                            (total >= 0 && range->total != total)) {
                            bad = true;
                            return false;
                        }
                        total = report.size = range->total;
                    }
                    if (got + static_cast<int64_t>(size) > range->last - range->first + 1) {
                        bad = true; // more than it said it would send
                        return false;
                    }
                    try {
                        writer->Write(data, size);
                    } catch (...) {
                        failure = std::current_exception();
                        return false;
                    }
                    crypto_hash_sha256_update(&hash, reinterpret_cast<const unsigned char*>(data), size);
                    got += static_cast<int64_t>(size);
                    unflushed += size;
                    if (unflushed >= DOWNLOAD_FLUSH_BYTES) {
                        // Durable as it comes: a killed app resumes from here.
                        try {
                            writer->Flush();
                        } catch (...) {
                            failure = std::current_exception();
                            return false;
                        }
                        unflushed = 0;
                    }
                    report.received += static_cast<int64_t>(size);
                    progress(offset + got);
                    return true;
                });
            // What arrived is durable before anything else happens.
            if (got > 0) writer->Flush();
            if (failure) std::rethrow_exception(failure);
            if (bad) return bad_answer();
            if (result.transport_error) {
                // A connection that broke after it brought bytes is asked again from there.
                if (got > 0 && retries-- > 0 && !m_cancel) continue;
                return fail(result.Problem(server));
            }
            if (result.status == 404) return keep_nothing(result.Problem(server)); // erased, or not this device's
            if (!result.Ok()) return fail(result.Problem(server));                 // busy, say: what came is kept
            if (!range) {
                // No bytes came: the answer must say the blob ends here.
                const auto it = result.headers.find("content-range");
                if (it != result.headers.end()) range = ParseContentRange(it->second);
                if (!range || range->first >= 0 || range->total != offset || (total >= 0 && range->total != total))
                    return bad_answer();
                total = report.size = range->total;
                break;
            }
            if (got != range->last - range->first + 1) return bad_answer();
        }
        unsigned char digest[crypto_hash_sha256_BYTES];
        crypto_hash_sha256_final(&hash, digest);
        if (storage::HexEncode(digest, sizeof digest) != sha256)
            return keep_nothing(
                {storage::errc::DOWNLOAD_DAMAGED,
                 {{"server", server}},
                 "the file received from headquarters does not hash to " + sha256 + "; nothing of it was kept"});
        bool named = false;
        m_vault.Records().Atomically([&] {
            // A withdrawal pulled meanwhile erased the record: nothing is kept.
            named = NamedByLiveRecord(m_vault, sha256);
            if (!named) return;
            (void)writer->Finish(blobs);
            // Headquarters has it: sync never sends it back.
            blobs.MarkUploaded(sha256);
        });
        if (!named) return keep_nothing(not_named);
        writer.reset();
        report.ok = true;
        return report;
    } catch (const std::exception& e) {
        // A full disk, say: what was received stays in the part for next time.
        return fail({storage::errc::SYNC_STOPPED, {}, std::string("the download stopped on this device: ") + e.what()});
    }
}

bool SyncClient::Pull(SyncReport& report, const std::string& base, const std::string& token) {
    int64_t cursor = std::stoll(m_vault.GetMeta(META_CURSOR).value_or("0"));
    m_progress.phase = SyncProgress::Phase::Pull;
    Report();
    while (!m_cancel) {
        const auto result = m_http.Get(base + "/v1/pull?since=" + std::to_string(cursor) + "&limit=500", token);
        if (!result.Ok()) {
            Fail(report, result.Problem(base));
            return false;
        }
        PullResponse page;
        if (!ParseAnswer(result.body, page, report, base)) return false;
        bool erased = false;
        std::vector<Json> applied;
        m_vault.Records().Atomically([&] {
            for (const auto& record : page.records) {
                try {
                    if (m_vault.Records().ApplyRemote(record)) {
                        ++report.pulled;
                        erased = erased || record.contains("erased_for");
                        applied.push_back(record);
                    }
                } catch (const storage::RecordError& e) {
                    // A record this version cannot store (a newer type, say) is
                    // skipped, not fatal: the next version will pull it again.
                    const auto id = record.value("id", std::string("?"));
                    const Json skipped = {{"code", storage::errc::RECORD_SKIPPED},
                                          {"params", {{"id", id}, {"type", record.value("type", std::string("?"))}}},
                                          {"cause", {{"code", e.Code()}, {"params", e.Params()}}},
                                          {"words", e.what()}};
                    m_vault.SetMeta(std::string(META_SKIPPED) + id, skipped.dump());
                }
            }
            for (const auto& c : page.conflicts) m_vault.Records().AddConflict(Json(c));
            cursor = page.next;
            m_vault.SetMeta(META_CURSOR, std::to_string(cursor));
            // A consent withdrawn elsewhere: what this device holds of that
            // participant is erased too, and the erasures go out next push.
            capture::FollowWithdrawals(m_vault.Records(), applied);
            // A text edited elsewhere, or a coding made elsewhere on a text edited here: the codings
            // this device holds of that text move with the edit, or are flagged for review.
            std::set<std::string> texts;
            const auto& types = m_vault.Records().Types();
            for (const auto& record : applied) {
                if (record.value("deleted", false) || record.contains("erased_for")) continue;
                const auto* type = types.Find(record.value("type", std::string()));
                if (!type) continue;
                if (interpret::CodableField(*type)) texts.insert(record.value("id", std::string()));
                else if (type->name == interpret::CODING_TYPE) texts.insert(interpret::SourceOf(types, record).id);
            }
            for (const auto& id : texts) {
                if (id.empty() || !m_vault.Records().Get(id)) continue; // a text this device does not hold
                (void)interpret::FollowEdit(m_vault.Records(), id);
            }
            // Erased text leaves the search index's storage too.
            if (erased) m_vault.Records().PurgeErasedText();
        });
        m_progress.pulled = report.pulled;
        Report();
        if (!page.more) {
            DropUnnamedDownloads(m_vault);
            return true;
        }
    }
    Fail(report, storage::errc::CANCELLED, "cancelled");
    return false;
}

void SyncClient::Watch(const WatchOptions& options, const std::function<void(const SyncReport&)>& on_cycle) {
    storage::EnsureSodium();
    int failures = 0;
    while (!m_cancel) {
        const auto report = SyncOnce();
        on_cycle(report);
        std::chrono::milliseconds wait = options.interval;
        if (!report.ok && report.error_code != storage::errc::CANCELLED) {
            ++failures;
            auto backoff = options.first_backoff * (1LL << std::min(failures - 1, 16));
            if (backoff > options.max_backoff) backoff = options.max_backoff;
            // Jitter: between half and the whole backoff, so devices that lost
            // the network together do not all come back in the same second.
            const auto half = backoff.count() / 2;
            wait =
                std::chrono::milliseconds(half + (half > 0 ? randombytes_uniform(static_cast<uint32_t>(half + 1)) : 0));
        } else {
            failures = 0;
        }
        const auto until = std::chrono::steady_clock::now() + wait;
        while (!m_cancel && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

} // namespace escucha::sync
