// The window app's words for the error codes of storage/error_code.h, in
// the chosen language: WordError("field_required", {"field": "withdrawn_at"})
// gives the Spanish for "Fill in “Withdrawn on”.". Field and record type names in
// the parameters are shown by their labels (labels.h).
//
// Thread contract: UI thread only (it translates through Tr()).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace escucha::gui {

using Json = nlohmann::ordered_json;

/// `code` worded in the current language with `params` filled in. A code
/// this version does not know is worded generically (naming the code).
[[nodiscard]] std::string WordError(const std::string& code, const Json& params);

/// The English sentence for `code` (the key of its translations), with
/// "{name}" where a parameter goes; nullptr for a code without words.
[[nodiscard]] const char* ErrorWordsTemplate(const std::string& code);

} // namespace escucha::gui
