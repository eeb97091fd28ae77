#include "escucha/storage/secret.h"

#include <sodium.h>

#include <stdexcept>

namespace escucha::storage {

void EnsureSodium() {
    static const int result = sodium_init();
    if (result < 0) throw std::runtime_error("libsodium could not be initialised");
}

void WipeMemory(void* data, std::size_t size) noexcept {
    if (data && size) sodium_memzero(data, size);
}

SecretBytes HexEncodeSecret(const unsigned char* data, std::size_t size) {
    SecretBytes out(size * 2 + 1);
    sodium_bin2hex(reinterpret_cast<char*>(out.data()), out.size(), data, size);
    out.pop_back(); // the terminating NUL
    return out;
}

std::string HexEncode(const unsigned char* data, std::size_t size) {
    std::string out(size * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), data, size);
    out.pop_back();
    return out;
}

bool HexDecode(std::string_view hex, std::vector<unsigned char>& out) {
    if (hex.size() % 2 != 0) return false;
    out.assign(hex.size() / 2, 0);
    size_t written = 0;
    const char* end = nullptr;
    if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written, &end) != 0) return false;
    return written == out.size() && end == hex.data() + hex.size();
}

} // namespace escucha::storage
