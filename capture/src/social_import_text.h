// Helpers shared by the chat-export reader's files (not a public header).
#pragma once

#include "escucha/capture/social_import.h"

#include <string>
#include <string_view>

namespace escucha::capture::social {

/// Bytes of the invisible mark (LRM, RLM, BOM, embeddings, isolates) that
/// starts `s` at `i`, or 0.
[[nodiscard]] size_t InvisibleAt(std::string_view s, size_t i);
/// Bytes of the space (ASCII space, tab, NBSP, narrow NBSP, thin space) that starts `s` at `i`, or 0.
[[nodiscard]] size_t SpaceAt(std::string_view s, size_t i);
/// `s` without invisible marks and spaces at either end.
[[nodiscard]] std::string Trim(std::string_view s);
/// Lower-case ASCII.
[[nodiscard]] std::string LowerAscii(std::string_view s);

/// A RecordError for a file that is too large.
[[noreturn]] void ThrowTooLarge(const std::string& file, int64_t limit);

/// Reads a WhatsApp chat's text (already out of any zip).
[[nodiscard]] SocialExport ParseWhatsAppText(std::string_view text, const std::string& file_name,
                                             const SocialLimits& limits);

/// Reads a WhatsApp zip from memory: the chat's text and the names of the files beside it.
[[nodiscard]] SocialExport ParseWhatsAppZip(std::string_view bytes, const std::string& file_name,
                                            const SocialLimits& limits);

} // namespace escucha::capture::social
