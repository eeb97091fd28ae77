// The window app's words: the shared catalogue of ui/words (i18n.h there)
// under the names the app's code uses.
//
// Thread contract: UI thread only. Tr() returns a pointer that stays valid
// until the next SetLanguage().
#pragma once

#include "escucha/words/i18n.h"

namespace escucha::gui {

using words::CurrentLanguage;
using words::EmbeddedPo;
using words::Language;
using words::Languages;
using words::PoCatalogue;
using words::SetLanguage;
using words::SystemLanguage;
using words::Tr;

} // namespace escucha::gui
