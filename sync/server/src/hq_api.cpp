// [SECTION] Rules
// [SECTION] Helpers
// [SECTION] Admission
// [SECTION] Endpoints
#include "escucha/sync/hq_api.h"

#include "escucha/capture/access.h"
#include "escucha/capture/operations.h"

#include "escucha/storage/json.h"
#include "escucha/storage/secret.h"

#include <sodium.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <iterator>
#include <cstdio>
#include <set>
#include <utility>

namespace escucha::sync {

// [SECTION] Rules

namespace {

Json FieldOr(const Json& record, const std::string& field) { return record.contains(field) ? record[field] : Json(); }

Decision Reject(std::string reason, std::string code, Json params = Json::object()) {
    return {ItemStatus::Rejected, std::move(reason), {}, {}, std::move(code), std::move(params)};
}

} // namespace

bool MayRead(const storage::Catalogue& catalogue, const DeviceInfo& device, const std::string& type,
             const std::string& owner_device) {
    capture::Reader reader = capture::Reader::FieldResearcher;
    if (owner_device == device.device_id) reader = capture::Reader::OwnDevice;
    else if (device.role == Role::Coordinator) reader = capture::Reader::Coordinator;
    else if (device.role == Role::Interpreter) reader = capture::Reader::Interpreter;
    return capture::MaySee(catalogue.Find(type), reader);
}

ReadScope ReadScopeFor(const storage::Catalogue& catalogue, const DeviceInfo& device) {
    ReadScope scope{device.device_id, {}, {}};
    // Another device's id: never this one's, whatever the ids in the store.
    const std::string other = device.device_id + "/other";
    for (const auto& type : catalogue.Types()) {
        if (MayRead(catalogue, device, type.name, device.device_id)) scope.own_types.push_back(type.name);
        if (MayRead(catalogue, device, type.name, other)) scope.shared_types.push_back(type.name);
    }
    return scope;
}

std::optional<storage::ErrorValue> ClockTooFarAhead(const Change& change, int64_t hq_now_ms) {
    // The change's reading and the body's own: a device may send either ahead.
    for (const auto& text : {change.hlc, change.body.value("updated_at", std::string())}) {
        const auto t = storage::HlcTimestamp::Parse(text);
        if (t && t->millis > hq_now_ms + MAX_CLOCK_AHEAD_MS) {
            const auto device_time = storage::FormatIsoMillis(t->millis), hq_time = storage::FormatIsoMillis(hq_now_ms);
            return storage::ErrorValue{CODE_CLOCK_AHEAD,
                                       {{"device_time", device_time}, {"hq_time", hq_time}},
                                       "this device's clock says " + device_time +
                                           ", more than a day ahead of headquarters (" + hq_time +
                                           "); set the device's date and time, then edit the record again"};
        }
    }
    return std::nullopt;
}

/// What is wrong with a whole change's record against the change and the
/// device (an HTTP status and a code with its words), if anything.
std::optional<std::pair<int, storage::ErrorValue>> BodyProblem(const Change& c, const DeviceInfo& device) {
    const auto bad = [](std::string words) {
        return std::make_pair(400, storage::ErrorValue{storage::errc::BAD_CHANGE, {}, std::move(words)});
    };
    if (!c.body.is_object()) return bad("body must be a JSON object");
    // A member's text, or empty when it is missing or not text: never a throw
    // (this runs inside a store's transaction for a rebuilt record).
    const auto text = [&](const char* key) {
        const auto it = c.body.find(key);
        return it != c.body.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (text("id") != c.record_id || text("type") != c.record_type || !c.body.contains("rev") ||
        c.body["rev"] != c.rev)
        return bad("body does not match record_id, record_type and rev");
    for (const char* key : {"created_at", "updated_at", "author", "device"})
        if (!c.body.contains(key) || !c.body[key].is_string()) return bad(std::string("body.") + key + " must be text");
    const auto project = c.record_type == "project" ? c.record_id : text("project_id");
    if (project != device.project_id)
        return std::make_pair(403, storage::ErrorValue{storage::errc::OTHER_PROJECT, {}, "this device may write only to its own project"});
    return std::nullopt;
}

std::optional<Change> RebuildPartial(const storage::Catalogue& catalogue, const DeviceInfo& device,
                                     const Change& change, const StoredRecord* current, const Json* base) {
    // A record the device may not read answers as one that is not there: a
    // partial change learns nothing of it, not even that it exists.
    if (!current || current->deleted || change.op != "upsert" || current->record_type != change.record_type ||
        current->project_id != device.project_id ||
        !MayRead(catalogue, device, current->record_type, current->owner_device))
        return std::nullopt;
    const Json* start = base;
    if (!start && current->rev == BaseRev(change)) start = &current->body;
    if (!start || !start->is_object()) return std::nullopt;
    Change whole = change;
    whole.body = ApplyFields(*start, change);
    // Not what the device holds (its version of the base revision was not
    // this one: revisions are counted per device): sent whole instead.
    if (RecordDigest(whole.body) != change.digest) return std::nullopt;
    whole.fields = nullptr;
    whole.removed.clear();
    whole.digest.clear();
    return whole;
}

Decision DecideChange(const storage::Catalogue& catalogue, const DeviceInfo& device, const Change& change,
                      const StoredRecord* current, const Json* base, const StoredRecord* cause,
                      const LookupFn& lookup) {
    const auto* type = catalogue.Find(change.record_type);
    if (!type)
        return Reject("unknown record type '" + change.record_type + "'", storage::errc::UNKNOWN_TYPE,
                      {{"type", change.record_type}});

    // The stored record decides which rules apply, never the type a change
    // claims; and a device learns nothing of a record it may not read, not
    // even that it exists under that id.
    if (current && (current->record_type != change.record_type || current->project_id != device.project_id ||
                    !MayRead(catalogue, device, current->record_type, current->owner_device)))
        return Reject("this device may not change record " + change.record_id, storage::errc::NOT_ALLOWED);
    // A participant's withdrawal reaches everything they gave that this
    // device may read, whichever device recorded it.
    if (change.op == "delete" && current && cause && current->project_id == device.project_id &&
        current->record_type == change.record_type && cause->project_id == device.project_id && !current->deleted &&
        capture::ErasureFollowsWithdrawal(catalogue, current->body, cause->body, lookup)) {
        Json body = change.body;
        body["rev"] = std::max(current->rev + 1, change.rev);
        body["device"] = device.device_id;
        return {ItemStatus::Applied, "", body, {}, {}};
    }
    Json body = change.body;
    if (change.op == "upsert") {
        try {
            const auto normal = storage::NormaliseRecord(*type, body, false);
            for (auto it = normal.begin(); it != normal.end(); ++it) body[it.key()] = it.value();
        } catch (const storage::RecordError& e) {
            return Reject(e.what(), e.Code(), e.Params());
        }
    }
    if (change.record_type == "project" && device.role != Role::Coordinator)
        return Reject("only a coordinator changes the project itself", storage::errc::COORDINATOR_ONLY);
    if (current && !type->shared_edit && current->owner_device != device.device_id &&
        device.role != Role::Coordinator &&
        !(change.op == "upsert" && !current->deleted && capture::IsConsentWithdrawal(current->body, body)))
        return Reject("only the device that created this " + type->name + " edits it", storage::errc::CREATOR_ONLY,
                      {{"type", type->name}});
    if (!current) {
        body["device"] = device.device_id;
        return {ItemStatus::Applied, "", body, {}, {}};
    }
    if (current->deleted) {
        if (change.op == "delete") return {ItemStatus::Applied, "", current->body, {}, {}};
        return Reject("this " + type->name + " was deleted at headquarters; the change was not applied",
                      storage::errc::DELETED_AT_HQ, {{"type", type->name}});
    }
    const int64_t next_rev = std::max(current->rev + 1, change.rev);
    if (change.op == "delete") {
        // A deletion (a consent withdrawal, say) wins over concurrent edits.
        body["rev"] = next_rev;
        body["device"] = device.device_id;
        return {ItemStatus::Applied, "", body, {}, {}};
    }
    if (BaseRev(change) >= current->rev) {
        // Based on what HQ holds: the device saw every earlier change.
        body["device"] = device.device_id;
        return {ItemStatus::Applied, "", body, {}, {}};
    }
    // Concurrent: merge field by field against the common base revision.
    const Json& cur = current->body;
    const Json empty = Json::object();
    const Json& ancestor = base ? *base : empty;
    const bool incoming_newer = change.hlc > current->hlc;
    Json merged = cur;
    std::vector<ConflictInfo> conflicts;
    std::set<std::string> fields;
    for (const auto& f : type->fields) fields.insert(f.name);
    for (const auto& field : fields) {
        const Json mine = FieldOr(body, field), theirs = FieldOr(cur, field), was = FieldOr(ancestor, field);
        const bool i_changed = mine != was, they_changed = theirs != was;
        if (!i_changed || mine == theirs) continue;
        if (!they_changed) {
            if (mine.is_null()) merged.erase(field);
            else merged[field] = mine;
            continue;
        }
        // Both sides changed the field differently: keep both, no edit lost.
        const Json kept = incoming_newer ? mine : theirs;
        const Json other = incoming_newer ? theirs : mine;
        if (kept.is_null()) merged.erase(field);
        else merged[field] = kept;
        conflicts.push_back({0, type->name, change.record_id, field, kept, other,
                             incoming_newer ? cur.value("author", "") : body.value("author", ""),
                             incoming_newer ? cur.value("device", "") : device.device_id,
                             incoming_newer ? current->hlc : change.hlc});
    }
    // Newer than both sides: the device takes the merge at its next pull
    // even when its own change, several edits made as one, had a higher rev.
    merged["rev"] = std::max(current->rev, change.rev) + 1;
    merged["updated_at"] = std::max(change.hlc, current->hlc);
    merged["device"] = device.device_id;
    if (conflicts.empty()) return {ItemStatus::Applied, "", merged, {}, {}};
    std::string reason = "edited at the same time elsewhere; both versions kept for: ";
    for (size_t i = 0; i < conflicts.size(); ++i) reason += (i ? ", " : "") + conflicts[i].field;
    return {ItemStatus::Conflict, reason, merged, conflicts, {}};
}

std::string NewEnrolmentCode() {
    storage::EnsureSodium();
    static constexpr char ALPHABET[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    std::string code;
    for (int i = 0; i < 16; ++i) {
        if (i && i % 4 == 0) code.push_back('-');
        code.push_back(ALPHABET[randombytes_uniform(32)]);
    }
    return code;
}

std::string NewToken() {
    storage::EnsureSodium();
    unsigned char bytes[32];
    randombytes_buf(bytes, sizeof bytes);
    return storage::HexEncode(bytes, sizeof bytes);
}

// [SECTION] Helpers

namespace {

/// A refusal: {"error": words, "code": code}, and "params" when the code has any.
ApiAnswer Error(int status, const std::string& code, const std::string& message, Json params = Json::object()) {
    Json body{{"error", message}, {"code", code}};
    if (params.is_object() && !params.empty()) body["params"] = std::move(params);
    return {status, body.dump(), "application/json"};
}

ApiAnswer Ok(const Json& body) { return {200, body.dump(), "application/json"}; }

/// Parses a request body as a JSON object; on failure `refusal` holds the answer.
std::optional<Json> ParseBody(const std::string& text, size_t max_values, std::optional<ApiAnswer>& refusal) {
    Json json;
    try {
        json = storage::ParseUntrustedJson<Json>(text, storage::MAX_JSON_DEPTH, max_values);
    } catch (const storage::JsonTooDeep& e) {
        refusal = Error(400, "json_too_deep", "the request body is nested too deeply");
        return std::nullopt;
    } catch (const storage::JsonTooLarge& e) {
        refusal = Error(413, "json_too_large", "the request body holds too many values");
        return std::nullopt;
    } catch (const Json::exception&) {
        refusal = Error(400, "bad_json", "the request body is not valid JSON");
        return std::nullopt;
    }
    if (!json.is_object()) {
        refusal = Error(400, "bad_json", "the request body must be a JSON object");
        return std::nullopt;
    }
    return json;
}

template <typename T>
std::optional<T> ParseRequest(const std::string& text, size_t max_values, const char* what,
                              std::optional<ApiAnswer>& refusal) {
    const auto json = ParseBody(text, max_values, refusal);
    if (!json) return std::nullopt;
    try {
        return json->get<T>();
    } catch (const Json::exception&) {
        // The parser's message would quote the request back; fixed words say enough.
        refusal =
            Error(400, "bad_request", std::string("the ") + what + " lacks a member or has one of the wrong kind");
        return std::nullopt;
    }
}

std::string BearerToken(const std::string& header) {
    constexpr std::string_view PREFIX = "Bearer ";
    if (header.size() <= PREFIX.size() || header.compare(0, PREFIX.size(), PREFIX) != 0) return {};
    return header.substr(PREFIX.size());
}

/// The media type without parameters, lower-case: "application/json; charset=utf-8" -> "application/json".
std::string MediaType(const std::string& header) {
    std::string type = header.substr(0, header.find(';'));
    while (!type.empty() && type.back() == ' ') type.pop_back();
    for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return type;
}

int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool Decode(std::string_view in, std::string& out) {
    out.clear();
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') {
            out.push_back(' ');
        } else if (in[i] == '%') {
            if (i + 2 >= in.size()) return false;
            const int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
            if (hi < 0 || lo < 0) return false;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return true;
}

/// A whole number from 0 to `max` written in decimal digits only.
std::optional<int64_t> WholeNumber(const std::map<std::string, std::string>& query, const std::string& name,
                                   int64_t max) {
    const auto it = query.find(name);
    if (it == query.end() || it->second.empty() || it->second.size() > 18) return std::nullopt;
    int64_t value = 0;
    for (char c : it->second) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    if (value > max) return std::nullopt;
    return value;
}

constexpr char BLOBS_PREFIX[] = "/v1/blobs/";
constexpr std::string_view DATA_SUFFIX = "/data";

/// The blob a /v1/blobs/ path names, and whether it asks for its bytes.
std::string BlobOfPath(const std::string& path, bool& data) {
    auto rest = path.substr(sizeof BLOBS_PREFIX - 1);
    data = rest.size() > DATA_SUFFIX.size() && rest.ends_with(DATA_SUFFIX);
    if (data) rest.resize(rest.size() - DATA_SUFFIX.size());
    return rest;
}

ApiAnswer NoSuchBlob() {
    return Error(404, storage::errc::NO_SUCH_BLOB, "headquarters holds no such file for this device");
}

enum class Encoding { Identity, Gzip, Other };

/// A Content-Encoding header as one coding; anything else (two codings, an
/// unknown one) is Other.
Encoding EncodingOf(const std::string& header) {
    std::string coding = header;
    for (auto& c : coding) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto first = coding.find_first_not_of(" \t");
    if (first == std::string::npos) return Encoding::Identity;
    coding = coding.substr(first, coding.find_last_not_of(" \t") + 1 - first);
    if (coding == "identity") return Encoding::Identity;
    if (coding == "gzip" || coding == "x-gzip") return Encoding::Gzip;
    return Encoding::Other;
}

ApiAnswer UnsupportedEncoding() {
    return Error(415, storage::errc::UNSUPPORTED_ENCODING,
                 "send the body uncompressed or gzip-compressed (Content-Encoding: identity or gzip)");
}

/// A zlib inflate stream, ended when dropped.
struct Inflater {
    z_stream zs{};
    bool ready = false;
    Inflater() {
        // 15 + 16: gzip only (not a bare zlib or deflate stream).
        ready = inflateInit2(&zs, 15 + 16) == Z_OK;
    }
    ~Inflater() {
        if (ready) inflateEnd(&zs);
    }
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
};

} // namespace

bool ParseQuery(const std::string& text, std::map<std::string, std::string>& out) {
    out.clear();
    size_t start = 0;
    while (start <= text.size()) {
        const auto end = std::min(text.find('&', start), text.size());
        const std::string_view pair(text.data() + start, end - start);
        if (!pair.empty()) {
            const auto eq = pair.find('=');
            std::string name, value;
            if (!Decode(pair.substr(0, eq), name)) return false;
            if (eq != std::string_view::npos && !Decode(pair.substr(eq + 1), value)) return false;
            if (!out.emplace(std::move(name), std::move(value)).second) return false;
        }
        start = end + 1;
    }
    return true;
}

std::optional<ApiAnswer> DecodeBody(ApiRequest& request, size_t limit, const std::function<bool(size_t)>& reserve) {
    const auto encoding = EncodingOf(request.content_encoding);
    if (encoding == Encoding::Identity) {
        request.content_encoding.clear();
        return std::nullopt;
    }
    if (encoding != Encoding::Gzip) return UnsupportedEncoding();
    const auto bad = [] {
        return Error(400, storage::errc::BAD_ENCODING, "the request body is not a whole gzip stream");
    };
    const auto too_large = [limit] {
        return Error(413, storage::errc::TOO_LARGE,
                     "the request is too large once uncompressed: at most " + std::to_string(limit) + " bytes here");
    };
    if (request.body.size() > UINT_MAX) return too_large();
    Inflater z;
    if (!z.ready) return Error(500, storage::errc::INTERNAL, "headquarters failed on this request; try again later");
    z.zs.next_in = reinterpret_cast<Bytef*>(request.body.data());
    z.zs.avail_in = static_cast<uInt>(request.body.size());
    // Decoded in pieces of fixed size: what is held grows with what the
    // stream really gives, never by doubling, and stops one byte past the limit.
    constexpr size_t STEP = 256 * 1024;
    std::vector<std::string> pieces;
    size_t total = 0;
    for (;;) {
        if (pieces.empty() || z.zs.avail_out == 0) {
            if (total > limit) return too_large();
            const size_t size = std::min(STEP, limit + 1 - total);
            if (reserve && !reserve(size))
                return Error(503, storage::errc::BUSY,
                             "headquarters is receiving a lot at once; the device tries again shortly");
            pieces.emplace_back(size, '\0');
            z.zs.next_out = reinterpret_cast<Bytef*>(pieces.back().data());
            z.zs.avail_out = static_cast<uInt>(size);
        }
        const uInt before = z.zs.avail_out;
        const int rc = inflate(&z.zs, Z_NO_FLUSH);
        total += before - z.zs.avail_out;
        if (rc == Z_STREAM_END) break;
        if (rc == Z_OK) continue;
        // Z_BUF_ERROR with output room left: the input ended before the
        // stream did (a truncated body). Anything else is damage.
        if (rc == Z_BUF_ERROR && z.zs.avail_out == 0) continue;
        return bad();
    }
    if (total > limit) return too_large();
    // One gzip member and nothing after it: trailing bytes are not ignored.
    if (z.zs.avail_in != 0) return bad();
    pieces.back().resize(pieces.back().size() - z.zs.avail_out);
    std::string decoded;
    decoded.reserve(total);
    for (auto& piece : pieces) {
        decoded += piece;
        std::string().swap(piece);
    }
    request.body.swap(decoded);
    request.content_encoding.clear();
    return std::nullopt;
}

// [SECTION] Admission

HqApi::HqApi(HqStore& store, const storage::Catalogue& catalogue, HqBlobStore* blobs, ApiLimits limits)
    : m_store(store), m_catalogue(catalogue), m_blobs(blobs), m_limits(std::move(limits)) {
    BlobFields fields;
    for (const auto& type : m_catalogue.Types())
        if (!type.blob_fields.empty()) fields[type.name] = type.blob_fields;
    m_store.DeclareBlobFields(fields);
}

Admission HqApi::Admit(const ApiRequest& request, std::optional<uint64_t> content_length) {
    auto a = AdmitRoute(request, content_length);
    if (a.refusal) a.refusal = Counted(request, std::move(*a.refusal));
    return a;
}

Admission HqApi::AdmitRoute(const ApiRequest& request, std::optional<uint64_t> content_length) {
    Admission a;
    const auto& path = request.path;
    const auto& method = request.method;
    enum class Body { None, Json, Bytes } body = Body::None;
    bool needs_token = true;
    if (path == "/v1/metrics" && !IsLoopbackPeer(request.peer)) {
        // Not served to the network: the same answer as for no such endpoint.
        a.refusal = Error(404, "no_such_endpoint", "no such endpoint");
        return a;
    }
    if (path == "/v1/health" || path == "/v1/pull" || path == "/v1/whoami" || path == "/v1/metrics") {
        if (method != "GET") {
            a.refusal = Error(405, "method_not_allowed", "use GET for this endpoint");
            return a;
        }
        needs_token = path != "/v1/health" && path != "/v1/metrics";
    } else if (path == "/v1/enrol" || path == "/v1/push") {
        if (method != "POST") {
            a.refusal = Error(405, "method_not_allowed", "use POST for this endpoint");
            return a;
        }
        body = Body::Json;
        needs_token = path == "/v1/push";
        a.body_limit = path == "/v1/enrol" ? m_limits.enrol_body : m_limits.push_body;
    } else if (path.rfind(BLOBS_PREFIX, 0) == 0) {
        bool data = false;
        (void)BlobOfPath(path, data);
        if (data) {
            if (method != "GET") {
                a.refusal = Error(405, "method_not_allowed", "use GET for a blob's bytes");
                return a;
            }
            a.answer_limit = m_limits.blob_piece;
        } else if (method == "PUT") {
            body = Body::Bytes;
            a.body_limit = m_limits.blob_body;
        } else if (method != "GET") {
            a.refusal = Error(405, "method_not_allowed", "use GET or PUT for blobs");
            return a;
        }
    } else {
        a.refusal = Error(404, "no_such_endpoint", "no such endpoint");
        return a;
    }
    if (content_length && *content_length > a.body_limit) {
        a.refusal = Error(413, "too_large",
                          body == Body::None
                              ? "this request takes no body"
                              : "the request is too large: at most " + std::to_string(a.body_limit) + " bytes here");
        return a;
    }
    // A JSON body may come gzip-compressed (decoded under the same limit by
    // DecodeBody); a blob's bytes are compressed audio and come as they are.
    if (const auto encoding = EncodingOf(request.content_encoding);
        encoding == Encoding::Other || (encoding == Encoding::Gzip && body != Body::Json)) {
        a.refusal = UnsupportedEncoding();
        return a;
    }
    if (body != Body::None) {
        const auto type = MediaType(request.content_type);
        const char* wanted = body == Body::Json ? "application/json" : "application/octet-stream";
        if (type != wanted) {
            a.refusal = Error(415, "unsupported_media_type", std::string("send this body as ") + wanted);
            return a;
        }
    }
    if (path == "/v1/enrol" && EnrolThrottled(request.peer)) {
        a.refusal = Error(429, "too_many_attempts",
                          "too many wrong enrolment codes from this address; wait a few minutes and check the code");
        return a;
    }
    if (needs_token) {
        const auto token = BearerToken(request.authorization);
        if (token.empty()) {
            a.refusal = Error(401, "no_token", "this request needs a device token (Authorization: Bearer ...)");
            return a;
        }
        a.device = m_store.Authenticate(HashSecret(token));
        if (!a.device) {
            a.refusal = Error(401, "unknown_token", "unknown or revoked device token; enrol the device again");
            return a;
        }
    }
    if (path.rfind(BLOBS_PREFIX, 0) == 0) {
        bool data = false;
        const auto sha = BlobOfPath(path, data);
        if (!IsSha256Hex(sha)) {
            a.refusal =
                Error(400, "bad_blob_name", "a blob is named by the SHA-256 of its content: 64 lower-case hex digits");
            return a;
        }
        if (!m_blobs) {
            a.refusal = Error(503, "no_blob_store", "this server keeps no blobs");
            return a;
        }
    }
    return a;
}

ApiAnswer HqApi::Serve(const ApiRequest& request) {
    const auto admission = Admit(request, request.body.size());
    if (admission.refusal) return *admission.refusal;
    return Handle(request, admission);
}

// [SECTION] Metrics

namespace {

/// The route a request counts under: a fixed set, so that no caller can
/// make the metrics grow by asking for paths that do not exist.
std::string RouteOf(const ApiRequest& request) {
    const auto& p = request.path;
    if (p == "/v1/health") return "health";
    if (p == "/v1/enrol") return "enrol";
    if (p == "/v1/push") return "push";
    if (p == "/v1/pull") return "pull";
    if (p == "/v1/whoami") return "whoami";
    if (p == "/v1/metrics") return "metrics";
    if (p.rfind(BLOBS_PREFIX, 0) == 0) {
        if (p.size() > 5 && p.compare(p.size() - 5, 5, "/data") == 0) return "blob_data";
        return request.method == "PUT" ? "blob_put" : "blob_status";
    }
    return "other";
}

/// Upper bounds, in seconds, of the latency histogram's buckets.
// Tenths of a second up to one: whether answers stay under a second is what
// matters to a village that syncs all at once.
constexpr double LATENCY_BOUNDS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
                                     0.7,   0.8,  0.9,   1,    1.25, 1.5, 2,   2.5, 5,   10};

/// A number as the text format wants it ("0.005", "1", "2.5"), whatever
/// the process's locale (a decimal comma would spoil the whole scrape), in
/// the fewest digits that read back as the same double.
std::string Number(double value) {
    char text[64];
    const auto end = std::to_chars(text, text + sizeof text, value).ptr;
    return std::string(text, end);
}

/// A label value with \, " and newlines escaped, as the text format wants.
std::string Label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

} // namespace

bool IsLoopbackPeer(const std::string& peer) {
    return peer == "::1" || peer.rfind("127.", 0) == 0 || peer.rfind("::ffff:127.", 0) == 0;
}

ApiAnswer HqApi::Counted(const ApiRequest& request, ApiAnswer answer) {
    std::string code;
    if (answer.status >= 400 && answer.content_type == "application/json") {
        const auto body = Json::parse(answer.body, nullptr, false);
        if (body.is_object() && body.contains("code") && body["code"].is_string()) code = body["code"];
    }
    const auto route = RouteOf(request);
    std::lock_guard lock(m_metrics_mutex);
    ++m_requests[{route, answer.status}];
    if (!code.empty()) ++m_refusals[code];
    if (request.received) {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - *request.received).count();
        auto& latency = m_latency[route];
        latency.counts.resize(std::size(LATENCY_BOUNDS) + 1);
        size_t slot = 0;
        while (slot < std::size(LATENCY_BOUNDS) && seconds > LATENCY_BOUNDS[slot]) ++slot;
        ++latency.counts[slot];
        latency.sum += seconds;
    }
    return answer;
}

ApiAnswer HqApi::Metrics() {
    std::string out;
    {
        std::lock_guard lock(m_metrics_mutex);
        out += "# HELP escucha_hq_requests_total Requests answered since start, by route and status.\n"
               "# TYPE escucha_hq_requests_total counter\n";
        for (const auto& [key, n] : m_requests)
            out += "escucha_hq_requests_total{route=\"" + key.first + "\",status=\"" + std::to_string(key.second) +
                   "\"} " + std::to_string(n) + "\n";
        out += "# HELP escucha_hq_request_duration_seconds Time from a request's header read to its answer ready, "
               "by route.\n# TYPE escucha_hq_request_duration_seconds histogram\n";
        for (const auto& [route, latency] : m_latency) {
            const auto name = "escucha_hq_request_duration_seconds";
            int64_t below = 0;
            for (size_t i = 0; i < latency.counts.size(); ++i) {
                below += latency.counts[i];
                const auto le = i < std::size(LATENCY_BOUNDS) ? Number(LATENCY_BOUNDS[i]) : std::string("+Inf");
                out += std::string(name) + "_bucket{route=\"" + route + "\",le=\"" + le + "\"} " +
                       std::to_string(below) + "\n";
            }
            out += std::string(name) + "_sum{route=\"" + route + "\"} " + Number(latency.sum) + "\n";
            out += std::string(name) + "_count{route=\"" + route + "\"} " + std::to_string(below) + "\n";
        }
        out += "# HELP escucha_hq_refusals_total Requests refused since start, by code.\n"
               "# TYPE escucha_hq_refusals_total counter\n";
        for (const auto& [code, n] : m_refusals)
            out += "escucha_hq_refusals_total{code=\"" + Label(code) + "\"} " + std::to_string(n) + "\n";
    }
    const int64_t now_ms = m_limits.clock();
    out += "# HELP escucha_hq_records Records stored, by project.\n# TYPE escucha_hq_records gauge\n";
    std::string lag = "# HELP escucha_hq_device_seconds_since_sync Seconds since each device last reached headquarters "
                      "(-1: never).\n# TYPE escucha_hq_device_seconds_since_sync gauge\n";
    // What devices said they still had to send; a device that never said
    // has no line (a -1 would spoil a sum over devices).
    std::string changes = "# HELP escucha_hq_device_waiting_changes Changes each device last said it had not had "
                          "acknowledged.\n# TYPE escucha_hq_device_waiting_changes gauge\n";
    std::string recordings = "# HELP escucha_hq_device_waiting_recordings Recordings and photos each device last said "
                             "it had not uploaded whole.\n# TYPE escucha_hq_device_waiting_recordings gauge\n";
    std::string bytes = "# HELP escucha_hq_device_waiting_bytes Bytes of those recordings and photos.\n"
                        "# TYPE escucha_hq_device_waiting_bytes gauge\n";
    for (const auto& project : m_store.ListProjects()) {
        out += "escucha_hq_records{project=\"" + Label(project.id) + "\"} " +
               std::to_string(m_store.CountRecords(project.id)) + "\n";
        for (const auto& d : m_store.ListDevices(project.id)) {
            if (d.revoked) continue;
            const int64_t seen = storage::ParseIsoMillis(d.last_seen).value_or(-1);
            const int64_t seconds = seen < 0 ? -1 : std::max<int64_t>(0, (now_ms - seen) / 1000);
            const auto labels = "{project=\"" + Label(project.id) + "\",device=\"" + Label(d.info.device_id) + "\"} ";
            lag += "escucha_hq_device_seconds_since_sync" + labels + std::to_string(seconds) + "\n";
            if (!d.waiting) continue;
            changes += "escucha_hq_device_waiting_changes" + labels + std::to_string(d.waiting->changes) + "\n";
            recordings +=
                "escucha_hq_device_waiting_recordings" + labels + std::to_string(d.waiting->recordings) + "\n";
            bytes += "escucha_hq_device_waiting_bytes" + labels + std::to_string(d.waiting->bytes) + "\n";
        }
    }
    out += lag + changes + recordings + bytes;
    if (m_blobs) {
        out += "# HELP escucha_hq_blob_bytes Bytes of complete blobs stored, by project.\n"
               "# TYPE escucha_hq_blob_bytes gauge\n";
        for (const auto& u : m_blobs->Usage())
            out += "escucha_hq_blob_bytes{project=\"" + Label(u.project_id) + "\"} " + std::to_string(u.bytes) + "\n";
    }
    ApiAnswer answer;
    answer.body = std::move(out);
    answer.content_type = "text/plain; version=0.0.4";
    return answer;
}

ApiAnswer HqApi::Handle(const ApiRequest& request, const Admission& admission) {
    if (admission.refusal) return *admission.refusal; // counted when it was decided
    // Only from a device that proved who it is; a header that is not
    // exactly right is as if it were absent.
    std::optional<WaitingReport> waiting;
    if (admission.device && !request.waiting.empty()) waiting = ParseWaitingHeader(request.waiting);
    auto answer = Counted(request, Route(request, admission, waiting));
    if (waiting) {
        try {
            (void)m_store.ReportWaiting(*admission.device, *waiting, m_limits.clock());
        } catch (const std::exception& e) {
            // The report is for the coordinator's eyes: a store that cannot
            // keep it now must not fail the device's sync, which was answered.
            std::fprintf(stderr, "escucha-hq: a device's waiting report was not kept: %s\n", e.what());
        }
    }
    return answer;
}

ApiAnswer HqApi::Route(const ApiRequest& request, const Admission& admission, std::optional<WaitingReport>& waiting) {
    if (request.body.size() > admission.body_limit) return Error(413, "too_large", "the request is too large");
    if (!request.content_encoding.empty()) {
        ApiRequest decoded = request;
        if (auto refusal = DecodeBody(decoded, admission.body_limit)) return *refusal;
        return Route(decoded, admission, waiting);
    }
    const auto& path = request.path;
    if (path == "/v1/metrics") return Metrics();
    if (path == "/v1/health") return Ok({{"status", "ok"}, {"version", PROTOCOL_VERSION}});
    if (path == "/v1/enrol") return Enrol(request);
    if (!admission.device)
        return Error(401, "no_token", "this request needs a device token (Authorization: Bearer ...)");
    const auto& device = *admission.device;
    if (path == "/v1/whoami") return Ok(device);
    if (path == "/v1/push") return Push(request, device, waiting);
    if (path == "/v1/pull") return Pull(request, device);
    bool data = false;
    const auto sha = BlobOfPath(path, data);
    if (data) return BlobData(request, sha, device);
    if (request.method == "PUT") return BlobPut(request, sha, device);
    return BlobStatusRoute(sha, device);
}

bool HqApi::EnrolThrottled(const std::string& peer) {
    std::lock_guard lock(m_failures_mutex);
    const auto it = m_enrol_failures.find(peer);
    if (it == m_enrol_failures.end()) return false;
    const auto window = std::chrono::duration_cast<std::chrono::milliseconds>(m_limits.enrol_failure_window).count();
    if (m_limits.clock() - it->second.window_start > window) {
        m_enrol_failures.erase(it);
        return false;
    }
    return it->second.count >= m_limits.enrol_failures;
}

void HqApi::EnrolFailed(const std::string& peer) {
    std::lock_guard lock(m_failures_mutex);
    const auto now = m_limits.clock();
    const auto window = std::chrono::duration_cast<std::chrono::milliseconds>(m_limits.enrol_failure_window).count();
    // Forget stale addresses so the table cannot grow without bound.
    if (m_enrol_failures.size() > 10'000)
        std::erase_if(m_enrol_failures, [&](const auto& kv) { return now - kv.second.window_start > window; });
    auto& f = m_enrol_failures[peer];
    if (now - f.window_start > window) f = {0, now};
    ++f.count;
}

// [SECTION] Endpoints

ApiAnswer HqApi::Enrol(const ApiRequest& request) {
    std::optional<ApiAnswer> refusal;
    const auto parsed = ParseRequest<EnrolRequest>(request.body, 64, "enrolment request", refusal);
    if (!parsed) return *refusal;
    const auto& r = *parsed;
    if (!storage::IsUuid(r.device_id)) return Error(400, "bad_device_id", "device_id must be a UUID");
    if (r.device_name.size() > 200) return Error(400, "bad_device_name", "device_name is longer than 200 bytes");
    // A device that enrols again proves it is itself with its current token.
    const auto current = BearerToken(request.authorization);
    const auto token = NewToken();
    const auto outcome = m_store.Enrol(HashSecret(r.code), r.device_id, r.device_name, HashSecret(token),
                                       current.empty() ? "" : HashSecret(current));
    switch (outcome.result) {
    case EnrolResult::Enrolled:
        return Ok(EnrolResponse{token, outcome.device.project_id, outcome.device.project_name, outcome.device.role,
                                outcome.device.person});
    case EnrolResult::DeviceTaken:
        return Error(409, "device_enrolled",
                     "a device with this id is enrolled already; a device enrols again only with its own token");
    case EnrolResult::UnknownCode: break;
    }
    EnrolFailed(request.peer);
    return Error(403, "bad_code", "this enrolment code is unknown, expired or used already");
}

ApiAnswer HqApi::Push(const ApiRequest& request, const DeviceInfo& device, std::optional<WaitingReport>& waiting) {
    std::optional<ApiAnswer> refusal;
    const auto parsed = ParseRequest<PushRequest>(request.body, m_limits.push_json_values, "push request", refusal);
    if (!parsed) return *refusal;
    const auto& changes = parsed->changes;
    if (changes.size() > MAX_PUSH_ITEMS)
        return Error(413, "too_many_changes", "at most " + std::to_string(MAX_PUSH_ITEMS) + " changes per push",
                     {{"max", MAX_PUSH_ITEMS}});
    std::set<std::string> partial_records;
    for (size_t i = 0; i < changes.size(); ++i) {
        const auto& c = changes[i];
        const std::string item = "change " + std::to_string(i) + ": ";
        if (!storage::IsUuid(c.change_id)) return Error(400, "bad_change", item + "change_id must be a UUID");
        if (!storage::IsUuid(c.record_id)) return Error(400, "bad_change", item + "record_id must be a UUID");
        if (c.op != "upsert" && c.op != "delete") return Error(400, "bad_change", item + "op must be upsert or delete");
        if (c.rev < 1 || c.rev > MAX_REV) return Error(400, "bad_change", item + "rev must be from 1 to 2^53");
        if (c.base_rev != -1 && (c.base_rev < 0 || c.base_rev >= c.rev))
            return Error(400, "bad_change", item + "base_rev must be from 0 to rev - 1");
        if (!storage::HlcTimestamp::Parse(c.hlc)) return Error(400, "bad_change", item + "hlc is not a clock reading");
        if (!m_catalogue.Find(c.record_type))
            return Error(422, "unknown_type", item + "unknown record type '" + c.record_type + "'",
                         {{"type", c.record_type}});
        if (IsPartial(c)) {
            // Only the members that changed: the record they make is checked
            // below, once the store has rebuilt it over its base revision.
            if (c.op != "upsert") return Error(400, "bad_change", item + "a deletion is sent whole");
            if (c.base_rev < 1) return Error(400, "bad_change", item + "fields need a base_rev of 1 or more");
            if (c.digest.size() != 32 || c.digest.find_first_not_of("0123456789abcdef") != std::string::npos)
                return Error(400, "bad_change", item + "digest must be 32 lower-case hex digits");
            for (const auto& name : c.removed)
                if (name == "id" || name == "type" || name == "rev" || c.fields.contains(name))
                    return Error(400, "bad_change", item + "removed names a member that must stay: " + name);
            // Each rebuilds a stored record: one per record in a push, so a
            // small request cannot make headquarters copy one large record
            // hundreds of times.
            if (!partial_records.insert(c.record_id).second)
                return Error(400, "bad_change", item + "a record has one partial change per push");
            continue;
        }
        if (auto problem = BodyProblem(c, device)) return Error(problem->first, problem->second.code, item + problem->second.words);
    }
    const auto now = m_limits.clock();
    // Kept in the push's own transaction: no write of its own.
    const auto report = std::exchange(waiting, std::nullopt);
    const auto results = m_store.ApplyBatch(
        device, changes,
        [&](const Change& sent, const StoredRecord* cur, const Json* base, const StoredRecord* cause,
            const LookupFn& lookup) {
            // A partial change is rebuilt over the record it was made on, or
            // sent again whole (the store then takes nothing more of the push).
            std::optional<Change> rebuilt;
            if (IsPartial(sent)) {
                rebuilt = RebuildPartial(m_catalogue, device, sent, cur, base);
                if (!rebuilt) return Decision{ItemStatus::SendWhole, "", {}, {}, {}, Json::object()};
            }
            const Change& c = rebuilt ? *rebuilt : sent;
            // A rebuilt change meets the checks a whole one met above.
            if (auto problem = BodyProblem(c, device))
                return Decision{ItemStatus::Rejected, problem->second.words, {}, {}, problem->second.code, {}};
            if (auto why = ClockTooFarAhead(c, now))
                return Decision{ItemStatus::Rejected, why->words, {}, {}, why->code, why->params};
            auto d = DecideChange(m_catalogue, device, c, cur, base, cause, lookup);
            if (rebuilt) d.theirs = std::move(rebuilt->body);
            return d;
        },
        [&](const std::string& project, const std::string& sha) {
            // No live record names it now (a recording erased after a
            // consent withdrawal): its file goes, and any upload of it.
            if (m_blobs) m_blobs->Remove(project, sha);
        },
        report ? &*report : nullptr);
    return Ok(PushResponse{results, true});
}

ApiAnswer HqApi::Pull(const ApiRequest& request, const DeviceInfo& device) {
    int64_t since = 0;
    int64_t limit = 500;
    const auto bad =
        Error(400, "bad_query",
              "since must be a whole number of 0 or more, limit from 1 to " + std::to_string(MAX_PULL_LIMIT));
    if (request.query.count("since")) {
        const auto v = WholeNumber(request.query, "since", INT64_MAX / 10);
        if (!v) return bad;
        since = *v;
    }
    if (request.query.count("limit")) {
        const auto v = WholeNumber(request.query, "limit", MAX_PULL_LIMIT);
        if (!v || *v < 1) return bad;
        limit = *v;
    }
    return Ok(m_store.Pull(device, since, static_cast<int>(limit), ReadScopeFor(m_catalogue, device)));
}

ApiAnswer HqApi::BlobStatusRoute(const std::string& sha, const DeviceInfo& device) {
    const auto s = m_blobs->Status(device.project_id, sha);
    return Ok({{"sha256", sha}, {"have", s.have}, {"complete", s.complete}, {"size", s.size}});
}

ApiAnswer HqApi::BlobData(const ApiRequest& request, const std::string& sha, const DeviceInfo& device) {
    int64_t offset = 0;
    if (request.query.count("offset")) {
        const auto v = WholeNumber(request.query, "offset", INT64_MAX / 10);
        if (!v) return Error(400, "bad_query", "offset must be a whole number of 0 or more");
        offset = *v;
    }
    // Whether the blob exists and whether this device may have it answer
    // alike: a sha256 says nothing to a device that may not hear it.
    if (!m_store.MayReadBlob(device, sha, ReadScopeFor(m_catalogue, device)))
        return NoSuchBlob();
    ApiAnswer answer{200, {}, "application/octet-stream"};
    int64_t size = 0;
    if (!m_blobs->ReadPiece(device.project_id, sha, offset, m_limits.blob_piece, answer.body, size)) {
        if (size > 0 && offset > size)
            return Error(416, "bad_query", "offset is past the end of the file (" + std::to_string(size) + " bytes)");
        return NoSuchBlob();
    }
    const auto end = offset + static_cast<int64_t>(answer.body.size());
    answer.headers.emplace_back("Content-Range", answer.body.empty()
                                                     ? "bytes */" + std::to_string(size)
                                                     : "bytes " + std::to_string(offset) + "-" +
                                                           std::to_string(end - 1) + "/" + std::to_string(size));
    answer.headers.emplace_back("Cache-Control", "no-store");
    return answer;
}

ApiAnswer HqApi::BlobPut(const ApiRequest& request, const std::string& sha, const DeviceInfo& device) {
    const auto offset = WholeNumber(request.query, "offset", INT64_MAX / 10);
    const auto total = WholeNumber(request.query, "total", INT64_MAX / 10);
    if (!offset || !total) return Error(400, "bad_query", "offset and total must be whole numbers of 0 or more");
    BlobStatus after;
    switch (m_blobs->Append(device.project_id, device.device_id, sha, *offset, *total, request.body, after)) {
    case AppendResult::Appended:
    case AppendResult::Completed: return Ok({{"have", after.have}, {"complete", after.complete}});
    case AppendResult::WrongOffset:
        return {409,
                Json{{"error", "HQ has " + std::to_string(after.have) + " bytes of this blob; send from there"},
                     {"code", "wrong_offset"},
                     {"have", after.have}}
                    .dump(),
                "application/json"};
    case AppendResult::HashMismatch:
        return Error(422, "hash_mismatch", "the bytes received do not hash to " + sha + "; the upload was discarded");
    case AppendResult::TooLarge:
        return Error(413, "blob_too_large",
                     "the blob is larger than it said or than HQ accepts (at most " +
                         std::to_string(m_blobs->Quota().max_blob_bytes) + " bytes)");
    case AppendResult::OtherUpload:
        return Error(409, "upload_in_progress",
                     "another device of this project is uploading this file; it is taken from there when it has "
                     "finished");
    case AppendResult::DiskFull:
        return Error(507, "disk_full", "headquarters is short of disk space; tell the project's coordinator");
    case AppendResult::QuotaExceeded:
        return Error(507, "quota_exceeded",
                     "headquarters holds as much as it may for this device or project (unfinished uploads, or the "
                     "project's files); tell the project's coordinator");
    }
    return Error(500, "internal", "internal error");
}

} // namespace escucha::sync
