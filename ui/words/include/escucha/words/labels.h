// What record types, fields and choices are called on screen, in the current
// language. The catalogue names things for programs (age_band, say_vs_do);
// people read "Age band" or "Franja de edad".
//
// Shared by the window app and the CLI (reports).
//
// Thread contract: the thread that sets the language (they translate through Tr()).
#pragma once

#include "escucha/storage/records.h"

#include <map>
#include <string>

namespace escucha::words {

[[nodiscard]] const char* TypeLabel(const std::string& type);       ///< "Narrative"
[[nodiscard]] const char* TypePluralLabel(const std::string& type); ///< "Narratives"
[[nodiscard]] const char* FieldLabel(const std::string& field);     ///< "Age band"
[[nodiscard]] const char* ChoiceLabel(const std::string& choice);   ///< "Unstructured interview"
/// A field's label in a form, where it may depend on the record's kind: an
/// individual profile asks who the person is, a collective one who the group is.
[[nodiscard]] const char* FormFieldLabel(const std::string& type, const std::string& field, const std::string& kind);

/// For tests: whether a name has its own label (else the raw name is shown).
[[nodiscard]] bool HasTypeLabel(const std::string& type);
[[nodiscard]] bool HasFieldLabel(const std::string& field);
[[nodiscard]] bool HasChoiceLabel(const std::string& choice);

/// Every type name and choice of `catalogue` with its label in the current
/// language, read once: for work done off the UI thread (a report) that
/// must not call Tr() while the language may change.
[[nodiscard]] std::map<std::string, std::string> NameLabels(const storage::Catalogue& catalogue);

} // namespace escucha::words
