// Running the real escucha-cli binary from tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <sys/types.h>

namespace escucha::test {

struct ProcessResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

using Env = std::map<std::string, std::string>;

/// Runs escucha-cli with `args` in a new session (no controlling terminal),
/// standard input from `input`, the current environment plus `env` (a value of
/// "" removes the variable). Waits and returns what it printed.
ProcessResult RunCli(const std::vector<std::string>& args, const Env& env = {}, const std::string& input = "");

/// Starts `/bin/sh -c script` in its own process group; returns its pid.
pid_t StartShell(const std::string& script, const Env& env = {});
/// Sends SIGKILL to the whole process group of `pid` and reaps it.
void KillGroup(pid_t pid);

[[nodiscard]] std::string CliPath();
[[nodiscard]] std::string SourceDir();
/// Single-quotes `text` for /bin/sh.
[[nodiscard]] std::string ShellQuote(const std::string& text);

} // namespace escucha::test
