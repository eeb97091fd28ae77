// The sync protocol: JSON over HTTPS under /v1, shared by client and server.
//
//   POST /v1/enrol          EnrolRequest  -> EnrolResponse       (no token)
//   POST /v1/push           PushRequest   -> PushResponse        (Bearer token)
//        a change carries the whole record ("body") or, for an edit of a
//        record headquarters has, only the members changed since its
//        base_rev ("fields", "removed", and "digest": RecordDigest of the
//        whole record) once HQ said "takes_fields"; HQ answers "send_whole"
//        when it cannot rebuild exactly that record
//   GET  /v1/pull?since=N&limit=M         -> PullResponse        (Bearer token)
//   GET  /v1/whoami                       -> DeviceInfo          (Bearer token)
//   GET  /v1/blobs/<sha256>               -> {"have", "complete", "size"}
//   PUT  /v1/blobs/<sha256>?offset=N&total=T  bytes -> {"have", "complete"}
//        409 {"error", "have"} when offset is not what HQ has; 422 when the
//        finished file does not hash to <sha256>
//   GET  /v1/blobs/<sha256>/data?offset=N  -> bytes (application/octet-stream)
//        at most BLOB_GET_BYTES from N, with "Content-Range: bytes N-M/T"
//        ("bytes */T" when N is T); only for a whole blob that a live record
//        this device may read names (a recording's audio_sha256): any other
//        answers 404 no_such_blob, as a blob HQ never had does
//
// Errors are {"error": "<words>", "code": "<stable code>"} with a 4xx or 5xx
// status; the codes are listed in storage/error_code.h. A refused change's
// ItemResult carries a code too, with its parameters ("params"). POST bodies are application/json, PUT bodies
// application/octet-stream; each endpoint has its own body limit (413).
// A device enrolling again sends its current token as Bearer; an id that is
// enrolled already is refused (409) without it.
// from_json uses at(): a missing or mistyped member throws json::exception,
// which the receiver turns into a 400 (code bad_request) in fixed words.
//
// Every request with a token may carry what the device still has to send,
// as it stands when that request is made:
//   Escucha-Waiting: changes=3; recordings=1; bytes=1234567
// changes: journal rows HQ has not acknowledged (refused ones included);
// recordings: recordings and photos not yet uploaded whole; bytes: their
// size. Items are name=value separated by ";" and optional spaces (at most
// 16 items, 512 bytes); values are whole numbers in decimal without sign or
// leading zero, at most MAX_WAITING_COUNT (changes, recordings) or
// MAX_WAITING_BYTES (bytes), and no bytes without recordings; each of the
// three names comes once; other names ([a-z][a-z0-9_-]*, each once, with a
// whole number) are passed over, so a newer device may say more. HQ ignores
// a header that breaks any of this, that comes more than once, or that comes
// without a live token, as it ignores a missing one: the request is answered
// as without it, and the last report kept stands (ParseWaitingHeader,
// docs/decisions/0026).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace escucha::sync {

using Json = nlohmann::ordered_json;

inline constexpr int PROTOCOL_VERSION = 1;
inline constexpr size_t MAX_PUSH_ITEMS = 500;
inline constexpr size_t MAX_REQUEST_BYTES = 32u * 1024 * 1024;
inline constexpr int MAX_PULL_LIMIT = 1000;
/// A pull page stops adding records past this many bytes of them (`more` is set).
inline constexpr size_t MAX_PULL_BYTES = 4u * 1024 * 1024;
/// Revisions count edits; past 2^53 a number is no longer exact in JSON.
inline constexpr int64_t MAX_REV = int64_t{1} << 53;
inline constexpr size_t BLOB_PUT_BYTES = 4u * 1024 * 1024; ///< what a client sends per PUT
inline constexpr size_t BLOB_GET_BYTES = 4u * 1024 * 1024; ///< the most HQ sends per GET of a blob's bytes
/// The request header that says what a device still has to send.
inline constexpr char WAITING_HEADER[] = "Escucha-Waiting";
/// The most changes or recordings a waiting report may count.
inline constexpr int64_t MAX_WAITING_COUNT = 1'000'000'000;
/// The most bytes a waiting report may count (a petabyte).
inline constexpr int64_t MAX_WAITING_BYTES = 1'000'000'000'000'000;

enum class Role { Researcher, Interpreter, Coordinator };
[[nodiscard]] const char* RoleName(Role role);
[[nodiscard]] std::optional<Role> ParseRole(const std::string& name);

struct EnrolRequest {
    std::string code;
    std::string device_id;
    std::string device_name;
};

struct EnrolResponse {
    std::string token;
    std::string project_id;
    std::string project_name;
    Role role = Role::Researcher;
    std::string person;
};

