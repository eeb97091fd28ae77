#include "sync/pg_server.h"

#include "cli/process.h"

#include <pwd.h>
#include <unistd.h>

#include <mutex>
#include <stdexcept>

namespace escucha::test {

namespace fs = std::filesystem;

namespace {

const fs::path BIN = "/usr/lib/postgresql/15/bin";
constexpr char TEST_USER[] = "escucha-pg-test";

std::string Run(const std::vector<std::string>& argv, const std::string& what) {
    const auto r = RunProgram(argv);
    if (r.exit_code != 0) throw std::runtime_error(what + " failed (" + std::to_string(r.exit_code) + "): " + r.err);
    return r.out;
}

} // namespace

std::string PgServer::Skipped() {
    if (!fs::exists(BIN / "initdb") || !fs::exists(BIN / "pg_ctl") || !fs::exists(BIN / "pg_dump"))
        return "PostgreSQL 15 is not installed (no initdb, pg_ctl or pg_dump in " + BIN.string() +
               "): install postgresql-15, as scripts/deps.sh does, to run this test";
    return "";
}

PgServer* PgServer::Shared() { return Shared(false); }

PgServer* PgServer::Shared(bool durable) {
    static std::mutex mutex;
    static std::unique_ptr<PgServer> server;
    std::lock_guard lock(mutex);
    if (!Skipped().empty()) return nullptr;
    if (!server) server.reset(new PgServer(durable));
    return server.get();
}

PgServer::PgServer(bool durable) {
    if (::geteuid() == 0) {
        // PostgreSQL refuses root: the server runs as a user of its own.
        m_user = TEST_USER;
        if (!::getpwnam(TEST_USER))
            (void)Run({"/usr/sbin/useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                       "/usr/sbin/nologin", TEST_USER},
                      "useradd " + m_user);
        const auto* pw = ::getpwnam(TEST_USER);
        if (!pw) throw std::runtime_error("no user " + m_user);
        if (::chown(m_root.Path().c_str(), pw->pw_uid, pw->pw_gid) != 0)
            throw std::runtime_error("cannot give " + m_root.Path().string() + " to " + m_user);
    }
    fs::permissions(m_root.Path(), fs::perms::owner_all, fs::perm_options::replace);
    (void)RunAsOwner({(BIN / "initdb").string(), "-D", DataDir().string(), "-U", "postgres", "-A", "trust",
                      "--no-sync", "-E", "UTF8", "--no-locale"});
    (void)RunAsOwner({"/bin/mkdir", (m_root.Path() / "sock").string()});
    // Only a unix socket inside this directory: nothing listens on the network.
    (void)RunAsOwner({(BIN / "pg_ctl").string(), "-D", DataDir().string(), "-l", (m_root.Path() / "log").string(),
                      "-w", "-t", "120", "-o",
                      "-c listen_addresses='' -c unix_socket_directories='" + (m_root.Path() / "sock").string() +
                          "' -c max_connections=400 -c shared_buffers=" +
                          (durable ? "128MB" : "64MB -c fsync=off -c full_page_writes=off"),
                      "start"});
}

PgServer::~PgServer() {
    try {
        (void)RunAsOwner({(BIN / "pg_ctl").string(), "-D", DataDir().string(), "-m", "fast", "-w", "stop"});
    } catch (const std::exception&) {
    }
}

std::string PgServer::RunAsOwner(const std::vector<std::string>& argv) const {
    if (m_user.empty()) return Run(argv, argv[0]);
    std::vector<std::string> as = {"/usr/sbin/runuser", "-u", m_user, "--"};
    as.insert(as.end(), argv.begin(), argv.end());
    return Run(as, argv[0]);
}

std::string PgServer::Url(const std::string& database) const {
    return "postgresql:///" + database + "?host=" + (m_root.Path() / "sock").string() + "&user=postgres";
}

std::string PgServer::NewDatabase() {
    const auto name = "escucha_" + std::to_string(::getpid()) + "_" + std::to_string(++m_databases);
    Sql(Url("postgres"), "CREATE DATABASE " + name);
    return Url(name);
}

void PgServer::Sql(const std::string& url, const std::string& sql) const {
    (void)Run({(BIN / "psql").string(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql}, "psql");
}

std::string PgServer::Dump(const std::string& url) const { return Run({(BIN / "pg_dump").string(), "-d", url}, "pg_dump"); }

void PgServer::Checkpoint() const { Sql(Url("postgres"), "CHECKPOINT"); }

} // namespace escucha::test
