// A real escucha-hq process on loopback, on a port the OS chooses.
#pragma once

#include "cli/process.h"
#include "temp_dir.h"

#include <string>
#include <vector>

namespace escucha::test {

class HqProcess {
public:
    /// Starts serving `data` (created if absent). `extra` adds options (TLS).
    /// The data is encrypted under a key file of its own in a temporary
    /// folder, unless `extra` gives --key-file.
    explicit HqProcess(std::string data, std::vector<std::string> extra = {}, std::string host = "127.0.0.1");
    ~HqProcess();
    HqProcess(const HqProcess&) = delete;
    HqProcess& operator=(const HqProcess&) = delete;

    [[nodiscard]] const std::string& Url() const { return m_url; }
    [[nodiscard]] int Port() const { return m_port; }
    /// SIGKILL, no chance to clean up.
    void Kill9();
    /// Starts again on the same data and the same port (after Kill9, or kills first).
    void Restart();
    /// Runs `escucha-hq --data DATA admin ARGS...`; returns stdout without the last newline.
    [[nodiscard]] std::string Admin(const std::vector<std::string>& args) const;
    [[nodiscard]] std::string Log() const;
    /// The key file it is started with.
    [[nodiscard]] const std::string& KeyFile() const { return m_key_file; }
    /// Stops it (SIGTERM) and waits: the store closes as in a clean shutdown.
    void Stop();
    /// The key file for the next start and admin commands (after a change of key).
    void UseKeyFile(const std::string& path);

private:
    void Start();
    std::string m_data;
    std::vector<std::string> m_extra;
    std::string m_host;
    TempDir m_io;
    std::string m_key_file;
    pid_t m_pid = -1;
    int m_port = 0;
    std::string m_url;
};

} // namespace escucha::test
