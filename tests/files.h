// Reading a directory's files whole, to compare them or scan them.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace escucha::test {

inline std::string ReadFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

/// Every regular file below `dir`, by relative path, with its bytes.
inline std::map<std::string, std::string> Snapshot(const std::filesystem::path& dir) {
    std::map<std::string, std::string> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        if (entry.is_regular_file())
            files[std::filesystem::relative(entry.path(), dir).string()] = ReadFile(entry.path());
    }
    return files;
}

/// Names of the files below `dir` holding any of `needles` as plain bytes,
/// each with the number of the first needle found in it.
inline std::string FilesContainingAny(const std::filesystem::path& dir, const std::vector<std::string>& needles) {
    std::string found;
    for (const auto& [name, bytes] : Snapshot(dir))
        for (size_t i = 0; i < needles.size(); ++i)
            if (bytes.find(needles[i]) != std::string::npos) {
                found += name + " (" + std::to_string(i) + ") ";
                break;
            }
    return found;
}

/// Names of the files below `dir` holding `needle` as plain bytes.
inline std::string FilesContaining(const std::filesystem::path& dir, const std::string& needle) {
    return FilesContainingAny(dir, {needle});
}

/// Marks that open media in the clear: an Ogg page, an Opus stream's
/// headers, a WAV, FLAC or JPEG file. Each is five bytes or more, so that
/// ciphertext never holds one by chance: a four-byte mark such as "OggS"
/// turns up in a random megabyte about once in a thousand runs, and an HQ
/// data directory holds tens of megabytes.
inline std::vector<std::string> PlainMediaMarks() {
    using namespace std::string_literals;
    return {"OggS\0"s,  "OpusHead"s, "OpusTags"s, "WAVEfmt "s, "fLaC\0\0\0\x22"s, "fLaC\x80\0\0\x22"s,
            "JFIF\0"s};
}

/// Names of the files below `dir` that hold media in the clear.
inline std::string FilesWithPlainMedia(const std::filesystem::path& dir) {
    return FilesContainingAny(dir, PlainMediaMarks());
}

inline void WriteFile(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

} // namespace escucha::test
