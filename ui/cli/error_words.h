// The CLI's words for errors: the shared words of ui/words (one wording per
// code, for the window app and the CLI alike) in the language the system asks
// for (LANGUAGE, LC_ALL, LC_MESSAGES, LANG: es, fr or pt), else English, with
// the CLI's own hint where a command helps ("See “escucha-cli outbox”.").
//
// Thread contract: the CLI's one thread (it translates through Tr()).
#pragma once

#include "escucha/storage/error_code.h"

#include <string>
#include <string_view>

namespace escucha::cli {

/// Speaks the language the system asks for, if Escucha speaks it.
void ChooseLanguage();

/// The CLI's hint for `code` in the current language (naming a command or a
/// document), or nullptr.
[[nodiscard]] const char* ErrorHint(std::string_view code);

/// An error for a person. `words` are the English words that came with it:
/// they are shown for a code without words, and in English when `detailed`
/// (an exception's own words name the record, the file, the path) or when
/// they tell more than the code (a damaged file, a failure on this device).
/// Otherwise the code is worded in the current language, with its hint.
[[nodiscard]] std::string Worded(std::string_view code, const storage::Json& params, const std::string& words,
                                 bool detailed = false);

} // namespace escucha::cli
