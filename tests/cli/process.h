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

/// Runs any program (argv[0] is its path) the way RunCli does.
ProcessResult RunProgram(const std::vector<std::string>& argv, const Env& env = {}, const std::string& input = "");

/// Starts a program in its own session with output to files; returns its pid.
pid_t StartProgram(const std::vector<std::string>& argv, const std::string& out_path, const std::string& err_path,
                   const Env& env = {});

/// Starts `/bin/sh -c script` in its own process group; returns its pid.
pid_t StartShell(const std::string& script, const Env& env = {});
/// Sends SIGKILL to the whole process group of `pid` and reaps it.
void KillGroup(pid_t pid);

/// The escucha-cli and escucha-hq the tests run: those built with the tests,
/// unless ESCUCHA_TEST_CLI or ESCUCHA_TEST_HQ names another program.
[[nodiscard]] std::string CliPath();
[[nodiscard]] std::string HqPath();
[[nodiscard]] std::string SourceDir();
/// Single-quotes `text` for /bin/sh.
[[nodiscard]] std::string ShellQuote(const std::string& text);

} // namespace escucha::test
