// RAII over SQLCipher's sqlite3 C API.
//
// Thread contract: a Database, and every Statement prepared on it, belongs to
// one thread at a time. Nothing here locks; give each thread its own Database.
//
// Errors: every failing SQLite call throws SqliteError, which keeps SQLite's
// extended result code and message. Destructors never throw.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace escucha::storage {

/// A failed SQLite call. `Code()` is the extended result code.
class SqliteError : public std::runtime_error {
public:
    SqliteError(int code, const std::string& message);
    [[nodiscard]] int Code() const noexcept { return m_code; }
    /// The primary result code (extended code & 0xff).
    [[nodiscard]] int PrimaryCode() const noexcept { return m_code & 0xff; }
    /// True when SQLite says the file is not a database or is corrupt.
    [[nodiscard]] bool IsDamage() const noexcept;

private:
    int m_code;
};

class Statement;

/// How a connection is shared between threads (docs/decisions/0017).
enum class Threading {
    /// Used by one thread at a time, handed over only between uses (a
    /// vault's connection): SQLite takes no mutex per call (NOMUTEX).
    OneOwner,
    /// Used from several threads (headquarters' store, under its own lock):
    /// SQLite serialises every call too (FULLMUTEX), so a missed lock is
    /// never a data race inside SQLite.
    Shared,
};

/// An open connection. Move-only; closed in the destructor.
class Database {
public:
    /// Opens (or with `create`, creates) the file at `path`. Throws SqliteError.
    Database(const std::string& path, bool create, Threading threading = Threading::Shared);
    Database(Database&&) noexcept = default;
    Database& operator=(Database&&) noexcept = default;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    ~Database() = default;

    /// Runs one or more statements that return no rows of interest.
    void Exec(std::string_view sql);
    /// Runs `sql` and returns the first column of the first row as text, if any.
    [[nodiscard]] std::optional<std::string> QueryText(std::string_view sql);
    [[nodiscard]] int64_t QueryInt(std::string_view sql);
    [[nodiscard]] Statement Prepare(std::string_view sql);
    [[nodiscard]] int64_t LastInsertRowId() const noexcept;
    [[nodiscard]] int Changes() const noexcept;
    [[nodiscard]] sqlite3* Handle() const noexcept { return m_db.get(); }
    /// Throws SqliteError for `rc` when it is not SQLITE_OK/ROW/DONE.
    void Check(int rc) const;

private:
    struct Deleter {
        void operator()(sqlite3* db) const noexcept;
    };
    std::unique_ptr<sqlite3, Deleter> m_db;
};

/// A prepared statement. Move-only; finalised in the destructor.
class Statement {
public:
    Statement(Database& db, std::string_view sql);
    Statement(Statement&&) noexcept = default;
    Statement& operator=(Statement&&) noexcept = default;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement() = default;

    // Binding uses 1-based indexes, as SQLite does.
    Statement& Bind(int index, std::string_view text);
    Statement& Bind(int index, int64_t value);
    Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
    Statement& BindBlob(int index, const void* data, size_t size);
    Statement& BindNull(int index);
    Statement& BindOptional(int index, const std::optional<std::string>& text);

    /// Advances; true while a row is available.
    bool Step();
    /// Step() for statements that return no rows.
    void Run();
    /// Resets and clears bindings so the statement can be reused.
    void Reset();

    // Columns use 0-based indexes.
    [[nodiscard]] bool IsNull(int column) const;
    [[nodiscard]] std::string Text(int column) const;
    [[nodiscard]] std::optional<std::string> OptionalText(int column) const;
    [[nodiscard]] int64_t Int(int column) const;
    [[nodiscard]] double Double(int column) const;
    [[nodiscard]] std::vector<uint8_t> Blob(int column) const;
    [[nodiscard]] int ColumnCount() const;

private:
    struct Deleter {
        void operator()(sqlite3_stmt* stmt) const noexcept;
    };
    Database* m_db;
    std::unique_ptr<sqlite3_stmt, Deleter> m_stmt;
};

/// BEGIN IMMEDIATE on construction; rolls back on destruction unless Commit().
class Transaction {
public:
    explicit Transaction(Database& db);
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();
    void Commit();

private:
    Database& m_db;
    bool m_done = false;
};

/// Quotes `text` as an SQL string literal ('...' with '' doubling).
[[nodiscard]] std::string QuoteSql(std::string_view text);

} // namespace escucha::storage
