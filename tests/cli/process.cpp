#include "cli/process.h"

#include "files.h"
#include "temp_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace escucha::test {

namespace {

std::vector<std::string> MergedEnv(const Env& extra) {
    std::map<std::string, std::string> vars;
    for (char** e = environ; *e; ++e) {
        const std::string entry = *e;
        const auto eq = entry.find('=');
        if (eq != std::string::npos) vars[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const auto& [k, v] : extra) {
        if (v.empty()) vars.erase(k);
        else vars[k] = v;
    }
    std::vector<std::string> out;
    for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
    return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

pid_t Spawn(std::vector<std::string> argv, const Env& env, const std::string& in, const std::string& out,
            const std::string& err) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // A new session: no controlling terminal, and one group to kill at once.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
    auto vars = MergedEnv(env);
    auto envp = Pointers(vars);
    auto args = Pointers(argv);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    return pid;
}

/// The program named by environment variable `name`, else the one built beside the tests.
std::string ProgramPath(const char* name, const char* built) {
    const char* given = std::getenv(name);
    return given && *given ? given : built;
}
} // namespace

// ESCUCHA_TEST_CLI and ESCUCHA_TEST_HQ let one build's tests drive another
// build's programs: an arm64 escucha-cli under qemu, an amd64 escucha-hq.
std::string CliPath() { return ProgramPath("ESCUCHA_TEST_CLI", ESCUCHA_CLI_PATH); }
std::string HqPath() { return ProgramPath("ESCUCHA_TEST_HQ", ESCUCHA_HQ_PATH); }
std::string SourceDir() { return ESCUCHA_SOURCE_DIR; }

std::string ShellQuote(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += "'\\''";
        else out.push_back(c);
    }
    return out + "'";
}

ProcessResult RunCli(const std::vector<std::string>& args, const Env& env, const std::string& input) {
    std::vector<std::string> argv = {CliPath()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv, env, input);
}

pid_t StartProgram(const std::vector<std::string>& argv, const std::string& out_path, const std::string& err_path,
                   const Env& env) {
    return Spawn(argv, env, "/dev/null", out_path, err_path);
}

ProcessResult RunProgram(const std::vector<std::string>& argv, const Env& env, const std::string& input) {
    TempDir io;
    WriteFile(io / "in", input);
    const pid_t pid = Spawn(argv, env, (io / "in").string(), (io / "out").string(), (io / "err").string());
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ProcessResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = ReadFile(io / "out");
    result.err = ReadFile(io / "err");
    return result;
}

pid_t StartShell(const std::string& script, const Env& env) {
    return Spawn({"/bin/sh", "-c", script}, env, "/dev/null", "/dev/null", "/dev/null");
}

void KillGroup(pid_t pid) {
    ::kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    // Children of the shell may outlive it for a moment; make sure they are gone.
    ::kill(-pid, SIGKILL);
    for (int i = 0; i < 100 && ::kill(-pid, 0) == 0; ++i) ::usleep(10'000);
}

} // namespace escucha::test
