// [SECTION] Catalogue and errors
// [SECTION] Schema
// [SECTION] Validation
// [SECTION] Writes: create, update, delete, import
// [SECTION] Reads
// [SECTION] Full-text search
// [SECTION] Journal and consistency
#include "escucha/storage/records.h"

#include "escucha/storage/fsutil.h"
#include "escucha/storage/secret.h"

#include <sodium.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace escucha::storage {

namespace {

constexpr size_t MAX_TEXT_BYTES = 4u * 1024 * 1024;
/// The page cache an import works with, in KiB (the vault's own is smaller).
constexpr int64_t IMPORT_CACHE_KIB = 64 * 1024;
constexpr const char* COMMON_KEYS[] = {"id",     "type",   "project_id", "created_at", "updated_at",
                                       "author", "device", "rev",        "deleted"};

bool IsCommonKey(const std::string& key) {
    return std::any_of(std::begin(COMMON_KEYS), std::end(COMMON_KEYS), [&](const char* k) { return key == k; });
}

std::string QuoteIdent(const std::string& name) { return "\"" + name + "\""; }

bool IsListKind(FieldKind kind) {
    return kind == FieldKind::ChoiceList || kind == FieldKind::ReferenceList || kind == FieldKind::TextList;
}

/// UUIDs are compared as lower-case text; accept upper case on input.
std::string LowerUuid(std::string text) {
    if (text.size() == 36)
        for (auto& c : text)
            if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    return text;
}

std::string JoinChoices(const std::vector<std::string>& choices) {
    std::string out;
    for (const auto& c : choices) out += (out.empty() ? "" : ", ") + c;
    return out;
}

} // namespace

// [SECTION] Catalogue and errors

const char* FieldKindName(FieldKind kind) {
    switch (kind) {
    case FieldKind::Text: return "text";
    case FieldKind::LongText: return "long text";
    case FieldKind::Integer: return "integer";
    case FieldKind::Boolean: return "boolean";
    case FieldKind::Choice: return "choice";
    case FieldKind::ChoiceList: return "list of choices";
    case FieldKind::Date: return "date";
    case FieldKind::Reference: return "reference";
    case FieldKind::ReferenceList: return "list of references";
    case FieldKind::TextList: return "list of text";
    }
    return "?";
}

const FieldSpec* RecordType::Field(const std::string& field) const {
    for (const auto& f : fields)
        if (f.name == field) return &f;
    return nullptr;
}

RecordError::RecordError(std::string field, const std::string& message)
    : RecordError(std::nullopt, "", std::move(field), message) {}

RecordError::RecordError(std::string field, const std::string& message, std::string code, Json params)
    : RecordError(std::nullopt, "", std::move(field), message, std::move(code), std::move(params)) {}

namespace {
std::string ComposeMessage(const std::optional<size_t>& index, const std::string& type, const std::string& field,
                           const std::string& reason) {
    std::string out;
    if (index) out += "record " + std::to_string(*index);
    if (!type.empty()) out += (out.empty() ? "" : " ") + std::string("(") + type + ")";
    if (!field.empty()) out += (out.empty() ? "" : ", ") + std::string("field '") + field + "'";
    if (!out.empty()) out += ": ";
    return out + reason;
}
} // namespace

RecordError::RecordError(std::optional<size_t> index, std::string type, std::string field, const std::string& message,
                         std::string code, Json params)
    : std::runtime_error(ComposeMessage(index, type, field, message)), m_index(index), m_type(std::move(type)),
      m_field(std::move(field)), m_reason(message), m_code(std::move(code)), m_params(std::move(params)) {
    if (!m_params.is_object()) m_params = Json::object();
    if (m_code.empty()) {
        m_code = errc::INVALID_VALUE;
        m_params["reason"] = m_reason;
    }
    if (!m_params.contains("field")) m_params["field"] = m_field;
}

RecordError RecordError::At(size_t index, const std::string& type) const {
    return RecordError(index, m_type.empty() ? type : m_type, m_field, m_reason, m_code, m_params);
}

void Catalogue::Add(RecordType type) {
    for (const auto& f : type.fields)
        if (IsCommonKey(f.name)) throw std::logic_error("field name '" + f.name + "' is reserved");
    if (Find(type.name)) throw std::logic_error("record type '" + type.name + "' added twice");
    if (type.role != RecordRole::None && WithRole(type.role))
        throw std::logic_error("record type '" + type.name + "' takes a role another type has");
    if (type.role == RecordRole::Scope && type.project_scoped)
        throw std::logic_error("record type '" + type.name + "' is the scope: it cannot be filed under a project");
    if (!type.read_beside.empty()) {
        const auto* f = type.Field(type.read_beside);
        if (!f || f->kind != FieldKind::ReferenceList)
            throw std::logic_error("record type '" + type.name + "' reads beside a field that is not a reference list");
    }
    m_types.push_back(std::move(type));
}

const RecordType* Catalogue::WithRole(RecordRole role) const {
    if (role == RecordRole::None) return nullptr;
    for (const auto& t : m_types)
        if (t.role == role) return &t;
    return nullptr;
}

const RecordType* Catalogue::Find(const std::string& name) const {
    for (const auto& t : m_types)
        if (t.name == name) return &t;
    return nullptr;
}

const RecordType& Catalogue::Get(const std::string& name) const {
    if (const auto* t = Find(name)) return *t;
    throw RecordError("type", "unknown record type '" + name + "'; known types: " + Names(), errc::UNKNOWN_TYPE,
                      {{"type", name}});
}

std::string Catalogue::Names() const {
    std::string out;
    for (const auto& t : m_types) out += (out.empty() ? "" : ", ") + t.name;
    return out;
}

std::string NormaliseNewlines(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r') {
            out.push_back('\n');
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

bool IsValidUtf8(std::string_view text) {
    size_t i = 0;
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    while (i < text.size()) {
        const unsigned char c = s[i];
        size_t extra;
        uint32_t cp;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= text.size()) return false;
        for (size_t k = 1; k <= extra; ++k) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += extra + 1;
    }
    return true;
}

// [SECTION] Schema

RecordStore::RecordStore(Database& db, const Catalogue& catalogue, HybridLogicalClock& clock, WriterIdentity writer)
    : m_db(db), m_catalogue(catalogue), m_clock(clock), m_writer(std::move(writer)) {}

