// Headquarters' endpoints, apart from any transport: a request in, an answer
// out. The HTTP server (hq_server.h) reads requests off sockets under
// deadlines and hands them here; tests and the fuzz target call it directly.
//
// A request is handled in two steps, so that nothing large is read from a
// caller who may not send it:
//   Admit()  with the request line and headers only: the route, the caller's
//            token, Content-Type and the largest body this endpoint takes;
//   Handle() with the whole body, for an admitted request.
//
// Every refusal is {"error": "<words>", "code": "<code>"} with a 4xx status;
// `code` is stable and meant for programs, the words for people.
//
// Thread contract: thread-safe (the store and blob store are; the per-address
// failure counts have their own mutex).
#pragma once

#include "escucha/storage/clock.h"
#include "escucha/storage/error_code.h"
#include "escucha/storage/records.h"
#include "escucha/sync/hq_blobs.h"
#include "escucha/sync/hq_store.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace escucha::sync {

// [SECTION] Rules

/// The whole change a partial one (IsPartial) stands for: its members laid
/// over the record it was made on, which is `base` (the stored revision
/// `base_rev`) or `current` when that is its revision, and kept only when
/// the result has the change's digest, so that it is the record the device
/// holds. Nullopt (the device is asked for it whole) when the record is not
/// there, is deleted, is of another type or project, or is one the device
/// may not read (all alike: a device learns nothing of such a record), or
/// when the rebuilt record is not the device's (docs/decisions/0027).
[[nodiscard]] std::optional<Change> RebuildPartial(const storage::Catalogue& catalogue, const DeviceInfo& device,
                                                   const Change& change, const StoredRecord* current, const Json* base);

/// Decides what a change does to the record HQ holds: the merge rules.
/// `current` is the record with this id in the device's project (null when
/// new). Refuses a change whose type differs from the stored record's, and
/// any change to a record the device may not read, saying nothing of it.
/// `cause` is the record a deletion names as its reason (`erased_for`: a
/// withdrawn consent), when HQ holds it in the device's project: any device
/// of the project may then erase what the participant gave, and withdraw a
/// consent another device recorded (capture/operations.h says what follows).
/// Pure: exposed for tests.
[[nodiscard]] Decision DecideChange(const storage::Catalogue& catalogue, const DeviceInfo& device, const Change& change,
                                    const StoredRecord* current, const Json* base, const StoredRecord* cause = nullptr,
                                    const LookupFn& lookup = {});
/// Whether `device` may read a record of `type` created by `owner_device`:
/// asks capture::MaySee, the one place that decides what is shown to whom.
[[nodiscard]] bool MayRead(const storage::Catalogue& catalogue, const DeviceInfo& device, const std::string& type,
                           const std::string& owner_device);

/// MayRead for every type of the catalogue, as data a store's query filters
/// by (HqStore::Pull, MayReadBlob): the types `device` may read when it
/// wrote the record, and those it may read whoever wrote them.
[[nodiscard]] ReadScope ReadScopeFor(const storage::Catalogue& catalogue, const DeviceInfo& device);

/// How far ahead of HQ's clock a device's reading may be before its change is
/// refused: a clock set years ahead would otherwise drag every device's
/// clock with it and win every later merge. A day lets through phones whose
/// time zone is set wrong (up to 14 hours), not a date set wrong.
inline constexpr int64_t MAX_CLOCK_AHEAD_MS = 24LL * 60 * 60 * 1000;
/// Refusal codes of single changes (ItemResult::code): see storage/error_code.h.
inline constexpr const char* CODE_CLOCK_AHEAD = storage::errc::CLOCK_AHEAD;
/// The refusal of `change` because its clock readings are more than
/// MAX_CLOCK_AHEAD_MS past `hq_now_ms` (code clock_ahead, with device_time
/// and hq_time), or nullopt.
[[nodiscard]] std::optional<storage::ErrorValue> ClockTooFarAhead(const Change& change, int64_t hq_now_ms);

// [SECTION] Requests and answers

struct ApiRequest {
    std::string method; ///< "GET", "POST", "PUT", ...
    std::string path;   ///< without the query
    std::map<std::string, std::string> query;
    std::string authorization; ///< the Authorization header
    std::string content_type;
    std::string content_encoding;
    std::string peer; ///< the caller's address, for per-address limits
    std::string body;
    /// The Escucha-Waiting header (protocol.h) as sent; empty when absent,
    /// and when sent more than once (which is not taken either).
    std::string waiting = {};
    /// When its header had been read (the server sets it; a request made
    /// in process has none, and its time is not counted).
    std::optional<std::chrono::steady_clock::time_point> received = {};
};

struct ApiAnswer {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers = {}; ///< more headers (Content-Range)
};

/// Decodes a request body sent with Content-Encoding gzip (or x-gzip) into
/// the body itself, in steps, never holding more than `limit` decoded bytes
/// (a few KB that would inflate to gigabytes are refused as too_large when
/// the limit is passed); `reserve(n)`, when given, is asked before each step
/// of n more bytes is held, and false refuses the request as busy. nullopt:
/// the body is decoded (or was not encoded) and the encoding is now empty;
/// otherwise the refusal: unsupported_encoding (415) for another encoding,
/// bad_encoding (400) for a damaged, truncated or trailing-garbage stream.
[[nodiscard]] std::optional<ApiAnswer> DecodeBody(ApiRequest& request, size_t limit,
                                                  const std::function<bool(size_t)>& reserve = {});