/// One journal row on the wire.
struct Change {
    std::string change_id;
    std::string record_type;
    std::string record_id;
    int64_t rev = 0;
    std::string op; ///< "upsert" or "delete"
    std::string hlc;
    Json body; ///< the whole record at `rev`; null when `fields` is sent instead
    /// The revision this change was made on: the record as headquarters
    /// last had it when the device began these edits. Several edits of one
    /// record made before a push travel as one change (docs/decisions/0018),
    /// so it may be below rev - 1. -1 when absent (older devices): rev - 1.
    int64_t base_rev = -1;
    /// Instead of `body`, for an upsert of a record headquarters has: the
    /// members that changed since `base_rev`, with their values at `rev`,
    /// and the members removed since (docs/decisions/0027). Headquarters
    /// rebuilds the record over its revision `base_rev`, or answers
    /// "send_whole" when it does not hold it. Null: `body` is sent.
    Json fields = nullptr;
    std::vector<std::string> removed = {};
    /// With `fields`: RecordDigest of the whole record at `rev` on the
    /// device. Headquarters takes a partial change only when the record it
    /// rebuilds has this digest, so what it stores is what the device holds.
    std::string digest = {};
};

/// True for a change that sends the members that changed, not the record.
[[nodiscard]] inline bool IsPartial(const Change& change) { return change.fields.is_object(); }
/// The record a partial change makes of `start` (the record at its base
/// revision): its members set and removed.
[[nodiscard]] Json ApplyFields(const Json& start, const Change& change);
/// Lower-case hex BLAKE2b-128 of a record's JSON with its members in name order
/// at every level, so that two equal records have one digest whatever order
/// their members were written in.
[[nodiscard]] std::string RecordDigest(const Json& record);

/// The revision `change` was made on (rev - 1 when the device did not say).
[[nodiscard]] inline int64_t BaseRev(const Change& change) {
    return change.base_rev >= 0 ? change.base_rev : change.rev - 1;
}

struct PushRequest {
    std::vector<Change> changes;
};

/// SendWhole: headquarters could not rebuild a partial change (it does not
/// hold its base revision) and took nothing; the device sends it again whole,
/// under the same change id.
enum class ItemStatus { Applied, Duplicate, Conflict, Rejected, SendWhole };
[[nodiscard]] const char* ItemStatusName(ItemStatus status);
[[nodiscard]] std::optional<ItemStatus> ParseItemStatus(const std::string& name);

struct ItemResult {
    std::string change_id;
    ItemStatus status = ItemStatus::Applied;
    std::string reason; ///< for conflict and rejected, in words
    int64_t server_seq = 0;
    std::string code;             ///< for a refusal, its stable code (storage/error_code.h, e.g. "clock_ahead")
    Json params = Json::object(); ///< that code's parameters (e.g. {"field": "withdrawn_at"})
};

struct PushResponse {
    std::vector<ItemResult> results;
    /// Headquarters takes partial changes (`Change::fields`); a device sends
    /// them only to one that said so.
    bool takes_fields = false;
};

/// Both versions of a field edited at the same time on two devices; the
/// record holds `kept`, and `other` waits for a person to merge.
struct ConflictInfo {
    int64_t seq = 0;
    std::string record_type;
    std::string record_id;
    std::string field;
    Json kept;
    Json other;
    std::string other_author;
    std::string other_device;
    std::string other_hlc;
};

struct PullResponse {
    std::vector<Json> records; ///< whole records, as the device stores them
    std::vector<ConflictInfo> conflicts;
    int64_t next = 0; ///< the cursor to ask from next time
    bool more = false;
};

struct DeviceInfo {
    std::string device_id;
    std::string project_id;
    std::string project_name;
    Role role = Role::Researcher;
    std::string person;
};

/// What a device still has to send when it makes a request (the
/// Escucha-Waiting header).
struct WaitingReport {
    int64_t changes = 0;    ///< journal rows headquarters has not acknowledged, refused ones included
    int64_t recordings = 0; ///< recordings and photos not yet uploaded whole
    int64_t bytes = 0;      ///< their size
    [[nodiscard]] bool Empty() const noexcept { return changes == 0 && recordings == 0; }
    bool operator==(const WaitingReport&) const = default;
};

/// The header's value for `report` ("changes=3; recordings=1; bytes=1234567").
[[nodiscard]] std::string FormatWaitingHeader(const WaitingReport& report);
/// The report a header's value gives, or nullopt for anything that does not
/// follow the grammar above to the letter, or whose numbers are out of
/// bounds or disagree (bytes without recordings). Never throws.
[[nodiscard]] std::optional<WaitingReport> ParseWaitingHeader(std::string_view value);

void to_json(Json& j, const EnrolRequest& v);
void from_json(const Json& j, EnrolRequest& v);
void to_json(Json& j, const EnrolResponse& v);
void from_json(const Json& j, EnrolResponse& v);
void to_json(Json& j, const Change& v);
void from_json(const Json& j, Change& v);
void to_json(Json& j, const PushRequest& v);
void from_json(const Json& j, PushRequest& v);
void to_json(Json& j, const ItemResult& v);
void from_json(const Json& j, ItemResult& v);
void to_json(Json& j, const PushResponse& v);
void from_json(const Json& j, PushResponse& v);
void to_json(Json& j, const ConflictInfo& v);
void from_json(const Json& j, ConflictInfo& v);
void to_json(Json& j, const PullResponse& v);
void from_json(const Json& j, PullResponse& v);
void to_json(Json& j, const DeviceInfo& v);
void from_json(const Json& j, DeviceInfo& v);

} // namespace escucha::sync
