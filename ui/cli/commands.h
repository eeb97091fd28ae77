// escucha-cli: the commands, over the same libraries as the app.
#pragma once

#include <string>
#include <vector>

namespace escucha::cli {

/// Exit codes, also documented in `escucha-cli help`.
enum ExitCode : int {
    EXIT_OK = 0,
    EXIT_USAGE = 1,      ///< the command line is wrong
    EXIT_INVALID = 2,    ///< input records or values do not fit
    EXIT_PASSPHRASE = 3, ///< wrong or missing passphrase
    EXIT_DAMAGED = 4,    ///< the vault is damaged
    EXIT_NO_VAULT = 5,   ///< no vault at that place, or one exists already
    EXIT_FAILED = 6,     ///< anything else (disk full, permissions...)
};

/// Runs one command line (without the program name). Prints to stdout/stderr.
int Run(const std::vector<std::string>& args);

} // namespace escucha::cli
