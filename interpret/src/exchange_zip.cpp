// [SECTION] Writing
// [SECTION] Reading
// [SECTION] Text
#include "exchange_zip.h"

#include <sodium.h>
#include <zip.h>

#include <cstdio>

namespace escucha::interpret::exchange {

using storage::RecordError;
namespace errc = storage::errc;

// [SECTION] Writing

void ZipDiscard::operator()(zip* archive) const noexcept { zip_discard(archive); }
void ZipSourceFree::operator()(zip_source* source) const noexcept { zip_source_free(source); }

ZipWriter::ZipWriter(int level) : m_level(level) {
    zip_error_t error;
    zip_error_init(&error);
    m_buffer.reset(zip_source_buffer_create(nullptr, 0, 0, &error));
    if (!m_buffer) {
        zip_error_fini(&error);
        throw std::bad_alloc();
    }
    zip_source_keep(m_buffer.get()); // outlives zip_close, which writes into it
    m_zip.reset(zip_open_from_source(m_buffer.get(), ZIP_TRUNCATE, &error));
    zip_error_fini(&error);
    if (!m_zip) {
        zip_source_free(m_buffer.get()); // the reference zip_open_from_source did not take
        throw std::runtime_error("cannot start a zip archive in memory");
    }
}

void ZipWriter::Add(const std::string& name, std::string content, bool compress, int level) {
    if (level < 0) level = m_level;
    if (!m_zip) throw std::logic_error("zip archive already finished");
    const auto& kept = m_contents.emplace_back(std::move(content));
    zip_t* archive = m_zip.get();
    zip_source_t* source = zip_source_buffer(archive, kept.data(), kept.size(), 0);
    if (!source) throw std::runtime_error(std::string("zip: ") + zip_error_strerror(zip_get_error(archive)));
    const zip_int64_t index = zip_file_add(archive, name.c_str(), source, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
    if (index < 0) {
        zip_source_free(source);
        throw std::runtime_error(std::string("zip: ") + zip_error_strerror(zip_get_error(archive)));
    }
    if (zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
                                 !compress || level < 0 ? 0 : static_cast<zip_uint32_t>(level)) != 0)
        throw std::runtime_error(std::string("zip: ") + zip_error_strerror(zip_get_error(archive)));
}

std::string ZipWriter::Finish() {
    if (!m_zip) throw std::logic_error("zip archive already finished");
    if (zip_close(m_zip.get()) != 0)
        throw std::runtime_error(std::string("zip: ") + zip_error_strerror(zip_get_error(m_zip.get())));
    (void)m_zip.release(); // zip_close freed it
    m_contents.clear();
    zip_source_t* buffer = m_buffer.get();
    const auto failed = [] { return std::runtime_error("zip: cannot read the archive back"); };
    if (zip_source_open(buffer) != 0) throw failed();
    struct Closer {
        zip_source_t* s;
        ~Closer() { zip_source_close(s); }
    } closer{buffer};
    if (zip_source_seek(buffer, 0, SEEK_END) != 0) throw failed();
    const zip_int64_t size = zip_source_tell(buffer);
    if (size < 0 || zip_source_seek(buffer, 0, SEEK_SET) != 0) throw failed();
    std::string out(static_cast<size_t>(size), '\0');
    zip_int64_t done = 0;
    while (done < size) {
        const zip_int64_t n = zip_source_read(buffer, out.data() + done, static_cast<zip_uint64_t>(size - done));
        if (n <= 0) throw failed();
        done += n;
    }
    return out;
}

// [SECTION] Reading

namespace {

/// Whether an entry's name could point outside a folder it were unpacked in:
/// absolute, with a drive letter, a backslash, a NUL, or a `..` part.
bool EscapesArchive(std::string_view name) {
    if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos)
        return true;
    if (name.size() >= 2 && name[1] == ':') return true;
    size_t from = 0;
    while (from <= name.size()) {
        const size_t slash = name.find('/', from);
        const auto part = name.substr(from, slash == std::string_view::npos ? std::string_view::npos : slash - from);
        if (part == "..") return true;
        if (slash == std::string_view::npos) break;
        from = slash + 1;
    }
    return false;
}

std::string Bytes(int64_t n) { return std::to_string(n) + " bytes"; }

} // namespace

