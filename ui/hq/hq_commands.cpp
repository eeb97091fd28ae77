#include "hq_commands.h"

#include "escucha/capture/listening_records.h"
#include "escucha/capture/operations.h"
#include "escucha/interpret/exchange.h"
#include "escucha/interpret/interpretation_records.h"
#include "escucha/storage/clock.h"
#include "escucha/storage/fsutil.h"
#include "escucha/sync/hq_at_rest.h"
#include "escucha/sync/hq_server.h"
#include "escucha/sync/pg_hq_store.h"
#include "escucha/words/error_words.h"
#include "escucha/words/i18n.h"

#include <arpa/inet.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <thread>

namespace escucha::hq {

namespace fs = std::filesystem;
using sync::Json;

namespace {

constexpr char HELP[] = R"(escucha-hq: the Escucha headquarters server

Usage:
  escucha-hq new-key FILE
      writes a new random key to FILE (mode 0600); keep a copy apart from the data's backups
  escucha-hq --data DIR --key-file FILE --listen HOST:PORT [--tls-cert CERT.pem --tls-key KEY.pem]
             [--proxy-from ADDRESS[,ADDRESS...]]
      serve devices; plain HTTP only on 127.0.0.1/localhost/::1; port 0 picks a free port;
      one escucha-hq serves a DIR at a time; connections from a balancer's ADDRESS must begin with
      a PROXY protocol v2 header (haproxy send-proxy-v2), and are limited per device address
  escucha-hq --data DIR --key-file FILE admin rekey --new-key-file NEW_FILE
      puts DIR under a new key (escucha-hq stopped)
  escucha-hq --store postgresql://USER@HOST/DATABASE --data DIR --key-file FILE --listen HOST:PORT [...]
      serve from a PostgreSQL database instead of DIR's SQLite store; DIR then holds only blobs, and several
      escucha-hq, on one machine or sharing DIR, may serve the same database; every admin command below
      takes --store too (DIR is needed only by usage)
  escucha-hq --data DIR --key-file FILE admin encrypt
      encrypts a DIR written by an earlier version, which kept it in plain (escucha-hq stopped)
  escucha-hq --data DIR --key-file FILE admin backup --out NEW_DIR
      copies DIR, while escucha-hq serves it, into NEW_DIR: a snapshot of hq.db (SQLite's online backup,
      encrypted as it is), hq.kdf and the whole blobs; NEW_DIR serves as DIR with the same key
  escucha-hq --data DIR admin create-project NAME
  escucha-hq --data DIR admin projects
  escucha-hq --data DIR admin enrol --project PROJECT --role researcher|interpreter|coordinator [--person NAME]
                                   [--expires DAYS]
      prints a one-time enrolment code for one person's device, good for DAYS days (default 7)
  escucha-hq --data DIR admin devices --project PROJECT
      each device's last sync, and what it said it still had to send when it last reached headquarters
  escucha-hq --data DIR admin revoke DEVICE_ID
  escucha-hq --data DIR admin export --project PROJECT --out FILE.json [--with-identities]
  escucha-hq --data DIR admin export --project PROJECT --format qdpx|qdc|csv --out FILE
      a REFI-QDA project (qdpx; recordings stay out: headquarters keeps their audio
      sealed), the codebook alone (qdc) or a table of excerpts (csv); sources whose
      participants did not consent to being quoted verbatim are left out or withheld
  escucha-hq --data DIR admin usage
      recordings and photos kept per project, and unfinished uploads (dropped after 48 hours untouched)

PROJECT is a project's id or its exact name.
DIR is encrypted (hq.db through SQLCipher, blobs/ sealed) under a key from --key-file FILE (mode 0600,
yours), or from a passphrase in the ESCUCHA_HQ_PASSPHRASE environment variable instead;
admin rekey takes the new one from --new-key-file or ESCUCHA_HQ_NEW_PASSPHRASE. Every command needs the key.
)";

namespace errc = storage::errc;

/// A refused command line or a failure to serve, as a value: a code of
/// storage/error_code.h ("hq_admin") and its parameters, worded in the
/// language the system asks for when it is shown. Exit status 1 for a
/// command line that is wrong, 2 for a failure.
class Usage : public std::runtime_error {
public:
    Usage(const char* code, Json params = Json::object(), int exit_code = 1)
        : std::runtime_error(code), m_params(std::move(params)), m_exit(exit_code) {}
    [[nodiscard]] const char* Code() const noexcept { return what(); }
    [[nodiscard]] const Json& Params() const noexcept { return m_params; }
    [[nodiscard]] int ExitCode() const noexcept { return m_exit; }

private:
    Json m_params;
    int m_exit;
};

struct Args {
    std::vector<std::string> words;
    std::map<std::string, std::string> options;
    std::string Need(const std::string& name) const {
        const auto it = options.find(name);
        if (it == options.end() || it->second.empty()) throw Usage(errc::OPTION_REQUIRED, {{"option", name}});
        return it->second;
    }
    std::string Get(const std::string& name) const {
        const auto it = options.find(name);
        return it == options.end() ? "" : it->second;
    }
};

Args Parse(const std::vector<std::string>& raw) {
    Args args;
    for (size_t i = 0; i < raw.size(); ++i) {
        const auto& a = raw[i];
        if (a == "--help" || a == "-h") {
            args.options["--help"] = "1";
        } else if (a == "--with-identities") {
            args.options[a] = "1"; // a flag: takes no value
        } else if (a.rfind("--", 0) == 0) {
            const auto eq = a.find('=');
            if (eq != std::string::npos) args.options[a.substr(0, eq)] = a.substr(eq + 1);
            else if (i + 1 < raw.size()) args.options[a] = raw[++i];
            else throw Usage(errc::OPTION_NEEDS_VALUE, {{"option", a}});
        } else {
            args.words.push_back(a);
        }
    }
    return args;
}

const storage::Catalogue& Types() { return interpret::AllRecordTypes(); }

/// "2026-12-03T10:00Z" of a stored ISO time: to the minute is enough here.
std::string Minute(const std::string& iso) {
    if (iso.size() < 16 || iso[10] != 'T') return iso;
    return iso.substr(0, 16) + "Z";
}

/// "1.2 MB", in powers of 1000 as disks are sold.
std::string Bytes(int64_t bytes) {
    static const char* const UNITS[] = {"kB", "MB", "GB", "TB", "PB"};
    if (bytes < 1000) return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
    double value = static_cast<double>(bytes) / 1000;
    size_t unit = 0;
    while (value >= 999.95 && unit + 1 < std::size(UNITS)) {
        value /= 1000;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.1f %s", value, UNITS[unit]);
    return text;
}

/// What a device last said it still had to send, for `admin devices`.
std::string Waiting(const sync::DeviceRow& d) {
    if (!d.waiting) return "not reported";
    const auto& w = *d.waiting;
    const auto count = [](int64_t n, const char* one, const char* many) {
        return std::to_string(n) + " " + (n == 1 ? one : many);
    };
    std::string out;
    if (w.Empty()) out = "nothing waiting";
    else {
        if (w.changes > 0) out = count(w.changes, "change", "changes");
        if (w.recordings > 0)
            out += (out.empty() ? "" : ", ") + count(w.recordings, "recording", "recordings") + " (" + Bytes(w.bytes) +
                   ")";
        out += " waiting";
    }
    return out + ", reported " + Minute(d.waiting_at);
}

/// The server key, from --key-file or ESCUCHA_HQ_PASSPHRASE.
sync::HqKeySource Key(const Args& args) {
    auto key = sync::KeySourceFrom(args.Get("--key-file"), "ESCUCHA_HQ_PASSPHRASE");
    if (key.Empty()) throw Usage(errc::HQ_KEY_REQUIRED);
    return key;
}

/// --store postgresql://... names a PostgreSQL database; without it, DIR's SQLite store.
bool PostgresStore(const Args& args) {
    const auto store = args.Get("--store");
    if (!store.empty() && !sync::IsPostgresUrl(store))
        throw Usage(errc::COMMAND_USAGE, {{"usage", "escucha-hq --store postgresql://USER@HOST/DATABASE ..."}});
    return !store.empty();
}

std::unique_ptr<sync::HqStore> OpenStore(const Args& args) {
    const bool postgres = PostgresStore(args);
    const fs::path dir = postgres ? fs::path() : fs::path(args.Need("--data"));
    return sync::OpenAnyHqStore(args.Get("--store"), dir, Key(args));
}

sync::Project FindProject(sync::HqStore& store, const std::string& name) {
    auto p = store.FindProject(name);
    if (!p) throw Usage(errc::HQ_PROJECT_NOT_FOUND, {{"name", name}});
    return *p;
}

bool IsLoopback(const std::string& host) { return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

int Serve(const Args& args) {
    const auto listen = args.Need("--listen");
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) throw Usage(errc::BAD_LISTEN_ADDRESS, {{"listen", listen}});
    std::string host = listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    int port = 0;
    try {
        port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
        throw Usage(errc::BAD_LISTEN_ADDRESS, {{"listen", listen}});
    }
    sync::ServerOptions options;
    options.tls_cert_path = args.Get("--tls-cert");
    options.tls_key_path = args.Get("--tls-key");
    if (options.tls_cert_path.empty() != options.tls_key_path.empty()) throw Usage(errc::TLS_CERT_AND_KEY);
    if (options.tls_cert_path.empty() && !IsLoopback(host))
        throw Usage(errc::PLAIN_HTTP_LOOPBACK_ONLY, {{"host", host}});
    for (size_t at = 0, comma = 0; !args.Get("--proxy-from").empty() && at != std::string::npos; at = comma) {
        const auto list = args.Get("--proxy-from");
        comma = list.find(',', at);
        const auto address = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        if (comma != std::string::npos) ++comma;
        unsigned char bytes[16];
        if (::inet_pton(AF_INET, address.c_str(), bytes) != 1 && ::inet_pton(AF_INET6, address.c_str(), bytes) != 1)
            throw Usage(errc::BAD_PROXY_ADDRESS, {{"address", address}});
        options.proxy_from.push_back(address);
    }
    options.log = [](const std::string& line) {
        std::cerr << storage::FormatIsoMillis(storage::SystemMillis()) << " " << line << "\n";
    };
    // SIGINT/SIGTERM stop the server from a thread of its own: a signal
    // handler may not call into the server. Blocked before any thread
    // starts, so every thread inherits the mask and none dies of them: the
    // store closes, and folds its log in, on every stop.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    const fs::path dir = args.Need("--data");
    const bool postgres = PostgresStore(args);
    auto key = Key(args);
    sync::PrepareDataDir(dir);
    // Held until the process ends: a second escucha-hq on a SQLite DIR stops
    // here. Over PostgreSQL several processes share the database, and DIR
    // holds only blobs, which they share too (hq_blobs.h).
    std::optional<sync::DataDirLock> lock;
    if (!postgres) lock.emplace(dir);
    auto store = sync::OpenAnyHqStore(args.Get("--store"), dir, key);
    key = {};
    auto blobs = sync::OpenHqBlobs(dir, *store);
    options.blobs = blobs.get();
    sync::HqServer server(*store, Types(), options);

    const int bound = server.Bind(host, port);
    if (bound <= 0) throw Usage(errc::CANNOT_LISTEN, {{"listen", listen}}, 2);
    std::thread stopper([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        server.Stop();
    });
    // An IPv6 address goes in brackets, so what is printed is a URL a device takes as it is.
    const auto url_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    std::cout << "escucha-hq listening on " << (server.Tls() ? "https" : "http") << "://" << url_host << ":" << bound
              << std::endl;
    const bool ok = server.ListenAfterBind();
    pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
    return ok ? 0 : 1;
}

/// admin export --format qdpx|qdc|csv, from the records headquarters holds.
int ExportExchange(const std::vector<Json>& records, const sync::Project& project, const std::string& format,
                   const std::string& out) {
    const interpret::ProjectRecords set(interpret::AllRecordTypes(), records, project.id);
    interpret::ExportedFile file;
    if (format == "qdpx") {
        interpret::QdpxOptions options;
        options.exported_by = "headquarters";
        file = interpret::ExportQdpx(set, options);
    } else if (format == "qdc") {
        file = interpret::ExportQdc(set);
    } else {
        file = interpret::ExportExcerptsCsv(set);
    }
    storage::WriteFileAtomically(out, file.bytes);
    const auto& summary = file.summary;
    std::cout << "exported " << summary.codes << " code(s), " << summary.codings << " coding(s) to " << out << "\n";
    if (!summary.withheld_sources.empty())
        std::cerr << summary.withheld_sources.size() << " source(s) with " << summary.withheld_codings << " coding(s) "
                  << (format == "csv" ? "listed with their words withheld" : "left out")
                  << ": their participants' consent does not cover quoting verbatim\n";
    if (!summary.review_codings.empty())
        std::cerr << summary.review_codings.size() << " coding(s) left out: their source no longer reads them\n";
    if (!summary.audio_unavailable.empty())
        std::cerr << summary.audio_unavailable.size() << " recording(s) left out: their audio stays sealed\n";
    return 0;
}

int Admin(const Args& args) {
    if (args.words.size() < 2) throw Usage(errc::COMMAND_USAGE, {{"usage", "escucha-hq --data DIR admin COMMAND"}});
    const auto& command = args.words[1];
    if (PostgresStore(args) && command == "rekey") {
        // One transaction wraps the keys anew: servers may keep running, and
        // those started later need the new key.
        auto key = Key(args);
        auto next = sync::KeySourceFrom(args.Get("--new-key-file"), "ESCUCHA_HQ_NEW_PASSPHRASE");
        if (next.Empty()) throw Usage(errc::HQ_NEW_KEY_REQUIRED);
        sync::PgHqStore store(args.Get("--store"), key);
        store.Rekey(next);
        std::cout << "rekeyed " << sync::RedactedUrl(args.Get("--store"))
                  << ": only the new key opens it; dumps made before still open with the old one\n";
        return 0;
    }
    const fs::path dir = PostgresStore(args) && command != "usage" ? fs::path() : fs::path(args.Need("--data"));
    if (command == "backup") {
        // Beside a running server: SQLite's online backup reads a snapshot.
        if (PostgresStore(args))
            throw Usage(errc::COMMAND_USAGE, {{"usage", "pg_dump --format=custom DATABASE (see docs/deploy.md)"}});
        const auto out = args.Need("--out");
        sync::BackupHqData(dir, Key(args), out);
        std::cout << "backed up " << dir.string() << " to " << out << "; it opens with the same key\n";
        return 0;
    }
    if (command == "rekey" || command == "encrypt") {
        // These replace the database's pages: no server may have it open.
        auto key = Key(args);
        sync::PrepareDataDir(dir);
        const sync::DataDirLock lock(dir);
        if (command == "encrypt") {
            sync::EncryptHqData(dir, key);
            std::cout << "encrypted " << dir.string() << "\n";
            return 0;
        }
        auto next = sync::KeySourceFrom(args.Get("--new-key-file"), "ESCUCHA_HQ_NEW_PASSPHRASE");
        if (next.Empty()) throw Usage(errc::HQ_NEW_KEY_REQUIRED);
        sync::RekeyHqData(dir, key, next);
        std::cout << "rekeyed " << dir.string() << ": only the new key opens it; backups made before still open "
                  << "with the old one\n";
        return 0;
    }
    // Other commands write through SQLite's own locking, beside a running server.
    auto store = OpenStore(args);
    if (command == "create-project") {
        if (args.words.size() != 3 || args.words[2].empty())
            throw Usage(errc::COMMAND_USAGE, {{"usage", "escucha-hq --data DIR admin create-project NAME"}});
        if (store->FindProject(args.words[2])) throw Usage(errc::HQ_PROJECT_EXISTS, {{"name", args.words[2]}});
        const auto p = store->CreateProject(args.words[2]);
        std::cout << p.id << "\n";
        return 0;
    }
    if (command == "projects") {
        for (const auto& p : store->ListProjects())
            std::cout << p.id << "  " << p.name << "  (" << store->CountRecords(p.id) << " records)\n";
        return 0;
    }
    if (command == "enrol") {
        const auto project = FindProject(*store, args.Need("--project"));
        const auto role = sync::ParseRole(args.Need("--role"));
        if (!role) throw Usage(errc::BAD_ROLE);
        int days = 7;
        if (!args.Get("--expires").empty()) {
            try {
                size_t used = 0;
                days = std::stoi(args.Get("--expires"), &used);
                if (used != args.Get("--expires").size()) throw std::invalid_argument("days");
            } catch (const std::exception&) {
                days = -1;
            }
            if (days < 1 || days > 365) throw Usage(errc::BAD_EXPIRY);
        }
        const auto expires = storage::FormatIsoMillis(storage::SystemMillis() + days * 24LL * 3600 * 1000);
        const auto code = sync::NewEnrolmentCode();
        store->AddEnrolment(sync::HashSecret(code), project.id, *role, args.Get("--person"), expires);
        std::cout << code << "\n";
        std::cerr << "one-time code for a " << sync::RoleName(*role) << " of '" << project.name << "', good until "
                  << expires << "; give it to that person only\n";
        return 0;
    }
    if (command == "devices") {
        const auto project = FindProject(*store, args.Need("--project"));
        for (const auto& d : store->ListDevices(project.id))
            std::cout << d.info.device_id << "  " << sync::RoleName(d.info.role) << "  " << d.info.person << "  "
                      << (d.revoked ? "revoked" : "active") << "  last sync "
                      << (d.last_seen.empty() ? "never" : Minute(d.last_seen)) << "  " << Waiting(d) << "\n";
        return 0;
    }
    if (command == "revoke") {
        if (args.words.size() != 3)
            throw Usage(errc::COMMAND_USAGE, {{"usage", "escucha-hq --data DIR admin revoke DEVICE_ID"}});
        if (!store->RevokeDevice(args.words[2])) throw Usage(errc::DEVICE_NOT_FOUND, {{"id", args.words[2]}});
        std::cout << "revoked " << args.words[2] << "\n";
        return 0;
    }
    if (command == "export") {
        const auto project = FindProject(*store, args.Need("--project"));
        const auto out = args.Need("--out");
        std::vector<Json> records;
        store->ForEachRecord(project.id, [&](const sync::StoredRecord& r) { records.push_back(r.body); });
        const auto format = args.Get("--format").empty() ? std::string("json") : args.Get("--format");
        if (format == "qdpx" || format == "qdc" || format == "csv")
            return ExportExchange(records, project, format, out);
        // html (reports of a profile, a session or a prioritisation round) comes here.
        if (format != "json")
            throw Usage(errc::COMMAND_USAGE,
                        {{"usage", "escucha-hq --data DIR admin export --project PROJECT --format json|qdpx|qdc|csv "
                                   "--out FILE"}});
        capture::ExportOptions options;
        options.with_identities = !args.Get("--with-identities").empty();
        options.project_id = project.id;
        options.exported_by = "headquarters";
        const Json doc = capture::ExportDocument(interpret::AllRecordTypes(), records, options);
        storage::WriteFileAtomically(out, doc.dump(2) + "\n");
        std::cout << "exported " << doc["records"].size() << " records to " << out << "\n";
        return 0;
    }
    if (command == "usage") {
        auto blob_store = sync::OpenHqBlobs(dir, *store);
        auto& blobs = *blob_store;
        const int dropped = blobs.DropStale();
        if (dropped) std::cout << "dropped " << dropped << " unfinished upload(s) untouched for 48 hours\n";
        std::map<std::string, sync::BlobUsage> usage;
        for (const auto& u : blobs.Usage()) usage[u.project_id] = u;
        for (const auto& p : store->ListProjects()) {
            const auto& u = usage[p.id];
            std::cout << p.id << "  " << p.name << "  " << u.blobs << " file(s), " << u.bytes << " bytes; " << u.pending
                      << " unfinished upload(s), " << u.pending_bytes << " of " << u.pending_claimed
                      << " bytes received\n";
        }
        return 0;
    }
    throw Usage(errc::UNKNOWN_COMMAND, {{"command", "admin " + command}});
}

} // namespace

int Run(const std::vector<std::string>& raw) {
    words::SetLanguage(words::SystemLanguage());
    try {
        const auto args = Parse(raw);
        if (args.options.count("--help")) {
            std::cout << HELP;
            return 0;
        }
        if (!args.words.empty() && args.words[0] == "admin") return Admin(args);
        if (!args.words.empty() && args.words[0] == "new-key") {
            if (args.words.size() != 2) throw Usage(errc::COMMAND_USAGE, {{"usage", "escucha-hq new-key FILE"}});
            sync::WriteNewKeyFile(args.words[1]);
            std::cout << "wrote a new key to " << args.words[1] << "\n";
            return 0;
        }
        if (!args.words.empty()) throw Usage(errc::UNKNOWN_COMMAND, {{"command", args.words[0]}});
        return Serve(args);
    } catch (const Usage& e) {
        std::cerr << "escucha-hq: " << words::WordError(e.Code(), e.Params()) << "\n";
        return e.ExitCode();
    } catch (const sync::HqAtRestError& e) {
        std::cerr << "escucha-hq: " << words::WordError(e.Code(), e.Params()) << "\n";
        return e.ExitCode();
    } catch (const storage::RecordError& e) {
        std::cerr << "escucha-hq: " << words::WordError(e.Code(), e.Params()) << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "escucha-hq: " << e.what() << "\n";
        return 2;
    }
}

} // namespace escucha::hq