/// Splits "a=1&b=x%20y" into its parameters (percent- and plus-decoded).
/// False when an escape is malformed or a name repeats.
[[nodiscard]] bool ParseQuery(const std::string& text, std::map<std::string, std::string>& out);

struct ApiLimits {
    size_t enrol_body = 4 * 1024; ///< a code, a UUID and a name
    size_t push_body = 32u * 1024 * 1024;
    size_t blob_body = 2 * BLOB_PUT_BYTES;
    size_t blob_piece = BLOB_GET_BYTES; ///< the most bytes of a blob one GET answers with
    size_t push_json_values = 300'000;  ///< values in one push body: 500 changes of 600
    int enrol_failures = 10;            ///< per address, per window
    std::chrono::seconds enrol_failure_window{15 * 60};
    std::function<int64_t()> clock = storage::SystemMillis; ///< HQ's clock, in ms (tests move it)
};

/// What Admit() decided about a request whose body has not been read.
struct Admission {
    std::optional<ApiAnswer> refusal; ///< answer this and close; the body is not read
    size_t body_limit = 0;            ///< the most body bytes to read
    std::optional<DeviceInfo> device; ///< the authenticated caller, when the route needs one
    /// The most answer bytes this request may get beyond a small JSON
    /// answer (a piece of a blob): the server holds them against the same
    /// budget as bodies, so many slow downloads cannot exhaust memory.
    size_t answer_limit = 0;
};

class HqApi {
public:
    /// Declares the catalogue's blob fields to `store` (HqStore::DeclareBlobFields).
    HqApi(HqStore& store, const storage::Catalogue& catalogue, HqBlobStore* blobs, ApiLimits limits = {});

    /// Decides from the request line and headers alone (`request.body` is
    /// ignored). `content_length` is what the caller declared, if it did.
    [[nodiscard]] Admission Admit(const ApiRequest& request, std::optional<uint64_t> content_length);
    /// Answers an admitted request whose body has been read in full.
    [[nodiscard]] ApiAnswer Handle(const ApiRequest& request, const Admission& admission);
    /// Both steps at once, for tests and the fuzz target.
    [[nodiscard]] ApiAnswer Serve(const ApiRequest& request);

    [[nodiscard]] const ApiLimits& Limits() const noexcept { return m_limits; }

private:
    Admission AdmitRoute(const ApiRequest& request, std::optional<uint64_t> content_length);
    /// `waiting` is the caller's waiting report; a push that reaches the
    /// store keeps it with its changes and empties it.
    ApiAnswer Route(const ApiRequest& request, const Admission& admission, std::optional<WaitingReport>& waiting);
    ApiAnswer Enrol(const ApiRequest& request);
    ApiAnswer Push(const ApiRequest& request, const DeviceInfo& device, std::optional<WaitingReport>& waiting);
    ApiAnswer Pull(const ApiRequest& request, const DeviceInfo& device);
    ApiAnswer BlobStatusRoute(const std::string& sha, const DeviceInfo& device);
    ApiAnswer BlobPut(const ApiRequest& request, const std::string& sha, const DeviceInfo& device);
    /// A piece of a whole blob, only for a device that may read a live
    /// record naming it; 404 no_such_blob otherwise, as for a missing one.
    ApiAnswer BlobData(const ApiRequest& request, const std::string& sha, const DeviceInfo& device);
    /// GET /v1/metrics, in Prometheus' text format: requests by route and
    /// status, how long answers took by route (a histogram, from a request's
    /// header read to its answer ready), refusals by code, records and blob bytes stored by project,
    /// each device's seconds since it last synced, and what each device
    /// last said it still had to send. Answered only to a
    /// caller on this machine (a scraper beside it, or through a tunnel):
    /// device ids and counts are nobody else's business.
    ApiAnswer Metrics();
    /// Counts `answer` to `request` for Metrics(), and returns it.
    ApiAnswer Counted(const ApiRequest& request, ApiAnswer answer);
    /// True when `peer` has failed enrolment too often lately.
    bool EnrolThrottled(const std::string& peer);
    void EnrolFailed(const std::string& peer);

    HqStore& m_store;
    const storage::Catalogue& m_catalogue;
    HqBlobStore* m_blobs;
    ApiLimits m_limits;

    struct Failures {
        int count = 0;
        int64_t window_start = 0;
    };
    std::mutex m_failures_mutex;
    std::map<std::string, Failures> m_enrol_failures;

    std::mutex m_metrics_mutex;
    std::map<std::pair<std::string, int>, int64_t> m_requests; ///< (route, status) -> answers
    std::map<std::string, int64_t> m_refusals;                 ///< code -> refusals
    /// Per route: answers counted by the first bound of LATENCY_BOUNDS their
    /// time fits under (the last slot: over every bound), and their sum.
    struct Latency {
        std::vector<int64_t> counts;
        double sum = 0;
    };
    std::map<std::string, Latency> m_latency;
};

/// Whether `peer` (an address as the server reports it) is this machine.
[[nodiscard]] bool IsLoopbackPeer(const std::string& peer);

/// A fresh enrolment code (e.g. "K7QF-M2XD-9PLA-3RTB"), to be given to one person.
[[nodiscard]] std::string NewEnrolmentCode();
/// A fresh device token (64 hex digits).
[[nodiscard]] std::string NewToken();

} // namespace escucha::sync
