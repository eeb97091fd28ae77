#include "error_words.h"

#include "escucha/words/error_words.h"
#include "escucha/words/i18n.h"

namespace escucha::cli {

void ChooseLanguage() { words::SetLanguage(words::SystemLanguage()); }

const char* ErrorHint(std::string_view code) {
    using namespace storage::errc;
    static const char* const RECOVERY = N_("See docs/recovery.md.");
    static const char* const OUTBOX = N_("See “escucha-cli outbox”.");
    if (code == VAULT_NOT_FOUND) return N_("Create one with “escucha-cli init”.");
    if (code == VAULT_DAMAGED || code == VAULT_FILE_MISSING || code == VAULT_KEY_FILE_DAMAGED ||
        code == VAULT_DATABASE_UNREADABLE || code == DATABASE_DAMAGED)
        return RECOVERY;
    if (code == REFUSED_CHANGE_NOT_FOUND || code == CHANGES_REFUSED) return OUTBOX;
    if (code == CONFLICT_NOT_FOUND) return N_("See “escucha-cli conflicts”.");
    if (code == NOT_ENROLLED) return N_("Enrol it with “escucha-cli enrol --server URL --code CODE”.");
    if (code == FILES_DAMAGED) return N_("“escucha-cli check” lists them.");
    if (code == RECORDS_INCONSISTENT) return N_("“escucha-cli reindex” may mend the search index.");
    return nullptr;
}

std::string Worded(std::string_view code, const storage::Json& params, const std::string& english, bool detailed) {
    if (code.empty() || !words::ErrorWordsTemplate(code)) return english;
    if (words::CurrentLanguage() == "en" &&
        (detailed || code == storage::errc::FILES_DAMAGED || code == storage::errc::SYNC_STOPPED))
        return english;
    auto worded = words::WordError(code, params);
    if (const char* hint = ErrorHint(code)) worded += std::string(" ") + words::Tr(hint);
    return worded;
}

} // namespace escucha::cli
