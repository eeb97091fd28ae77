// Devices with real vaults talking to a real escucha-hq on loopback.
#pragma once

#include "escucha/capture/listening_records.h"
#include "escucha/interpret/interpretation_records.h"
#include "escucha/storage/clock.h"
#include "escucha/sync/hq_at_rest.h"
#include "escucha/sync/sync_client.h"
#include "files.h"
#include "sync/hq_process.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <sodium.h>

#include <map>

namespace escucha::test {

using sync::Json;

inline const storage::Catalogue& AllTypes() { return interpret::AllRecordTypes(); }

/// A record as a device pushes it: a field note (or a record of `type`) of
/// `project`, at revision `rev`, last written at `millis`.
inline Json RecordBody(const std::string& project, const std::string& id, const std::string& text = "nota",
                       int64_t rev = 1, const std::string& type = "field_note",
                       int64_t millis = storage::SystemMillis()) {
    return {{"id", id},
            {"type", type},
            {"project_id", project},
            {"text", text},
            {"created_at", "2026-01-01T00:00:00.000Z"},
            {"updated_at", storage::HlcTimestamp{millis, 0}.ToString()},
            {"author", "a"},
            {"device", "d"},
            {"rev", rev},
            {"deleted", false}};
}

/// A change carrying `body` whole, its revision and operation taken from it.
inline sync::Change WholeChange(const Json& body, const std::string& change_id = storage::NewUuidV7()) {
    sync::Change c;
    c.change_id = change_id;
    c.record_type = body["type"];
    c.record_id = body["id"];
    c.rev = body["rev"];
    c.op = body.value("deleted", false) ? "delete" : "upsert";
    c.hlc = body["updated_at"];
    c.body = body;
    return c;
}

/// A headquarters with one project.
struct Hq {
    TempDir dir;
    HqProcess process;
    std::string project;
    explicit Hq(std::vector<std::string> extra = {})
        : process((dir / "hq").string(), std::move(extra)), project(process.Admin({"create-project", "Café Nariño"})) {}
    [[nodiscard]] std::string Code(const std::string& role, const std::string& person = "") const {
        return process.Admin({"enrol", "--project", project, "--role", role, "--person", person});
    }
    /// What HQ holds for the project (identity links included), by record id.
    [[nodiscard]] std::map<std::string, Json> Records() const {
        const auto out = (dir / "export.json").string();
        (void)process.Admin({"export", "--project", project, "--out", out, "--with-identities"});
        std::map<std::string, Json> records;
        const auto doc = Json::parse(ReadFile(out));
        for (const auto& r : doc["records"]) {
            INFO("record " << r["id"] << " exported twice");
            CHECK(records.count(r["id"]) == 0);
            records[r["id"]] = r;
        }
        return records;
    }
};

/// A blob as HQ holds it, opened with HQ's key: its files are sealed.
inline std::string HqBlobBytes(const Hq& hq, const std::string& project, const std::string& sha256) {
    sync::HqKeySource key;
    key.key_file = hq.process.KeyFile();
    auto store = sync::OpenHqStore(hq.dir / "hq", key);
    auto blobs = sync::OpenHqBlobs(hq.dir / "hq", *store);
    std::string all, piece;
    int64_t size = 0;
    while (blobs->ReadPiece(project, sha256, static_cast<int64_t>(all.size()), 1 << 20, piece, size) && !piece.empty())
        all += piece;
    return all;
}

/// A device: its own vault, enrolled with `role`.
struct Device {
    TempDir dir;
    storage::Vault vault;
    Device(const Hq& hq, const std::string& role, const std::string& url = "", const std::string& ca_pem = "",
           int64_t clock_offset_ms = 0)
        : vault(storage::Vault::Create(dir / "vault", storage::Passphrase("frase de paso larga"), AllTypes(),
                                       // The cheapest key derivation libsodium allows: these tests are
                                       // about sync, not the cost of a key (test_vault checks that).
                                       {role + "-person", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN,
                                        [clock_offset_ms] { return storage::SystemMillis() + clock_offset_ms; }})) {
        const auto error = sync::Enrol(vault, url.empty() ? hq.process.Url() : url, hq.Code(role, role), ca_pem);
        INFO(error.value_or(""));
        REQUIRE_FALSE(error);
    }
    [[nodiscard]] std::string Project() { return vault.GetMeta("sync.project_id").value(); }
    sync::SyncReport Sync(sync::HttpOptions http = {}) {
        if (http.stall_timeout_s == sync::HttpOptions{}.stall_timeout_s) http.stall_timeout_s = 3;
        sync::SyncClient client(vault, http);
        return client.SyncOnce();
    }
    Json Add(const std::string& type, Json fields) {
        fields["project_id"] = Project();
        return vault.Records().Create(type, fields);
    }
};

/// Every live record the device holds, by id, with its rev.
inline std::map<std::string, int64_t> LocalRevs(storage::Vault& vault) {
    std::map<std::string, int64_t> out;
    vault.Records().ForEach([&](const Json& r) { out[r["id"]] = r["rev"].get<int64_t>(); }, true);
    return out;
}

/// HQ holds each of the device's records once, at the device's rev: no loss,
/// no double application.
inline void RequireSameAsHq(const Hq& hq, storage::Vault& vault) {
    REQUIRE(vault.Records().PendingJournalCount() == 0);
    const auto remote = hq.Records();
    for (const auto& [id, rev] : LocalRevs(vault)) {
        INFO("record " << id);
        REQUIRE(remote.count(id) == 1);
        CHECK(remote.at(id)["rev"].get<int64_t>() == rev);
    }
}

} // namespace escucha::test
