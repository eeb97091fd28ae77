// [SECTION] Merge rules
// [SECTION] Request helpers
// [SECTION] Routes
#include "escucha/sync/hq_server.h"

#include "escucha/storage/clock.h"
#include "escucha/storage/secret.h"

#include <httplib.h>
#include <sys/socket.h>
#include <sodium.h>

#include <chrono>
#include <thread>
#include <set>

namespace escucha::sync {

// [SECTION] Merge rules

namespace {

const std::set<std::string> METADATA = {"id", "type", "project_id", "created_at", "updated_at",
                                        "author", "device", "rev", "deleted"};

Json FieldOr(const Json& record, const std::string& field) {
    return record.contains(field) ? record[field] : Json();
}

Decision Reject(std::string reason) { return {ItemStatus::Rejected, std::move(reason), {}, {}}; }

} // namespace

Decision DecideChange(const storage::Catalogue& catalogue, const DeviceInfo& device, const Change& change,
                      const StoredRecord* current, const Json* base) {
    const auto* type = catalogue.Find(change.record_type);
    if (!type) return Reject("unknown record type '" + change.record_type + "'");
    Json body = change.body;
    if (change.op == "upsert") {
        try {
            const auto normal = storage::NormaliseRecord(*type, body, false);
            for (auto it = normal.begin(); it != normal.end(); ++it) body[it.key()] = it.value();
        } catch (const storage::RecordError& e) {
            return Reject(e.what());
        }
    }
    if (change.record_type == "project" && device.role != Role::Coordinator)
        return Reject("only a coordinator changes the project itself");
    if (current && !type->shared_edit && current->owner_device != device.device_id && device.role != Role::Coordinator)
        return Reject("only the device that created this " + type->name + " edits it");
    if (!current) {
        body["device"] = device.device_id;
        return {ItemStatus::Applied, "", body, {}};
    }
    if (current->deleted) {
        if (change.op == "delete") return {ItemStatus::Applied, "", current->body, {}};
        return Reject("this " + type->name + " was deleted at headquarters; the change was not applied");
    }
    const int64_t next_rev = std::max(current->rev + 1, change.rev);
    if (change.op == "delete") {
        // A deletion (a consent withdrawal, say) wins over concurrent edits.
        body["rev"] = next_rev;
        body["device"] = device.device_id;
        return {ItemStatus::Applied, "", body, {}};
    }
    if (change.rev == current->rev + 1 || change.rev > current->rev + 1) {
        // Based on what HQ holds: the device saw every earlier change.
        body["device"] = device.device_id;
        return {ItemStatus::Applied, "", body, {}};
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
    merged["rev"] = next_rev;
    merged["updated_at"] = std::max(change.hlc, current->hlc);
    merged["device"] = device.device_id;
    if (conflicts.empty()) return {ItemStatus::Applied, "", merged, {}};
    std::string reason = "edited at the same time elsewhere; both versions kept for: ";
    for (size_t i = 0; i < conflicts.size(); ++i) reason += (i ? ", " : "") + conflicts[i].field;
    return {ItemStatus::Conflict, reason, merged, conflicts};
}

bool MayRead(const storage::Catalogue& catalogue, const DeviceInfo& device, const std::string& type,
             const std::string& owner_device) {
    if (owner_device == device.device_id || device.role == Role::Coordinator) return true;
    if (type == "identity_link") return false; // real names: their device and coordinators only
    if (device.role == Role::Interpreter) return true;
    const auto* t = catalogue.Find(type);
    return t && t->shared_edit;
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

// [SECTION] Request helpers

namespace {

void SendError(httplib::Response& res, int status, const std::string& message) {
    res.status = status;
    res.set_content(Json{{"error", message}}.dump(), "application/json");
}

void SendJson(httplib::Response& res, const Json& body) { res.set_content(body.dump(), "application/json"); }

/// Parses a request body; on failure answers 400 and returns nullopt.
std::optional<Json> ParseBody(const httplib::Request& req, httplib::Response& res) {
    auto json = Json::parse(req.body, nullptr, false);
    if (json.is_discarded()) {
        SendError(res, 400, "the request body is not valid JSON");
        return std::nullopt;
    }
    if (!json.is_object()) {
        SendError(res, 400, "the request body must be a JSON object");
        return std::nullopt;
    }
    return json;
}

/// Parses a request body as T; on failure answers 400 naming `what`.
template <typename T>
std::optional<T> ParseRequest(const httplib::Request& req, httplib::Response& res, const char* what) {
    const auto json = ParseBody(req, res);
    if (!json) return std::nullopt;
    try {
        return json->get<T>();
    } catch (const Json::exception& e) {
        SendError(res, 400, std::string("malformed ") + what + ": " + e.what());
        return std::nullopt;
    }
}

std::string BearerToken(const httplib::Request& req) {
    const auto header = req.get_header_value("Authorization");
    constexpr std::string_view PREFIX = "Bearer ";
    if (header.size() <= PREFIX.size() || header.compare(0, PREFIX.size(), PREFIX) != 0) return {};
    return header.substr(PREFIX.size());
}

bool ValidUuid(const std::string& s) { return storage::IsUuid(s); }

} // namespace

// [SECTION] Routes

struct HqServer::Impl {
    HqStore& store;
    const storage::Catalogue& catalogue;
    ServerOptions options;
    std::unique_ptr<httplib::Server> server;
    int listen_socket = -1;

    std::optional<DeviceInfo> Authorise(const httplib::Request& req, httplib::Response& res) {
        const auto token = BearerToken(req);
        if (token.empty()) {
            SendError(res, 401, "this request needs a device token (Authorization: Bearer ...)");
            return std::nullopt;
        }
        auto device = store.Authenticate(HashSecret(token));
        if (!device) SendError(res, 401, "unknown or revoked device token; enrol the device again");
        return device;
    }

    void Enrol(const httplib::Request& req, httplib::Response& res) {
        const auto parsed = ParseRequest<EnrolRequest>(req, res, "enrolment request");
        if (!parsed) return;
        const auto& request = *parsed;
        if (!ValidUuid(request.device_id)) return SendError(res, 400, "device_id must be a UUID");
        const auto token = NewToken();
        const auto device = store.Enrol(HashSecret(request.code), request.device_id, request.device_name, HashSecret(token));
        if (!device) return SendError(res, 403, "this enrolment code is unknown or has been used already");
        SendJson(res, EnrolResponse{token, device->project_id, device->project_name, device->role, device->person});
    }

    void Push(const httplib::Request& req, httplib::Response& res) {
        const auto device = Authorise(req, res);
        if (!device) return;
        const auto parsed = ParseRequest<PushRequest>(req, res, "push request");
        if (!parsed) return;
        const auto& request = *parsed;
        if (request.changes.size() > MAX_PUSH_ITEMS)
            return SendError(res, 413, "at most " + std::to_string(MAX_PUSH_ITEMS) + " changes per push");
        for (size_t i = 0; i < request.changes.size(); ++i) {
            const auto& c = request.changes[i];
            const std::string item = "change " + std::to_string(i) + ": ";
            if (!ValidUuid(c.change_id)) return SendError(res, 400, item + "change_id must be a UUID");
            if (!ValidUuid(c.record_id)) return SendError(res, 400, item + "record_id must be a UUID");
            if (c.op != "upsert" && c.op != "delete") return SendError(res, 400, item + "op must be upsert or delete");
            if (c.rev < 1) return SendError(res, 400, item + "rev must be 1 or more");
            if (!storage::HlcTimestamp::Parse(c.hlc)) return SendError(res, 400, item + "hlc is not a clock reading");
            if (!catalogue.Find(c.record_type))
                return SendError(res, 422, item + "unknown record type '" + c.record_type + "'");
            if (!c.body.is_object()) return SendError(res, 400, item + "body must be a JSON object");
            if (c.body.value("id", "") != c.record_id || c.body.value("type", "") != c.record_type ||
                !c.body.contains("rev") || c.body["rev"] != c.rev)
                return SendError(res, 400, item + "body does not match record_id, record_type and rev");
            for (const char* key : {"created_at", "updated_at", "author", "device"})
                if (!c.body.contains(key) || !c.body[key].is_string())
                    return SendError(res, 400, item + "body." + key + " must be text");
            const auto project = c.record_type == "project" ? c.record_id : c.body.value("project_id", "");
            if (project != device->project_id)
                return SendError(res, 403, item + "this device may write only to its own project");
        }
        const auto results = store.ApplyBatch(*device, request.changes, [&](const Change& c, const StoredRecord* cur,
                                                                            const Json* base) {
            return DecideChange(catalogue, *device, c, cur, base);
        });
        SendJson(res, PushResponse{results});
    }

    void Pull(const httplib::Request& req, httplib::Response& res) {
        const auto device = Authorise(req, res);
        if (!device) return;
        int64_t since = 0;
        int limit = 500;
        try {
            if (req.has_param("since")) {
                size_t used = 0;
                const auto text = req.get_param_value("since");
                since = std::stoll(text, &used);
                if (used != text.size() || since < 0) throw std::invalid_argument("since");
            }
            if (req.has_param("limit")) {
                size_t used = 0;
                const auto text = req.get_param_value("limit");
                limit = std::stoi(text, &used);
                if (used != text.size() || limit < 1 || limit > MAX_PULL_LIMIT) throw std::invalid_argument("limit");
            }
        } catch (const std::exception&) {
            return SendError(res, 400, "since must be a whole number of 0 or more, limit from 1 to " +
                                           std::to_string(MAX_PULL_LIMIT));
        }
        SendJson(res, store.Pull(*device, since, limit, [&](const DeviceInfo& d, const std::string& type,
                                                            const std::string& owner) {
            return MayRead(catalogue, d, type, owner);
        }));
    }

    std::optional<std::string> BlobName(const httplib::Request& req, httplib::Response& res) {
        const std::string sha = req.matches[1];
        if (!IsSha256Hex(sha)) {
            SendError(res, 400, "a blob is named by the SHA-256 of its content: 64 lower-case hex digits");
            return std::nullopt;
        }
        if (!options.blobs) {
            SendError(res, 503, "this server keeps no blobs");
            return std::nullopt;
        }
        return sha;
    }

    void BlobStatusRoute(const httplib::Request& req, httplib::Response& res) {
        const auto device = Authorise(req, res);
        if (!device) return;
        const auto sha = BlobName(req, res);
        if (!sha) return;
        const auto s = options.blobs->Status(device->project_id, *sha);
        SendJson(res, {{"sha256", *sha}, {"have", s.have}, {"complete", s.complete}, {"size", s.size}});
    }

    void BlobPut(const httplib::Request& req, httplib::Response& res) {
        const auto device = Authorise(req, res);
        if (!device) return;
        const auto sha = BlobName(req, res);
        if (!sha) return;
        int64_t offset = -1, total = -1;
        try {
            offset = std::stoll(req.get_param_value("offset"));
            total = std::stoll(req.get_param_value("total"));
        } catch (const std::exception&) {
        }
        if (offset < 0 || total < 0) return SendError(res, 400, "offset and total must be whole numbers of 0 or more");
        if (req.body.size() > 2 * BLOB_PUT_BYTES) return SendError(res, 413, "send at most 8 MiB per request");
        BlobStatus after;
        switch (options.blobs->Append(device->project_id, *sha, offset, total, req.body, after)) {
        case AppendResult::Appended:
        case AppendResult::Completed:
            return SendJson(res, {{"have", after.have}, {"complete", after.complete}});
        case AppendResult::WrongOffset:
            res.status = 409;
            return res.set_content(Json{{"error", "HQ has " + std::to_string(after.have) + " bytes of this blob; send from there"},
                                        {"have", after.have}}.dump(),
                                   "application/json");
        case AppendResult::HashMismatch:
            return SendError(res, 422, "the bytes received do not hash to " + *sha + "; the upload was discarded");
        case AppendResult::TooLarge:
            return SendError(res, 413, "the blob is larger than it said or than HQ accepts");
        }
    }

    void Routes() {
        server->Get(R"(/v1/blobs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
            BlobStatusRoute(req, res);
        });
        server->Put(R"(/v1/blobs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
            BlobPut(req, res);
        });
        server->Post("/v1/enrol", [this](const httplib::Request& req, httplib::Response& res) { Enrol(req, res); });
        server->Post("/v1/push", [this](const httplib::Request& req, httplib::Response& res) { Push(req, res); });
        server->Get("/v1/pull", [this](const httplib::Request& req, httplib::Response& res) { Pull(req, res); });
        server->Get("/v1/whoami", [this](const httplib::Request& req, httplib::Response& res) {
            if (const auto device = Authorise(req, res)) SendJson(res, *device);
        });
        server->Get("/v1/health", [](const httplib::Request&, httplib::Response& res) {
            SendJson(res, {{"status", "ok"}, {"version", PROTOCOL_VERSION}});
        });
        server->set_payload_max_length(MAX_REQUEST_BYTES);
        // Many devices reconnect together when a village gets signal back.
        // httplib's defaults (a backlog of 5, a pool the size of the CPU
        // count) drop their handshakes and leave them stalled for the
        // client's whole stall timeout; see Bind() for the backlog.
        server->set_socket_options([this](int sock) {
            httplib::default_socket_options(sock);
            listen_socket = sock;
        });
        server->new_task_queue = [] {
            return new httplib::ThreadPool(std::max(16u, 4 * std::thread::hardware_concurrency()));
        };
        server->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
            std::string what = "internal error";
            try {
                std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                what = std::string("internal error: ") + e.what();
            } catch (...) {
            }
            SendError(res, 500, what);
        });
        server->set_error_handler([](const httplib::Request&, httplib::Response& res) {
            if (!res.body.empty()) return;
            if (res.status == 404) SendError(res, 404, "no such endpoint");
            else if (res.status == 413) SendError(res, 413, "the request is too large");
            else SendError(res, res.status, "request refused");
        });
        if (options.log) {
            server->set_logger([log = options.log](const httplib::Request& req, const httplib::Response& res) {
                log(req.method + " " + req.path + " " + std::to_string(res.status));
            });
        }
    }
};

