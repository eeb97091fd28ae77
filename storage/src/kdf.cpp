#include "escucha/storage/kdf.h"

#include "escucha/storage/fsutil.h"
#include "escucha/storage/json.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace escucha::storage {

namespace {
constexpr char CHECK_CONTEXT[] = "escucha vault key check v1";

/// A checksum (no key, no secret) over the parameters: an edit of the file
/// would otherwise only show as a wrong passphrase, since a changed salt or
/// cost derives another key.
std::string Digest(const KdfParams& params) {
    const std::string text = "escucha vault kdf v1|" + params.algorithm + "|" + std::to_string(params.opslimit) + "|" +
                             std::to_string(params.memlimit) + "|" + HexEncode(params.salt.data(), params.salt.size()) +
                             "|" + HexEncode(params.check.data(), params.check.size());
    unsigned char out[32];
    crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(text.data()), text.size(), nullptr, 0);
    return HexEncode(out, sizeof out);
}
} // namespace

KdfParams KdfParams::Fresh() {
    EnsureSodium();
    KdfParams params;
    randombytes_buf(params.salt.data(), params.salt.size());
    return params;
}

SecretBytes VaultKey::PragmaValue(const KdfParams& params) const {
    SecretBytes out;
    const auto key_hex = HexEncodeSecret(m_key.data(), m_key.size());
    const auto salt_hex = HexEncode(params.salt.data(), params.salt.size());
    out.reserve(key_hex.size() + salt_hex.size() + 3);
    out.push_back('x');
    out.push_back('\'');
    out.insert(out.end(), key_hex.begin(), key_hex.end());
    out.insert(out.end(), salt_hex.begin(), salt_hex.end());
    out.push_back('\'');
    return out;
}

std::array<unsigned char, 32> VaultKey::CheckValue() const {
    std::array<unsigned char, 32> out{};
    crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(CHECK_CONTEXT),
                       sizeof(CHECK_CONTEXT) - 1, m_key.data(), m_key.size());
    return out;
}

VaultKey DeriveKey(const Passphrase& passphrase, const KdfParams& params) {
    if (params.algorithm != "argon2id13")
        throw std::runtime_error("unsupported key derivation '" + params.algorithm + "'");
    EnsureSodium();
    VaultKey key;
    const auto text = passphrase.View();
    // An empty passphrase (Return pressed on an empty field) has no data
    // pointer; libsodium takes none.
    const char* bytes = text.empty() ? "" : text.data();
    if (crypto_pwhash(key.Data(), KEY_BYTES, bytes, text.size(), params.salt.data(), params.opslimit,
                      static_cast<size_t>(params.memlimit), crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw std::runtime_error("not enough memory to derive the vault key (Argon2id needs " +
                                 std::to_string(params.memlimit / (1024 * 1024)) + " MiB)");
    return key;
}

std::optional<KdfParams> ReadKdfFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) return std::nullopt;
        throw std::runtime_error("cannot read " + path.string());
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    const auto json = ParseUntrustedJsonOrDiscard<nlohmann::json>(buffer.str());
    const auto fail = [&](const std::string& why) {
        return std::runtime_error(path.filename().string() + " is damaged: " + why);
    };
    if (json.is_discarded() || !json.is_object()) throw fail("not valid JSON");
    try {
        KdfParams params;
        if (json.at("format").get<std::string>() != "escucha-vault-kdf") throw fail("unknown format");
        params.algorithm = json.at("algorithm").get<std::string>();
        params.opslimit = json.at("opslimit").get<uint64_t>();
        params.memlimit = json.at("memlimit").get<uint64_t>();
        std::vector<unsigned char> bytes;
        if (!HexDecode(json.at("salt").get<std::string>(), bytes) || bytes.size() != SALT_BYTES)
            throw fail("salt is not 16 bytes of hex");
        std::copy(bytes.begin(), bytes.end(), params.salt.begin());
        if (!HexDecode(json.at("check").get<std::string>(), bytes) || bytes.size() != params.check.size())
            throw fail("check is not 32 bytes of hex");
        std::copy(bytes.begin(), bytes.end(), params.check.begin());
        if (params.opslimit < crypto_pwhash_OPSLIMIT_MIN || params.memlimit < crypto_pwhash_MEMLIMIT_MIN)
            throw fail("key derivation parameters are below the minimum");
        // Files written before the checksum have none; Vault::Open adds it.
        if (json.contains("digest")) {
            EnsureSodium();
            if (!json["digest"].is_string() || json["digest"].get<std::string>() != Digest(params))
                throw std::runtime_error(path.filename().string() +
                                         " was edited or is damaged: its parameters do not match the checksum written "
                                         "with them, so no passphrase can open the vault with it; put back the " +
                                         path.filename().string() + " of a backup of this vault (docs/recovery.md)");
            params.has_digest = true;
        }
        return params;
    } catch (const nlohmann::json::exception& e) {
        throw fail(e.what());
    }
}

void WriteKdfFile(const std::filesystem::path& path, const KdfParams& params) {
    EnsureSodium();
    nlohmann::json json = {
        {"format", "escucha-vault-kdf"},
        {"version", 1},
        {"algorithm", params.algorithm},
        {"opslimit", params.opslimit},
        {"memlimit", params.memlimit},
        {"parallelism", 1},
        {"key_bytes", KEY_BYTES},
        {"salt", HexEncode(params.salt.data(), params.salt.size())},
        {"check", HexEncode(params.check.data(), params.check.size())},
        {"cipher_page_size", 4096},
        {"digest", Digest(params)},
    };
    WriteFileAtomically(path, json.dump(2) + "\n");
}

} // namespace escucha::storage
