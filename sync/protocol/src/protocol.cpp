#include "escucha/sync/protocol.h"

#include <sodium.h>

#include <algorithm>
#include <climits>

namespace escucha::sync {

const char* RoleName(Role role) {
    switch (role) {
    case Role::Researcher: return "researcher";
    case Role::Interpreter: return "interpreter";
    case Role::Coordinator: return "coordinator";
    }
    return "?";
}

std::optional<Role> ParseRole(const std::string& name) {
    for (Role r : {Role::Researcher, Role::Interpreter, Role::Coordinator})
        if (name == RoleName(r)) return r;
    return std::nullopt;
}

const char* ItemStatusName(ItemStatus status) {
    switch (status) {
    case ItemStatus::Applied: return "applied";
    case ItemStatus::Duplicate: return "duplicate";
    case ItemStatus::Conflict: return "conflict";
    case ItemStatus::Rejected: return "rejected";
    case ItemStatus::SendWhole: return "send_whole";
    }
    return "?";
}

std::optional<ItemStatus> ParseItemStatus(const std::string& name) {
    for (ItemStatus s : {ItemStatus::Applied, ItemStatus::Duplicate, ItemStatus::Conflict, ItemStatus::Rejected,
                         ItemStatus::SendWhole})
        if (name == ItemStatusName(s)) return s;
    return std::nullopt;
}

std::string FormatWaitingHeader(const WaitingReport& report) {
    return "changes=" + std::to_string(report.changes) + "; recordings=" + std::to_string(report.recordings) +
           "; bytes=" + std::to_string(report.bytes);
}

namespace {

/// A whole number written as ParseWaitingHeader wants it: digits only, no
/// sign, no leading zero, at most `max`.
std::optional<int64_t> WaitingNumber(std::string_view text, int64_t max) {
    // 16 digits pass every bound above and cannot overflow.
    if (text.empty() || text.size() > 16 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
    int64_t n = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
    }
    if (n > max) return std::nullopt;
    return n;
}

bool IsWaitingName(std::string_view name) {
    if (name.empty() || name.size() > 32 || name[0] < 'a' || name[0] > 'z') return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

} // namespace

std::optional<WaitingReport> ParseWaitingHeader(std::string_view value) {
    // What any caller with a token may send: small, plain and bounded, or nothing.
    constexpr size_t MAX_LENGTH = 512;
    constexpr int MAX_ITEMS = 16;
    if (value.size() > MAX_LENGTH) return std::nullopt;
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    const auto trim = [&](std::string_view s) {
        while (!s.empty() && blank(s.front())) s.remove_prefix(1);
        while (!s.empty() && blank(s.back())) s.remove_suffix(1);
        return s;
    };
    WaitingReport report;
    bool changes = false, recordings = false, bytes = false;
    std::vector<std::string_view> others;
    int items = 0;
    for (size_t start = 0;;) {
        const auto end = std::min(value.find(';', start), value.size());
        const auto item = trim(value.substr(start, end - start));
        if (++items > MAX_ITEMS) return std::nullopt;
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) return std::nullopt;
        const auto name = item.substr(0, eq);
        const auto text = item.substr(eq + 1);
        if (!IsWaitingName(name)) return std::nullopt;
        const auto take = [&](bool& seen, int64_t& into, int64_t max) {
            const auto n = WaitingNumber(text, max);
            if (seen || !n) return false;
            seen = true;
            into = *n;
            return true;
        };
        if (name == "changes") {
            if (!take(changes, report.changes, MAX_WAITING_COUNT)) return std::nullopt;
        } else if (name == "recordings") {
            if (!take(recordings, report.recordings, MAX_WAITING_COUNT)) return std::nullopt;
        } else if (name == "bytes") {
            if (!take(bytes, report.bytes, MAX_WAITING_BYTES)) return std::nullopt;
        } else {
            // A name a newer device adds: its value follows the same rule, and it comes once.
            if (!WaitingNumber(text, INT64_MAX) || std::find(others.begin(), others.end(), name) != others.end())
                return std::nullopt;
            others.push_back(name);
        }
        if (end == value.size()) break;
        start = end + 1;
    }
    if (!changes || !recordings || !bytes) return std::nullopt;
    // Bytes of no recording: a report that contradicts itself says nothing.
    if (report.recordings == 0 && report.bytes != 0) return std::nullopt;
    return report;
}

namespace {
Role RoleFrom(const Json& j) {
    const auto role = ParseRole(j.get<std::string>());
    if (!role) throw Json::other_error::create(501, "unknown role '" + j.get<std::string>() + "'", &j);
    return *role;
}
} // namespace

void to_json(Json& j, const EnrolRequest& v) {
    j = {{"code", v.code}, {"device_id", v.device_id}, {"device_name", v.device_name}};
}
void from_json(const Json& j, EnrolRequest& v) {
    j.at("code").get_to(v.code);
    j.at("device_id").get_to(v.device_id);
    v.device_name = j.value("device_name", "");
}

void to_json(Json& j, const EnrolResponse& v) {
    j = {{"token", v.token},
         {"project_id", v.project_id},
         {"project_name", v.project_name},
         {"role", RoleName(v.role)},
         {"person", v.person}};
}
void from_json(const Json& j, EnrolResponse& v) {
    j.at("token").get_to(v.token);
    j.at("project_id").get_to(v.project_id);
    j.at("project_name").get_to(v.project_name);
    v.role = RoleFrom(j.at("role"));
    v.person = j.value("person", "");
}

void to_json(Json& j, const Change& v) {
    j = {{"change_id", v.change_id},
         {"record_type", v.record_type},
         {"record_id", v.record_id},
         {"rev", v.rev},
         {"op", v.op},
         {"hlc", v.hlc}};
    if (IsPartial(v)) {
        j["fields"] = v.fields;
        if (!v.removed.empty()) j["removed"] = v.removed;
        j["digest"] = v.digest;
    } else {
        j["body"] = v.body;
    }
    if (v.base_rev >= 0) j["base_rev"] = v.base_rev;
}
void from_json(const Json& j, Change& v) {
    j.at("change_id").get_to(v.change_id);
    j.at("record_type").get_to(v.record_type);
    j.at("record_id").get_to(v.record_id);
    j.at("rev").get_to(v.rev);
    j.at("op").get_to(v.op);
    j.at("hlc").get_to(v.hlc);
    v.base_rev = j.contains("base_rev") ? j.at("base_rev").get<int64_t>() : -1;
    if (j.contains("body") || !j.contains("fields")) {
        v.body = j.at("body");
        return;
    }
    v.fields = j.at("fields");
    if (!v.fields.is_object()) throw Json::type_error::create(302, "fields must be an object", &j);
    if (j.contains("removed")) j.at("removed").get_to(v.removed);
    j.at("digest").get_to(v.digest);
}

std::string RecordDigest(const Json& record) {
    // nlohmann::json keeps an object's members sorted by name; the dump of
    // that is the canonical text.
    const auto text = nlohmann::json::parse(record.dump()).dump();
    // 128 bits: it tells a record from another one, which a device gains
    // nothing by forging (it would only send its own record wrong), and it
    // travels with every partial change over slow links.
    unsigned char hash[16];
    crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(text.data()), text.size(), nullptr, 0);
    static const char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * sizeof hash);
    for (const unsigned char b : hash) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

