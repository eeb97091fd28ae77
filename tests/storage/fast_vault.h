// Vault options for tests: the cheapest Argon2id libsodium allows (1 pass,
// 8 KiB) instead of the production cost (3 passes, 64 MiB). What tests check
// is the vault, not the cost of deriving its key; the production default is
// checked in test_vault.cpp.
#pragma once

#include "escucha/storage/vault.h"

#include <sodium.h>

#include <string>

namespace escucha::test {

inline storage::VaultOptions FastVaultOptions(std::string author = "ana") {
    storage::VaultOptions options;
    options.author = std::move(author);
    options.kdf_opslimit = crypto_pwhash_OPSLIMIT_MIN;
    options.kdf_memlimit = crypto_pwhash_MEMLIMIT_MIN;
    return options;
}

} // namespace escucha::test
