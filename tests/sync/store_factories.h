// The two headquarters stores, made fresh for one test: the embedded SQLite
// store in a temporary folder, and the PostgreSQL store on a fresh database
// of the test server (sealed under a key file of its own). A test over both
// takes one of these as TestType (TEMPLATE_TEST_CASE) and returns with a
// warning when `store` is null: PostgreSQL 15 is not installed.
#pragma once

#include "escucha/sync/hq_store.h"
#include "escucha/sync/pg_hq_store.h"
#include "sync/pg_server.h"
#include "temp_dir.h"

#include <memory>
#include <string>

namespace escucha::test {

std::string NewKeyFile(const std::filesystem::path& path); // hq_process.cpp

struct SqliteStoreFactory {
    static constexpr const char* NAME = "SQLite";
    TempDir dir;
    std::unique_ptr<sync::HqStore> store = std::make_unique<sync::SqliteHqStore>((dir / "hq.db").string());
    /// Another handle on the same data, as another process would hold it;
    /// SQLite's store serves one process, so the same one.
    sync::HqStore& Other() { return *store; }
};

struct PostgresStoreFactory {
    static constexpr const char* NAME = "PostgreSQL";
    TempDir dir;
    std::string url;
    sync::HqKeySource key;
    std::unique_ptr<sync::HqStore> store;
    std::unique_ptr<sync::HqStore> other;
    PostgresStoreFactory() {
        auto* server = PgServer::Shared();
        if (!server) return;
        url = server->NewDatabase();
        key.key_file = NewKeyFile(dir / "hq.key");
        store = std::make_unique<sync::PgHqStore>(url, key);
    }
    /// A second store on the same database, as a second escucha-hq holds it.
    sync::HqStore& Other() {
        if (!other) other = std::make_unique<sync::PgHqStore>(url, key);
        return *other;
    }
};

} // namespace escucha::test

/// Declares `fixture` and `store`, or warns and returns when the store is unavailable.
#define ESCUCHA_STORE_OR_SKIP()                                                                                        \
    TestType fixture;                                                                                                  \
    if (!fixture.store) {                                                                                              \
        WARN(escucha::test::PgServer::Skipped());                                                                      \
        return;                                                                                                        \
    }                                                                                                                  \
    sync::HqStore& store = *fixture.store;                                                                             \
    INFO("store: " << TestType::NAME)
