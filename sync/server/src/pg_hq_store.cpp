#include "escucha/sync/pg_hq_store.h"

#include "escucha/storage/clock.h"
#include "escucha/storage/error_code.h"
#include "escucha/storage/kdf.h"
#include "escucha/storage/secret.h"
#include "escucha/sync/hq_blobs.h"

#include <pqxx/pqxx>
#include <sodium.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <set>

namespace escucha::sync {

namespace errc = storage::errc;

namespace {

constexpr int SCHEMA_VERSION = 1;
/// Held (transaction-scoped) while the schema is made or the blob fields' index rebuilt.
constexpr int64_t SCHEMA_LOCK = 0x65736375636861; // "escucha"
constexpr char DATA_KEY_CONTEXT[] = "escucha-hq pg data key v1";
constexpr char BLOB_KEY_CONTEXT[] = "escucha-hq pg blob key v1";
constexpr int64_t ROWS_PER_TRANSACTION = int64_t{1} << CURSOR_ROW_BITS;
/// How often a batch is tried again after a deadlock, a serialisation
/// failure or a duplicate key from a writer on another connection.
constexpr int MAX_ATTEMPTS = 50;

constexpr char SCHEMA[] = R"sql(
CREATE TABLE IF NOT EXISTS hq_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS cursor_base (id int PRIMARY KEY CHECK (id = 1), xid_offset bigint NOT NULL);
INSERT INTO cursor_base (id, xid_offset) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS projects (id text PRIMARY KEY, name text NOT NULL UNIQUE, created_at text NOT NULL);
CREATE TABLE IF NOT EXISTS enrolments (
  code_hash text PRIMARY KEY, project_id text NOT NULL, role text NOT NULL, person text, created_at text NOT NULL,
  used_by text, expires_at text NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
  id text PRIMARY KEY, project_id text NOT NULL, role text NOT NULL, person text, name text,
  token_hash text NOT NULL UNIQUE, revoked boolean NOT NULL DEFAULT false, enrolled_at text NOT NULL, last_seen text);
CREATE TABLE IF NOT EXISTS records (
  record_id text PRIMARY KEY, project_id text NOT NULL, record_type text NOT NULL, rev bigint NOT NULL,
  hlc text NOT NULL, deleted boolean NOT NULL, owner_device text NOT NULL, cur bigint NOT NULL, body bytea NOT NULL,
  echo_device text);
CREATE INDEX IF NOT EXISTS records_pull ON records (project_id, cur);
CREATE TABLE IF NOT EXISTS revisions (
  record_id text NOT NULL, rev bigint NOT NULL, body bytea NOT NULL, PRIMARY KEY (record_id, rev));
CREATE TABLE IF NOT EXISTS changes (
  change_id text PRIMARY KEY, device_id text NOT NULL, status text NOT NULL, reason text, cur bigint NOT NULL,
  received_at text NOT NULL, code text, params text);
CREATE TABLE IF NOT EXISTS conflicts (
  cur bigint PRIMARY KEY, project_id text NOT NULL, record_type text NOT NULL, record_id text NOT NULL,
  field text NOT NULL, kept bytea NOT NULL, other bytea NOT NULL, other_author text, other_device text,
  other_hlc text);
CREATE INDEX IF NOT EXISTS conflicts_pull ON conflicts (project_id, cur);
CREATE INDEX IF NOT EXISTS conflicts_record ON conflicts (record_id);
CREATE TABLE IF NOT EXISTS blob_refs (
  project_id text NOT NULL, sha256 text NOT NULL, record_id text NOT NULL, record_type text NOT NULL,
  owner_device text NOT NULL, PRIMARY KEY (project_id, sha256, record_id));
CREATE INDEX IF NOT EXISTS blob_refs_record ON blob_refs (record_id);
)sql";

/// Runs `sql` as a statement prepared once per connection (named by a hash
/// of its text): PostgreSQL parses and plans it once, not on every call, and
/// a push runs several statements per change.
template <typename... Args> pqxx::result Exec(pqxx::transaction_base& t, const std::string& sql, Args&&... args) {
    const auto name = "escucha_" + std::to_string(std::hash<std::string>{}(sql));
    // Declaring it again with the same text is a lookup; pqxx registers it
    // with the server on its first use on each connection.
    t.conn().prepare(name, sql);
    return t.exec_prepared(name, std::forward<Args>(args)...);
}

/// hq.kdf's content, as a row of hq_meta.
std::string ParamsText(const storage::KdfParams& p) {
    return Json{{"algorithm", p.algorithm},
                {"opslimit", p.opslimit},
                {"memlimit", p.memlimit},
                {"salt", storage::HexEncode(p.salt.data(), p.salt.size())},
                {"check", storage::HexEncode(p.check.data(), p.check.size())}}
        .dump();
}

std::optional<storage::KdfParams> ParseParams(const std::string& text) {
    const auto j = Json::parse(text, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    storage::KdfParams p;
    std::vector<unsigned char> salt, check;
    try {
        p.algorithm = j.at("algorithm").get<std::string>();
        p.opslimit = j.at("opslimit").get<uint64_t>();
        p.memlimit = j.at("memlimit").get<uint64_t>();
        if (!storage::HexDecode(j.at("salt").get<std::string>(), salt) || salt.size() != p.salt.size() ||
            !storage::HexDecode(j.at("check").get<std::string>(), check) || check.size() != p.check.size())
            return std::nullopt;
    } catch (const std::exception&) {
        return std::nullopt;
    }
    std::copy(salt.begin(), salt.end(), p.salt.begin());
    std::copy(check.begin(), check.end(), p.check.begin());
    return p;
}

/// XChaCha20-Poly1305 under `key`: nonce then ciphertext.
std::string Seal(const unsigned char* key, const std::string& plain, const std::string& ad) {
    std::string out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES,
                    '\0');
    auto* nonce = reinterpret_cast<unsigned char*>(out.data());
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &written,
                                               reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                                               reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr,
                                               nonce, key);
    return out;
}

/// Opens what Seal made; false when it does not open under `key` and `ad`.
template <typename Out> bool Open(const unsigned char* key, const std::string& sealed, const std::string& ad, Out& out) {
    constexpr size_t overhead = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (sealed.size() < overhead) return false;
    out.resize(sealed.size() - overhead);
    const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
    unsigned long long got = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            reinterpret_cast<unsigned char*>(out.data()), &got, nullptr,
            nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, sealed.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nonce, key) != 0)
        return false;
    out.resize(got);
    return true;
}

std::string Bytes(const pqxx::field& f) {
    const pqxx::binarystring b(f);
    return b.str();
}

