#include "escucha/storage/sqlite.h"

#include <sqlite3.h>

#include <cassert>

namespace escucha::storage {

SqliteError::SqliteError(int code, const std::string& message) : std::runtime_error(message), m_code(code) {}

bool SqliteError::IsDamage() const noexcept {
    const int primary = PrimaryCode();
    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

void Database::Deleter::operator()(sqlite3* db) const noexcept {
    // sqlite3_close_v2 defers the close until the last statement is finalised,
    // so a Statement outliving its Database cannot make this fail.
    const int rc = sqlite3_close_v2(db);
    assert(rc == SQLITE_OK);
    (void)rc;
}

Database::Database(const std::string& path, bool create, Threading threading) {
    sqlite3* raw = nullptr;
    // NOMUTEX needs a library built thread-safe (SQLITE_THREADSAFE 1 or 2);
    // in a single-thread build no flag makes sharing safe, so it is refused.
    if (threading == Threading::OneOwner && sqlite3_threadsafe() == 0)
        throw SqliteError(SQLITE_MISUSE, "this SQLite was built without thread safety");
    int flags = SQLITE_OPEN_READWRITE |
                (threading == Threading::OneOwner ? SQLITE_OPEN_NOMUTEX : SQLITE_OPEN_FULLMUTEX);
    if (create) flags |= SQLITE_OPEN_CREATE;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    m_db.reset(raw);
    if (rc != SQLITE_OK) {
        const std::string message = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
        throw SqliteError(raw ? sqlite3_extended_errcode(raw) : rc, message);
    }
    sqlite3_extended_result_codes(raw, 1);
}

void Database::Check(int rc) const {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
    throw SqliteError(sqlite3_extended_errcode(m_db.get()), sqlite3_errmsg(m_db.get()));
}

void Database::Exec(std::string_view sql) {
    const std::string owned(sql);
    char* error = nullptr;
    const int rc = sqlite3_exec(m_db.get(), owned.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
        std::string message = error ? error : sqlite3_errstr(rc);
        sqlite3_free(error);
        throw SqliteError(sqlite3_extended_errcode(m_db.get()), message);
    }
}

std::optional<std::string> Database::QueryText(std::string_view sql) {
    Statement stmt(*this, sql);
    if (!stmt.Step() || stmt.IsNull(0)) return std::nullopt;
    return stmt.Text(0);
}

int64_t Database::QueryInt(std::string_view sql) {
    Statement stmt(*this, sql);
    if (!stmt.Step()) return 0;
    return stmt.Int(0);
}

Statement Database::Prepare(std::string_view sql) { return Statement(*this, sql); }

int64_t Database::LastInsertRowId() const noexcept { return sqlite3_last_insert_rowid(m_db.get()); }

int Database::Changes() const noexcept { return sqlite3_changes(m_db.get()); }

void Statement::Deleter::operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }

Statement::Statement(Database& db, std::string_view sql) : m_db(&db) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db.Handle(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
    m_stmt.reset(raw);
    db.Check(rc);
}

Statement& Statement::Bind(int index, std::string_view text) {
    m_db->Check(sqlite3_bind_text(m_stmt.get(), index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
    return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
    m_db->Check(sqlite3_bind_int64(m_stmt.get(), index, value));
    return *this;
}

Statement& Statement::BindBlob(int index, const void* data, size_t size) {
    m_db->Check(sqlite3_bind_blob(m_stmt.get(), index, data, static_cast<int>(size), SQLITE_TRANSIENT));
    return *this;
}

Statement& Statement::BindNull(int index) {
    m_db->Check(sqlite3_bind_null(m_stmt.get(), index));
    return *this;
}

Statement& Statement::BindOptional(int index, const std::optional<std::string>& text) {
    return text ? Bind(index, *text) : BindNull(index);
}

bool Statement::Step() {
    const int rc = sqlite3_step(m_stmt.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    m_db->Check(rc);
    return false;
}

void Statement::Run() {
    while (Step()) {
    }
}

void Statement::Reset() {
    sqlite3_reset(m_stmt.get());
    sqlite3_clear_bindings(m_stmt.get());
}

bool Statement::IsNull(int column) const { return sqlite3_column_type(m_stmt.get(), column) == SQLITE_NULL; }

std::string Statement::Text(int column) const {
    const auto* text = sqlite3_column_text(m_stmt.get(), column);
    const int size = sqlite3_column_bytes(m_stmt.get(), column);
    return text ? std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size)) : std::string();
}

std::optional<std::string> Statement::OptionalText(int column) const {
    if (IsNull(column)) return std::nullopt;
    return Text(column);
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(m_stmt.get(), column); }

double Statement::Double(int column) const { return sqlite3_column_double(m_stmt.get(), column); }

std::vector<uint8_t> Statement::Blob(int column) const {
    const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(m_stmt.get(), column));
    const int size = sqlite3_column_bytes(m_stmt.get(), column);
    return data ? std::vector<uint8_t>(data, data + size) : std::vector<uint8_t>();
}

int Statement::ColumnCount() const { return sqlite3_column_count(m_stmt.get()); }

Transaction::Transaction(Database& db) : m_db(db) { m_db.Exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
    if (m_done) return;
    try {
        m_db.Exec("ROLLBACK");
    } catch (...) {
        // A failed rollback leaves SQLite to roll back when the connection
        // closes; a destructor must not throw.
    }
}

void Transaction::Commit() {
    m_db.Exec("COMMIT");
    m_done = true;
}

std::string QuoteSql(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out.push_back('\'');
    for (char c : text) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
    }
    out.push_back('\'');
    return out;
}

} // namespace escucha::storage
