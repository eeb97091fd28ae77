// The window app's words for the error codes of storage/error_code.h, in
// the chosen language: the shared words of ui/words with field and record
// type names shown by their labels (labels.h), so
// WordError("field_required", {"field": "withdrawn_at"}) gives the Spanish for
// "Fill in “Withdrawn on”.".
//
// Thread contract: UI thread only (it translates through Tr()).
#pragma once

#include "escucha/words/error_words.h"

#include <string>

namespace escucha::gui {

using Json = nlohmann::ordered_json;
using words::ErrorWordsTemplate;

/// `code` worded in the current language with `params` filled in. A code
/// this version does not know is worded generically (naming the code).
[[nodiscard]] std::string WordError(const std::string& code, const Json& params);

} // namespace escucha::gui
