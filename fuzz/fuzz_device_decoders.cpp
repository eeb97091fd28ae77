// Fuzz target: what a device reads from outside. Byte 0 chooses:
//   even: a pull response from headquarters, each record applied to a vault
//         (rolled back after), and the other answers the device parses;
//   odd:  a file given to `escucha-cli import` (valid ones stay in the vault).
#include "escucha/interpret/interpretation_records.h"
#include "escucha/storage/json.h"
#include "escucha/storage/sqlite.h"
#include "escucha/storage/vault.h"
#include "escucha/sync/protocol.h"

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <optional>

using namespace escucha;

namespace {

struct World {
    std::filesystem::path dir;
    std::optional<storage::Vault> vault;
    World() {
        char pattern[] = "/tmp/escucha-fuzz-device-XXXXXX";
        dir = ::mkdtemp(pattern);
        vault.emplace(storage::Vault::Create(dir / "vault", storage::Passphrase("frase de paso larga"),
                                             interpret::AllRecordTypes(), {"fuzz", 1, 8 * 1024 * 1024}));
    }
    ~World() {
        vault.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

template <typename T>
void Decode(const sync::Json& json) {
    try {
        (void)json.get<T>();
    } catch (const sync::Json::exception&) {
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static World world;
    if (size == 0) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto json = storage::ParseUntrustedJsonOrDiscard<sync::Json>(text);
    if (json.is_discarded()) return 0;
    auto& vault = *world.vault;
    if (data[0] % 2 == 0) {
        // Never committed: each page starts from the same vault.
        struct RollBack {};
        try {
            vault.Records().Atomically([&] {
                Decode<sync::PushResponse>(json);
                Decode<sync::EnrolResponse>(json);
                Decode<sync::DeviceInfo>(json);
                try {
                    const auto page = json.get<sync::PullResponse>();
                    for (const auto& record : page.records) {
                        try {
                            (void)vault.Records().ApplyRemote(record);
                        } catch (const storage::RecordError&) {
                        }
                    }
                } catch (const sync::Json::exception&) {
                }
                throw RollBack{};
            });
        } catch (const RollBack&) {
        }
    } else {
        // Import commits what it takes, all or nothing, as the CLI does.
        try {
            (void)vault.Records().Import(json.is_object() && json.contains("records") ? json["records"] : json);
        } catch (const storage::RecordError&) {
        } catch (const sync::Json::exception&) {
        }
    }
    return 0;
}
