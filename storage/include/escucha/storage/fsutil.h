// Durable file operations.
#pragma once

#include <filesystem>
#include <string_view>

namespace escucha::storage {

/// Writes `content` to a temporary file beside `path`, fsyncs it, renames it
/// over `path` and fsyncs the directory. Throws std::runtime_error.
void WriteFileAtomically(const std::filesystem::path& path, std::string_view content);
/// Renames and fsyncs the directory. Throws std::runtime_error.
void RenameDurably(const std::filesystem::path& from, const std::filesystem::path& to);
void FsyncDirectory(const std::filesystem::path& dir);

} // namespace escucha::storage
