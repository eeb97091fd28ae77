// A record being edited in a form: the text a person typed, field by field,
// turned into the record's fields when it is saved. No drawing here; the
// draw code edits the buffers and calls AppState to mark them changed.
//
// Thread contract: UI thread only; a save copies what it needs.
#pragma once

#include "escucha/storage/records.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace escucha::gui {

/// What a form shows for one field.
struct FieldValue {
    std::string text;               ///< Text, LongText, Integer, Date, Choice, Reference, TextList (comma-separated)
    bool flag = false;              ///< Boolean
    std::vector<std::string> items; ///< ChoiceList, ReferenceList
};

struct RecordDraft {
    int key = 0; ///< unique for the app's run: a result that lands checks it still has its draft
    std::string type;
    std::string id; ///< empty until its first save lands
    std::string project_id;
    std::map<std::string, FieldValue> values;
    std::set<std::string> touched;                   ///< fields changed since the last save
    std::map<std::string, std::string> field_errors; ///< field → what is wrong, in words
    std::string error;                               ///< the last save's failure, in words
    bool dirty = false;
    bool saving = false;
    double last_edit = 0;      ///< the app's monotonic clock, seconds
    int revision = 0;          ///< raised by every edit
    int refused_revision = -1; ///< the save of this revision was refused: wait for another edit
    double retry_at = 0;       ///< a save that failed for another reason (a busy vault) is tried again then
    std::string created_at;
    std::string updated_at;
    std::string author;
};

/// The form of a record read from the vault.
[[nodiscard]] RecordDraft DraftFromRecord(const storage::RecordType& type, const storage::Json& record);
/// An empty form, defaults filled.
[[nodiscard]] RecordDraft NewDraft(const storage::RecordType& type, const std::string& project_id);

struct FormFields {
    storage::Json fields = storage::Json::object(); ///< touched fields that could be read (null: cleared)
    std::map<std::string, std::string> errors;      ///< touched fields that could not be read
    std::vector<std::string> missing;               ///< required fields still empty
};

/// The fields to save: for a record not yet created every field with a value,
/// otherwise only the touched ones. A field that cannot be read (a word where a
/// number goes) is left out with an error, so the rest is saved.
[[nodiscard]] FormFields ReadForm(const storage::RecordType& type, const RecordDraft& draft);

/// "a, b, c" for a text list, and back (items trimmed, empty ones dropped).
[[nodiscard]] std::string JoinList(const std::vector<std::string>& items);
[[nodiscard]] std::vector<std::string> SplitList(const std::string& text);

/// `text` in lower case without accents (Latin-1 letters: "Ñandú" → "nandu"),
/// so that narrowing a list ignores them as search does.
[[nodiscard]] std::string FoldForMatch(std::string_view text);

/// Where the words of a search (folded, see FoldForMatch; one ending in '*'
/// matches the beginning of a word, the others a whole word) occur in
/// `text`, ignoring case and accents: [begin, end) byte ranges, in order.
[[nodiscard]] std::vector<std::pair<size_t, size_t>> FindTerms(std::string_view text,
                                                               const std::vector<std::string>& terms);

/// Today's date as YYYY-MM-DD (the device's clock; used to prefill dates).
[[nodiscard]] std::string Today();

/// A day of the calendar.
struct CivilDate {
    int year = 0, month = 0, day = 0; ///< month 1 to 12, day 1 to 31
    friend bool operator==(const CivilDate&, const CivilDate&) = default;
};
/// The date at the start of `text` (YYYY-MM-DD, also the date of a date and
/// time), when it is a real day.
[[nodiscard]] std::optional<CivilDate> ParseDate(std::string_view text);
[[nodiscard]] std::string FormatDate(const CivilDate& date); ///< YYYY-MM-DD
[[nodiscard]] int DaysInMonth(int year, int month);
/// "March" in the current language.
[[nodiscard]] const char* MonthName(int month);
/// 0 for Monday to 6 for Sunday.
[[nodiscard]] int Weekday(const CivilDate& date);
/// Why the text typed in a date field cannot be saved, in words of the
/// current language to follow the field's name; empty when it can (or is empty).
[[nodiscard]] std::string DateProblem(std::string_view text);

} // namespace escucha::gui