Json ApplyFields(const Json& start, const Change& change) {
    Json body = start;
    for (auto it = change.fields.begin(); it != change.fields.end(); ++it) body[it.key()] = it.value();
    for (const auto& name : change.removed) body.erase(name);
    return body;
}

void to_json(Json& j, const PushRequest& v) { j = {{"version", PROTOCOL_VERSION}, {"changes", v.changes}}; }
void from_json(const Json& j, PushRequest& v) { j.at("changes").get_to(v.changes); }

void to_json(Json& j, const ItemResult& v) {
    j = {{"change_id", v.change_id}, {"status", ItemStatusName(v.status)}, {"server_seq", v.server_seq}};
    if (!v.reason.empty()) j["reason"] = v.reason;
    if (!v.code.empty()) j["code"] = v.code;
    if (v.params.is_object() && !v.params.empty()) j["params"] = v.params;
}
void from_json(const Json& j, ItemResult& v) {
    j.at("change_id").get_to(v.change_id);
    const auto status = ParseItemStatus(j.at("status").get<std::string>());
    if (!status) throw Json::other_error::create(501, "unknown item status", &j);
    v.status = *status;
    v.reason = j.value("reason", "");
    v.server_seq = j.value("server_seq", int64_t{0});
    v.code = j.value("code", "");
    v.params = j.contains("params") && j["params"].is_object() ? j["params"] : Json::object();
}

void to_json(Json& j, const PushResponse& v) {
    j = {{"results", v.results}};
    if (v.takes_fields) j["takes_fields"] = true;
}
void from_json(const Json& j, PushResponse& v) {
    j.at("results").get_to(v.results);
    v.takes_fields = j.contains("takes_fields") && j["takes_fields"].is_boolean() && j["takes_fields"].get<bool>();
}

void to_json(Json& j, const ConflictInfo& v) {
    j = {{"seq", v.seq},
         {"record_type", v.record_type},
         {"record_id", v.record_id},
         {"field", v.field},
         {"kept", v.kept},
         {"other", v.other},
         {"other_author", v.other_author},
         {"other_device", v.other_device},
         {"other_hlc", v.other_hlc}};
}
void from_json(const Json& j, ConflictInfo& v) {
    j.at("seq").get_to(v.seq);
    j.at("record_type").get_to(v.record_type);
    j.at("record_id").get_to(v.record_id);
    j.at("field").get_to(v.field);
    v.kept = j.at("kept");
    v.other = j.at("other");
    j.at("other_author").get_to(v.other_author);
    j.at("other_device").get_to(v.other_device);
    j.at("other_hlc").get_to(v.other_hlc);
}

void to_json(Json& j, const PullResponse& v) {
    j = {{"records", v.records}, {"conflicts", v.conflicts}, {"next", v.next}, {"more", v.more}};
}
void from_json(const Json& j, PullResponse& v) {
    v.records = j.at("records").get<std::vector<Json>>();
    j.at("conflicts").get_to(v.conflicts);
    j.at("next").get_to(v.next);
    j.at("more").get_to(v.more);
}

void to_json(Json& j, const DeviceInfo& v) {
    j = {{"device_id", v.device_id},
         {"project_id", v.project_id},
         {"project_name", v.project_name},
         {"role", RoleName(v.role)},
         {"person", v.person}};
}
void from_json(const Json& j, DeviceInfo& v) {
    j.at("device_id").get_to(v.device_id);
    j.at("project_id").get_to(v.project_id);
    j.at("project_name").get_to(v.project_name);
    v.role = RoleFrom(j.at("role"));
    v.person = j.value("person", "");
}

} // namespace escucha::sync
