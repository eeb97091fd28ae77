// The window app's words for every error code: each language (en, es, fr,
// pt) words each code of storage/error_code.h, and fills every parameter.
#include "error_words.h"
#include "i18n.h"
#include "labels.h"

#include "escucha/storage/error_code.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

using namespace escucha;
using namespace escucha::gui;

namespace {

/// A value for each parameter the code carries, as an error would give it.
Json SampleParams(const storage::ErrorCodeSpec& spec) {
    Json params = Json::object();
    for (const auto& name : spec.params) {
        const std::string key(name);
        if (key == "field" || key == "start") params[key] = "withdrawn_at";
        else if (key == "type" || key == "ref_type" || key == "actual") params[key] = "participant";
        else if (key == "count" || key == "status" || key == "min" || key == "max" || key == "seq") params[key] = 7;
        else params[key] = "sample-" + key;
    }
    return params;
}

/// Parameter names ("{name}") used in `words`.
std::set<std::string> Placeholders(const std::string& words) {
    std::set<std::string> out;
    for (size_t at = words.find('{'); at != std::string::npos; at = words.find('{', at + 1)) {
        const auto close = words.find('}', at);
        if (close != std::string::npos) out.insert(words.substr(at + 1, close - at - 1));
    }
    return out;
}

struct RestoreLanguage {
    std::string before = CurrentLanguage();
    ~RestoreLanguage() { SetLanguage(before); }
};

} // namespace

TEST_CASE("Every error code is worded in every language, its parameters filled", "[gui][i18n][errors]") {
    RestoreLanguage restore;
    std::set<std::string_view> seen;
    for (const auto& spec : storage::ErrorCodes()) {
        INFO("code " << spec.code);
        CHECK(seen.insert(spec.code).second); // each code once
        const char* english = ErrorWordsTemplate(std::string(spec.code));
        REQUIRE(english);
        // The words use only parameters the code always carries.
        for (const auto& name : Placeholders(english)) {
            INFO("parameter {" << name << "}");
            CHECK(std::find(spec.params.begin(), spec.params.end(), name) != spec.params.end());
        }
        for (const auto& language : Languages()) {
            INFO("language " << language.code);
            SetLanguage(language.code);
            if (std::string(language.code) != "en") {
                PoCatalogue po;
                std::string error;
                REQUIRE(po.Parse(EmbeddedPo(language.code), error));
                const char* translated = po.Find(english);
                CHECK(translated);
                if (translated) CHECK(Placeholders(translated) == Placeholders(english));
            }
            const auto params = SampleParams(spec);
            const auto words = WordError(std::string(spec.code), params);
            CHECK_FALSE(words.empty());
            CHECK(words.find('{') == std::string::npos);
            CHECK(words.find('}') == std::string::npos);
            CHECK(words.find("…") == std::string::npos); // a parameter left unfilled
            // Values are shown, names of fields and types by their labels.
            CHECK(words.find("withdrawn_at") == std::string::npos);
            for (const auto& name : Placeholders(english))
                if (params[name].is_string() && params[name].get<std::string>().rfind("sample-", 0) == 0)
                    CHECK(words.find(params[name].get<std::string>()) != std::string::npos);
        }
    }
    CHECK(seen.size() == storage::ErrorCodes().size());
}

TEST_CASE("Error words name fields by their label, and a code this version does not know generically",
          "[gui][i18n][errors]") {
    RestoreLanguage restore;
    SetLanguage("es");
    const auto required = WordError("field_required", {{"field", "withdrawn_at"}});
    CHECK(required.find(FieldLabel("withdrawn_at")) != std::string::npos);
    CHECK(required.find("withdrawn_at") == std::string::npos);
    const auto https = WordError("server_must_be_https", {{"server", "http://example.org"}});
    CHECK(https.find("127.0.0.1") != std::string::npos); // http on this machine is fine, and it says so
    CHECK(https.find("https://") != std::string::npos);
    const auto unknown = WordError("a_code_from_a_newer_hq", Json::object());
    CHECK(unknown.find("a_code_from_a_newer_hq") != std::string::npos);
    CHECK(unknown.find('{') == std::string::npos);
    SetLanguage("en");
    CHECK(WordError("wrong_passphrase", {{"path", "/home/ana/.escucha"}}).find("/home/ana") == std::string::npos);
    CHECK(WordError("field_required", Json::object()).find('{') == std::string::npos);
}
