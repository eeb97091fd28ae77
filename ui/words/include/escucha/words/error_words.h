// Words for the error codes of storage/error_code.h, in the current language
// (i18n.h), shared by the window app and the CLI: one English sentence per
// code, the key of its translations in ui/words/po/.
//
// WordError("field_required", {"field": "withdrawn_at"}) gives the Spanish for
// "Fill in “withdrawn_at”."; the window app passes names that show a field or
// record type by its label ("Fill in “Withdrawn on”."), the CLI keeps the
// names it is typed with.
//
// Thread contract: as i18n.h (it translates through Tr()).
#pragma once

#include "escucha/storage/error_code.h"

#include <functional>
#include <string>
#include <string_view>

namespace escucha::words {

using Json = nlohmann::ordered_json;

/// How the names a parameter holds are shown. Empty functions: as they are.
struct ParamNames {
    std::function<std::string(const std::string&)> field; ///< for "field", "start"
    std::function<std::string(const std::string&)> type;  ///< for "type", "ref_type", "actual"
};

/// The English sentence for `code` (the key of its translations), with
/// "{name}" where a parameter goes; nullptr for a code without words.
[[nodiscard]] const char* ErrorWordsTemplate(std::string_view code);

/// `code` worded in the current language with `params` filled in. A code
/// this version does not know is worded generically (naming the code).
[[nodiscard]] std::string WordError(std::string_view code, const Json& params, const ParamNames& names = {});

} // namespace escucha::words
