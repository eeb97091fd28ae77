// The window app names types, fields and choices with the words shared with
// the CLI (escucha/words/labels.h).
#pragma once

#include "escucha/words/labels.h"

namespace escucha::gui {

using words::ChoiceLabel;
using words::FieldLabel;
using words::FormFieldLabel;
using words::HasChoiceLabel;
using words::HasFieldLabel;
using words::HasTypeLabel;
using words::NameLabels;
using words::TypeLabel;
using words::TypePluralLabel;

} // namespace escucha::gui
