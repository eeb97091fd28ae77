// A zip built in memory with libzip, for the chat-export tests.
#pragma once

#include <catch2/catch.hpp>
#include <zip.h>

#include <string>
#include <utility>
#include <vector>

namespace escucha::test {

/// A zip holding `files` (name, bytes), deflated as phones write them.
inline std::string ZipOf(const std::vector<std::pair<std::string, std::string>>& files) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
    REQUIRE(buffer);
    zip_source_keep(buffer);
    zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
    REQUIRE(archive);
    for (const auto& [name, bytes] : files) {
        zip_source_t* s = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
        REQUIRE(s);
        REQUIRE(zip_file_add(archive, name.c_str(), s, ZIP_FL_ENC_UTF_8) >= 0);
    }
    REQUIRE(zip_close(archive) == 0);
    REQUIRE(zip_source_open(buffer) == 0);
    REQUIRE(zip_source_seek(buffer, 0, SEEK_END) == 0);
    const auto size = zip_source_tell(buffer);
    REQUIRE(zip_source_seek(buffer, 0, SEEK_SET) == 0);
    std::string out(static_cast<size_t>(size), '\0');
    REQUIRE(zip_source_read(buffer, out.data(), out.size()) == size);
    zip_source_close(buffer);
    zip_source_free(buffer);
    zip_error_fini(&error);
    return out;
}

} // namespace escucha::test