void RecordStore::EnsureSchema() {
    // Tables every vault has, whatever its record types. user_version counts
    // these steps; each step runs once, in order.
    const int64_t version = m_db.QueryInt("PRAGMA user_version");
    if (version < 1) {
        m_db.Exec(R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT);
CREATE TABLE IF NOT EXISTS record_index (id TEXT PRIMARY KEY NOT NULL, type TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  change_id TEXT NOT NULL UNIQUE,
  record_type TEXT NOT NULL,
  record_id TEXT NOT NULL,
  rev INTEGER NOT NULL,
  op TEXT NOT NULL,
  hlc TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS journal_record ON journal(record_id);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  author TEXT,
  action TEXT NOT NULL,
  record_type TEXT,
  record_id TEXT
);
CREATE TABLE IF NOT EXISTS search_doc (
  docid INTEGER PRIMARY KEY AUTOINCREMENT,
  record_id TEXT NOT NULL UNIQUE,
  record_type TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts4(title, body, tokenize=unicode61 "remove_diacritics=1");
PRAGMA user_version = 1;
)sql");
    }
    if (version < 2) {
        m_db.Exec(R"sql(
CREATE TABLE IF NOT EXISTS conflict (
  seq INTEGER PRIMARY KEY,
  record_type TEXT NOT NULL,
  record_id TEXT NOT NULL,
  field TEXT NOT NULL,
  kept TEXT NOT NULL,
  other TEXT NOT NULL,
  other_author TEXT,
  other_device TEXT,
  other_hlc TEXT,
  resolved INTEGER NOT NULL DEFAULT 0
);
PRAGMA user_version = 2;
)sql");
    }
    if (version < 3) {
        m_db.Exec(R"sql(
CREATE TABLE IF NOT EXISTS blob (
  sha256 TEXT PRIMARY KEY NOT NULL,
  file TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  uploaded INTEGER NOT NULL DEFAULT 0
);
PRAGMA user_version = 3;
)sql");
    }
    if (version < 4) {
        // unseen_reference: references, in records received from
        // headquarters, to records this device is not allowed to see (a
        // researcher receives a shared profile, not the participants of
        // other researchers it names). They are valid, not dangling.
        // blob.damaged: why a blob was set aside (it fails decryption or its
        // hash); its file is kept for recovery, sync stops retrying it.
        // import_log: the files already imported, so importing one again
        // stores nothing new.
        m_db.Exec(R"sql(
CREATE TABLE IF NOT EXISTS unseen_reference (
  record_id TEXT NOT NULL,
  ref_id TEXT NOT NULL,
  PRIMARY KEY (record_id, ref_id)
) WITHOUT ROWID;
ALTER TABLE blob ADD COLUMN damaged TEXT;
CREATE TABLE IF NOT EXISTS import_log (
  digest TEXT PRIMARY KEY NOT NULL,
  imported_at TEXT NOT NULL,
  records INTEGER NOT NULL
);
PRAGMA user_version = 4;
)sql");
    }
    if (version < 5) {
        // Why headquarters refused a change, as a code and its parameters
        // (error_code.h) besides the words, so each interface words it.
        // A column may be there already (a step before this one was repeated).
        std::set<std::string> columns;
        auto info = m_db.Prepare("PRAGMA table_info(journal)");
        while (info.Step()) columns.insert(info.Text(1));
        for (const char* column : {"last_error_code", "last_error_params"})
            if (!columns.count(column)) m_db.Exec(std::string("ALTER TABLE journal ADD COLUMN ") + column + " TEXT");
        m_db.Exec("PRAGMA user_version = 5");
    }
    if (version < 6) {
        // blob.key: a blob's own key (format 2); erasing the row erases what
        // could read its file. NULL for format 1, read with the vault's blob key.
        // blob_part: blobs being written (a recording), with their key and
        // what they are for, so one cut short by a crash is found again.
        std::set<std::string> columns;
        auto info = m_db.Prepare("PRAGMA table_info(blob)");
        while (info.Step()) columns.insert(info.Text(1));
        if (!columns.count("key")) m_db.Exec("ALTER TABLE blob ADD COLUMN key BLOB");
        m_db.Exec(R"sql(
CREATE TABLE IF NOT EXISTS blob_part (
  file TEXT PRIMARY KEY NOT NULL,
  key BLOB NOT NULL,
  owner TEXT,
  started_at TEXT NOT NULL
);
PRAGMA user_version = 6;
)sql");
    }
    if (version < 7) {
        // journal.base_rev: the rev a row's edits started from, which
        // headquarters merges against; journal.sent: the row was handed to a
        // push, so later edits go in a row of their own (docs/decisions/0018).
        // Rows of an older vault may have been sent already.
        std::set<std::string> columns;
        auto info = m_db.Prepare("PRAGMA table_info(journal)");
        while (info.Step()) columns.insert(info.Text(1));
        if (!columns.count("base_rev")) m_db.Exec("ALTER TABLE journal ADD COLUMN base_rev INTEGER");
        if (!columns.count("sent")) m_db.Exec("ALTER TABLE journal ADD COLUMN sent INTEGER NOT NULL DEFAULT 0");
        m_db.Exec("UPDATE journal SET sent = 1, base_rev = coalesce(base_rev, rev - 1); PRAGMA user_version = 7;");
    }
    if (version < 8) {
        // search_pending: records edited on this device whose search entry
        // still holds an earlier text (docs/decisions/0023). A mark is
        // written in the edit's own transaction, so a crash keeps it.
        m_db.Exec(R"sql(
CREATE TABLE IF NOT EXISTS search_pending (record_id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
PRAGMA user_version = 8;
)sql");
    }
    if (version < 9) {
        // The index reads its text from the records' rows through a view
        // (docs/decisions/0024) instead of keeping a copy of it. The view is
        // made below, once every record table is there, and the index built.
        m_db.Exec(R"sql(
DROP TABLE IF EXISTS search_index;
DROP VIEW IF EXISTS search_content;
CREATE VIRTUAL TABLE search_index USING fts4(content="search_content", title, body, tokenize=unicode61 "remove_diacritics=1");
PRAGMA user_version = 9;
)sql");
    }
    if (version < 10) {
        // journal.fields: the members of the record that a row's edits
        // changed since its base revision (a JSON array), so a push can send
        // only those (docs/decisions/0027); NULL: the row goes whole.
        std::set<std::string> columns;
        auto info = m_db.Prepare("PRAGMA table_info(journal)");
        while (info.Step()) columns.insert(info.Text(1));
        if (!columns.count("fields")) m_db.Exec("ALTER TABLE journal ADD COLUMN fields TEXT");
        m_db.Exec("PRAGMA user_version = 10");
    }

    for (const auto& type : m_catalogue.Types()) {
        std::string sql = "CREATE TABLE IF NOT EXISTS " + QuoteIdent(type.name) +
                          " (id TEXT PRIMARY KEY NOT NULL, project_id TEXT, created_at TEXT NOT NULL, "
                          "updated_at TEXT NOT NULL, author TEXT, device TEXT, rev INTEGER NOT NULL, "
                          "deleted INTEGER NOT NULL DEFAULT 0";
        for (const auto& f : type.fields) {
            const bool integer = f.kind == FieldKind::Integer || f.kind == FieldKind::Boolean;
            sql += ", " + QuoteIdent(f.name) + (integer ? " INTEGER" : " TEXT");
        }
        sql += ")";
        m_db.Exec(sql);
        // A newer catalogue may add fields: add their columns to older vaults.
        std::set<std::string> existing;
        auto info = m_db.Prepare("PRAGMA table_info(" + QuoteIdent(type.name) + ")");
        while (info.Step()) existing.insert(info.Text(1));
        for (const auto& f : type.fields) {
            if (existing.count(f.name)) continue;
            const bool integer = f.kind == FieldKind::Integer || f.kind == FieldKind::Boolean;
            m_db.Exec("ALTER TABLE " + QuoteIdent(type.name) + " ADD COLUMN " + QuoteIdent(f.name) +
                      (integer ? " INTEGER" : " TEXT"));
        }
        m_db.Exec("CREATE INDEX IF NOT EXISTS " + QuoteIdent(type.name + "_project") + " ON " + QuoteIdent(type.name) +
                  "(project_id)");
        for (const auto& f : type.fields)
            if (f.kind == FieldKind::Reference)
                m_db.Exec("CREATE INDEX IF NOT EXISTS " + QuoteIdent(type.name + "_" + f.name) + " ON " +
                          QuoteIdent(type.name) + "(" + QuoteIdent(f.name) + ")");
    }
    // Vaults older than unseen_reference: before it, records written on this
    // device could not keep a reference to a record that is not here (every
    // create, edit and import checked), so every such reference came from
    // headquarters.
    if (version >= 1 && version < 4) {
        for (const auto& type : m_catalogue.Types()) {
            auto stmt =
                m_db.Prepare("SELECT " + SelectColumns(type) + " FROM " + QuoteIdent(type.name) + " WHERE deleted = 0");
            while (stmt.Step()) NoteUnseenReferences(type, ReadRow(type, stmt));
        }
    }
    // The search index's view of the text: made again, and the index with
    // it, when the catalogue says otherwise what is searched (a new type, a
    // field made searchable) or the vault is new to it.
    const std::string view = SearchContentSql();
    if (m_db.QueryText("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'search_content'").value_or("") !=
        view) {
        m_db.Exec("DROP VIEW IF EXISTS search_content");
        m_db.Exec(view);
        RebuildSearchEntries();
    }
}

// [SECTION] Validation

namespace {

std::string RequireText(const FieldSpec& f, const Json& value) {
    if (!value.is_string())
        throw RecordError(f.name, std::string("must be text, not ") + value.type_name(), errc::NOT_TEXT);
    auto text = value.get<std::string>();
    if (text.size() > MAX_TEXT_BYTES) throw RecordError(f.name, "is longer than 4 MiB", errc::TEXT_TOO_LONG);
    if (!IsValidUtf8(text)) throw RecordError(f.name, "is not valid UTF-8 text", errc::NOT_UTF8);
    // The search index and most tools end text at a NUL: what follows it
    // would be stored but never found.
    if (const auto nul = text.find('\0'); nul != std::string::npos)
        throw RecordError(f.name,
                          "contains a NUL character (\\u0000) after " + std::to_string(nul) +
                              " bytes; text may not hold one: remove it",
                          errc::CONTAINS_NUL);
    return NormaliseNewlines(text);
}

Json NormaliseValue(const FieldSpec& f, const Json& value) {
    switch (f.kind) {
    case FieldKind::Text:
    case FieldKind::LongText: return RequireText(f, value);
    case FieldKind::Integer:
        if (!value.is_number_integer())
            throw RecordError(
                f.name,
                "must be a whole number, not " + (value.is_number() ? value.dump() : std::string(value.type_name())),
                errc::NOT_A_NUMBER, {{"value", value.is_string() ? value.get<std::string>() : value.dump()}});
        if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
            throw RecordError(f.name, "is too large", errc::NUMBER_TOO_LARGE);
        return value.get<int64_t>();
    case FieldKind::Boolean:
        if (!value.is_boolean())
            throw RecordError(f.name, std::string("must be true or false, not ") + value.type_name(),
                              errc::NOT_TRUE_FALSE,
                              {{"value", value.is_string() ? value.get<std::string>() : value.dump()}});
        return value;
    case FieldKind::Choice: {
        const auto text = RequireText(f, value);
        if (std::find(f.choices.begin(), f.choices.end(), text) == f.choices.end())
            throw RecordError(f.name, "'" + text + "' is not one of: " + JoinChoices(f.choices), errc::UNKNOWN_CHOICE,
                              {{"value", text}});
        return text;
    }
    case FieldKind::Date: {
        const auto text = RequireText(f, value);
        if (!ParseIsoMillis(text))
            throw RecordError(f.name,
                              "'" + text +
                                  "' is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.mmm]] "
                                  "with Z or an offset such as -05:00",
                              errc::NOT_A_DATE, {{"value", text}});
        return text;
    }
    case FieldKind::Reference: {
        const auto text = LowerUuid(RequireText(f, value));
        if (!IsUuid(text))
            throw RecordError(f.name, "'" + text + "' is not a record id (a UUID: 8-4-4-4-12 hex digits)",
                              errc::NOT_A_RECORD_ID, {{"value", text}});
        return text;
    }
    case FieldKind::ChoiceList:
    case FieldKind::ReferenceList:
    case FieldKind::TextList: {
        if (!value.is_array())
            throw RecordError(f.name, std::string("must be a list, not ") + value.type_name(), errc::NOT_A_LIST);
        Json out = Json::array();
        FieldSpec item = f;
        item.kind = f.kind == FieldKind::ChoiceList      ? FieldKind::Choice
                    : f.kind == FieldKind::ReferenceList ? FieldKind::Reference
                                                         : FieldKind::Text;
        for (size_t i = 0; i < value.size(); ++i) {
            try {
                out.push_back(NormaliseValue(item, value[i]));
            } catch (const RecordError& e) {
                throw RecordError(f.name, "item " + std::to_string(i) + " " + e.Reason(), e.Code(), e.Params());
            }
        }
        return out;
    }
    }
    return value;
}

} // namespace

Json NormaliseRecord(const RecordType& type, const Json& input, bool creating) {
    if (!input.is_object())
        throw RecordError("", std::string("a record must be a JSON object, not ") + input.type_name(),
                          errc::NOT_AN_OBJECT);
    Json out = Json::object();
    out["id"] = nullptr;
    out["type"] = type.name;
    if (type.project_scoped) out["project_id"] = nullptr;
    for (auto it = input.begin(); it != input.end(); ++it) {
        const std::string& key = it.key();
        const Json& value = it.value();
        if (IsCommonKey(key)) {
            if (key == "type") {
                if (!value.is_string() || value.get<std::string>() != type.name)
                    throw RecordError("type", "does not match '" + type.name + "'", errc::FIELD_FIXED);
            } else if (key == "id" && !value.is_null()) {
                if (!value.is_string() || !IsUuid(LowerUuid(value.get<std::string>())))
                    throw RecordError("id", "must be a UUID: 8-4-4-4-12 hex digits", errc::NOT_A_RECORD_ID,
                                      {{"value", value.is_string() ? value.get<std::string>() : value.dump()}});
                out["id"] = LowerUuid(value.get<std::string>());
            } else if (key == "project_id" && !value.is_null()) {
                if (!type.project_scoped)
                    throw RecordError("project_id", "a " + type.name + " belongs to no project", errc::FIELD_FIXED);
                if (!value.is_string() || !IsUuid(LowerUuid(value.get<std::string>())))
                    throw RecordError("project_id", "must be the id of a project", errc::NOT_A_RECORD_ID,
                                      {{"value", value.is_string() ? value.get<std::string>() : value.dump()}});
                out["project_id"] = LowerUuid(value.get<std::string>());
            } else if (key == "created_at" && creating && !value.is_null()) {
                if (!value.is_string() || !ParseIsoMillis(value.get<std::string>()))
                    throw RecordError("created_at", "is not an ISO 8601 date-time", errc::NOT_A_DATE,
                                      {{"value", value.is_string() ? value.get<std::string>() : value.dump()}});
                out["created_at"] = value;
            } else if (key == "author" && creating && !value.is_null()) {
                if (!value.is_string() || !IsValidUtf8(value.get<std::string>()) ||
                    value.get<std::string>().find('\0') != std::string::npos)
                    throw RecordError("author", "must be text (without NUL characters)", errc::NOT_TEXT);
                out["author"] = value;
            }
            // updated_at, device, rev and deleted are this vault's to set.
            continue;
        }
        const FieldSpec* f = type.Field(key);
        if (!f) {
            std::string known;
            for (const auto& spec : type.fields) known += (known.empty() ? "" : ", ") + spec.name;
            throw RecordError(key, "is not a field of " + type.name + "; its fields are: " + known, errc::UNKNOWN_FIELD,
                              {{"type", type.name}});
        }
        if (value.is_null()) continue;
        out[key] = NormaliseValue(*f, value);
    }
    if (type.project_scoped && out["project_id"].is_null())
        throw RecordError("project_id", "is required", errc::FIELD_REQUIRED);
    if (creating && type.on_create) type.on_create(out);
    for (const auto& f : type.fields) {
        if (out.contains(f.name)) continue;
        if (creating && !f.default_value.is_null()) {
            out[f.name] = f.default_value;
        } else if (f.required) {
            throw RecordError(f.name, "is required", errc::FIELD_REQUIRED);
        }
    }
    for (const auto& f : type.fields) {
        if (!f.required || !out.contains(f.name)) continue;
        const auto& v = out[f.name];
        if (v.is_string() && v.get<std::string>().find_first_not_of(" \t\n") == std::string::npos)
            throw RecordError(f.name, "is required and may not be empty", errc::FIELD_REQUIRED);
    }
    if (type.validate) type.validate(out);
    return out;
}

namespace {

/// True when `id` is among the references `record` already holds in `field`.
bool AlreadyRefers(const Json* record, const FieldSpec& field, const std::string& id) {
    if (!record || !record->contains(field.name)) return false;
    const auto& value = (*record)[field.name];
    if (value.is_string()) return value.get<std::string>() == id;
    if (value.is_array())
        return std::any_of(value.begin(), value.end(),
                           [&](const Json& v) { return v.is_string() && v.get<std::string>() == id; });
    return false;
}

} // namespace

bool RecordStore::IsUnseenReference(const std::string& record_id, const std::string& ref_id) {
    auto stmt_lease = Cached("SELECT 1 FROM unseen_reference WHERE record_id = ? AND ref_id = ?");
    auto& stmt = *stmt_lease;
    stmt.Bind(1, record_id).Bind(2, ref_id);
    return stmt.Step();
}

void RecordStore::NoteUnseenReferences(const RecordType& type, const Json& record) {
    const auto& record_id = record["id"].get_ref<const std::string&>();
    const auto note = [&](const std::string& ref_id) {
        if (TypeOf(ref_id)) return;
        auto insert_lease = Cached("INSERT OR IGNORE INTO unseen_reference (record_id, ref_id) VALUES (?, ?)");
        auto& insert = *insert_lease;
        insert.Bind(1, record_id).Bind(2, ref_id).Run();
    };
    for (const auto& f : type.fields) {
        if (!record.contains(f.name)) continue;
        const auto& value = record[f.name];
        if (f.kind == FieldKind::Reference && value.is_string()) note(value.get<std::string>());
        else if (f.kind == FieldKind::ReferenceList && value.is_array())
            for (const auto& id : value)
                if (id.is_string()) note(id.get<std::string>());
    }
}

void RecordStore::CheckReferences(const RecordType& type, const Json& record, const Json* before, bool allow_unseen) {
    const std::string project = type.project_scoped ? record.value("project_id", "") : record.value("id", "");
    const std::string record_id = record.value("id", "");
    const auto check = [&](const std::string& field, const std::string& ref_type, const std::string& id) {
        const auto memo_key = m_deferring ? ref_type + '\n' + id : std::string();
        if (m_deferring)
            if (const auto it = m_valid_refs.find(memo_key); it != m_valid_refs.end()) {
                const auto& ref_project = it->second;
                if (ref_project != project)
                    throw RecordError(field, "the " + ref_type + " " + id + " belongs to another project",
                                      errc::REFERENCE_OTHER_PROJECT, {{"id", id}, {"ref_type", ref_type}});
                return;
            }
        auto stmt_lease = Cached("SELECT project_id, deleted FROM " + QuoteIdent(ref_type) + " WHERE id = ?");
        auto& stmt = *stmt_lease;
        stmt.Bind(1, id);
        if (!stmt.Step()) {
            if (const auto actual = TypeOf(id))
                throw RecordError(field, id + " is a " + *actual + ", not a " + ref_type, errc::REFERENCE_WRONG_TYPE,
                                  {{"id", id}, {"ref_type", ref_type}, {"actual", *actual}});
            // Received from headquarters, naming a record this device may not see.
            if (allow_unseen && IsUnseenReference(record_id, id)) return;
            throw RecordError(field, "no " + ref_type + " with id " + id + " in this vault", errc::REFERENCE_MISSING,
                              {{"id", id}, {"ref_type", ref_type}});
        }
        if (stmt.Int(1) != 0)
            throw RecordError(field, "the " + ref_type + " " + id + " has been deleted", errc::REFERENCE_DELETED,
                              {{"id", id}, {"ref_type", ref_type}});
        const auto ref_project = ref_type == "project" ? id : stmt.Text(0);
        if (m_deferring) m_valid_refs.emplace(memo_key, ref_project);
        if (ref_project != project)
            throw RecordError(field, "the " + ref_type + " " + id + " belongs to another project",
                              errc::REFERENCE_OTHER_PROJECT, {{"id", id}, {"ref_type", ref_type}});
    };
    if (type.project_scoped && !(before && (*before)["project_id"] == record["project_id"]))
        check("project_id", "project", record["project_id"].get<std::string>());
    // An edit answers for the references it adds: those the stored record
    // already held are not checked again (they may name a record this device
    // may not see, received with the record from headquarters).
    for (const auto& f : type.fields) {
        if (!record.contains(f.name)) continue;
        if (f.kind == FieldKind::Reference) {
            const auto& id = record[f.name].get_ref<const std::string&>();
            if (!AlreadyRefers(before, f, id)) check(f.name, f.ref_type, id);
        } else if (f.kind == FieldKind::ReferenceList) {
            for (const auto& item : record[f.name]) {
                const auto& id = item.get_ref<const std::string&>();
                if (!AlreadyRefers(before, f, id)) check(f.name, f.ref_type, id);
            }
        }
    }
    // What records received from headquarters say was checked where they were written.
    if (type.validate_with_store && !allow_unseen)
        type.validate_with_store(record, [this](const std::string& id) { return Get(id); });
}

// [SECTION] Writes: create, update, delete, import

RecordStore::Lease::~Lease() { m_stmt.Reset(); }

RecordStore::Lease RecordStore::Cached(const std::string& sql) {
    auto it = m_cache.find(sql);
    if (it == m_cache.end()) it = m_cache.emplace(sql, std::make_unique<Statement>(m_db, sql)).first;
    return Lease(*it->second);
}

/// The store's write transaction: the outermost scope opens it, nested ones
/// (a domain operation's several writes, an import's records) join it. The
/// store counts scopes itself instead of asking SQLite whether one is open.
class RecordStore::Scope {
public:
    explicit Scope(RecordStore& store) : m_store(store) {
        if (m_store.m_depth == 0) m_store.m_txn.emplace(m_store.m_db);
        ++m_store.m_depth;
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope() {
        if (--m_store.m_depth == 0) m_store.m_txn.reset(); // rolls back unless committed
    }
    void Commit() {
        if (m_store.m_depth == 1) m_store.m_txn->Commit();
    }

private:
    RecordStore& m_store;
};

void RecordStore::Atomically(const std::function<void()>& work) {
    Scope scope(*this);
    work();
    scope.Commit();
}

void RecordStore::CatchUpClock() {
    // Another connection to this vault may have stamped later times (the
    // app's sync thread applies records from headquarters); stamping below
    // them would let an older edit win a merge.
    auto stmt_lease = Cached("SELECT value FROM meta WHERE key = 'hlc'");
    auto& stmt = *stmt_lease;
    if (stmt.Step())
        if (const auto hlc = HlcTimestamp::Parse(stmt.Text(0))) m_clock.Restore(*hlc);
}

bool RecordStore::IsJournalled(const RecordType& type, const Json& record) {
    if (type.synced) return true;
    if (type.share_field.empty() || !type.project_scoped) return false;
    auto stmt_lease = Cached("SELECT " + QuoteIdent(type.share_field) + " FROM project WHERE id = ?");
    auto& stmt = *stmt_lease;
    stmt.Bind(1, record["project_id"].get<std::string>());
    return stmt.Step() && stmt.Int(0) != 0;
}

bool RecordStore::NamesBlob(const std::string& sha256, const std::string& except_id) {
    for (const auto& type : m_catalogue.Types()) {
        for (const auto& field : type.blob_fields) {
            auto uses = Cached("SELECT 1 FROM " + QuoteIdent(type.name) + " WHERE " + QuoteIdent(field) +
                               " = ? AND deleted = 0 AND id != ? LIMIT 1");
            (*uses).Bind(1, sha256).Bind(2, except_id);
            if ((*uses).Step()) return true;
        }
    }
    return false;
}

void RecordStore::ReleaseBlobs(const RecordType& type, const Json& record) {
    const auto& id = record["id"].get_ref<const std::string&>();
    const bool gone = record.value("deleted", false);
    if (gone) {
        // A recording deleted while still being written: its part goes too.
        auto parts = Cached("DELETE FROM blob_part WHERE owner = ?");
        (*parts).Bind(1, id).Run();
    }
    for (const auto& field : type.blob_fields) {
        auto held = Cached("SELECT " + QuoteIdent(field) + " FROM " + QuoteIdent(type.name) + " WHERE id = ?");
        (*held).Bind(1, id);
        if (!(*held).Step()) continue;
        const auto before = (*held).OptionalText(0);
        (*held).Reset();
        if (!before || before->empty()) continue;
        if (!gone && record.value(field, "") == *before) continue;
        // Kept while any other live record names the same content.
        if (NamesBlob(*before, id)) continue;
        auto drop = Cached("DELETE FROM blob WHERE sha256 = ?");
        (*drop).Bind(1, *before).Run();
    }
}

namespace {

/// The top-level members whose values differ between two versions of a
/// record, a member present in one only included.
std::set<std::string> ChangedMembers(const Json& before, const Json& after) {
    std::set<std::string> out;
    for (auto it = after.begin(); it != after.end(); ++it) {
        const auto was = before.find(it.key());
        if (was == before.end() || *was != it.value()) out.insert(it.key());
    }
    for (auto it = before.begin(); it != before.end(); ++it)
        if (!after.contains(it.key())) out.insert(it.key());
    return out;
}

/// A journal row's `fields` column: the members as a JSON array.
std::string MembersText(const std::set<std::string>& members) { return Json(members).dump(); }

/// The members a row held (its `fields` column) and `more`; nullopt when the
/// column is not an array of names (the row then goes whole).
std::optional<std::set<std::string>> JoinMembers(const std::string& text, std::set<std::string> more) {
    const auto held = Json::parse(text, nullptr, false);
    if (!held.is_array()) return std::nullopt;
    for (const auto& name : held) {
        if (!name.is_string()) return std::nullopt;
        more.insert(name.get<std::string>());
    }
    return more;
}

/// A field's value as its column holds it.
void BindField(Statement& stmt, int index, const FieldSpec& f, const Json& record) {
    const auto it = record.find(f.name);
    if (it == record.end() || it->is_null()) {
        stmt.BindNull(index);
        return;
    }
    const auto& v = *it;
    if (f.kind == FieldKind::Integer) stmt.Bind(index, v.get<int64_t>());
    else if (f.kind == FieldKind::Boolean) stmt.Bind(index, v.get<bool>() ? 1 : 0);
    else if (IsListKind(f.kind)) stmt.Bind(index, v.dump());
    else stmt.Bind(index, v.get_ref<const std::string&>());
}

const Json& FieldOrNull(const Json& record, const std::string& name) {
    static const Json null;
    const auto it = record.find(name);
    return it == record.end() ? null : *it;
}

} // namespace

bool RecordStore::UpdateRow(const RecordType& type, const Json& record, const Json& before) {
    // Only the columns that changed: SQLite rewrites every index one of whose
    // columns an UPDATE sets, changed or not, and a REPLACE rewrites them all.
    std::vector<std::string> names = {"updated_at", "device", "rev", "deleted"};
    for (const char* key : {"created_at", "author"})
        if (FieldOrNull(record, key) != FieldOrNull(before, key)) names.emplace_back(key);
    // A record moved to another project (MoveProjectRecords).
    if (type.project_scoped && FieldOrNull(record, "project_id") != FieldOrNull(before, "project_id"))
        names.emplace_back("project_id");
    std::vector<const FieldSpec*> fields;
    for (const auto& f : type.fields)
        if (FieldOrNull(record, f.name) != FieldOrNull(before, f.name)) fields.push_back(&f);
    std::string sql = "UPDATE " + QuoteIdent(type.name) + " SET ";
    for (size_t i = 0; i < names.size(); ++i) sql += (i ? ", " : "") + names[i] + " = ?";
    for (const auto* f : fields) sql += ", " + QuoteIdent(f->name) + " = ?";
    sql += " WHERE id = ?";
    auto lease = Cached(sql);
    auto& stmt = *lease;
    int index = 1;
    for (const auto& name : names) {
        if (name == "rev") stmt.Bind(index++, record["rev"].get<int64_t>());
        else if (name == "deleted") stmt.Bind(index++, record["deleted"].get<bool>() ? 1 : 0);
        else stmt.Bind(index++, record[name].get_ref<const std::string&>());
    }
    for (const auto* f : fields) BindField(stmt, index++, *f, record);
    stmt.Bind(index, record["id"].get_ref<const std::string&>());
    stmt.Run();
    return m_db.Changes() > 0;
}

void RecordStore::Write(const RecordType& type, const Json& record, const char* op, const Json* before) {
    if (!type.blob_fields.empty()) ReleaseBlobs(type, record);
    const auto& id = record["id"].get_ref<const std::string&>();
    const bool text_changes = UnindexBefore(type, record, before);
    if (!before || !UpdateRow(type, record, *before)) {
        std::string columns = "id, project_id, created_at, updated_at, author, device, rev, deleted";
        std::string marks = "?, ?, ?, ?, ?, ?, ?, ?";
        for (const auto& f : type.fields) {
            columns += ", " + QuoteIdent(f.name);
            marks += ", ?";
        }
        // A record made on this device is new (Create checked its id): a
        // plain INSERT. OR REPLACE costs SQLite 3.15 about 25 times as much
        // per row in a keyed import (escucha-bench-vault --statements); it
        // stays for a row an edit did not find and for records from
        // headquarters, where a row left behind must not stop the sync.
        const bool fresh = !before && !m_remote;
        auto stmt_lease = Cached(std::string(fresh ? "INSERT INTO " : "INSERT OR REPLACE INTO ") +
                                 QuoteIdent(type.name) + " (" + columns + ") VALUES (" + marks + ")");
        auto& stmt = *stmt_lease;
        const std::string project = type.project_scoped ? record["project_id"].get<std::string>() : id;
        stmt.Bind(1, id).Bind(2, project);
        stmt.Bind(3, record["created_at"].get<std::string>()).Bind(4, record["updated_at"].get<std::string>());
        stmt.Bind(5, record["author"].get<std::string>()).Bind(6, record["device"].get<std::string>());
        stmt.Bind(7, record["rev"].get<int64_t>()).Bind(8, record["deleted"].get<bool>() ? 1 : 0);
        int index = 9;
        for (const auto& f : type.fields) BindField(stmt, index++, f, record);
        stmt.Run();
        auto idx_lease = Cached("INSERT OR IGNORE INTO record_index (id, type) VALUES (?, ?)");
        auto& idx = *idx_lease;
        idx.Bind(1, id).Bind(2, type.name).Run();
    }
    if (text_changes) IndexAfter(type, record, before);

    if (!m_remote && IsJournalled(type, record)) {
        // A change headquarters refused is superseded by this one, which
        // holds the whole record as it is now: it is sent instead.
        bool superseded_any = false;
        if (before) {
            auto superseded = Cached("DELETE FROM journal WHERE record_id = ? AND last_error IS NOT NULL");
            (*superseded).Bind(1, id).Run();
            superseded_any = m_db.Changes() > 0;
        }
        // The members this edit changed, for a push that sends only those
        // (docs/decisions/0027). Unknown (the row goes whole) for a record
        // new here, a deletion, and an edit that replaces a refused change,
        // whose own changes headquarters never took.
        std::optional<std::set<std::string>> changed;
        // A record moved to another project (MoveProjectRecords) is new to
        // headquarters there: whole too.
        if (before && !superseded_any && std::strcmp(op, "upsert") == 0 &&
            before->value("rev", int64_t{0}) == record["rev"].get<int64_t>() - 1 &&
            before->value("project_id", Json()) == record.value("project_id", Json()))
            changed = ChangedMembers(*before, record);
        // Edits of a record whose change has not been handed to a push yet
        // join that change: it keeps its change id (never sent) and the rev
        // its edits started from, and moves to the end of the journal so it
        // still follows every record it may now refer to.
        // An upsert's row holds no copy of the record: its body is the record
        // as it stands (empty text here), copied into the row only when the
        // row is handed to a push or headquarters' version replaces the
        // record. A tombstone's row keeps its body (it holds no text, and
        // names why the record was erased).
        const bool upsert = std::strcmp(op, "upsert") == 0;
        const std::string body = upsert ? std::string() : record.dump();
        const int64_t rev = record["rev"].get<int64_t>();
        int64_t base_rev = rev - 1;
        std::string change_id;
        // A record written without its stored version (created now, or moved
        // to another project after its rows were dropped) has no row yet.
        // An upsert row that holds a body of its own was kept when
        // headquarters' version replaced the record (ApplyRemote): its edits
        // are not in the record any more, so this edit, made on
        // headquarters' version, goes in a row of its own rather than
        // overwrite them.
        if (before) {
            auto waiting =
                Cached("SELECT seq, change_id, base_rev, seq = (SELECT max(seq) FROM journal), fields FROM journal "
                       "WHERE record_id = ? AND sent = 0 AND last_error IS NULL AND NOT (op = 'upsert' AND body <> '') "
                       "ORDER BY seq LIMIT 1");
            (*waiting).Bind(1, id);
            if ((*waiting).Step()) {
                const int64_t seq = (*waiting).Int(0);
                const bool last = (*waiting).Int(3) != 0;
                change_id = (*waiting).Text(1);
                if (!(*waiting).IsNull(2)) base_rev = std::min(base_rev, (*waiting).Int(2));
                // Joined: the row's members and this edit's together; a row
                // that goes whole stays whole.
                if ((*waiting).IsNull(4)) changed.reset();
                else if (changed) changed = JoinMembers((*waiting).Text(4), *changed);
                (*waiting).Reset();
                if (last) {
                    // Already last in the journal: joined where it stands.
                    auto joined = Cached("UPDATE journal SET rev = ?, op = ?, hlc = ?, body = ?, base_rev = ?, "
                                         "fields = ? WHERE seq = ?");
                    (*joined).Bind(1, rev).Bind(2, op).Bind(3, record["updated_at"].get<std::string>());
                    (*joined).Bind(4, body).Bind(5, base_rev);
                    if (changed) (*joined).Bind(6, MembersText(*changed));
                    else (*joined).BindNull(6);
                    (*joined).Bind(7, seq).Run();
                } else {
                    auto joined = Cached("DELETE FROM journal WHERE seq = ?");
                    (*joined).Bind(1, seq).Run();
                    change_id += '\n'; // written again below, at the end
                }
            }
        }
        if (change_id.empty() || change_id.back() == '\n') {
            if (change_id.empty()) change_id = NewUuidV7();
            else change_id.pop_back();
            auto journal_lease = Cached("INSERT INTO journal (change_id, record_type, record_id, rev, op, hlc, body, "
                                        "base_rev, sent, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)");
            auto& journal = *journal_lease;
            journal.Bind(1, change_id).Bind(2, type.name).Bind(3, id).Bind(4, rev);
            journal.Bind(5, op).Bind(6, record["updated_at"].get<std::string>()).Bind(7, body);
            journal.Bind(8, base_rev);
            if (changed) journal.Bind(9, MembersText(*changed));
            else journal.BindNull(9);
            journal.Run();
        }
    }
    // An import saves the clock once, at its end.
    if (!m_deferring) SaveClock();
}

void RecordStore::SaveClock() {
    // UPDATE first: a REPLACE would delete and insert the row, writing the
    // key's index as well as the table.
    auto meta_lease = Cached("UPDATE meta SET value = ? WHERE key = 'hlc'");
    (*meta_lease).Bind(1, m_clock.Last().ToString()).Run();
    if (m_db.Changes() == 0) {
        auto insert = Cached("INSERT OR REPLACE INTO meta (key, value) VALUES ('hlc', ?)");
        (*insert).Bind(1, m_clock.Last().ToString()).Run();
    }
}

Json RecordStore::Create(const std::string& type_name, const Json& fields) {
    const auto& type = m_catalogue.Get(type_name);
    Json record = NormaliseRecord(type, fields, true);
    Scope scope(*this);
    if (!m_deferring) CatchUpClock(); // an import caught up once, at its start
    const auto now = m_clock.Now();
    if (record["id"].is_null()) record["id"] = NewUuidV7(now.millis);
    if (!type.project_scoped) record.erase("project_id");
    const std::string id = record["id"];
    if (TypeOf(id))
        throw RecordError("id", "a record with id " + id + " already exists in the vault", errc::RECORD_EXISTS,
                          {{"id", id}});
    if (!record.contains("created_at")) record["created_at"] = FormatIsoMillis(now.millis);
    record["updated_at"] = now.ToString();
    if (!record.contains("author")) record["author"] = m_writer.author;
    record["device"] = m_writer.device;
    record["rev"] = 1;
    record["deleted"] = false;

    // Inside an import, references are checked once every record is in.
    const bool deferred = m_deferring;
    if (!deferred) CheckReferences(type, record);
    Write(type, record, "upsert");
    scope.Commit();
    return record;
}

Json RecordStore::Update(const std::string& id, const Json& patch) {
    // Read and write under one write lock: another connection to this vault
    // (the app's sync thread) may change the record in between.
    Scope scope(*this);
    CatchUpClock();
    const auto existing = Get(id);
    if (!existing)
        throw RecordError("id", "no record with id " + id + " in this vault", errc::RECORD_NOT_FOUND, {{"id", id}});
    if ((*existing)["deleted"].get<bool>())
        throw RecordError("id", "the record " + id + " has been deleted", errc::RECORD_DELETED, {{"id", id}});
    const auto& type = m_catalogue.Get((*existing)["type"].get<std::string>());
    if (!patch.is_object()) throw RecordError("", "changes must be a JSON object", errc::NOT_AN_OBJECT);
    Json merged = *existing;
    for (auto it = patch.begin(); it != patch.end(); ++it) {
        const auto& key = it.key();
        if (key == "project_id" && type.project_scoped && it.value() != (*existing)["project_id"])
            throw RecordError("project_id", "a record cannot move to another project", errc::FIELD_FIXED);
        if (key == "id" && it.value() != (*existing)["id"])
            throw RecordError("id", "cannot be changed", errc::FIELD_FIXED);
        if (IsCommonKey(key)) continue;
        if (!type.Field(key)) {
            (void)NormaliseRecord(type, Json{{key, it.value()}}, false); // throws the unknown-field error
        }
        if (it.value().is_null()) merged.erase(key);
        else merged[key] = it.value();
    }
    Json record = NormaliseRecord(type, merged, false);
    if (!type.project_scoped) record.erase("project_id");
    record["created_at"] = (*existing)["created_at"];
    record["author"] = (*existing)["author"];
    record["updated_at"] = m_clock.Now().ToString();
    record["device"] = m_writer.device;
    record["rev"] = (*existing)["rev"].get<int64_t>() + 1;
    record["deleted"] = false;

    CheckReferences(type, record, &*existing);
    Write(type, record, "upsert", &*existing);
    scope.Commit();
    return record;
}

Json RecordStore::Delete(const std::string& id, bool force) {
    Scope scope(*this);
    CatchUpClock();
    const auto existing = Get(id);
    if (!existing)
        throw RecordError("id", "no record with id " + id + " in this vault", errc::RECORD_NOT_FOUND, {{"id", id}});
    if ((*existing)["deleted"].get<bool>()) return *existing;
    const auto& type = m_catalogue.Get((*existing)["type"].get<std::string>());
    if (!force) {
        const auto refs = ReferencesTo(id);
        if (!refs.empty())
            throw RecordError("id",
                              std::to_string(refs.size()) + " record(s) still refer to " + id + ", first " +
                                  refs.front() + "; delete or change them first",
                              errc::STILL_REFERENCED, {{"id", id}, {"count", static_cast<int64_t>(refs.size())}});
    }
    Json record = Tombstone(type, *existing);
    Write(type, record, "delete", &*existing);
    Audit("delete", type.name, id);
    scope.Commit();
    return record;
}

Json RecordStore::Tombstone(const RecordType& type, const Json& existing) {
    Json record = Json::object();
    record["id"] = existing["id"];
    record["type"] = type.name;
    if (type.project_scoped) record["project_id"] = existing["project_id"];
    record["created_at"] = existing["created_at"];
    record["author"] = existing["author"];
    record["updated_at"] = m_clock.Now().ToString();
    record["device"] = m_writer.device;
    record["rev"] = existing["rev"].get<int64_t>() + 1;
    record["deleted"] = true;
    return record;
}

void RecordStore::ForgetText(const std::string& id) {
    // Unsent changes and the versions kept for a person to merge are copies
    // of the text; headquarters needs none of them to apply the tombstone.
    auto journal = Cached("DELETE FROM journal WHERE record_id = ?");
    (*journal).Bind(1, id).Run();
    auto conflicts = Cached("DELETE FROM conflict WHERE record_id = ?");
    (*conflicts).Bind(1, id).Run();
}

Json RecordStore::Erase(const std::string& id, const std::string& cause) {
    Scope scope(*this);
    CatchUpClock();
    const auto existing = Get(id);
    if (!existing)
        throw RecordError("id", "no record with id " + id + " in this vault", errc::RECORD_NOT_FOUND, {{"id", id}});
    const auto& type = m_catalogue.Get((*existing)["type"].get<std::string>());
    ForgetText(id);
    if ((*existing)["deleted"].get<bool>()) {
        scope.Commit();
        return *existing;
    }
    Json record = Tombstone(type, *existing);
    if (!cause.empty()) record["erased_for"] = cause;
    Write(type, record, "delete", &*existing);
    Audit("erase", type.name, id);
    scope.Commit();
    return record;
}

void RecordStore::Audit(const std::string& action, const std::string& record_type, const std::string& record_id) {
    auto audit = Cached("INSERT INTO audit (at, author, action, record_type, record_id) VALUES (?, ?, ?, ?, ?)");
    (*audit).Bind(1, m_clock.Last().ToString()).Bind(2, m_writer.author).Bind(3, action).Bind(4, record_type);
    (*audit).Bind(5, record_id).Run();
}

void RecordStore::PurgeErasedText() {
    // FTS4 keeps a deleted document's words in its segments until they are
    // merged; 'optimize' merges them all into one, without the deleted ones.
    m_db.Exec("INSERT INTO search_index(search_index) VALUES('optimize')");
}

std::map<std::string, int64_t> RecordStore::MoveProjectRecords(const std::string& from, const std::string& to) {
    Scope scope(*this);
    CatchUpClock();
    if (from == to) throw RecordError("project_id", "the records are in that project already", errc::SAME_PROJECT);
    const auto source = Get(from);
    if (!source || (*source)["type"] != "project" || (*source)["deleted"].get<bool>())
        throw RecordError("project_id", "no project " + from + " in this vault", errc::PROJECT_NOT_FOUND,
                          {{"id", from}});
    const auto target = Get(to);
    if (!target || (*target)["type"] != "project" || (*target)["deleted"].get<bool>())
        throw RecordError("project_id", "no project " + to + " in this vault", errc::PROJECT_NOT_FOUND, {{"id", to}});
    std::map<std::string, int64_t> moved;
    for (const auto& type : m_catalogue.Types()) {
        if (!type.project_scoped) continue;
        ListOptions options;
        options.project_id = from;
        options.include_deleted = true;
        for (auto record : List(type.name, options)) {
            const std::string id = record["id"];
            // Headquarters never accepted a change of a project it does not
            // know: those changes are replaced by one in the new project.
            auto drop = Cached("DELETE FROM journal WHERE record_id = ?");
            (*drop).Bind(1, id).Run();
            const Json before = record;
            record["project_id"] = to;
            record["updated_at"] = m_clock.Now().ToString();
            record["device"] = m_writer.device;
            record["rev"] = record["rev"].get<int64_t>() + 1;
            Write(type, record, record["deleted"].get<bool>() ? "delete" : "upsert", &before);
            if (!record["deleted"].get<bool>()) ++moved[type.name];
        }
    }
    // The local project itself is now empty and never reached headquarters.
    ForgetText(from);
    const auto& project_type = m_catalogue.Get("project");
    m_remote = true;
    struct Reset {
        bool& flag;
        ~Reset() { flag = false; }
    } reset{m_remote};
    Write(project_type, Tombstone(project_type, *source), "delete");
    Audit("move_project", "project", from);
    scope.Commit();
    return moved;
}

std::vector<std::string> RecordStore::Import(const Json& records, const ImportProgress& progress) {
    Scope scope(*this);
    auto ids = ImportInTransaction(records, progress);
    scope.Commit();
    return ids;
}

ImportOutcome RecordStore::ImportOnce(const Json& records, const ImportProgress& progress) {
    if (!records.is_array())
        throw RecordError("", std::string("an import must be a JSON array of records, not ") + records.type_name(),
                          errc::NOT_A_LIST);
    // The records as canonical JSON: the same file, or the same records laid
    // out otherwise, is known again.
    EnsureSodium();
    const auto text = records.dump();
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    ImportOutcome outcome;
    outcome.digest = HexEncode(digest, sizeof digest);
    Scope scope(*this);
    {
        auto seen = m_db.Prepare("SELECT imported_at, records FROM import_log WHERE digest = ?");
        seen.Bind(1, outcome.digest);
        if (seen.Step()) {
            outcome.already_imported = true;
            outcome.imported_at = seen.Text(0);
            outcome.count = seen.Int(1);
            return outcome;
        }
    }
    outcome.ids = ImportInTransaction(records, progress);
    outcome.count = static_cast<int64_t>(outcome.ids.size());
    outcome.imported_at = FormatIsoMillis(SystemMillis());
    // In the same transaction as the records: a program killed after the
    // commit has both, before it neither.
    auto log = m_db.Prepare("INSERT INTO import_log (digest, imported_at, records) VALUES (?, ?, ?)");
    log.Bind(1, outcome.digest).Bind(2, outcome.imported_at).Bind(3, outcome.count).Run();
    scope.Commit();
    return outcome;
}

std::vector<std::string> RecordStore::ImportInTransaction(const Json& records, const ImportProgress& progress) {
    if (!records.is_array())
        throw RecordError("", std::string("an import must be a JSON array of records, not ") + records.type_name(),
                          errc::NOT_A_LIST);
    std::vector<std::string> ids;
    std::vector<const RecordType*> types;
    // What the reference checks at the end read, kept from the first pass
    // instead of read back: the whole record for a type with checks that
    // need it, otherwise its id, project and references.
    std::vector<Json> checked;
    std::unordered_set<std::string> seen;
    ids.reserve(records.size());
    types.reserve(records.size());
    checked.reserve(records.size());
    CatchUpClock();
    m_deferring = true;
    // A page cache sized for a long import: pages of the indexes it fills
    // stay in memory instead of being written to the log and read back
    // before the commit. Set back to the vault's own size afterwards.
    const auto cache_pages = m_db.QueryInt("PRAGMA cache_size");
    m_db.Exec("PRAGMA cache_size = " + std::to_string(IMPORT_CACHE_KIB * -1));
    struct Reset {
        RecordStore& store;
        int64_t cache_pages;
        ~Reset() {
            store.m_deferring = false;
            store.m_valid_refs.clear();
            try {
                store.m_db.Exec("PRAGMA cache_size = " + std::to_string(cache_pages));
            } catch (...) {
                // The connection keeps the larger cache; nothing is lost.
            }
        }
    } reset{*this, cache_pages};
    const auto report = [&](size_t done) {
        if (progress && (done % 500 == 0 || done == records.size())) progress(done, records.size());
    };
    for (size_t i = 0; i < records.size(); ++i) {
        const auto& input = records[i];
        std::string type_name;
        try {
            if (!input.is_object())
                throw RecordError("", std::string("must be a JSON object, not ") + input.type_name(),
                                  errc::NOT_AN_OBJECT);
            if (!input.contains("type")) throw RecordError("type", "is required", errc::FIELD_REQUIRED);
            if (!input["type"].is_string()) throw RecordError("type", "must be text", errc::NOT_TEXT);
            type_name = input["type"].get<std::string>();
            if (input.value("deleted", false) == true) {
                throw RecordError("deleted", "a deleted record (tombstone) cannot be imported", errc::IMPORT_TOMBSTONE);
            }
            const auto& type = m_catalogue.Get(type_name);
            if (input.contains("id") && input["id"].is_string() && seen.count(input["id"].get<std::string>()))
                throw RecordError("id", "the id " + input["id"].get<std::string>() + " appears twice in this file",
                                  errc::IMPORT_DUPLICATE_ID, {{"id", input["id"].get<std::string>()}});
            auto record = Create(type.name, input);
            ids.push_back(record["id"]);
            seen.insert(ids.back());
            types.push_back(&type);
            if (!type.validate_with_store) {
                Json slim = Json::object();
                for (const char* key : {"id", "type", "project_id"})
                    if (record.contains(key)) slim[key] = std::move(record[key]);
                for (const auto& f : type.fields)
                    if ((f.kind == FieldKind::Reference || f.kind == FieldKind::ReferenceList) && record.contains(f.name))
                        slim[f.name] = std::move(record[f.name]);
                record = std::move(slim);
            }
            checked.push_back(std::move(record));
        } catch (const RecordError& e) {
            throw e.At(i, type_name);
        }
        report(i + 1);
    }
    for (size_t i = 0; i < ids.size(); ++i) {
        try {
            CheckReferences(*types[i], checked[i]);
        } catch (const RecordError& e) {
            throw e.At(i, types[i]->name);
        }
    }
    SaveClock();
    return ids;
}

// [SECTION] Reads

std::vector<const FieldSpec*> RecordStore::AllFields(const RecordType& type) {
    std::vector<const FieldSpec*> fields;
    for (const auto& f : type.fields) fields.push_back(&f);
    return fields;
}

std::string RecordStore::SelectColumns(const std::vector<const FieldSpec*>& fields) {
    std::string columns = "id, project_id, created_at, updated_at, author, device, rev, deleted";
    for (const auto* f : fields) columns += ", " + QuoteIdent(f->name);
    return columns;
}

std::string RecordStore::SelectColumns(const RecordType& type) const { return SelectColumns(AllFields(type)); }

Json RecordStore::ReadRow(const RecordType& type, Statement& stmt) const {
    return ReadRow(type, stmt, AllFields(type));
}

Json RecordStore::ReadRow(const RecordType& type, Statement& stmt, const std::vector<const FieldSpec*>& fields) const {
    Json record = Json::object();
    record["id"] = stmt.Text(0);
    record["type"] = type.name;
    if (type.project_scoped) record["project_id"] = stmt.Text(1);
    int column = 8;
    for (const auto* f : fields) {
        const int c = column++;
        if (stmt.IsNull(c)) continue;
        if (f->kind == FieldKind::Integer) record[f->name] = stmt.Int(c);
        else if (f->kind == FieldKind::Boolean) record[f->name] = stmt.Int(c) != 0;
        else if (IsListKind(f->kind)) record[f->name] = Json::parse(stmt.Text(c), nullptr, false);
        else record[f->name] = stmt.Text(c);
    }
    record["created_at"] = stmt.Text(2);
    record["updated_at"] = stmt.Text(3);
    record["author"] = stmt.Text(4);
    record["device"] = stmt.Text(5);
    record["rev"] = stmt.Int(6);
    record["deleted"] = stmt.Int(7) != 0;
    return record;
}

std::optional<std::string> RecordStore::TypeOf(const std::string& id) {
    auto stmt_lease = Cached("SELECT type FROM record_index WHERE id = ?");
    auto& stmt = *stmt_lease;
    stmt.Bind(1, id);
    if (!stmt.Step()) return std::nullopt;
    return stmt.Text(0);
}

std::optional<Json> RecordStore::Get(const std::string& id) {
    const auto type_name = TypeOf(id);
    if (!type_name) return std::nullopt;
    const auto* type = m_catalogue.Find(*type_name);
    if (!type) return std::nullopt;
    auto stmt_lease = Cached("SELECT " + SelectColumns(*type) + " FROM " + QuoteIdent(type->name) + " WHERE id = ?");
    auto& stmt = *stmt_lease;
    stmt.Bind(1, id);
    if (!stmt.Step()) return std::nullopt;
    return ReadRow(*type, stmt);
}

std::vector<Json> RecordStore::List(const std::string& type_name, const ListOptions& options) {
    const auto& type = m_catalogue.Get(type_name);
    std::vector<const FieldSpec*> fields;
    if (options.only_fields) {
        for (const auto& name : *options.only_fields) {
            const auto* f = type.Field(name);
            if (!f)
                throw RecordError(name, "is not a field of " + type.name, errc::UNKNOWN_FIELD, {{"type", type.name}});
            fields.push_back(f);
        }
    } else {
        fields = AllFields(type);
    }
    std::string sql = "SELECT " + SelectColumns(fields) + " FROM " + QuoteIdent(type.name) + " WHERE 1";
    if (!options.include_deleted) sql += " AND deleted = 0";
    if (options.project_id) sql += " AND project_id = ?1";
    sql += std::string(" ORDER BY id") + (options.newest_first ? " DESC" : "") + " LIMIT " +
           std::to_string(options.limit) + " OFFSET " + std::to_string(options.offset);
    auto stmt = m_db.Prepare(sql);
    if (options.project_id) stmt.Bind(1, *options.project_id);
    std::vector<Json> out;
    while (stmt.Step()) out.push_back(ReadRow(type, stmt, fields));
    return out;
}

int64_t RecordStore::Count(const std::string& type_name, bool include_deleted) {
    const auto& type = m_catalogue.Get(type_name);
    return m_db.QueryInt("SELECT count(*) FROM " + QuoteIdent(type.name) +
                         (include_deleted ? "" : " WHERE deleted = 0"));
}

void RecordStore::ForEach(const std::function<void(const Json&)>& visit, bool include_deleted) {
    for (const auto& type : m_catalogue.Types()) {
        auto stmt = m_db.Prepare("SELECT " + SelectColumns(type) + " FROM " + QuoteIdent(type.name) +
                                 (include_deleted ? "" : " WHERE deleted = 0") + " ORDER BY id");
        while (stmt.Step()) visit(ReadRow(type, stmt));
    }
}

std::vector<std::string> RecordStore::ReferencesTo(const std::string& id) {
    std::vector<std::string> out;
    const auto target = TypeOf(id);
    if (!target) return out;
    for (const auto& type : m_catalogue.Types()) {
        if (*target == "project" && type.project_scoped) {
            auto stmt =
                m_db.Prepare("SELECT id FROM " + QuoteIdent(type.name) + " WHERE deleted = 0 AND project_id = ?");
            stmt.Bind(1, id);
            while (stmt.Step()) out.push_back(stmt.Text(0));
        }
        for (const auto& f : type.fields) {
            if (f.ref_type != *target) continue;
            std::string sql =
                "SELECT id FROM " + QuoteIdent(type.name) + " WHERE deleted = 0 AND " + QuoteIdent(f.name);
            if (f.kind == FieldKind::Reference) sql += " = ?";
            else if (f.kind == FieldKind::ReferenceList) sql += " LIKE ?";
            else continue;
            auto stmt = m_db.Prepare(sql);
            stmt.Bind(1, f.kind == FieldKind::Reference ? id : "%\"" + id + "\"%");
            while (stmt.Step()) out.push_back(stmt.Text(0));
        }
    }
    return out;
}

// [SECTION] Full-text search

namespace {

/// Whether a field's value is text the index takes as it is.
bool IsTextKind(FieldKind kind) {
    return kind == FieldKind::Text || kind == FieldKind::LongText || kind == FieldKind::Choice ||
           kind == FieldKind::Date || kind == FieldKind::Reference;
}

/// SQL's replace(): every `from` in `text`, left to right, becomes `to`.
std::string ReplaceAll(std::string text, std::string_view from, std::string_view to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

/// What the search index holds of a record: its title, and its other
/// searchable fields one after another, each ended by a newline; a list's
/// items one a line. Nothing for a tombstone. Byte for byte what the view
/// search_content gives for the record's row (SearchTextSql says the same
/// in SQL): FTS4 takes a record's words out by reading them from the view,
/// so what was put in must be what it reads. CheckConsistency's integrity
/// check compares the two.
std::pair<std::string, std::string> SearchText(const RecordType& type, const Json& record) {
    std::string title;
    std::string body;
    if (record.value("deleted", false)) return {title, body};
    for (const auto& f : type.fields) {
        const auto it = record.find(f.name);
        const bool present = it != record.end() && !it->is_null();
        if (f.name == type.title_field) {
            if (present && IsTextKind(f.kind) && it->is_string()) title = it->get<std::string>();
            continue;
        }
        if (!f.searchable || !present) continue;
        if (IsTextKind(f.kind)) {
            if (it->is_string()) body += it->get_ref<const std::string&>() + "\n";
        } else if (IsListKind(f.kind)) {
            // The column holds the list's JSON; the view unpacks it so.
            const std::string json = it->dump();
            if (json == "[]" || json.size() < 4) continue;
            std::string items = json.substr(2, json.size() - 4);
            items = ReplaceAll(std::move(items), "\",\"", "\n");
            items = ReplaceAll(std::move(items), "\\n", "\n");
            items = ReplaceAll(std::move(items), "\\t", "\t");
            items = ReplaceAll(std::move(items), "\\\"", "\"");
            items = ReplaceAll(std::move(items), "\\\\", "\\");
            body += items + "\n";
        }
    }
    return {title, body};
}

/// The search text of one row of `type`, in SQL over the row `t`: what
/// SearchText makes of the record. Built-in functions only, so the plain
/// sqlcipher shell reads the view too.
std::pair<std::string, std::string> SearchTextSql(const RecordType& type) {
    std::string title = "''";
    std::string body;
    for (const auto& f : type.fields) {
        const std::string column = "t." + QuoteIdent(f.name);
        if (f.name == type.title_field) {
            if (IsTextKind(f.kind)) title = "coalesce(" + column + ", '')";
            continue;
        }
        if (!f.searchable) continue;
        std::string part;
        if (IsTextKind(f.kind)) {
            part = "coalesce(" + column + " || char(10), '')";
        } else if (IsListKind(f.kind)) {
            // ["one","two"] -> one\ntwo\n, with JSON's \n, \t, \" and \\ undone
            part = "CASE WHEN " + column + " IS NULL OR " + column + " = '[]' THEN '' ELSE " +
                   "replace(replace(replace(replace(replace(substr(" + column + ", 3, length(" + column +
                   ") - 4), '\",\"', char(10)), '\\n', char(10)), '\\t', char(9)), '\\\"', '\"'), '\\\\', '\\') || "
                   "char(10) END";
        } else {
            continue;
        }
        body += (body.empty() ? "" : " || ") + part;
    }
    return {title, body.empty() ? "''" : body};
}

bool IsIndexed(const RecordType& type) {
    if (!type.title_field.empty()) return true;
    for (const auto& f : type.fields)
        if (f.searchable) return true;
    return false;
}

/// The rows of search_content for one type: docid, title and body.
std::string SearchContentSelect(const RecordType& type) {
    const auto [title, body] = SearchTextSql(type);
    return "SELECT d.docid AS rowid, " + title + " AS title, " + body + " AS body FROM search_doc d JOIN " +
           QuoteIdent(type.name) + " t ON t.id = d.record_id";
}

} // namespace

std::string RecordStore::SearchContentSql() const {
    std::string sql;
    for (const auto& type : m_catalogue.Types()) {
        if (!IsIndexed(type)) continue;
        sql += (sql.empty() ? "" : " UNION ALL ") + SearchContentSelect(type) +
               " WHERE d.record_type = " + QuoteSql(type.name);
    }
    if (sql.empty()) sql = "SELECT NULL AS rowid, NULL AS title, NULL AS body WHERE 0";
    return "CREATE VIEW search_content AS " + sql;
}

bool RecordStore::UnindexBefore(const RecordType& type, const Json& record, const Json* before) {
    if (!before && m_deferring) return true; // imported: new here, no entry yet
    // An edit of fields the index does not hold (a status, a reference)
    // leaves the index as it is. A deletion always goes on. A record written
    // without its stored version (a project's tombstone after a move) goes
    // on too: its row may hold words the index has.
    if (before && !record.value("deleted", false) && SearchText(type, *before) == SearchText(type, record))
        return false;
    const auto& id = record["id"].get_ref<const std::string&>();
    // A marked entry went out at the first edit of its run.
    auto marked = Cached("SELECT 1 FROM search_pending WHERE record_id = ?");
    if ((*marked).Bind(1, id).Step()) return true;
    auto find = Cached("SELECT docid FROM search_doc WHERE record_id = ?");
    if (!(*find).Bind(1, id).Step()) return true;
    const int64_t docid = (*find).Int(0);
    // FTS4 reads the words to take out from the row, which still holds them.
    auto remove = Cached("DELETE FROM search_index WHERE docid = ?");
    (*remove).Bind(1, docid).Run();
    return true;
}

void RecordStore::IndexAfter(const RecordType& type, const Json& record, const Json* before) {
    // An edit of a live record by this device (an autosave, every few seconds
    // while someone types) marks the entry, which its first edit took out:
    // indexing each version of a text being typed writes about twelve pages.
    // The mark is one row, already there from the edit before.
    // SettleSearchIndex puts the entry in before any search reads the index.
    // New records, imports, records from headquarters and deletions are
    // indexed at once (docs/decisions/0023).
    if (before && !record.value("deleted", false) && !m_remote && !m_deferring) {
        auto mark = Cached("INSERT OR IGNORE INTO search_pending (record_id) VALUES (?)");
        (*mark).Bind(1, record["id"].get_ref<const std::string&>()).Run();
        return;
    }
    PutEntry(type, record);
}

void RecordStore::PutEntry(const RecordType& type, const Json& record) {
    const auto& id = record["id"].get_ref<const std::string&>();
    if (!m_deferring) { // an imported record is new: it has no mark and no entry
        auto unmark = Cached("DELETE FROM search_pending WHERE record_id = ?");
        (*unmark).Bind(1, id).Run();
    }
    const auto [title, body] = SearchText(type, record);
    const bool empty = title.empty() && body.empty();
    int64_t docid = 0;
    if (!m_deferring) {
        auto find = Cached("SELECT docid FROM search_doc WHERE record_id = ?");
        if ((*find).Bind(1, id).Step()) docid = (*find).Int(0);
    }
    if (empty || !IsIndexed(type)) {
        if (docid) {
            auto forget = Cached("DELETE FROM search_doc WHERE docid = ?");
            (*forget).Bind(1, docid).Run();
        }
        return;
    }
    if (!docid) {
        auto doc = Cached("INSERT INTO search_doc (record_id, record_type) VALUES (?, ?)");
        (*doc).Bind(1, id).Bind(2, type.name).Run();
        docid = m_db.LastInsertRowId();
    }
    // The words as the view gives them (SearchText), in one single-row
    // INSERT: an INSERT … SELECT from the view would open a statement
    // savepoint, at which FTS4 writes out the words it holds in memory, a
    // segment per record in an import.
    auto insert = Cached("INSERT INTO search_index (docid, title, body) VALUES (?, ?, ?)");
    (*insert).Bind(1, docid).Bind(2, title).Bind(3, body).Run();
}

namespace {

/// Okapi BM25 over FTS4 matchinfo(…, 'pcnalx'); title weighs twice the body.
void Bm25(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (argc < 1 || sqlite3_value_type(argv[0]) != SQLITE_BLOB) {
        sqlite3_result_double(ctx, 0);
        return;
    }
    const auto bytes = static_cast<size_t>(sqlite3_value_bytes(argv[0]));
    std::vector<uint32_t> info(bytes / sizeof(uint32_t));
    std::memcpy(info.data(), sqlite3_value_blob(argv[0]), info.size() * sizeof(uint32_t));
    if (info.size() < 3) {
        sqlite3_result_double(ctx, 0);
        return;
    }
    const uint32_t phrases = info[0], columns = info[1], rows = info[2];
    if (info.size() < 3 + 2 * columns + 3ull * columns * phrases) {
        sqlite3_result_double(ctx, 0);
        return;
    }
    const uint32_t* avg = &info[3];
    const uint32_t* len = &info[3 + columns];
    const uint32_t* x = &info[3 + 2 * columns];
    constexpr double K1 = 1.2, B = 0.75;
    double score = 0;
    for (uint32_t p = 0; p < phrases; ++p) {
        for (uint32_t c = 0; c < columns; ++c) {
            const uint32_t* hit = &x[3 * (c + p * columns)];
            const double tf = hit[0];
            if (tf == 0) continue;
            const double docs = hit[2];
            const double idf = std::max(0.01, std::log((rows - docs + 0.5) / (docs + 0.5)));
            const double avg_len = avg[c] ? avg[c] : 1;
            const double weight = c == 0 ? 2.0 : 1.0;
            score += weight * idf * (tf * (K1 + 1)) / (tf + K1 * (1 - B + B * len[c] / avg_len));
        }
    }
    sqlite3_result_double(ctx, score);
}

/// Turns what a person types into an FTS4 query: each word must appear,
/// a trailing * matches a prefix, and nothing typed can be read as syntax.
std::string BuildMatchQuery(const std::string& query) {
    std::string out;
    std::string word;
    const auto flush = [&](bool prefix) {
        if (word.empty()) return;
        out += (out.empty() ? "" : " ") + std::string("\"") + word + (prefix ? "*" : "") + "\"";
        word.clear();
    };
    for (size_t i = 0; i < query.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(query[i]);
        if (c >= 0x80 || std::isalnum(c)) {
            word.push_back(static_cast<char>(c));
        } else {
            flush(c == '*');
        }
    }
    flush(false);
    return out;
}

} // namespace

void RegisterSearchFunctions(Database& db) {
    db.Check(sqlite3_create_function_v2(db.Handle(), "escucha_bm25", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                        Bm25, nullptr, nullptr, nullptr));
}

std::vector<SearchRank> RecordStore::RankSearch(const std::string& query, int64_t limit) {
    if (!IsValidUtf8(query)) throw RecordError("query", "is not valid UTF-8 text", errc::NOT_UTF8);
    const auto match = BuildMatchQuery(query);
    if (match.empty()) throw RecordError("query", "has no words to search for", errc::SEARCH_NO_WORDS);
    // Edits that only marked their entry are indexed first: a search never
    // misses what was typed.
    SettleSearchIndex();
    // Only the index and the document sizes are read here: every page read
    // costs a decryption, and a common word matches thousands of records.
    auto rank = m_db.Prepare("SELECT docid, escucha_bm25(matchinfo(search_index, 'pcnalx')) AS score FROM search_index "
                             "WHERE search_index MATCH ?1 ORDER BY score DESC, docid DESC LIMIT ?2");
    rank.Bind(1, match).Bind(2, limit);
    std::vector<SearchRank> top;
    while (rank.Step()) top.push_back({rank.Int(0), rank.Double(1)});
    return top;
}

std::vector<SearchHit> RecordStore::SearchDetails(const std::string& query, const std::vector<SearchRank>& ranks,
                                                  const std::string& open, const std::string& close) {
    const auto match = BuildMatchQuery(query);
    std::vector<SearchHit> hits;
    if (match.empty()) return hits;
    auto show = Cached("SELECT d.record_type, d.record_id, s.title, snippet(search_index, ?3, ?4, '…', -1, 12) "
                       "FROM search_index s JOIN search_doc d ON d.docid = s.docid "
                       "WHERE search_index MATCH ?1 AND s.docid >= ?2 AND s.docid <= ?2");
    auto& stmt = *show;
    for (const auto& [docid, score] : ranks) {
        stmt.Reset();
        stmt.Bind(1, match).Bind(2, docid).Bind(3, open).Bind(4, close);
        if (stmt.Step()) hits.push_back({stmt.Text(0), stmt.Text(1), stmt.Text(2), stmt.Text(3), score});
    }
    return hits;
}

std::vector<SearchHit> RecordStore::Search(const std::string& query, int limit, const std::string& open,
                                           const std::string& close) {
    // Rank first, then build title and snippet for the few hits shown.
    return SearchDetails(query, RankSearch(query, limit), open, close);
}

void RecordStore::SettleSearchIndex() {
    {
        auto any = Cached("SELECT 1 FROM search_pending LIMIT 1");
        if (!(*any).Step()) return;
    }
    Scope scope(*this);
    std::vector<std::string> ids;
    {
        auto marked = Cached("SELECT record_id FROM search_pending");
        while ((*marked).Step()) ids.push_back((*marked).Text(0));
    }
    for (const auto& id : ids) {
        const auto record = Get(id);
        if (record) {
            PutEntry(m_catalogue.Get((*record)["type"].get<std::string>()), *record);
            continue;
        }
        // No such record any more: its entry went at its first edit.
        auto forget = Cached("DELETE FROM search_doc WHERE record_id = ?");
        (*forget).Bind(1, id).Run();
        auto unmark = Cached("DELETE FROM search_pending WHERE record_id = ?");
        (*unmark).Bind(1, id).Run();
    }
    scope.Commit();
}

int64_t RecordStore::UnsettledSearchCount() { return m_db.QueryInt("SELECT count(*) FROM search_pending"); }

void RecordStore::RebuildSearchIndex() {
    Scope scope(*this);
    RebuildSearchEntries();
    scope.Commit();
}

void RecordStore::RebuildSearchEntries() {
    // Which records have words, then the index built from their rows in one pass.
    m_db.Exec("DELETE FROM search_doc; DELETE FROM search_pending;");
    for (const auto& type : m_catalogue.Types()) {
        if (!IsIndexed(type)) continue;
        auto stmt =
            m_db.Prepare("SELECT " + SelectColumns(type) + " FROM " + QuoteIdent(type.name) + " WHERE deleted = 0");
        auto doc = Cached("INSERT INTO search_doc (record_id, record_type) VALUES (?, ?)");
        while (stmt.Step()) {
            const Json record = ReadRow(type, stmt);
            const auto [title, body] = SearchText(type, record);
            if (title.empty() && body.empty()) continue;
            (*doc).Reset();
            (*doc).Bind(1, record["id"].get_ref<const std::string&>()).Bind(2, type.name).Run();
        }
    }
    m_db.Exec("INSERT INTO search_index(search_index) VALUES('rebuild')");
}

// [SECTION] Journal and consistency

int64_t RecordStore::PendingJournalCount() {
    return m_db.QueryInt("SELECT count(*) FROM journal WHERE last_error IS NULL");
}

int64_t RecordStore::WaitingRecordCount() {
    return m_db.QueryInt("SELECT count(DISTINCT record_id) FROM journal WHERE last_error IS NULL");
}

namespace {
/// A journal row's changed members, as stored: an array of names, or null
/// (the row goes whole) for NULL or anything else.
Json FieldsColumn(Statement& stmt, int column) {
    if (stmt.IsNull(column)) return nullptr;
    auto json = Json::parse(stmt.Text(column), nullptr, false);
    if (!json.is_array()) return nullptr;
    for (const auto& name : json)
        if (!name.is_string()) return nullptr;
    return json;
}

/// A journal row's refusal parameters, as stored (JSON text or nothing).
Json ParamsColumn(const std::string& text) {
    if (text.empty()) return Json::object();
    auto json = Json::parse(text, nullptr, false);
    return json.is_object() ? json : Json::object();
}
} // namespace

std::vector<JournalEntry> RecordStore::PendingJournal(int64_t limit, int64_t after_seq, bool include_refused) {
    auto stmt = m_db.Prepare(
        std::string(
            "SELECT seq, attempts, coalesce(last_error, ''), change_id, record_type, record_id, rev, op, hlc, "
            "body, coalesce(last_error_code, ''), coalesce(last_error_params, ''), coalesce(base_rev, rev - 1), sent, "
            "fields FROM journal WHERE seq > ? ") +
        (include_refused ? "" : "AND last_error IS NULL ") + "ORDER BY seq LIMIT ?");
    stmt.Bind(1, after_seq).Bind(2, limit);
    std::vector<JournalEntry> out;
    while (stmt.Step())
        out.push_back({stmt.Int(0), stmt.Int(1), stmt.Text(2), stmt.Text(3), stmt.Text(4), stmt.Text(5), stmt.Int(6),
                       stmt.Text(7), stmt.Text(8), stmt.Text(9), stmt.Text(10), ParamsColumn(stmt.Text(11)),
                       stmt.Int(12), stmt.Int(13) != 0, FieldsColumn(stmt, 14)});
    stmt.Reset();
    // A waiting upsert names the record as it stands.
    for (auto& e : out)
        if (e.body.empty())
            if (const auto record = Get(e.record_id)) e.body = record->dump();
    return out;
}

std::vector<JournalEntry> RecordStore::TakeJournalForPush(const std::vector<int64_t>& seqs) {
    // Reading a row and marking it sent in one write transaction: an edit
    // on another connection either joined the row before (and is sent with
    // it) or comes after and makes a row of its own, never in between.
    Scope scope(*this);
    std::vector<JournalEntry> out;
    auto read = Cached("SELECT seq, attempts, change_id, record_type, record_id, rev, op, hlc, body, "
                       "coalesce(base_rev, rev - 1), fields FROM journal WHERE seq = ? AND last_error IS NULL");
    auto mark = Cached("UPDATE journal SET sent = 1 WHERE seq = ?");
    for (const auto seq : seqs) {
        (*read).Bind(1, seq);
        if (!(*read).Step()) {
            (*read).Reset();
            continue;
        }
        auto& r = *read;
        JournalEntry e{r.Int(0), r.Int(1), "", r.Text(2), r.Text(3), r.Text(4), r.Int(5), r.Text(6), r.Text(7),
                       r.Text(8), "", Json::object(), r.Int(9), true, FieldsColumn(r, 10)};
        r.Reset();
        if (e.body.empty()) {
            // What is sent under this change id is kept with it from now on:
            // a later edit changes the record, not what was sent.
            const auto record = Get(e.record_id);
            if (!record) continue;
            e.body = record->dump();
            auto keep = Cached("UPDATE journal SET body = ? WHERE seq = ?");
            (*keep).Bind(1, e.body).Bind(2, seq).Run();
        }
        (*mark).Bind(1, seq).Run();
        out.push_back(std::move(e));
        (*mark).Reset();
    }
    scope.Commit();
    return out;
}

void RecordStore::AcknowledgeJournal(int64_t seq) {
    auto stmt_lease = Cached("DELETE FROM journal WHERE seq = ?");
    auto& stmt = *stmt_lease;
    stmt.Bind(1, seq).Run();
}

void RecordStore::SendJournalWhole(int64_t seq) {
    auto stmt_lease = Cached("UPDATE journal SET fields = NULL WHERE seq = ?");
    (*stmt_lease).Bind(1, seq).Run();
}

void RecordStore::RejectJournal(int64_t seq, const std::string& reason, const std::string& code, const Json& params) {
    auto stmt_lease = Cached("UPDATE journal SET attempts = attempts + 1, last_error = ?, last_error_code = ?, "
                             "last_error_params = ? WHERE seq = ?");
    auto& stmt = *stmt_lease;
    stmt.Bind(1, reason);
    if (code.empty()) stmt.BindNull(2);
    else stmt.Bind(2, code);
    if (params.is_object() && !params.empty()) stmt.Bind(3, params.dump());
    else stmt.BindNull(3);
    stmt.Bind(4, seq).Run();
}

void RecordStore::RetryJournal(int64_t seq) {
    Scope scope(*this);
    auto stmt = m_db.Prepare(
        "UPDATE journal SET change_id = ?, last_error = NULL, last_error_code = NULL, last_error_params = NULL, "
        "sent = 0 WHERE seq = ? AND last_error IS NOT NULL");
    // Headquarters remembers its answer to the old change id: a new one is a new request.
    stmt.Bind(1, NewUuidV7()).Bind(2, seq).Run();
    if (m_db.Changes() == 0)
        throw RecordError("seq", "no refused change number " + std::to_string(seq), errc::REFUSED_CHANGE_NOT_FOUND,
                          {{"seq", seq}});
    scope.Commit();
}

void RecordStore::DiscardJournal(int64_t seq) {
    Scope scope(*this);
    auto find = m_db.Prepare("SELECT record_type, record_id FROM journal WHERE seq = ? AND last_error IS NOT NULL");
    find.Bind(1, seq);
    if (!find.Step())
        throw RecordError("seq", "no refused change number " + std::to_string(seq), errc::REFUSED_CHANGE_NOT_FOUND,
                          {{"seq", seq}});
    const auto type = find.Text(0), id = find.Text(1);
    find.Reset();
    auto stmt = m_db.Prepare("DELETE FROM journal WHERE seq = ?");
    stmt.Bind(1, seq).Run();
    Audit("discard_change", type, id);
    scope.Commit();
}

std::unordered_map<std::string, bool> RecordStore::UnsentRecords(int64_t limit) {
    auto stmt = m_db.Prepare("SELECT record_id, max(last_error IS NOT NULL) FROM journal GROUP BY record_id LIMIT ?");
    stmt.Bind(1, limit);
    std::unordered_map<std::string, bool> out;
    while (stmt.Step()) out.emplace(stmt.Text(0), stmt.Int(1) != 0);
    return out;
}

int64_t RecordStore::RejectedJournalCount() {
    return m_db.QueryInt("SELECT count(*) FROM journal WHERE last_error IS NOT NULL");
}

int64_t RecordStore::UnacknowledgedJournalCount() {
    // An acknowledged row leaves the journal: what is left is the answer.
    return m_db.QueryInt("SELECT count(*) FROM journal");
}

std::vector<JournalEntry> RecordStore::RejectedJournal(int64_t limit) {
    auto stmt = m_db.Prepare("SELECT seq, attempts, last_error, change_id, record_type, record_id, rev, op, hlc, "
                             "coalesce(last_error_code, ''), coalesce(last_error_params, '') "
                             "FROM journal WHERE last_error IS NOT NULL ORDER BY seq LIMIT ?");
    stmt.Bind(1, limit);
    std::vector<JournalEntry> out;
    while (stmt.Step()) {
        out.push_back({stmt.Int(0),
                       stmt.Int(1),
                       stmt.Text(2),
                       stmt.Text(3),
                       stmt.Text(4),
                       stmt.Text(5),
                       stmt.Int(6),
                       stmt.Text(7),
                       stmt.Text(8),
                       {},
                       stmt.Text(9),
                       ParamsColumn(stmt.Text(10))});
    }
    return out;
}

void RecordStore::AddConflict(const Json& c) {
    auto stmt = m_db.Prepare(
        "INSERT OR IGNORE INTO conflict (seq, record_type, record_id, field, kept, other, other_author, other_device, "
        "other_hlc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    stmt.Bind(1, c.at("seq").get<int64_t>()).Bind(2, c.at("record_type").get<std::string>());
    stmt.Bind(3, c.at("record_id").get<std::string>()).Bind(4, c.at("field").get<std::string>());
    stmt.Bind(5, c.at("kept").dump()).Bind(6, c.at("other").dump()).Bind(7, c.value("other_author", ""));
    stmt.Bind(8, c.value("other_device", "")).Bind(9, c.value("other_hlc", "")).Run();
}

std::vector<Json> RecordStore::ListConflicts() {
    auto stmt = m_db.Prepare(
        "SELECT seq, record_type, record_id, field, kept, other, other_author, other_device, other_hlc FROM conflict "
        "WHERE resolved = 0 ORDER BY seq");
    std::vector<Json> out;
    while (stmt.Step())
        out.push_back({{"seq", stmt.Int(0)},
                       {"record_type", stmt.Text(1)},
                       {"record_id", stmt.Text(2)},
                       {"field", stmt.Text(3)},
                       {"kept", Json::parse(stmt.Text(4), nullptr, false)},
                       {"other", Json::parse(stmt.Text(5), nullptr, false)},
                       {"other_author", stmt.Text(6)},
                       {"other_device", stmt.Text(7)},
                       {"other_hlc", stmt.Text(8)}});
    return out;
}

void RecordStore::ResolveConflict(int64_t seq) {
    auto stmt = m_db.Prepare("UPDATE conflict SET resolved = 1 WHERE seq = ?");
    stmt.Bind(1, seq).Run();
    if (m_db.Changes() == 0)
        throw RecordError("seq", "no conflict number " + std::to_string(seq), errc::CONFLICT_NOT_FOUND, {{"seq", seq}});
}

bool RecordStore::ApplyRemote(const Json& input) {
    Scope scope(*this);
    CatchUpClock();
    if (!input.is_object() || !input.contains("type") || !input["type"].is_string())
        throw RecordError("type", "a record from headquarters has no type");
    const auto& type = m_catalogue.Get(input["type"].get<std::string>());
    const bool deleted = input.value("deleted", false);
    Json record = deleted ? Json::object() : NormaliseRecord(type, input, false);
    record["id"] = LowerUuid(input.at("id").get<std::string>());
    record["type"] = type.name;
    if (type.project_scoped) record["project_id"] = input.at("project_id");
    const auto text = [&](const char* key) {
        if (!input.contains(key) || !input[key].is_string())
            throw RecordError(key, "is missing from a record from headquarters");
        return input[key].get<std::string>();
    };
    record["created_at"] = text("created_at");
    record["updated_at"] = text("updated_at");
    record["author"] = text("author");
    record["device"] = text("device");
    if (!input.contains("rev") || !input["rev"].is_number_integer()) throw RecordError("rev", "is missing");
    record["rev"] = input["rev"].get<int64_t>();
    record["deleted"] = deleted;
    if (const auto hlc = HlcTimestamp::Parse(record["updated_at"].get<std::string>())) m_clock.Observe(*hlc);

    const auto existing = Get(record["id"].get<std::string>());
    if (existing) {
        if ((*existing)["type"] != type.name) throw RecordError("id", "names a record of another type on this device");
        if ((*existing)["rev"].get<int64_t>() >= record["rev"].get<int64_t>()) return false;
        // A change waiting here names the record as it stands: it keeps
        // this device's version before headquarters' replaces it.
        auto keep = Cached("UPDATE journal SET body = ? WHERE record_id = ? AND body = ''");
        (*keep).Bind(1, existing->dump()).Bind(2, record["id"].get<std::string>()).Run();
    }
    m_remote = true;
    struct Reset {
        bool& flag;
        ~Reset() { flag = false; }
    } reset{m_remote};
    if (deleted) {
        // A deletion wins: this device's unsent edits of the record would be
        // refused, and they and any kept conflict versions hold its text.
        if (input.contains("erased_for") && input["erased_for"].is_string()) record["erased_for"] = input["erased_for"];
        ForgetText(record["id"].get<std::string>());
    }
    Write(type, record, deleted ? "delete" : "upsert", existing ? &*existing : nullptr);
    if (!deleted) NoteUnseenReferences(type, record);
    scope.Commit();
    return true;
}

std::vector<std::string> RecordStore::CheckConsistency() {
    std::vector<std::string> problems;
    int64_t typed_total = 0;
    for (const auto& type : m_catalogue.Types()) {
        typed_total += Count(type.name, true);
        auto stmt =
            m_db.Prepare("SELECT " + SelectColumns(type) + " FROM " + QuoteIdent(type.name) + " WHERE deleted = 0");
        while (stmt.Step()) {
            const auto record = ReadRow(type, stmt);
            try {
                CheckReferences(type, record, nullptr, true);
            } catch (const RecordError& e) {
                problems.push_back(type.name + " " + record["id"].get<std::string>() + ": " + e.what());
            }
        }
    }
    const int64_t indexed = m_db.QueryInt("SELECT count(*) FROM record_index");
    if (indexed != typed_total)
        problems.push_back("the record index lists " + std::to_string(indexed) + " records but the tables hold " +
                           std::to_string(typed_total));
    const int64_t orphans =
        m_db.QueryInt("SELECT count(*) FROM journal WHERE record_id NOT IN (SELECT id FROM record_index)");
    if (orphans) problems.push_back(std::to_string(orphans) + " journal entries name records that do not exist");
    try {
        SettleSearchIndex();
        m_db.Exec("INSERT INTO search_index(search_index) VALUES('integrity-check')");
    } catch (const SqliteError& e) {
        problems.push_back(std::string("the search index is inconsistent (escucha-cli reindex rebuilds it): ") +
                           e.what());
    }
    return problems;
}

} // namespace escucha::storage
