// Reading a directory's files whole, to compare them or scan them.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

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

/// Names of the files below `dir` holding `needle` as plain bytes.
inline std::string FilesContaining(const std::filesystem::path& dir, const std::string& needle) {
    std::string found;
    for (const auto& [name, bytes] : Snapshot(dir))
        if (bytes.find(needle) != std::string::npos) found += name + " ";
    return found;
}

inline void WriteFile(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

} // namespace escucha::test
