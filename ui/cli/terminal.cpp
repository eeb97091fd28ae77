#include "terminal.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

namespace escucha::cli {

bool StdinIsTerminal() { return ::isatty(STDIN_FILENO) == 1; }

namespace {

/// Turns echo off on a terminal for as long as it lives.
class EchoOff {
public:
    explicit EchoOff(int fd) : m_fd(fd) {
        if (::tcgetattr(fd, &m_saved) == 0) {
            termios quiet = m_saved;
            quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
            m_active = ::tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
        }
    }
    EchoOff(const EchoOff&) = delete;
    EchoOff& operator=(const EchoOff&) = delete;
    ~EchoOff() {
        if (m_active) ::tcsetattr(m_fd, TCSAFLUSH, &m_saved);
    }

private:
    int m_fd;
    termios m_saved{};
    bool m_active = false;
};

} // namespace

std::optional<storage::Passphrase> ReadPassphrase(const char* env_name, const std::string& prompt) {
    if (const char* value = std::getenv(env_name); value && *value) return storage::Passphrase(value);
    const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    storage::Passphrase out;
    {
        EchoOff quiet(fd);
        (void)!::write(fd, prompt.data(), prompt.size());
        char c;
        while (::read(fd, &c, 1) == 1 && c != '\n' && c != '\r') out.PushBack(c);
        (void)!::write(fd, "\n", 1);
    }
    ::close(fd);
    return out;
}

std::optional<std::string> ReadLine(const std::string& prompt) {
    std::cout << prompt << std::flush;
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    return line;
}

} // namespace escucha::cli
