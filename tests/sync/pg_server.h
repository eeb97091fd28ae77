// A real PostgreSQL 15 for tests: initdb and pg_ctl from the Debian
// packages, in a temporary directory, listening only on a unix socket
// inside it. PostgreSQL refuses to run as root, so when the tests run as
// root the server runs as a dedicated unprivileged user (escucha-pg-test,
// created when missing). One server per test process, started on first use
// and stopped when the process ends; each test takes a fresh database.
#pragma once

#include "temp_dir.h"

#include <filesystem>
#include <memory>
#include <string>

namespace escucha::test {

class PgServer {
public:
    /// The shared server, started on first call; nullptr when the
    /// PostgreSQL 15 binaries are absent (Skipped() says so). Throws
    /// std::runtime_error when they are present but the server fails.
    static PgServer* Shared();
    /// The same, but the first call may ask for a server that writes as a
    /// production one does (fsync and full page writes on), for benchmarks.
    static PgServer* Shared(bool durable);
    /// Why there is no server, for a test that skips.
    static std::string Skipped();

    ~PgServer();
    PgServer(const PgServer&) = delete;
    PgServer& operator=(const PgServer&) = delete;

    /// A new, empty database; returns its postgresql:// URL.
    [[nodiscard]] std::string NewDatabase();
    /// `pg_dump` of the database `url` names, as SQL text.
    [[nodiscard]] std::string Dump(const std::string& url) const;
    /// Runs SQL as the superuser on the database `url` names (psql -c).
    void Sql(const std::string& url, const std::string& sql) const;
    /// The server's data directory (its files, write-ahead log included).
    [[nodiscard]] std::filesystem::path DataDir() const { return m_root.Path() / "data"; }
    /// Forces everything written into the data files (CHECKPOINT).
    void Checkpoint() const;

private:
    explicit PgServer(bool durable);
    [[nodiscard]] std::string Url(const std::string& database) const;
    /// argv run as the server's user; returns stdout, throws on failure.
    std::string RunAsOwner(const std::vector<std::string>& argv) const;

    TempDir m_root;
    std::string m_user; ///< the system user the server runs as; empty: this one
    int m_databases = 0;
};

} // namespace escucha::test
