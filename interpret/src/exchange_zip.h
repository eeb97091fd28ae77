// Private to the exchange module: zip archives in memory (libzip), XML
// escaping, and GUIDs derived from names.
#pragma once

#include "escucha/interpret/exchange.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct zip;
struct zip_source;

namespace escucha::interpret::exchange {

/// Frees an archive handle without writing anything (zip_discard).
struct ZipDiscard {
    void operator()(zip* archive) const noexcept;
};
/// Frees a source (zip_source_free).
struct ZipSourceFree {
    void operator()(zip_source* source) const noexcept;
};

// [SECTION] Writing

/// A zip archive built in memory: entries added from strings it keeps until
/// Finish(), which returns the archive's bytes. Not copyable.
class ZipWriter {
public:
    /// `level`: deflate level 1-9, or -1 for libzip's default.
    explicit ZipWriter(int level = -1);
    ZipWriter(const ZipWriter&) = delete;
    ZipWriter& operator=(const ZipWriter&) = delete;
    ~ZipWriter() = default;

    /// Adds `content` as `name`, deflated unless `compress` is false (audio),
    /// at `level` (1-9) when given, else at the writer's level.
    void Add(const std::string& name, std::string content, bool compress = true, int level = -1);
    /// The archive; the writer is spent afterwards.
    [[nodiscard]] std::string Finish();

private:
    std::unique_ptr<zip_source, ZipSourceFree> m_buffer;
    std::unique_ptr<zip, ZipDiscard> m_zip; ///< destroyed first: it refers to the buffer
    int m_level;
    std::deque<std::string> m_contents; ///< libzip reads them at Finish()
};

// [SECTION] Reading

struct ZipEntry {
    std::string name;
    int64_t index = 0;
    int64_t size = 0; ///< as declared
};

/// A zip archive read from memory (`bytes` must outlive it), within limits.
/// Throws RecordError (QDA_*) naming `file_name`.
class ZipReader {
public:
    ZipReader(const std::string& bytes, const std::string& file_name, const ImportLimits& limits);
    ZipReader(const ZipReader&) = delete;
    ZipReader& operator=(const ZipReader&) = delete;
    ~ZipReader() = default;

    [[nodiscard]] const std::vector<ZipEntry>& Entries() const noexcept { return m_entries; }
    /// The uncompressed content of `entry`, no more than the limits allow.
    [[nodiscard]] std::string Read(const ZipEntry& entry);

private:
    std::unique_ptr<zip, ZipDiscard> m_zip;
    std::string m_file;
    ImportLimits m_limits;
    int64_t m_read = 0;
    std::vector<ZipEntry> m_entries;
};

// [SECTION] Text

/// `text` escaped for XML content or a double-quoted attribute; characters
/// XML 1.0 does not allow become U+FFFD.
void AppendXml(std::string& out, std::string_view text);
[[nodiscard]] inline std::string Xml(std::string_view text) {
    std::string out;
    AppendXml(out, text);
    return out;
}

/// A GUID derived from `name` (the same name, the same GUID): for things
/// Escucha keeps no record of (a selection, a note, a variable).
[[nodiscard]] std::string NameGuid(std::string_view name);

/// ASCII lower case.
[[nodiscard]] std::string Lower(std::string_view text);

/// Whether `text` is well-formed UTF-8.
[[nodiscard]] bool IsUtf8(std::string_view text);

} // namespace escucha::interpret::exchange
