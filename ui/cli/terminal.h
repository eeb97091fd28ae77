// Reading from the person at the terminal.
#pragma once

#include "escucha/storage/secret.h"

#include <optional>
#include <string>

namespace escucha::cli {

/// True when standard input is a terminal.
[[nodiscard]] bool StdinIsTerminal();

/// Reads a passphrase: from the environment variable `env_name` when set,
/// otherwise from the terminal without echo. nullopt when neither is possible.
[[nodiscard]] std::optional<storage::Passphrase> ReadPassphrase(const char* env_name, const std::string& prompt);

/// Reads one line from standard input after printing `prompt` (nullopt at end of input).
[[nodiscard]] std::optional<std::string> ReadLine(const std::string& prompt);

} // namespace escucha::cli