/// A PostgreSQL text[] literal of `values`.
std::string TextArray(const std::vector<std::string>& values) {
    std::string out = "{";
    for (size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        out += '"';
        for (char c : values[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

/// A PostgreSQL bigint[] literal of `values`.
std::string IntArray(const std::vector<int64_t>& values) {
    std::string out = "{";
    for (size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(values[i]);
    }
    return out + "}";
}

/// A PostgreSQL bytea[] of `values` in the binary form (array_recv): sealed
/// bodies go as they are, neither hex-encoded nor parsed back as text.
std::string ByteaArray(const std::vector<std::string>& values) {
    std::string out;
    const auto put = [&out](uint32_t v) {
        for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xFF);
    };
    constexpr uint32_t BYTEA_OID = 17;
    put(1);         // dimensions
    put(0);         // no NULL element
    put(BYTEA_OID); // element type
    put(static_cast<uint32_t>(values.size()));
    put(1); // lower bound
    for (const auto& v : values) {
        if (v.size() > 0x7FFFFFFF) throw std::length_error("a sealed body too large for PostgreSQL");
        put(static_cast<uint32_t>(v.size()));
        out += v;
    }
    return out;
}

std::string Now() { return storage::FormatIsoMillis(storage::SystemMillis()); }

} // namespace

bool IsPostgresUrl(const std::string& store) {
    return store.rfind("postgresql://", 0) == 0 || store.rfind("postgres://", 0) == 0;
}

std::string RedactedUrl(const std::string& url) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    const auto start = scheme + 3;
    const auto at = url.find('@', start);
    const auto slash = url.find('/', start);
    if (at == std::string::npos || (slash != std::string::npos && slash < at)) {
        // No user part; a password may still come as a parameter.
        const auto pw = url.find("password=");
        return pw == std::string::npos ? url : url.substr(0, pw) + "password=...";
    }
    const auto colon = url.find(':', start);
    std::string out = url;
    if (colon != std::string::npos && colon < at) out = url.substr(0, colon) + ":...@" + url.substr(at + 1);
    const auto pw = out.find("password=");
    return pw == std::string::npos ? out : out.substr(0, pw) + "password=...";
}

struct PgHqStore::Impl {
    std::string url;
    std::string name; ///< the URL without a password, for messages
    storage::SecretBytes data_key;
    storage::SecretBytes blob_key;
    std::mutex mutex; ///< guards the pool and the blob fields
    std::vector<std::unique_ptr<pqxx::connection>> idle;
    BlobFields blob_fields;

    std::unique_ptr<pqxx::connection> Connect() {
        auto c = std::make_unique<pqxx::connection>(url);
        // A transaction left open would hold every puller back (the cursor
        // waits for the oldest writer), so none may idle for long.
        pqxx::nontransaction n(*c);
        n.exec("SET idle_in_transaction_session_timeout = '60s'");
        n.exec("SET client_min_messages = warning");
        // Prepared statements (Exec) are parsed once per connection but
        // planned for their values on every call: a generic plan made while
        // the tables were nearly empty kept reading every row of them once
        // they had grown (docs/PERFORMANCE.md).
        n.exec("SET plan_cache_mode = force_custom_plan");
        return c;
    }

    /// A connection for this call alone, given back when it ends well.
    class Lease {
    public:
        explicit Lease(Impl& impl) : m_impl(impl) {
            {
                std::lock_guard lock(impl.mutex);
                if (!impl.idle.empty()) {
                    m_conn = std::move(impl.idle.back());
                    impl.idle.pop_back();
                }
            }
            if (!m_conn || !m_conn->is_open()) m_conn = impl.Connect();
        }
        ~Lease() {
            if (!m_conn || !m_conn->is_open()) return;
            std::lock_guard lock(m_impl.mutex);
            m_impl.idle.push_back(std::move(m_conn));
        }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        pqxx::connection& operator*() { return *m_conn; }

    private:
        Impl& m_impl;
        std::unique_ptr<pqxx::connection> m_conn;
    };

    [[nodiscard]] bool Sealed() const { return !data_key.empty(); }

    std::string SealBody(const std::string& text, const std::string& ad) const {
        return Sealed() ? Seal(data_key.data(), text, ad) : text;
    }
    Json OpenBody(const std::string& stored, const std::string& ad) const {
        if (!Sealed()) return Json::parse(stored);
        std::string text;
        if (!Open(data_key.data(), stored, ad, text))
            throw std::runtime_error("a record in " + name + " does not open under its key (" + ad + ")");
        return Json::parse(text);
    }
    static std::string RecordAd(const std::string& project, const std::string& record_id, int64_t rev) {
        return "record\n" + project + "\n" + record_id + "\n" + std::to_string(rev);
    }
    static std::string ConflictAd(int64_t cur, const std::string& record_id, const char* side) {
        return std::string("conflict\n") + std::to_string(cur) + "\n" + record_id + "\n" + side;
    }

    StoredRecord RecordFrom(const pqxx::row& r) const {
        // body, rev, hlc, deleted, owner_device, cur, record_type, project_id, record_id
        const auto project = r[7].as<std::string>();
        const auto id = r[8].as<std::string>();
        const auto rev = r[1].as<int64_t>();
        return {OpenBody(Bytes(r[0]), RecordAd(project, id, rev)),
                rev,
                r[2].as<std::string>(),
                r[3].as<bool>(),
                r[4].as<std::string>(),
                r[5].as<int64_t>(),
                r[6].as<std::string>(),
                project};
    }

    std::optional<StoredRecord> LoadRecord(pqxx::transaction_base& t, const std::string& record_id) const {
        const auto r = Exec(t, "SELECT body, rev, hlc, deleted, owner_device, cur, record_type, project_id, "
                                     "record_id FROM records WHERE record_id = $1",
                                     record_id);
        if (r.empty()) return std::nullopt;
        return RecordFrom(r[0]);
    }

    class PushWrites;
    class PushReads;

    std::vector<std::string> BlobsNamedBy(const BlobFields& fields_by_type, const std::string& type,
                                          const Json& body) const {
        std::vector<std::string> out;
        const auto fields = fields_by_type.find(type);
        if (fields == fields_by_type.end() || !body.is_object() || body.value("deleted", false)) return out;
        for (const auto& field : fields->second) {
            const auto it = body.find(field);
            if (it != body.end() && it->is_string() && IsSha256Hex(it->get<std::string>()))
                out.push_back(it->get<std::string>());
        }
        return out;
    }

    /// The first cursor of this write transaction's rows: its xid (plus the
    /// offset a restore into another cluster added) shifted past the row bits.
    static constexpr char CURSOR_XID[] = "(pg_current_xact_id()::text::bigint + xid_offset)";
    static int64_t CursorBase(pqxx::transaction_base& t) {
        return t.exec(std::string("SELECT ") + CURSOR_XID + " FROM cursor_base")[0][0].as<int64_t>() << CURSOR_ROW_BITS;
    }

    /// Runs `body` in a read-write transaction, again when it lost a race
    /// with another writer (deadlock, serialisation, a key taken meanwhile).
    template <typename F> auto Write(F&& body) {
        for (int attempt = 1;; ++attempt) {
            Lease conn(*this);
            try {
                pqxx::work t(*conn);
                return body(t);
            } catch (const pqxx::transaction_rollback&) {
                if (attempt >= MAX_ATTEMPTS) throw;
            } catch (const pqxx::unique_violation&) {
                if (attempt >= MAX_ATTEMPTS) throw;
            }
        }
    }

    void Prepare(const HqKeySource& key);
    void AdjustCursorAfterRestore();
};

namespace {

/// Numbers the rows one transaction writes, from its cursor base.
class RowCursor {
public:
    explicit RowCursor(int64_t base) : m_base(base) {}
    int64_t Next() {
        if (++m_row >= ROWS_PER_TRANSACTION) throw std::runtime_error("too many rows in one transaction");
        return m_base + m_row;
    }

private:
    int64_t m_base;
    int64_t m_row = 0;
};

} // namespace

/// The applied changes of a push, waiting to be written together: their
/// records, revisions and change rows, and the blob references they drop,
/// in one statement for the lot (one statement per change was most of what
/// a push cost PostgreSQL: docs/PERFORMANCE.md). What waits is written
/// before anything else runs in the push's transaction (Flush()), so every
/// other statement sees it, and no record waits twice: one statement
/// cannot write a row twice.
class PgHqStore::Impl::PushWrites {
public:
    PushWrites(pqxx::transaction_base& t, const DeviceInfo& device, const std::string& now,
               std::set<std::string>& unnamed)
        : m_t(t), m_device(device), m_now(now), m_unnamed(unnamed) {}

    /// A record as a change left it, at cursor `cur`, and the change's answer.
    void Add(const Change& change, const Decision& d, std::string sealed, const std::string& owner,
             const std::string& echo, int64_t cur) {
        const auto& body = d.body;
        m_record_ids.push_back(change.record_id);
        m_types.push_back(change.record_type);
        m_revs.push_back(body.at("rev").get<int64_t>());
        m_hlcs.push_back(body.at("updated_at").get<std::string>());
        m_deleted.push_back(body.value("deleted", false) ? "t" : "f");
        m_owners.push_back(owner);
        m_curs.push_back(cur);
        m_bodies.push_back(std::move(sealed));
        m_echoes.push_back(echo);
        m_change_ids.push_back(change.change_id);
        m_statuses.emplace_back(ItemStatusName(d.status));
        m_reasons.push_back(d.reason);
        m_codes.push_back(d.code);
        m_params.push_back(d.params.is_object() && !d.params.empty() ? d.params.dump() : std::string());
    }

    /// Whether record `record_id` waits to be written.
    [[nodiscard]] bool Waits(const std::string& record_id) const {
        return std::find(m_record_ids.begin(), m_record_ids.end(), record_id) != m_record_ids.end();
    }

    /// Writes what waits (nothing when nothing does).
    void Flush() {
        if (m_record_ids.empty()) return;
        const auto rows = Exec(m_t, 
            "WITH i AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bool[], $6::text[], "
            "$7::bigint[], $8::bytea[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[]) AS "
            "i (record_id, record_type, rev, hlc, deleted, owner_device, cur, body, echo, change_id, status, reason, "
            "code, params)), "
            "rec AS (INSERT INTO records (record_id, project_id, record_type, rev, hlc, deleted, owner_device, cur, "
            "body, echo_device) SELECT record_id, $15, record_type, rev, hlc, deleted, owner_device, cur, body, "
            "NULLIF(echo, '') FROM i ON CONFLICT (record_id) DO UPDATE SET project_id = "
            "excluded.project_id, record_type = excluded.record_type, rev = excluded.rev, hlc = excluded.hlc, deleted "
            "= excluded.deleted, owner_device = excluded.owner_device, cur = excluded.cur, body = excluded.body, "
            "echo_device = excluded.echo_device), "
            "rev AS (INSERT INTO revisions (record_id, rev, body) SELECT record_id, rev, body FROM i ON "
            "CONFLICT (record_id, rev) DO UPDATE SET body = excluded.body), "
            "chg AS (INSERT INTO changes (change_id, device_id, status, reason, cur, received_at, code, params) SELECT "
            "change_id, $16, status, reason, cur, $17, code, NULLIF(params, '') FROM i) "
            "DELETE FROM blob_refs WHERE record_id = ANY($1::text[]) RETURNING sha256",
            TextArray(m_record_ids), TextArray(m_types), IntArray(m_revs), TextArray(m_hlcs),
            "{" + Joined(m_deleted) + "}", TextArray(m_owners), IntArray(m_curs), pqxx::binarystring(ByteaArray(m_bodies)),
            TextArray(m_echoes), TextArray(m_change_ids), TextArray(m_statuses), TextArray(m_reasons),
            TextArray(m_codes), TextArray(m_params), m_device.project_id, m_device.device_id, m_now);
        for (const auto& r : rows) m_unnamed.insert(r[0].as<std::string>());
        for (auto* list : {&m_record_ids, &m_types, &m_hlcs, &m_deleted, &m_owners, &m_bodies, &m_echoes,
                           &m_change_ids, &m_statuses, &m_reasons, &m_codes, &m_params})
            list->clear();
        m_revs.clear();
        m_curs.clear();
    }

private:
    static std::string Joined(const std::vector<std::string>& values) {
        std::string out;
        for (const auto& v : values) out += (out.empty() ? "" : ",") + v;
        return out;
    }

    pqxx::transaction_base& m_t;
    const DeviceInfo& m_device;
    const std::string& m_now;
    std::set<std::string>& m_unnamed;
    std::vector<std::string> m_record_ids, m_types, m_hlcs, m_deleted, m_owners, m_bodies, m_echoes, m_change_ids,
        m_statuses, m_reasons, m_codes, m_params;
    std::vector<int64_t> m_revs, m_curs;
};

/// What a push reads before the rules decide: the answers given before to its
/// change ids, its records and their base revisions, each list in one
/// statement (a few statements per change were most of a push's cost:
/// docs/PERFORMANCE.md). A record or change id the push has written since is
/// read again, so that a later change of the push sees the earlier one.
class PgHqStore::Impl::PushReads {
public:
    PushReads(pqxx::transaction_base& t, const Impl& impl, PushWrites& writes, const std::vector<Change>& changes)
        : m_t(t), m_impl(impl), m_writes(writes) {
        std::vector<std::string> change_ids;
        for (const auto& change : changes) change_ids.push_back(change.change_id);
        for (const auto& r : Answers(change_ids)) m_answers.emplace(r[0].as<std::string>(), r);
        // Records and base revisions only for the changes not taken before:
        // a push sent again reads none of its bodies.
        std::vector<std::string> record_ids;
        for (const auto& change : changes)
            if (!m_answers.count(change.change_id)) record_ids.push_back(change.record_id);
        for (const auto& r : Records(record_ids)) m_records.emplace(r[8].as<std::string>(), r);
        std::vector<std::string> base_ids;
        std::vector<int64_t> base_revs;
        for (const auto& change : changes)
            if (!m_answers.count(change.change_id) && m_records.count(change.record_id) && BaseRev(change) >= 1) {
                base_ids.push_back(change.record_id);
                base_revs.push_back(BaseRev(change));
            }
        for (const auto& r : Revisions(base_ids, base_revs))
            m_revisions.emplace(std::pair(r[0].as<std::string>(), r[1].as<int64_t>()), r);
    }

    /// The answer kept for `change_id`: change_id, status, reason, cur, code, device_id, params.
    std::optional<pqxx::row> Answer(const std::string& change_id) {
        if (m_answered.count(change_id)) {
            m_writes.Flush();
            const auto rows = Answers({change_id});
            if (rows.empty()) return std::nullopt;
            return rows[0];
        }
        const auto it = m_answers.find(change_id);
        if (it == m_answers.end()) return std::nullopt;
        return it->second;
    }
    std::optional<StoredRecord> Record(const std::string& record_id) {
        if (m_written.count(record_id)) {
            m_writes.Flush();
            return m_impl.LoadRecord(m_t, record_id);
        }
        const auto it = m_records.find(record_id);
        if (it == m_records.end()) return std::nullopt;
        return m_impl.RecordFrom(it->second);
    }
    /// Revision `rev` of a record, as stored (sealed).
    std::optional<std::string> Revision(const std::string& record_id, int64_t rev) {
        if (m_written.count(record_id)) {
            m_writes.Flush();
            const auto rows = Revisions({record_id}, {rev});
            if (rows.empty()) return std::nullopt;
            return Bytes(rows[0][2]);
        }
        const auto it = m_revisions.find({record_id, rev});
        if (it == m_revisions.end()) return std::nullopt;
        return Bytes(it->second[2]);
    }
    void Wrote(const std::string& record_id) { m_written.insert(record_id); }
    void Answered(const std::string& change_id) { m_answered.insert(change_id); }

private:
    pqxx::result Answers(const std::vector<std::string>& change_ids) {
        if (change_ids.empty()) return {};
        return Exec(m_t, "SELECT change_id, status, coalesce(reason, ''), cur, coalesce(code, ''), device_id, "
                               "coalesce(params, '') FROM changes WHERE change_id = ANY($1::text[])",
                               TextArray(change_ids));
    }
    pqxx::result Records(const std::vector<std::string>& record_ids) {
        if (record_ids.empty()) return {};
        return Exec(m_t, "SELECT body, rev, hlc, deleted, owner_device, cur, record_type, project_id, record_id "
                               "FROM records WHERE record_id = ANY($1::text[])",
                               TextArray(record_ids));
    }
    pqxx::result Revisions(const std::vector<std::string>& record_ids, const std::vector<int64_t>& revs) {
        if (record_ids.empty()) return {};
        return Exec(m_t, "SELECT r.record_id, r.rev, r.body FROM revisions r JOIN unnest($1::text[], "
                               "$2::bigint[]) AS b (record_id, rev) ON r.record_id = b.record_id AND r.rev = b.rev",
                               TextArray(record_ids), IntArray(revs));
    }

    pqxx::transaction_base& m_t;
    const Impl& m_impl;
    PushWrites& m_writes;
    std::map<std::string, pqxx::row> m_answers, m_records;
    std::map<std::pair<std::string, int64_t>, pqxx::row> m_revisions;
    std::set<std::string> m_written, m_answered;
};

void PgHqStore::Impl::Prepare(const HqKeySource& key) {
    storage::EnsureSodium();
    Lease conn(*this);
    {
        pqxx::work t(*conn);
        Exec(t, "SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK);
        t.exec(SCHEMA);
        // What each device last said it still had to send (NULL: never
        // said): columns an older escucha-hq leaves alone, so the schema's
        // version stays and older processes may serve the same database.
        // Looked up first: ALTER TABLE would lock the table at every start.
        if (t.exec("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = "
                   "'devices' AND column_name = 'waiting_at'")
                .empty())
            t.exec("ALTER TABLE devices ADD COLUMN IF NOT EXISTS waiting_changes bigint, ADD COLUMN IF NOT EXISTS "
                   "waiting_recordings bigint, ADD COLUMN IF NOT EXISTS waiting_bytes bigint, ADD COLUMN IF NOT "
                   "EXISTS waiting_at text");
        Exec(t, "INSERT INTO hq_meta (key, value) VALUES ('schema', $1) ON CONFLICT DO NOTHING",
                      std::to_string(SCHEMA_VERSION));
        t.commit();
    }
    pqxx::work t(*conn);
    Exec(t, "SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK);
    const auto schema = t.exec("SELECT value FROM hq_meta WHERE key = 'schema'");
    if (schema.empty() || std::stoi(schema[0][0].as<std::string>()) > SCHEMA_VERSION)
        throw std::runtime_error(name + " was made by a newer escucha-hq");
    const auto kdf = t.exec("SELECT value FROM hq_meta WHERE key = 'kdf'");
    if (key.Empty()) {
        if (!kdf.empty()) throw HqAtRestError(errc::HQ_KEY_REQUIRED);
        t.commit();
        return;
    }
    const auto meta = [&](const char* k) {
        const auto r = Exec(t, "SELECT value FROM hq_meta WHERE key = $1", std::string(k));
        return r.empty() ? std::string() : r[0][0].as<std::string>();
    };
    if (kdf.empty()) {
        if (!t.exec("SELECT 1 FROM records LIMIT 1").empty())
            throw HqAtRestError(errc::HQ_STORE_UNENCRYPTED, {{"path", name}});
        // A new database: its parameters and keys, in one transaction.
        auto params = NewServerKeyParams(key);
        const auto master = DeriveServerKey(key, params, name);
        params.check = master.CheckValue();
        data_key.assign(32, 0);
        blob_key.assign(32, 0);
        randombytes_buf(data_key.data(), data_key.size());
        randombytes_buf(blob_key.data(), blob_key.size());
        // Under the schema lock: no other process makes keys of its own meanwhile.
        const std::string data_plain(data_key.begin(), data_key.end()), blob_plain(blob_key.begin(), blob_key.end());
        const auto wrapped_data = Seal(master.Data(), data_plain, DATA_KEY_CONTEXT);
        const auto wrapped_blob = Seal(master.Data(), blob_plain, BLOB_KEY_CONTEXT);
        Exec(t, "INSERT INTO hq_meta (key, value) VALUES ('kdf', $1), ('data_key', $2), ('blob_key', $3)",
                          ParamsText(params),
                          storage::HexEncode(reinterpret_cast<const unsigned char*>(wrapped_data.data()),
                                             wrapped_data.size()),
                          storage::HexEncode(reinterpret_cast<const unsigned char*>(wrapped_blob.data()),
                                             wrapped_blob.size()));
        t.commit();
        return;
    }
    const auto params = ParseParams(kdf[0][0].as<std::string>());
    if (!params) throw HqAtRestError(errc::HQ_KEY_PARAMS_BROKEN, {{"path", name}, {"file", "hq_meta"}});
    const auto master = DeriveServerKey(key, *params, name);
    if (!ServerKeyMatches(key, master, *params)) throw HqAtRestError(errc::HQ_WRONG_KEY, {{"path", name}}, 3);
    const auto unwrap = [&](const char* k, const char* context, storage::SecretBytes& out) {
        std::vector<unsigned char> wrapped;
        if (!storage::HexDecode(meta(k), wrapped))
            throw HqAtRestError(errc::HQ_STORE_UNREADABLE, {{"path", name}});
        if (!Open(master.Data(), std::string(wrapped.begin(), wrapped.end()), context, out))
            throw HqAtRestError(errc::HQ_STORE_UNREADABLE, {{"path", name}});
    };
    unwrap("data_key", DATA_KEY_CONTEXT, data_key);
    unwrap("blob_key", BLOB_KEY_CONTEXT, blob_key);
    t.commit();
}

void PgHqStore::Impl::AdjustCursorAfterRestore() {
    // A pg_dump restored into another cluster starts that cluster's
    // transaction ids where they are, maybe below the cursors devices hold:
    // their rows would land behind those cursors. When the cluster is not
    // the one the database was last opened on, cursors move on past every
    // stored one by a whole 2^32 ids, more than any cluster hands out between
    // two of its writes being kept.
    Lease conn(*this);
    pqxx::work t(*conn);
    Exec(t, "SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK);
    std::string cluster;
    try {
        pqxx::subtransaction s(t);
        cluster = s.exec("SELECT system_identifier::text FROM pg_control_system()")[0][0].as<std::string>();
        s.commit();
    } catch (const pqxx::sql_error&) {
        return; // not allowed to ask: the operator restores with care (docs/deploy.md)
    }
    const auto kept = t.exec("SELECT value FROM hq_meta WHERE key = 'cluster'");
    if (!kept.empty() && kept[0][0].as<std::string>() != cluster) {
        const auto highest =
            t.exec("SELECT greatest((SELECT max(cur) FROM records), (SELECT max(cur) FROM conflicts), "
                   "(SELECT max(cur) FROM changes), 0)")[0][0]
                .as<int64_t>() >>
            CURSOR_ROW_BITS;
        const auto now = t.exec("SELECT pg_current_xact_id()::text::bigint")[0][0].as<int64_t>();
        Exec(t, "UPDATE cursor_base SET xid_offset = greatest(xid_offset, $1)",
                      highest + (int64_t{1} << 32) - now);
    }
    Exec(t, "INSERT INTO hq_meta (key, value) VALUES ('cluster', $1) ON CONFLICT (key) DO UPDATE SET value = "
                  "excluded.value",
                  cluster);
    t.commit();
}

PgHqStore::PgHqStore(const std::string& url, const HqKeySource& key) : m_impl(std::make_unique<Impl>()) {
    m_impl->url = url;
    m_impl->name = RedactedUrl(url);
    m_impl->Prepare(key);
    m_impl->AdjustCursorAfterRestore();
}

PgHqStore::~PgHqStore() = default;

void PgHqStore::Rekey(const HqKeySource& next) {
    if (next.Empty()) throw HqAtRestError(errc::HQ_NEW_KEY_REQUIRED);
    if (!m_impl->Sealed()) throw HqAtRestError(errc::HQ_KEY_REQUIRED);
    auto params = NewServerKeyParams(next);
    const auto master = DeriveServerKey(next, params, m_impl->name);
    params.check = master.CheckValue();
    const auto wrap = [&](const storage::SecretBytes& k, const char* context) {
        const auto sealed = Seal(master.Data(), std::string(k.begin(), k.end()), context);
        return storage::HexEncode(reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size());
    };
    Impl::Lease conn(*m_impl);
    pqxx::work t(*conn);
    Exec(t, "SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK);
    for (const auto& [k, v] : {std::pair<std::string, std::string>{"kdf", ParamsText(params)},
                               {"data_key", wrap(m_impl->data_key, DATA_KEY_CONTEXT)},
                               {"blob_key", wrap(m_impl->blob_key, BLOB_KEY_CONTEXT)}})
        Exec(t, "UPDATE hq_meta SET value = $2 WHERE key = $1", k, v);
    t.commit();
}

storage::SecretBytes PgHqStore::BlobKey() { return m_impl->blob_key; }

Project PgHqStore::CreateProject(const std::string& name) {
    Project p{storage::NewUuidV7(), name, Now()};
    return m_impl->Write([&](pqxx::work& t) {
        RowCursor cursor(Impl::CursorBase(t));
        Exec(t, "INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)", p.id, p.name, p.created_at);
        const auto hlc = storage::HlcTimestamp{storage::SystemMillis(), 0}.ToString();
        Json body = {{"id", p.id},        {"type", "project"}, {"name", name},   {"created_at", p.created_at},
                     {"updated_at", hlc}, {"author", "hq"},    {"device", "hq"}, {"rev", 1},
                     {"deleted", false}};
        const auto sealed = m_impl->SealBody(body.dump(), Impl::RecordAd(p.id, p.id, 1));
        Exec(t, "INSERT INTO records (record_id, project_id, record_type, rev, hlc, deleted, owner_device, cur, "
                      "body) VALUES ($1, $1, 'project', 1, $2, false, 'hq', $3, $4)",
                      p.id, hlc, cursor.Next(), pqxx::binarystring(sealed));
        Exec(t, "INSERT INTO revisions (record_id, rev, body) VALUES ($1, 1, $2)", p.id,
                      pqxx::binarystring(sealed));
        t.commit();
        return p;
    });
}

std::vector<Project> PgHqStore::ListProjects() {
    Impl::Lease conn(*m_impl);
    pqxx::read_transaction t(*conn);
    std::vector<Project> out;
    for (const auto& r : t.exec("SELECT id, name, created_at FROM projects ORDER BY created_at, id"))
        out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>()});
    return out;
}

std::optional<Project> PgHqStore::FindProject(const std::string& id_or_name) {
    Impl::Lease conn(*m_impl);
    pqxx::read_transaction t(*conn);
    const auto r = Exec(t, "SELECT id, name, created_at FROM projects WHERE id = $1 OR name = $1", id_or_name);
    if (r.empty()) return std::nullopt;
    return Project{r[0][0].as<std::string>(), r[0][1].as<std::string>(), r[0][2].as<std::string>()};
}

void PgHqStore::AddEnrolment(const std::string& code_hash, const std::string& project_id, Role role,
                             const std::string& person, const std::string& expires_at) {
    m_impl->Write([&](pqxx::work& t) {
        Exec(t, "INSERT INTO enrolments (code_hash, project_id, role, person, created_at, expires_at) VALUES "
                      "($1, $2, $3, $4, $5, $6)",
                      code_hash, project_id, std::string(RoleName(role)), person, Now(), expires_at);
        t.commit();
        return 0;
    });
}

EnrolOutcome PgHqStore::Enrol(const std::string& code_hash, const std::string& device_id,
                              const std::string& device_name, const std::string& token_hash,
                              const std::string& current_token_hash) {
    return m_impl->Write([&](pqxx::work& t) -> EnrolOutcome {
        // The code's row is locked: two processes cannot both use it.
        const auto found = Exec(t, 
            "SELECT e.project_id, p.name, e.role, coalesce(e.person, '') FROM enrolments e JOIN projects p ON p.id = "
            "e.project_id WHERE e.code_hash = $1 AND e.used_by IS NULL AND e.expires_at > $2 FOR UPDATE OF e",
            code_hash, Now());
        if (found.empty()) return {};
        const auto& f = found[0];
        EnrolOutcome out{EnrolResult::Enrolled,
                         {device_id, f[0].as<std::string>(), f[1].as<std::string>(),
                          *ParseRole(f[2].as<std::string>()), f[3].as<std::string>()}};
        const auto existing = Exec(t, "SELECT token_hash FROM devices WHERE id = $1 FOR UPDATE", device_id);
        if (!existing.empty() &&
            (current_token_hash.empty() || existing[0][0].as<std::string>() != current_token_hash))
            return {EnrolResult::DeviceTaken, {}};
        Exec(t, "UPDATE enrolments SET used_by = $1 WHERE code_hash = $2", device_id, code_hash);
        Exec(t, "INSERT INTO devices (id, project_id, role, person, name, token_hash, revoked, enrolled_at) "
                      "VALUES ($1, $2, $3, $4, $5, $6, false, $7) ON CONFLICT (id) DO UPDATE SET project_id = "
                      "excluded.project_id, role = excluded.role, person = excluded.person, name = excluded.name, "
                      "token_hash = excluded.token_hash, revoked = false, enrolled_at = excluded.enrolled_at, "
                      "last_seen = NULL, waiting_changes = NULL, waiting_recordings = NULL, waiting_bytes = NULL, "
                      "waiting_at = NULL",
                      device_id, out.device.project_id, std::string(RoleName(out.device.role)), out.device.person,
                      device_name, token_hash, Now());
        t.commit();
        return out;
    });
}

std::optional<DeviceInfo> PgHqStore::Authenticate(const std::string& token_hash) {
    Impl::Lease conn(*m_impl);
    // One statement, every request: no BEGIN and COMMIT around it.
    pqxx::nontransaction t(*conn);
    const auto r = Exec(t, 
        "SELECT d.id, d.project_id, p.name, d.role, coalesce(d.person, '') FROM devices d JOIN projects p ON p.id = "
        "d.project_id WHERE d.token_hash = $1 AND NOT d.revoked",
        token_hash);
    if (r.empty()) return std::nullopt;
    return DeviceInfo{r[0][0].as<std::string>(), r[0][1].as<std::string>(), r[0][2].as<std::string>(),
                      *ParseRole(r[0][3].as<std::string>()), r[0][4].as<std::string>()};
}

bool PgHqStore::RevokeDevice(const std::string& device_id) {
    return m_impl->Write([&](pqxx::work& t) {
        const auto r = Exec(t, "UPDATE devices SET revoked = true WHERE id = $1", device_id);
        t.commit();
        return r.affected_rows() > 0;
    });
}

std::vector<DeviceRow> PgHqStore::ListDevices(const std::string& project_id) {
    Impl::Lease conn(*m_impl);
    pqxx::read_transaction t(*conn);
    std::vector<DeviceRow> out;
    for (const auto& r :
         Exec(t,
              "SELECT d.id, d.project_id, p.name, d.role, coalesce(d.person, ''), coalesce(d.name, ''), d.enrolled_at, "
              "coalesce(d.last_seen, ''), d.revoked, d.waiting_changes, d.waiting_recordings, d.waiting_bytes, "
              "coalesce(d.waiting_at, '') FROM devices d JOIN projects p ON p.id = d.project_id "
              "WHERE d.project_id = $1 ORDER BY d.enrolled_at, d.id",
              project_id)) {
        DeviceRow row{{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                       *ParseRole(r[3].as<std::string>()), r[4].as<std::string>()},
                      r[5].as<std::string>(),
                      r[6].as<std::string>(),
                      r[7].as<std::string>(),
                      r[8].as<bool>()};
        if (!r[9].is_null() && !r[10].is_null() && !r[11].is_null()) {
            row.waiting = WaitingReport{r[9].as<int64_t>(), r[10].as<int64_t>(), r[11].as<int64_t>()};
            row.waiting_at = r[12].as<std::string>();
        }
        out.push_back(std::move(row));
    }
    return out;
}

bool PgHqStore::ReportWaiting(const DeviceInfo& device, const WaitingReport& report, int64_t now_ms) {
    const auto at = storage::FormatIsoMillis(now_ms);
    const auto stale = storage::FormatIsoMillis(now_ms - WAITING_REFRESH_MS);
    return m_impl->Write([&](pqxx::work& t) {
        // Times are ISO UTC text of one width: they compare as they sort.
        const auto r = Exec(t,
                            "UPDATE devices SET last_seen = $1, waiting_changes = $2, waiting_recordings = $3, "
                            "waiting_bytes = $4, waiting_at = $1 WHERE id = $5 AND (waiting_at IS NULL OR "
                            "waiting_at <= $6 OR waiting_changes IS DISTINCT FROM $2 OR waiting_recordings IS "
                            "DISTINCT FROM $3 OR waiting_bytes IS DISTINCT FROM $4)",
                            at, report.changes, report.recordings, report.bytes, device.device_id, stale);
        t.commit();
        return r.affected_rows() > 0;
    });
}

void PgHqStore::DeclareBlobFields(const BlobFields& fields) {
    {
        std::lock_guard lock(m_impl->mutex);
        m_impl->blob_fields = fields;
    }
    const auto declared = Json(fields).dump();
    m_impl->Write([&](pqxx::work& t) {
        Exec(t, "SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK);
        const auto kept = t.exec("SELECT value FROM hq_meta WHERE key = 'blob_fields'");
        if (!kept.empty() && kept[0][0].as<std::string>() == declared) return 0;
        t.exec("DELETE FROM blob_refs");
        for (const auto& [type, names] : fields) {
            for (const auto& r : Exec(t, "SELECT body, rev, hlc, deleted, owner_device, cur, record_type, "
                                               "project_id, record_id FROM records WHERE record_type = $1 AND NOT "
                                               "deleted",
                                               type)) {
                const auto rec = m_impl->RecordFrom(r);
                for (const auto& sha : m_impl->BlobsNamedBy(fields, type, rec.body))
                    Exec(t, "INSERT INTO blob_refs (project_id, sha256, record_id, record_type, owner_device) "
                                  "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                                  rec.project_id, sha, r[8].as<std::string>(), type, rec.owner_device);
            }
        }
        Exec(t, "INSERT INTO hq_meta (key, value) VALUES ('blob_fields', $1) ON CONFLICT (key) DO UPDATE SET "
                      "value = excluded.value",
                      declared);
        t.commit();
        return 0;
    });
}

bool PgHqStore::MayReadBlob(const DeviceInfo& device, const std::string& sha256, const ReadScope& scope) {
    Impl::Lease conn(*m_impl);
    pqxx::read_transaction t(*conn);
    return !Exec(t, "SELECT 1 FROM blob_refs WHERE project_id = $1 AND sha256 = $2 AND (record_type = "
                          "ANY($3::text[]) OR (owner_device = $4 AND record_type = ANY($5::text[]))) LIMIT 1",
                          device.project_id, sha256, TextArray(scope.shared_types), scope.device_id,
                          TextArray(scope.own_types))
                .empty();
}

std::vector<ItemResult> PgHqStore::ApplyBatch(const DeviceInfo& device, const std::vector<Change>& changes,
                                              const DecideFn& decide, const ReleasedFn& released,
                                              const WaitingReport* waiting) {
    BlobFields fields;
    {
        std::lock_guard lock(m_impl->mutex);
        fields = m_impl->blob_fields;
    }
    auto& impl = *m_impl;
    std::vector<std::string> released_blobs;
    auto results = impl.Write([&](pqxx::work& t) {
        released_blobs.clear();
        const auto now = Now();
        std::vector<ItemResult> out;
        std::set<std::string> unnamed;
        Impl::PushWrites writes(t, device, now, unnamed);
        const auto in_project = [&](const std::string& id) -> std::optional<StoredRecord> {
            if (writes.Waits(id)) writes.Flush();
            auto r = impl.LoadRecord(t, id);
            if (!r || r->project_id != device.project_id) return std::nullopt;
            return r;
        };
        // Once the rules answer "send whole" for a change, nothing after it
        // in the push is taken either: the device sends them again, in
        // order (an erasure never lands before the withdrawal it follows).
        bool stopped = false;
        // Writers of one record, on any process, take turns: the rules decide
        // with the record as it stands. All of a push's records are locked at
        // once, in one order for every writer, so two pushes never wait on
        // each other in a circle. The same round trip reads the cursor base
        // (Impl::CursorBase()).
        std::vector<std::string> record_ids;
        for (const auto& change : changes) record_ids.push_back(change.record_id);
        RowCursor cursor(
            Exec(t,
                 "SELECT (SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT DISTINCT hashtextextended(id, 0) AS k "
                 "FROM unnest($1::text[]) AS id ORDER BY k) AS keys), " +
                     std::string(Impl::CURSOR_XID) + " FROM cursor_base",
                 TextArray(record_ids))[0][1]
                .as<int64_t>()
            << CURSOR_ROW_BITS);
        Impl::PushReads reads(t, impl, writes, changes);
        for (const auto& change : changes) {
            if (stopped) {
                out.push_back(SendWholeResult(change));
                continue;
            }
            const auto seen = reads.Answer(change.change_id);
            if (seen && (*seen)[5].as<std::string>() != device.device_id) {
                out.push_back({change.change_id, ItemStatus::Rejected, "change_id is used already; make a new one", 0,
                               storage::errc::CHANGE_ID_TAKEN});
                continue;
            }
            if (seen) {
                const auto s = seen->slice(1, 7);
                const auto first = ParseItemStatus(s[0].as<std::string>());
                ItemResult r{change.change_id, ItemStatus::Duplicate, s[1].as<std::string>(), s[2].as<int64_t>(),
                             s[3].as<std::string>()};
                if (const auto params = Json::parse(s[5].as<std::string>(), nullptr, false); params.is_object())
                    r.params = params;
                if (first == ItemStatus::Rejected) r.status = ItemStatus::Rejected;
                out.push_back(r);
                continue;
            }
            const auto current = reads.Record(change.record_id);
            std::optional<Json> base;
            if (current && BaseRev(change) >= 1)
                if (const auto sealed = reads.Revision(change.record_id, BaseRev(change)))
                    base = impl.OpenBody(*sealed, Impl::RecordAd(current->project_id, change.record_id, BaseRev(change)));
            std::optional<StoredRecord> cause;
            if (change.op == "delete" && change.body.contains("erased_for") && change.body["erased_for"].is_string())
                cause = in_project(change.body["erased_for"].get<std::string>());
            const LookupFn lookup = [&](const std::string& id) -> std::optional<Json> {
                auto r = in_project(id);
                if (!r) return std::nullopt;
                return std::move(r->body);
            };
            Decision d = decide(change, current ? &*current : nullptr, base ? &*base : nullptr,
                                cause ? &*cause : nullptr, lookup);
            if (d.status == ItemStatus::SendWhole) {
                // Nothing taken, not even the change id.
                out.push_back(SendWholeResult(change));
                stopped = true;
                continue;
            }
            // The record as the device holds it: a partial change's, rebuilt.
            const Json& theirs = d.theirs.is_null() ? change.body : d.theirs;
            if (current &&
                (current->project_id != device.project_id || current->record_type != change.record_type) &&
                d.status != ItemStatus::Rejected)
                d = {ItemStatus::Rejected,
                     "this device may not change record " + change.record_id,
                     {},
                     {},
                     storage::errc::NOT_ALLOWED};
            int64_t cur = 0;
            if (d.status == ItemStatus::Applied || d.status == ItemStatus::Conflict) {
                cur = cursor.Next();
                reads.Wrote(change.record_id);
                const auto& body = d.body;
                const int64_t rev = body.at("rev").get<int64_t>();
                const bool deleted = body.value("deleted", false);
                const auto owner = current ? current->owner_device : device.device_id;
                const auto echo = d.status == ItemStatus::Applied && body == theirs ? device.device_id : "";
                writes.Add(change, d, impl.SealBody(body.dump(), Impl::RecordAd(device.project_id, change.record_id, rev)),
                           owner, echo, cur);
                const auto named = impl.BlobsNamedBy(fields, change.record_type, body);
                const bool merged = rev != change.rev && !deleted;
                // What else the change writes comes after its record.
                if (merged || !named.empty() || deleted || !d.conflicts.empty()) writes.Flush();
                if (merged)
                    // Merged: the device's own version is kept as its revision
                    // too (when that number is free), so an edit it made on top
                    // of it before pulling the merge is merged against it.
                    Exec(t, "INSERT INTO revisions (record_id, rev, body) VALUES ($1, $2, $3) ON CONFLICT "
                                  "(record_id, rev) DO NOTHING",
                                  change.record_id, change.rev,
                                  pqxx::binarystring(impl.SealBody(
                                      theirs.dump(), Impl::RecordAd(device.project_id, change.record_id, change.rev))));
                for (const auto& sha : named)
                    Exec(t, "INSERT INTO blob_refs (project_id, sha256, record_id, record_type, owner_device) "
                                  "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                                  device.project_id, sha, change.record_id, change.record_type, owner);
                if (deleted) {
                    // A tombstone keeps no earlier version, nor conflict versions.
                    Exec(t, "DELETE FROM revisions WHERE record_id = $1 AND rev < $2", change.record_id, rev);
                    Exec(t, "DELETE FROM conflicts WHERE record_id = $1", change.record_id);
                }
                for (const auto& c : d.conflicts) {
                    const auto at = cursor.Next();
                    Exec(t, "INSERT INTO conflicts (cur, project_id, record_type, record_id, field, kept, other, "
                                  "other_author, other_device, other_hlc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                                  "$10)",
                                  at, device.project_id, c.record_type, c.record_id, c.field,
                                  pqxx::binarystring(impl.SealBody(c.kept.dump(), Impl::ConflictAd(at, c.record_id, "kept"))),
                                  pqxx::binarystring(impl.SealBody(c.other.dump(), Impl::ConflictAd(at, c.record_id, "other"))),
                                  c.other_author, c.other_device, c.other_hlc);
                }
            } else {
                // Refused: only the answer is kept, for a replay.
                writes.Flush();
                Exec(t, "INSERT INTO changes (change_id, device_id, status, reason, cur, received_at, code, params) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''))",
                     change.change_id, device.device_id, std::string(ItemStatusName(d.status)), d.reason, cur, now,
                     d.code, d.params.is_object() && !d.params.empty() ? d.params.dump() : std::string());
            }
            reads.Answered(change.change_id);
            out.push_back({change.change_id, d.status, d.reason, cur, d.code, d.params});
        }
        writes.Flush();
        if (waiting)
            Exec(t,
                 "UPDATE devices SET last_seen = $1, waiting_changes = $2, waiting_recordings = $3, waiting_bytes = "
                 "$4, waiting_at = $1 WHERE id = $5",
                 now, waiting->changes, waiting->recordings, waiting->bytes, device.device_id);
        else Exec(t, "UPDATE devices SET last_seen = $1 WHERE id = $2", now, device.device_id);
        for (const auto& sha : unnamed)
            if (Exec(t, "SELECT 1 FROM blob_refs WHERE project_id = $1 AND sha256 = $2 LIMIT 1",
                              device.project_id, sha)
                    .empty())
                released_blobs.push_back(sha);
        t.commit();
        return out;
    });
    if (released)
        for (const auto& sha : released_blobs) released(device.project_id, sha);
    return results;
}

PullResponse PgHqStore::Pull(const DeviceInfo& device, int64_t since, int limit, const ReadScope& scope) {
    Impl::Lease conn(*m_impl);
    // One snapshot for every statement: the bound and the rows agree.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> t(*conn);
    // Every transaction below the snapshot's xmin has ended, and every
    // writer to come gets a larger id: no row below the bound can appear
    // later, whatever order writers commit in.
    const int64_t bound =
        t.exec("SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint + xid_offset) FROM cursor_base")[0][0]
            .as<int64_t>()
        << CURSOR_ROW_BITS;
    PullResponse out;
    const auto shared = TextArray(scope.shared_types), own = TextArray(scope.own_types);
    const auto rows = Exec(t, 
        "SELECT cur, body, project_id, record_id, rev FROM records WHERE project_id = $1 AND cur > $2 AND cur < $3 "
        "AND (echo_device IS NULL OR echo_device <> $4) AND (record_type = ANY($5::text[]) OR (owner_device = $6 AND "
        "record_type = ANY($7::text[]))) ORDER BY cur LIMIT $8",
        device.project_id, since, bound, device.device_id, shared, scope.device_id, own, limit + 1);
    int taken = 0;
    size_t bytes = 0;
    int64_t last = since;
    for (const auto& r : rows) {
        if (taken == limit || bytes >= MAX_PULL_BYTES) {
            out.more = true;
            break;
        }
        ++taken;
        last = r[0].as<int64_t>();
        const auto stored = Bytes(r[1]);
        bytes += stored.size();
        out.records.push_back(m_impl->OpenBody(
            stored, Impl::RecordAd(r[2].as<std::string>(), r[3].as<std::string>(), r[4].as<int64_t>())));
    }
    const int64_t upto = out.more ? last : bound - 1;
    for (const auto& c : Exec(t, 
             "SELECT c.cur, c.record_type, c.record_id, c.field, c.kept, c.other, coalesce(c.other_author, ''), "
             "coalesce(c.other_device, ''), coalesce(c.other_hlc, '') FROM conflicts c LEFT JOIN records r ON "
             "r.record_id = c.record_id WHERE c.project_id = $1 AND c.cur > $2 AND c.cur <= $3 AND (c.record_type = "
             "ANY($4::text[]) OR (coalesce(r.owner_device, '') = $5 AND c.record_type = ANY($6::text[]))) ORDER BY "
             "c.cur",
             device.project_id, since, upto, shared, scope.device_id, own)) {
        const auto at = c[0].as<int64_t>();
        const auto id = c[2].as<std::string>();
        out.conflicts.push_back({at, c[1].as<std::string>(), id, c[3].as<std::string>(),
                                 m_impl->OpenBody(Bytes(c[4]), Impl::ConflictAd(at, id, "kept")),
                                 m_impl->OpenBody(Bytes(c[5]), Impl::ConflictAd(at, id, "other")),
                                 c[6].as<std::string>(), c[7].as<std::string>(), c[8].as<std::string>()});
    }
    out.next = std::max(since, upto);
    t.commit();
    return out;
}

void PgHqStore::ForEachRecord(const std::string& project_id, const std::function<void(const StoredRecord&)>& visit) {
    Impl::Lease conn(*m_impl);
    pqxx::read_transaction t(*conn);
    for (const auto& r : Exec(t, "SELECT body, rev, hlc, deleted, owner_device, cur, record_type, project_id, "
                                       "record_id FROM records WHERE project_id = $1 ORDER BY record_type, record_id",
                                       project_id))
        visit(m_impl->RecordFrom(r));
}

int64_t PgHqStore::CountRecords(const std::string& project_id) {
    Impl::Lease conn(*m_impl);
    pqxx::read_transaction t(*conn);
    return Exec(t, "SELECT count(*) FROM records WHERE project_id = $1", project_id)[0][0].as<int64_t>();
}

std::unique_ptr<HqStore> OpenAnyHqStore(const std::string& store, const std::filesystem::path& dir,
                                        const HqKeySource& key) {
    if (IsPostgresUrl(store)) {
        if (key.Empty()) throw HqAtRestError(errc::HQ_KEY_REQUIRED);
        return std::make_unique<PgHqStore>(store, key);
    }
    return OpenHqStore(dir, key);
}

} // namespace escucha::sync