HqServer::HqServer(HqStore& store, const storage::Catalogue& catalogue, ServerOptions options)
    : m_impl(std::make_unique<Impl>(Impl{store, catalogue, std::move(options), nullptr})) {
    if (!m_impl->options.tls_cert_path.empty()) {
        m_impl->server = std::make_unique<httplib::SSLServer>(m_impl->options.tls_cert_path.c_str(),
                                                              m_impl->options.tls_key_path.c_str());
        if (!m_impl->server->is_valid())
            throw std::runtime_error("cannot load the TLS certificate or key (" + m_impl->options.tls_cert_path + ", " +
                                     m_impl->options.tls_key_path + ")");
        m_tls = true;
    } else {
        m_impl->server = std::make_unique<httplib::Server>();
    }
    m_impl->Routes();
}

HqServer::~HqServer() { Stop(); }

int HqServer::Bind(const std::string& host, int port) {
    const int bound = port == 0 ? m_impl->server->bind_to_any_port(host)
                                : (m_impl->server->bind_to_port(host, port) ? port : -1);
    // listen() again on a listening socket only changes its backlog; the
    // kernel caps it at net.core.somaxconn.
    if (bound > 0 && m_impl->listen_socket >= 0) ::listen(m_impl->listen_socket, 1024);
    return bound;
}

bool HqServer::ListenAfterBind() { return m_impl->server->listen_after_bind(); }

void HqServer::Stop() {
    if (m_impl && m_impl->server) m_impl->server->stop();
}

void HqServer::WaitUntilReady() const {
    while (!m_impl->server->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

} // namespace escucha::sync
