#include "sync/hq_process.h"

#include "files.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <stdexcept>
#include <thread>

namespace escucha::test {

/// Writes a key file of 32 random bytes in hex, for this user alone.
std::string NewKeyFile(const std::filesystem::path& path) {
    std::random_device random;
    std::string hex;
    for (int i = 0; i < 64; ++i) hex += "0123456789abcdef"[random() % 16];
    WriteFile(path, hex + "\n");
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace);
    return path.string();
}

HqProcess::HqProcess(std::string data, std::vector<std::string> extra, std::string host)
    : m_data(std::move(data)), m_extra(std::move(extra)), m_host(std::move(host)) {
    const auto given = std::find(m_extra.begin(), m_extra.end(), "--key-file");
    if (given != m_extra.end() && given + 1 != m_extra.end()) {
        m_key_file = *(given + 1);
    } else {
        m_key_file = NewKeyFile(m_io / "hq.key");
        m_extra.insert(m_extra.end(), {"--key-file", m_key_file});
    }
    Start();
}

HqProcess::~HqProcess() { Stop(); }

void HqProcess::Stop() {
    if (m_pid > 0) {
        ::kill(m_pid, SIGTERM);
        int status = 0;
        waitpid(m_pid, &status, 0);
        m_pid = -1;
    }
}

void HqProcess::Start() {
    std::vector<std::string> argv = {HqPath(), "--data", m_data, "--listen", m_host + ":" + std::to_string(m_port)};
    argv.insert(argv.end(), m_extra.begin(), m_extra.end());
    const auto out = (m_io / "out").string();
    // The last run's "listening on" goes first: the child truncates the file
    // only once it runs, and where posix_spawn does not hold the parent until
    // then (qemu-user), the old line would pass for the new process's.
    std::filesystem::remove(out);
    std::filesystem::remove(m_io / "err");
    m_pid = StartProgram(argv, out, (m_io / "err").string());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        const auto text = ReadFile(out);
        const auto at = text.find("listening on ");
        if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
            m_url = text.substr(at + 13, text.find('\n', at) - at - 13);
            m_port = std::stoi(m_url.substr(m_url.rfind(':') + 1));
            return;
        }
        int status = 0;
        if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
            m_pid = -1;
            throw std::runtime_error("escucha-hq exited: " + ReadFile(m_io / "err"));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("escucha-hq did not start");
}

void HqProcess::UseKeyFile(const std::string& path) {
    const auto given = std::find(m_extra.begin(), m_extra.end(), "--key-file");
    if (given != m_extra.end() && given + 1 != m_extra.end()) *(given + 1) = path;
    m_key_file = path;
}

void HqProcess::Kill9() {
    if (m_pid <= 0) return;
    ::kill(m_pid, SIGKILL);
    int status = 0;
    waitpid(m_pid, &status, 0);
    m_pid = -1;
}

void HqProcess::Restart() {
    Kill9();
    // The port was just released; SO_REUSEADDR lets the new process take it.
    for (int attempt = 0;; ++attempt) {
        try {
            Start();
            return;
        } catch (const std::exception&) {
            if (attempt == 20) throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

std::string HqProcess::Admin(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {HqPath(), "--data", m_data, "--key-file", m_key_file};
    // A server on PostgreSQL is administered there too.
    if (const auto store = std::find(m_extra.begin(), m_extra.end(), "--store");
        store != m_extra.end() && store + 1 != m_extra.end())
        argv.insert(argv.end(), {"--store", *(store + 1)});
    argv.push_back("admin");
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunProgram(argv);
    if (r.exit_code != 0) throw std::runtime_error("escucha-hq admin failed: " + r.err);
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
}

std::string HqProcess::Log() const { return ReadFile(m_io / "err"); }

} // namespace escucha::test
