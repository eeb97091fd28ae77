// Parsing JSON that comes from outside the process: HTTP bodies, server
// answers, files to import, files beside the vault.
//
// nlohmann's parser itself does not recurse, but copying, comparing, dumping
// and (for ordered objects) inserting a deeply nested value do: a body of
// 90,000 '[' overflows the stack long after it was parsed. So nesting is
// refused while parsing, before any deep value exists.
//
// Thread contract: pure functions.
// Errors: JsonTooDeep, JsonTooLarge past the limits; Json::parse_error for malformed text.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace escucha::storage {

/// Deeper than any record, request or answer of Escucha's needs.
inline constexpr int MAX_JSON_DEPTH = 32;

class JsonTooDeep : public std::runtime_error {
public:
    explicit JsonTooDeep(int limit)
        : std::runtime_error("it is nested more than " + std::to_string(limit) + " levels deep") {}
};

class JsonTooLarge : public std::runtime_error {
public:
    explicit JsonTooLarge(size_t limit)
        : std::runtime_error("it holds more than " + std::to_string(limit) + " values") {}
};

/// Parses untrusted text into J (nlohmann::json or ordered_json). With
/// `max_values`, text holding more values than that is refused too (a
/// small body of "[{},{},...]" becomes a large tree).
/// Throws JsonTooDeep, JsonTooLarge or J::parse_error.
template <typename J>
J ParseUntrustedJson(std::string_view text, int max_depth = MAX_JSON_DEPTH, size_t max_values = SIZE_MAX) {
    size_t values = 0;
    // The callback sees the depth of the container that is opening.
    return J::parse(
        text,
        [max_depth, max_values, &values](int depth, typename J::parse_event_t event, J&) {
            if ((event == J::parse_event_t::object_start || event == J::parse_event_t::array_start) &&
                depth >= max_depth)
                throw JsonTooDeep(max_depth);
            if (event == J::parse_event_t::value && ++values > max_values) throw JsonTooLarge(max_values);
            return true;
        },
        true);
}

/// As ParseUntrustedJson, without exceptions: a discarded value when the text
/// is malformed or too deep, with the reason in `why` when it is given.
template <typename J>
J ParseUntrustedJsonOrDiscard(std::string_view text, std::string* why = nullptr, int max_depth = MAX_JSON_DEPTH) {
    try {
        return ParseUntrustedJson<J>(text, max_depth);
    } catch (const JsonTooDeep& e) {
        if (why) *why = e.what();
    } catch (const std::exception& e) {
        if (why) {
            // "[json.exception.parse_error.101] parse error at line 1, ...": keep the words.
            std::string message = e.what();
            const auto pos = message.find("] ");
            *why = pos == std::string::npos ? message : message.substr(pos + 2);
        }
    }
    return J(J::value_t::discarded);
}

} // namespace escucha::storage
