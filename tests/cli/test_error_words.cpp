// The CLI's English words for every error code of storage/error_code.h.
#include "error_words.h"

#include "escucha/storage/error_code.h"

#include <catch2/catch.hpp>

using namespace escucha;

TEST_CASE("The CLI words every error code in English, its parameters filled", "[cli][errors]") {
    for (const auto& spec : storage::ErrorCodes()) {
        INFO("code " << spec.code);
        const char* words = cli::ErrorWordsTemplate(spec.code);
        REQUIRE(words);
        storage::Json params = storage::Json::object();
        for (const auto& name : spec.params) params[std::string(name)] = "<" + std::string(name) + ">";
        const auto worded = cli::WordError(spec.code, params);
        CHECK_FALSE(worded.empty());
        CHECK(worded.find('{') == std::string::npos);
        CHECK(worded.find("…") == std::string::npos); // a parameter the code does not carry
    }
    CHECK(cli::WordError("a_code_from_a_newer_hq", storage::Json::object()).empty());
    const auto https = cli::WordError(storage::errc::SERVER_MUST_BE_HTTPS, {{"server", "http://example.org"}});
    CHECK_THAT(https, Catch::Contains("https://") && Catch::Contains("127.0.0.1"));
}
