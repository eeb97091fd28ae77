// The CLI's English words for the error codes of storage/error_code.h.
//
// Thread contract: pure functions; any thread.
#pragma once

#include "escucha/storage/error_code.h"

#include <string>
#include <string_view>

namespace escucha::cli {

/// The English sentence for `code`, with "{name}" where a parameter goes, or
/// nullptr for a code this version does not know.
[[nodiscard]] const char* ErrorWordsTemplate(std::string_view code);

/// `code` worded in English with `params` filled in; empty for an unknown code
/// (the caller then shows the words that came with the error).
[[nodiscard]] std::string WordError(std::string_view code, const storage::Json& params);

} // namespace escucha::cli
