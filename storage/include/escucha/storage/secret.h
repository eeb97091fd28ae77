// Memory for secrets (passphrases, keys): wiped when released.
//
// Thread contract: plain values; no sharing rules beyond those of std::vector.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace escucha::storage {

/// Allocator that wipes memory (sodium_memzero) before giving it back.
template <typename T>
struct WipingAllocator {
    using value_type = T;
    WipingAllocator() noexcept = default;
    template <typename U>
    WipingAllocator(const WipingAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept;
    template <typename U>
    bool operator==(const WipingAllocator<U>&) const noexcept {
        return true;
    }
};

void WipeMemory(void* data, std::size_t size) noexcept;

/// Initialises libsodium once (thread-safe); every user of libsodium calls it first.
void EnsureSodium();

template <typename T>
void WipingAllocator<T>::deallocate(T* p, std::size_t n) noexcept {
    WipeMemory(p, n * sizeof(T));
    ::operator delete(p);
}

/// Bytes of a secret. A vector, not a string: no small-string buffer escapes the wipe.
using SecretBytes = std::vector<unsigned char, WipingAllocator<unsigned char>>;

/// A passphrase as typed (UTF-8). Wiped on destruction.
class Passphrase {
public:
    Passphrase() = default;
    explicit Passphrase(std::string_view text) : m_bytes(text.begin(), text.end()) {}
    [[nodiscard]] std::string_view View() const noexcept {
        return {reinterpret_cast<const char*>(m_bytes.data()), m_bytes.size()};
    }
    [[nodiscard]] bool Empty() const noexcept { return m_bytes.empty(); }
    [[nodiscard]] std::size_t Size() const noexcept { return m_bytes.size(); }
    void PushBack(char c) { m_bytes.push_back(static_cast<unsigned char>(c)); }
    void PopBack() {
        if (!m_bytes.empty()) m_bytes.pop_back();
    }
    bool operator==(const Passphrase& other) const noexcept { return View() == other.View(); }

private:
    SecretBytes m_bytes;
};

/// Lower-case hex of `size` bytes, into wiped memory.
[[nodiscard]] SecretBytes HexEncodeSecret(const unsigned char* data, std::size_t size);
[[nodiscard]] std::string HexEncode(const unsigned char* data, std::size_t size);
/// Decodes hex; returns false on odd length or a non-hex character.
[[nodiscard]] bool HexDecode(std::string_view hex, std::vector<unsigned char>& out);

} // namespace escucha::storage
