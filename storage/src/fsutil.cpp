#include "escucha/storage/fsutil.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace escucha::storage {

namespace {

class Fd {
public:
    explicit Fd(int fd) : m_fd(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (m_fd >= 0) ::close(m_fd);
    }
    [[nodiscard]] int Get() const { return m_fd; }
    int Release() {
        const int fd = m_fd;
        m_fd = -1;
        return fd;
    }

private:
    int m_fd;
};

std::runtime_error Failure(const std::string& what, const std::filesystem::path& path) {
    return std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

} // namespace

void FsyncDirectory(const std::filesystem::path& dir) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.Get() < 0) throw Failure("cannot open directory", dir);
    if (::fsync(fd.Get()) != 0) throw Failure("cannot sync directory", dir);
}

void RenameDurably(const std::filesystem::path& from, const std::filesystem::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) throw Failure("cannot rename to", to);
    FsyncDirectory(to.has_parent_path() ? to.parent_path() : std::filesystem::path("."));
}

void WriteFileAtomically(const std::filesystem::path& path, std::string_view content) {
    auto tmp = path;
    tmp += ".tmp";
    {
        Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (fd.Get() < 0) throw Failure("cannot create", tmp);
        size_t done = 0;
        while (done < content.size()) {
            const ssize_t n = ::write(fd.Get(), content.data() + done, content.size() - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw Failure("cannot write", tmp);
            }
            done += static_cast<size_t>(n);
        }
        if (::fsync(fd.Get()) != 0) throw Failure("cannot sync", tmp);
        if (::close(fd.Release()) != 0) throw Failure("cannot close", tmp);
    }
    RenameDurably(tmp, path);
}

} // namespace escucha::storage