ZipReader::ZipReader(const std::string& bytes, const std::string& file_name, const ImportLimits& limits)
    : m_file(file_name), m_limits(limits) {
    if (static_cast<int64_t>(bytes.size()) > limits.max_file_bytes)
        throw RecordError("file", file_name + " is larger than " + Bytes(limits.max_file_bytes), errc::QDA_TOO_LARGE,
                          {{"file", file_name}, {"entry", file_name}, {"limit", Bytes(limits.max_file_bytes)}});
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
    if (source) m_zip.reset(zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error));
    zip_error_fini(&error);
    if (!m_zip) {
        if (source) zip_source_free(source);
        throw RecordError("file", file_name + " is not a zip archive this program can read", errc::QDA_NOT_ARCHIVE,
                          {{"file", file_name}});
    }
    const zip_int64_t count = zip_get_num_entries(m_zip.get(), 0);
    if (count < 0 || count > limits.max_entries)
        throw RecordError("file", file_name + " holds too many files", errc::QDA_TOO_LARGE,
                          {{"file", file_name}, {"entry", file_name}, {"limit", std::to_string(limits.max_entries)}});
    m_entries.reserve(static_cast<size_t>(count));
    for (zip_int64_t i = 0; i < count; ++i) {
        zip_stat_t stat;
        zip_stat_init(&stat);
        if (zip_stat_index(m_zip.get(), static_cast<zip_uint64_t>(i), ZIP_FL_ENC_GUESS, &stat) != 0 || !stat.name ||
            !(stat.valid & ZIP_STAT_SIZE))
            throw RecordError("file", file_name + ": an entry cannot be read", errc::QDA_ARCHIVE_DAMAGED,
                              {{"file", file_name}, {"entry", "#" + std::to_string(i)}});
        std::string name = stat.name;
        if (EscapesArchive(name))
            throw RecordError("file", file_name + " holds an entry named " + name, errc::QDA_BAD_ENTRY_NAME,
                              {{"file", file_name}, {"entry", name}});
        const auto declared = static_cast<int64_t>(stat.size);
        if (declared < 0 || declared > limits.max_entry_bytes)
            throw RecordError("file", file_name + ": " + name + " is too large", errc::QDA_TOO_LARGE,
                              {{"file", file_name}, {"entry", name}, {"limit", Bytes(limits.max_entry_bytes)}});
        m_entries.push_back({std::move(name), i, declared});
    }
}

std::string ZipReader::Read(const ZipEntry& entry) {
    const auto damaged = [&] {
        return RecordError("file", m_file + ": " + entry.name + " cannot be read", errc::QDA_ARCHIVE_DAMAGED,
                           {{"file", m_file}, {"entry", entry.name}});
    };
    zip_file_t* file = zip_fopen_index(m_zip.get(), static_cast<zip_uint64_t>(entry.index), 0);
    if (!file) throw damaged();
    struct Closer {
        zip_file_t* f;
        ~Closer() { zip_fclose(f); }
    } closer{file};
    // The declared size may lie: read no more than the limits, whatever it says.
    const int64_t cap = std::min(m_limits.max_entry_bytes, m_limits.max_total_bytes - m_read);
    std::string out;
    out.reserve(static_cast<size_t>(std::min<int64_t>(entry.size, cap)));
    char buffer[65536];
    while (true) {
        const zip_int64_t n = zip_fread(file, buffer, sizeof buffer);
        if (n < 0) throw damaged();
        if (n == 0) break;
        if (static_cast<int64_t>(out.size()) + n > cap) {
            const bool total = cap < m_limits.max_entry_bytes;
            throw RecordError("file", m_file + ": " + entry.name + " is too large", errc::QDA_TOO_LARGE,
                              {{"file", m_file},
                               {"entry", entry.name},
                               {"limit", Bytes(total ? m_limits.max_total_bytes : m_limits.max_entry_bytes)}});
        }
        out.append(buffer, static_cast<size_t>(n));
    }
    if (static_cast<int64_t>(out.size()) != entry.size) throw damaged();
    m_read += static_cast<int64_t>(out.size());
    return out;
}

// [SECTION] Text

void AppendXml(std::string& out, std::string_view text) {
    for (size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        switch (c) {
        case '&': out += "&amp;"; continue;
        case '<': out += "&lt;"; continue;
        case '>': out += "&gt;"; continue;
        case '"': out += "&quot;"; continue;
        case '\n': out += "&#10;"; continue; // kept in attributes, which would otherwise fold it
        case '\r': out += "&#13;"; continue;
        case '\t': out += "&#9;"; continue;
        default: break;
        }
        if (c < 0x20) {
            out += "\xEF\xBF\xBD"; // not allowed in XML 1.0
            continue;
        }
        // U+FFFE and U+FFFF (EF BF BE / EF BF BF) are not XML characters either.
        if (c == 0xEF && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xBF &&
            (static_cast<unsigned char>(text[i + 2]) == 0xBE || static_cast<unsigned char>(text[i + 2]) == 0xBF)) {
            out += "\xEF\xBF\xBD";
            i += 2;
            continue;
        }
        out.push_back(static_cast<char>(c));
    }
}

std::string NameGuid(std::string_view name) {
    unsigned char hash[16];
    crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(name.data()), name.size(), nullptr,
                       0);
    hash[6] = static_cast<unsigned char>((hash[6] & 0x0F) | 0x80); // version 8: made by the application
    hash[8] = static_cast<unsigned char>((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
    static constexpr char HEX[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out.push_back(HEX[hash[i] >> 4]);
        out.push_back(HEX[hash[i] & 0x0F]);
    }
    return out;
}

std::string Lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool IsUtf8(std::string_view text) {
    size_t i = 0;
    const auto at = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    while (i < text.size()) {
        const unsigned char c = at(i);
        size_t len = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > text.size()) return false;
        for (size_t k = 1; k < len; ++k) {
            if ((at(i + k) & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (at(i + k) & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

} // namespace escucha::interpret::exchange
