// Sync benchmark: the project's sync path (SyncClient over a real vault,
// HqServer over SqliteHqStore and HqBlobStore) against a bare HTTP baseline
// that moves the same bytes over the same loopback to an endpoint doing almost
// nothing, side by side in one run.
//
//   (a) push: a fresh vault holding N field notes (300-800 characters of
//       Spanish text each) is enrolled to an in-process HqServer; one
//       SyncClient::SyncOnce() is timed (push in batches of 200, then pull).
//       Baseline: the very same PushRequest JSON bodies, built from the
//       journal before syncing exactly as SyncClient builds them, POSTed with
//       sync::HttpClient to an httplib endpoint that answers 200 "{}".
//   (b) blob: a vault blob of M MiB of random bytes (BlobStore::AddBytes, not
//       timed) uploaded by one SyncOnce() to an HqServer with an HqBlobStore.
//       Baseline: the same plaintext bytes PUT with sync::HttpClient in 4 MiB
//       pieces (as the client sends them) to an httplib endpoint that appends
//       each body to a file and fsyncs it.
//   (c) many devices: D devices enrolled over HTTP (each its own token), each
//       a thread with its own HttpClient pushing hand-built PushRequest JSON
//       (R field notes per device in batches of B), all released together.
//       Measured: wall time, records/s, request latency p50/p99/max. Then
//       checked: HQ holds every record exactly once, and a replay of every
//       batch answers "duplicate" for every change with the first seq.
//   (d) download: a recording of M MiB (random bytes, named by a recording
//       record) that a researcher's device uploaded is downloaded by an
//       interpreter's device with SyncClient::DownloadBlob (into a vault
//       part, hashed, then kept encrypted). Baseline: the same bytes fetched
//       with plain GETs of the same endpoint (sync::HttpClient, libcurl) and
//       written to a file that is then fsynced, as `curl -o` would.
//
//   (e) headquarters at scale (not run by default): D devices, each its own
//       token and its own loopback address, push as in (c), gzip-compressed
//       as SyncClient sends (before they are released: a phone compresses
//       on its own CPU), at once, to real escucha-hq processes (the one
//       built beside this benchmark): the SQLite store; one PostgreSQL store
//       behind one process; the same behind three processes and haproxy
//       (round robin, PROXY protocol v2, as docs/deploy.md sets it up). Each
//       store is then read back: every record once. PostgreSQL 15 is
//       started in a temporary directory with fsync on (as a dedicated
//       user when run as root). Then the cost of encryption at rest: the
//       same devices against HqServer in this process over each store
//       opened with a key and plain.
//   (f) real devices (not run by default): D devices, each a real vault
//       (SQLCipher, minimum Argon2 cost, made and enrolled 32 at a time with
//       sync::Enrol from its own loopback address, not timed) holding R
//       field notes, all running SyncClient::SyncOnce() at once (push, then
//       pull) against the SQLite store and three PostgreSQL-backed
//       processes behind haproxy. The devices' own work (their outbox read,
//       the push built and compressed, the answers and the pull written into
//       SQLCipher) runs on the same cores as headquarters: the whole path a
//       village's phones take, not headquarters alone. Every outbox must end
//       empty and headquarters hold every note once, as its device's.
//
// Everything listens on 127.0.0.1 with ports the OS picks (haproxy takes one
// found free), in this process but for (e).
// Vault key derivation uses libsodium's minimum Argon2id cost and is never
// timed. Everything is written under one fresh directory in /tmp, removed at
// the end.

#include "escucha/capture/listening_records.h"
#include "escucha/interpret/interpretation_records.h"
#include "escucha/storage/blobs.h"
#include "escucha/storage/clock.h"
#include "escucha/storage/secret.h"
#include "escucha/storage/vault.h"
#include "escucha/sync/hq_at_rest.h"
#include "escucha/sync/hq_server.h"
#include "escucha/sync/http.h"
#include "escucha/sync/pg_hq_store.h"
#include "escucha/sync/sync_client.h"
#include "cli/process.h"
#include "sync/hq_process.h"
#include "sync/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <fstream>
#include <iostream>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace storage = escucha::storage;
namespace sync = escucha::sync;
using sync::Json;
using Clock = std::chrono::steady_clock;

// [SECTION] Options

struct Options {
    size_t records = 10000;     ///< field notes pushed in (a)
    size_t blob_mib = 200;      ///< blob size in (b), MiB
    size_t download_mib = 100;  ///< recording size in (d), MiB
    size_t devices = 200;       ///< simulated devices in (c)
    size_t device_records = 50; ///< field notes per device in (c)
    size_t device_batch = 10;   ///< changes per push request in (c)
    std::string parts = "abcd";
    bool timeline = false; ///< print when each request of (a) and (b) finished
    uint64_t seed = 20240611;
};

void PrintUsage(const char* program) {
    std::printf("usage: %s [--records N] [--blob-mb N] [--devices N] [--device-records N]\n"
                "          [--device-batch N] [--download-mb N] [--parts abcdef] [--seed N] [--timeline]\n"
                "  --records N         field notes pushed in (a) (default 10000)\n"
                "  --blob-mb N         blob uploaded in (b), in MiB (default 200)\n"
                "  --devices N         simulated devices in (c) (default 200)\n"
                "  --device-records N  field notes each device pushes in (c) (default 50)\n"
                "  --device-batch N    changes per push request in (c) (default 10)\n"
                "  --download-mb N     recording downloaded in (d), in MiB (default 100)\n"
                "  --parts abcdef      which parts to run (default abcd; e and f need PostgreSQL 15 and haproxy)\n"
                "  --timeline          print when HQ finished each request of (a) and (b)\n"
                "  quick check: --records 1000 --blob-mb 20 --devices 20\n",
                program);
}

size_t ParseCount(const std::string& name, const std::string& text, size_t min) {
    size_t used = 0;
    unsigned long long value = 0;
    try {
        value = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty() || value < min)
        throw std::invalid_argument(name + " takes a whole number of at least " + std::to_string(min));
    return static_cast<size_t>(value);
}

std::optional<Options> ParseOptions(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            PrintUsage(argv[0]);
            return std::nullopt;
        }
        if (arg == "--timeline") {
            options.timeline = true;
            continue;
        }
        if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
        const std::string value = argv[++i];
        if (arg == "--records") options.records = ParseCount(arg, value, 1);
        else if (arg == "--blob-mb") options.blob_mib = ParseCount(arg, value, 1);
        else if (arg == "--download-mb") options.download_mib = ParseCount(arg, value, 1);
        else if (arg == "--devices") options.devices = ParseCount(arg, value, 1);
        else if (arg == "--device-records") options.device_records = ParseCount(arg, value, 1);
        else if (arg == "--device-batch") options.device_batch = ParseCount(arg, value, 1);
        else if (arg == "--seed") options.seed = ParseCount(arg, value, 0);
        else if (arg == "--parts") {
            if (value.empty() || value.find_first_not_of("abcdef") != std::string::npos)
                throw std::invalid_argument("--parts takes letters among a, b, c, d, e and f");
            options.parts = value;
        } else {
            throw std::invalid_argument("unknown option " + arg + "; see --help");
        }
    }
    if (options.device_batch > sync::MAX_PUSH_ITEMS)
        throw std::invalid_argument("--device-batch may be at most " + std::to_string(sync::MAX_PUSH_ITEMS));
    return options;
}

// [SECTION] Small helpers

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

/// A fresh directory under /tmp, removed with everything in it.
class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "escucha-bench-sync-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot create a directory under /tmp");
        m_path = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const fs::path& Path() const noexcept { return m_path; }

private:
    fs::path m_path;
};

/// A file descriptor, closed once.
class UniqueFd {
public:
    explicit UniqueFd(int fd) : m_fd(fd) {}
    ~UniqueFd() {
        if (m_fd >= 0) ::close(m_fd);
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    [[nodiscard]] int Get() const noexcept { return m_fd; }

private:
    int m_fd = -1;
};

const storage::Catalogue& Types() {
    static const storage::Catalogue catalogue = [] {
        storage::Catalogue c;
        escucha::capture::AddListeningTypes(c);
        escucha::interpret::AddInterpretationTypes(c);
        return c;
    }();
    return catalogue;
}

std::string CpuModel() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
        }
    return "unknown";
}

std::string LoadAverage() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

/// Nearest-rank percentile of sorted values.
double Percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
    return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

// [SECTION] Field notes

/// Field notes of 300-800 characters, built from sentences a researcher in a
/// coffee-growing area might write.
class NoteWriter {
public:
    explicit NoteWriter(uint64_t seed) : m_random(seed) {}

    std::string Text() {
        static const std::vector<std::string> sentences = {
            "Doña Rosalba nos recibió en la cocina mientras tostaba café en una paila de barro.",
            "Comenta que la cosecha de este año fue menor por las lluvias de octubre y que el precio no alcanzó.",
            "Varias veces repitió que los jóvenes ya no quieren quedarse en la vereda.",
            "Al preguntarle por la cooperativa cambió de tema y habló de su hijo en Pasto.",
            "Se nota cansancio cuando habla de las deudas con el banco agrario.",
            "En la reunión de la junta de acción comunal había unas treinta personas, casi todas mujeres.",
            "El presidente de la junta insistió en que la carretera se arregló gracias a la minga.",
            "Observo que nadie menciona a los grupos armados por su nombre; dicen «los de allá arriba».",
            "La conversación fue interrumpida dos veces por vecinos que venían a comprar panela.",
            "Me pregunto si mi presencia como investigadora de la ciudad influye en lo que cuentan.",
            "Dice que antes se sembraba maíz y fríjol entre los cafetales, y que ahora todo es monocultivo.",
            "El hijo menor mostró en el teléfono fotos de la fiesta patronal del año pasado.",
            "Hay una diferencia clara entre lo que dicen sobre compartir la cosecha y lo que se vio en la báscula.",
            "Pidió que no se grabara la parte sobre el conflicto con el vecino por el agua.",
            "El camino al beneficiadero estaba embarrado y tardamos casi una hora en llegar.",
            "Recordó con detalle la helada de 1994 y cómo la familia se fue a trabajar a Ecuador.",
            "Las mujeres del grupo de tejido hablan de la radio comunitaria como su principal fuente de noticias.",
            "Queda pendiente volver el jueves para hablar con el abuelo, que hoy estaba enfermo.",
        };
        std::uniform_int_distribution<size_t> target_length(300, 800);
        std::uniform_int_distribution<size_t> pick(0, sentences.size() - 1);
        const size_t target = target_length(m_random);
        std::string text;
        while (text.size() < target) {
            if (!text.empty()) text += ' ';
            text += sentences[pick(m_random)];
        }
        // Cut at a character boundary (never inside a UTF-8 sequence).
        size_t cut = std::min(text.size(), size_t{800});
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80 && cut < text.size()) --cut;
        text.resize(cut);
        return text;
    }

    std::string Title() {
        static const std::vector<std::string> titles = {
            "Visita a la finca",         "Reunión de la junta", "Cosecha",       "Camino al beneficiadero",
            "Conversación en la cocina", "Radio comunitaria",   "Memo reflexivo"};
        std::uniform_int_distribution<size_t> pick(0, titles.size() - 1);
        return titles[pick(m_random)];
    }

    std::string Kind() {
        static const std::vector<std::string> kinds = {"observation", "reflexive_memo", "say_vs_do"};
        std::uniform_int_distribution<size_t> pick(0, kinds.size() - 1);
        return kinds[pick(m_random)];
    }

private:
    std::mt19937_64 m_random;
};

// [SECTION] Servers

/// HqServer over SqliteHqStore and HqBlobStore in a directory, serving on a
/// thread. Keeps the time each request finished (from the server's log), so
/// a sync can be split into its push and pull phases.
class HqUnderTest {
public:
    /// Over a plain SqliteHqStore in `dir`, or over `store`.
    explicit HqUnderTest(const fs::path& dir, std::unique_ptr<sync::HqStore> store = nullptr)
        : m_store(store ? std::move(store) : std::make_unique<sync::SqliteHqStore>(DatabasePath(dir))),
          m_blobs(dir / "blobs"), m_server(*m_store, Types(), MakeOptions()) {
        m_port = m_server.Bind("127.0.0.1", 0);
        if (m_port <= 0) throw std::runtime_error("HqServer could not bind 127.0.0.1");
        m_thread = std::thread([this] { m_server.ListenAfterBind(); });
        m_server.WaitUntilReady();
    }
    ~HqUnderTest() {
        m_server.Stop();
        if (m_thread.joinable()) m_thread.join();
    }
    HqUnderTest(const HqUnderTest&) = delete;
    HqUnderTest& operator=(const HqUnderTest&) = delete;

    [[nodiscard]] std::string Url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
    [[nodiscard]] int Port() const noexcept { return m_port; }
    [[nodiscard]] sync::HqStore& Store() noexcept { return *m_store; }
    [[nodiscard]] sync::HqBlobStore& Blobs() noexcept { return m_blobs; }

    /// A one-time enrolment code for a researcher (or `role`) of `project_id`.
    std::string Code(const std::string& project_id, const std::string& person,
                     sync::Role role = sync::Role::Researcher) {
        const auto code = sync::NewEnrolmentCode();
        m_store->AddEnrolment(sync::HashSecret(code), project_id, role, person,
                             storage::FormatIsoMillis(storage::SystemMillis() + 86'400'000));
        return code;
    }

    struct LogLine {
        Clock::time_point at;
        std::string line;
    };
    std::vector<LogLine> TakeLog() {
        std::lock_guard lock(m_log_mutex);
        return std::exchange(m_log, {});
    }

private:
    static std::string DatabasePath(const fs::path& dir) {
        fs::create_directories(dir);
        return (dir / "hq.db").string();
    }

    sync::ServerOptions MakeOptions() {
        sync::ServerOptions options;
        options.blobs = &m_blobs;
        // (c)'s devices all connect from 127.0.0.1; HQ's cap per address
        // (64) is about real addresses, so it is lifted here.
        options.limits.max_per_address = 100'000;
        options.log = [this](const std::string& line) {
            const auto now = Clock::now();
            std::lock_guard lock(m_log_mutex);
            m_log.push_back({now, line});
        };
        return options;
    }

    std::mutex m_log_mutex;
    std::vector<LogLine> m_log;
    std::unique_ptr<sync::HqStore> m_store;
    sync::HqBlobStore m_blobs;
    sync::HqServer m_server;
    int m_port = -1;
    std::thread m_thread;
};

/// The baseline: httplib answering POST /push with 200 "{}" and appending
/// each PUT /blob body to `sink` (open, write, fsync, close per request).
class BareServer {
public:
    explicit BareServer(fs::path sink) : m_sink(std::move(sink)) {
        m_server.Post("/push", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("{}", "application/json");
        });
        m_server.Put("/blob", [this](const httplib::Request& req, httplib::Response& res) {
            const UniqueFd fd(::open(m_sink.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
            bool ok = fd.Get() >= 0;
            size_t written = 0;
            while (ok && written < req.body.size()) {
                const ssize_t n = ::write(fd.Get(), req.body.data() + written, req.body.size() - written);
                ok = n > 0;
                if (ok) written += static_cast<size_t>(n);
            }
            ok = ok && ::fsync(fd.Get()) == 0;
            res.status = ok ? 200 : 500;
            res.set_content(ok ? "{}" : "{\"error\":\"write failed\"}", "application/json");
        });
        m_port = m_server.bind_to_any_port("127.0.0.1");
        if (m_port <= 0) throw std::runtime_error("the baseline server could not bind 127.0.0.1");
        m_thread = std::thread([this] { m_server.listen_after_bind(); });
        while (!m_server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~BareServer() {
        m_server.stop();
        if (m_thread.joinable()) m_thread.join();
    }
    BareServer(const BareServer&) = delete;
    BareServer& operator=(const BareServer&) = delete;

    [[nodiscard]] std::string Url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

private:
    fs::path m_sink;
    httplib::Server m_server;
    int m_port = -1;
    std::thread m_thread;
};

// [SECTION] Devices

storage::Vault NewVault(const fs::path& dir, const std::string& author) {
    storage::VaultOptions options;
    options.author = author;
    options.kdf_opslimit = crypto_pwhash_OPSLIMIT_MIN;
    options.kdf_memlimit = crypto_pwhash_MEMLIMIT_MIN;
    return storage::Vault::Create(dir, storage::Passphrase("frase de paso solo para medir"), Types(), options);
}

void EnrolVault(storage::Vault& vault, HqUnderTest& hq, const std::string& project_id,
                sync::Role role = sync::Role::Researcher) {
    const auto error = sync::Enrol(vault, hq.Url(), hq.Code(project_id, vault.Author(), role), "");
    if (error) throw std::runtime_error("enrolment failed: " + *error);
}

/// The push bodies SyncClient would send for the current outbox, built the
/// way SyncClient::PushBatch builds them.
std::vector<std::string> PushBodiesFromJournal(storage::Vault& vault) {
    std::vector<std::string> bodies;
    int64_t after = 0;
    while (true) {
        const auto batch = vault.Records().PendingJournal(sync::SyncClient::BATCH, after);
        if (batch.empty()) break;
        sync::PushRequest request;
        for (const auto& e : batch) {
            auto body = Json::parse(e.body, nullptr, false);
            request.changes.push_back({e.change_id, e.record_type, e.record_id, e.rev, e.op, e.hlc, std::move(body)});
        }
        bodies.push_back(Json(request).dump());
        after = batch.back().seq;
    }
    return bodies;
}

// [SECTION] Report

struct Row {
    std::string part;
    std::string what;
    std::string escucha;
    std::string baseline;
    std::string ratio;
};

std::string Fixed(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

void PrintRows(const std::vector<Row>& rows) {
    std::printf("\n| part | measure | escucha sync | baseline | ratio |\n|---|---|---|---|---|\n");
    for (const auto& r : rows)
        std::printf("| %s | %s | %s | %s | %s |\n", r.part.c_str(), r.what.c_str(), r.escucha.c_str(),
                    r.baseline.c_str(), r.ratio.c_str());
}

// [SECTION] (a) push

/// Fetches every pull page from cursor 0 asking for `encoding` (the client
/// decompresses); returns the time taken and the bytes HQ sent.
std::pair<double, size_t> TimeFullPull(int port, const std::string& token, const std::string& encoding) {
    httplib::Client client("127.0.0.1", port);
    client.set_keep_alive(true);
    const httplib::Headers headers = {{"Authorization", "Bearer " + token}, {"Accept-Encoding", encoding}};
    int64_t since = 0;
    size_t bytes = 0;
    const auto start = Clock::now();
    while (true) {
        const auto res = client.Get(("/v1/pull?since=" + std::to_string(since) + "&limit=500").c_str(), headers);
        if (!res || res->status != 200) throw std::runtime_error("pull with Accept-Encoding " + encoding + " failed");
        const auto length = res->get_header_value("Content-Length");
        bytes += length.empty() ? res->body.size() : std::stoull(length);
        const auto page = Json::parse(res->body);
        if (!page.value("more", false)) break;
        since = page.at("next").get<int64_t>();
    }
    return {Seconds(Clock::now() - start), bytes};
}

void RunPush(const Options& options, const fs::path& root, std::vector<Row>& rows) {
    std::printf("\n(a) push %zu field notes\n", options.records);
    HqUnderTest hq(root / "a-hq");
    const auto project = hq.Store().CreateProject("Café Nariño");
    auto vault = NewVault(root / "a-device", "ana");
    EnrolVault(vault, hq, project.id);

    NoteWriter writer(options.seed);
    size_t text_bytes = 0;
    for (size_t done = 0; done < options.records;) {
        Json chunk = Json::array();
        for (; done < options.records && chunk.size() < 1000; ++done) {
            auto text = writer.Text();
            text_bytes += text.size();
            chunk.push_back({{"type", "field_note"},
                             {"project_id", project.id},
                             {"kind", writer.Kind()},
                             {"title", writer.Title()},
                             {"text", std::move(text)},
                             {"written_at", "2024-06-11"}});
        }
        (void)vault.Records().Import(chunk);
    }
    const auto bodies = PushBodiesFromJournal(vault);
    size_t request_bytes = 0;
    for (const auto& b : bodies) request_bytes += b.size();
    std::printf("  %zu journal rows, text %.1f bytes/note on average, %zu push requests, %.2f MiB of JSON\n",
                static_cast<size_t>(vault.Records().PendingJournalCount()),
                static_cast<double>(text_bytes) / static_cast<double>(options.records), bodies.size(),
                static_cast<double>(request_bytes) / (1024.0 * 1024.0));

    // Baseline: same bytes, same HTTP client, a server that does nothing.
    double baseline_s = 0;
    {
        BareServer bare(root / "a-sink");
        sync::HttpClient client;
        const std::string token(64, 'a');
        const auto start = Clock::now();
        for (const auto& body : bodies) {
            const auto r = client.Post(bare.Url() + "/push", body, token);
            if (!r.Ok()) throw std::runtime_error("baseline push failed: " + r.ErrorText());
        }
        baseline_s = Seconds(Clock::now() - start);
    }

    (void)hq.TakeLog();
    sync::SyncClient client(vault);
    const auto start = Clock::now();
    const auto report = client.SyncOnce();
    const auto end = Clock::now();
    const double sync_s = Seconds(end - start);
    if (!report.ok) throw std::runtime_error("SyncOnce failed: " + report.error);
    if (report.acknowledged != static_cast<int64_t>(options.records) || report.pending != 0)
        throw std::runtime_error("SyncOnce acknowledged " + std::to_string(report.acknowledged) + ", left " +
                                 std::to_string(report.pending));
    const auto held = hq.Store().CountRecords(project.id);
    if (held != static_cast<int64_t>(options.records) + 1)
        throw std::runtime_error("HQ holds " + std::to_string(held) + " records, expected records + project");

    // Split at the last push the server answered.
    Clock::time_point last_push = start;
    size_t pushes = 0, pulls = 0;
    for (const auto& l : hq.TakeLog()) {
        if (options.timeline) std::printf("    %9.3f s  %s\n", Seconds(l.at - start), l.line.c_str());
        if (l.line.rfind("POST /v1/push", 0) == 0) {
            last_push = std::max(last_push, l.at);
            ++pushes;
        } else if (l.line.rfind("GET /v1/pull", 0) == 0) {
            ++pulls;
        }
    }
    const double push_s = Seconds(last_push - start);
    const double pull_s = Seconds(end - last_push);
    std::printf("  baseline: %.3f s   SyncOnce: %.3f s (push ~%.3f s in %zu requests, pull ~%.3f s in %zu "
                "requests, %lld records pulled back)   ratio %.1fx (push only %.1fx)\n",
                baseline_s, sync_s, push_s, pushes, pull_s, pulls, static_cast<long long>(report.pulled),
                sync_s / baseline_s, push_s / baseline_s);
    const auto n = static_cast<double>(options.records);
    rows.push_back({"a", std::to_string(options.records) + " records, whole SyncOnce (push + pull)",
                    Fixed(sync_s, 2) + " s (" + Fixed(n / sync_s, 0) + " rec/s)",
                    Fixed(baseline_s, 2) + " s (" + Fixed(n / baseline_s, 0) + " rec/s)",
                    Fixed(sync_s / baseline_s, 1) + "x"});
    rows.push_back({"a", "push phase only (" + std::to_string(pushes) + " POSTs)",
                    Fixed(push_s, 2) + " s (" + Fixed(n / push_s, 0) + " rec/s)", Fixed(baseline_s, 2) + " s",
                    Fixed(push_s / baseline_s, 1) + "x"});
    rows.push_back(
        {"a", "pull phase (" + std::to_string(pulls) + " GETs, records come back)", Fixed(pull_s, 2) + " s", "-", "-"});

    // Where the pull phase goes: the same pages served with each encoding.
    const auto token = vault.GetMeta("sync.token").value_or("");
    for (const std::string encoding : {"br", "gzip", "identity"}) {
        const auto [seconds, bytes] = TimeFullPull(hq.Port(), token, encoding);
        std::printf("  all pull pages with Accept-Encoding: %-8s %.3f s, %.2f MiB sent\n", encoding.c_str(), seconds,
                    static_cast<double>(bytes) / (1024.0 * 1024.0));
        rows.push_back({"a", "diagnostic: full pull, Accept-Encoding " + encoding,
                        Fixed(seconds, 2) + " s, " + Fixed(static_cast<double>(bytes) / (1024.0 * 1024.0), 2) + " MiB",
                        "-", "-"});
    }
}

// [SECTION] (b) blob

void RunBlob(const Options& options, const fs::path& root, std::vector<Row>& rows) {
    const size_t size = options.blob_mib * 1024 * 1024;
    std::printf("\n(b) upload a blob of %zu MiB\n", options.blob_mib);
    HqUnderTest hq(root / "b-hq");
    const auto project = hq.Store().CreateProject("Café Nariño");
    auto vault = NewVault(root / "b-device", "beatriz");
    EnrolVault(vault, hq, project.id);

    std::string bytes(size, '\0');
    {
        std::array<unsigned char, randombytes_SEEDBYTES> seed{};
        std::memcpy(seed.data(), &options.seed, sizeof options.seed);
        randombytes_buf_deterministic(bytes.data(), bytes.size(), seed.data());
    }
    const auto blob = storage::BlobStore(vault).AddBytes(bytes);

    double baseline_s = 0;
    {
        BareServer bare(root / "b-sink");
        sync::HttpClient client;
        const std::string token(64, 'a');
        const auto start = Clock::now();
        for (size_t at = 0; at < size; at += sync::BLOB_PUT_BYTES) {
            const std::string piece = bytes.substr(at, sync::BLOB_PUT_BYTES);
            const auto r = client.Put(
                bare.Url() + "/blob?offset=" + std::to_string(at) + "&total=" + std::to_string(size), piece, token);
            if (!r.Ok()) throw std::runtime_error("baseline PUT failed: " + r.ErrorText());
        }
        baseline_s = Seconds(Clock::now() - start);
        if (fs::file_size(root / "b-sink") != size) throw std::runtime_error("baseline sink has the wrong size");
    }

    sync::SyncClient client(vault);
    const auto start = Clock::now();
    const auto report = client.SyncOnce();
    const double sync_s = Seconds(Clock::now() - start);
    if (!report.ok) throw std::runtime_error("SyncOnce failed: " + report.error);
    if (report.blob_bytes_sent != static_cast<int64_t>(size) || report.blobs_uploaded != 1)
        throw std::runtime_error("SyncOnce sent " + std::to_string(report.blob_bytes_sent) + " blob bytes");
    const auto status = hq.Blobs().Status(project.id, blob.sha256);
    if (!status.complete || status.size != static_cast<int64_t>(size))
        throw std::runtime_error("HQ does not hold the whole blob");
    size_t puts = 0;
    for (const auto& l : hq.TakeLog()) {
        if (options.timeline) std::printf("    %9.3f s  %s\n", Seconds(l.at - start), l.line.c_str());
        if (l.line.rfind("PUT /v1/blobs/", 0) == 0) ++puts;
    }

    const double mib = static_cast<double>(options.blob_mib);
    std::printf("  baseline: %.3f s (%.1f MiB/s)   SyncOnce: %.3f s (%.1f MiB/s, %zu PUTs)   ratio %.2fx\n", baseline_s,
                mib / baseline_s, sync_s, mib / sync_s, puts, sync_s / baseline_s);
    rows.push_back({"b", std::to_string(options.blob_mib) + " MiB blob, 4 MiB PUTs (" + std::to_string(puts) + ")",
                    Fixed(sync_s, 2) + " s (" + Fixed(mib / sync_s, 0) + " MiB/s)",
                    Fixed(baseline_s, 2) + " s (" + Fixed(mib / baseline_s, 0) + " MiB/s)",
                    Fixed(sync_s / baseline_s, 2) + "x"});
}

// [SECTION] (d) download

void RunDownload(const Options& options, const fs::path& root, std::vector<Row>& rows) {
    const size_t size = options.download_mib * 1024 * 1024;
    std::printf("\n(d) download a recording of %zu MiB\n", options.download_mib);
    HqUnderTest hq(root / "d-hq");
    const auto project = hq.Store().CreateProject("Café Nariño");
    auto researcher = NewVault(root / "d-researcher", "rosa");
    EnrolVault(researcher, hq, project.id);
    std::string bytes(size, '\0');
    {
        std::array<unsigned char, randombytes_SEEDBYTES> seed{};
        std::memcpy(seed.data(), &options.seed, sizeof options.seed);
        randombytes_buf_deterministic(bytes.data(), bytes.size(), seed.data());
    }
    const auto blob = storage::BlobStore(researcher).AddBytes(bytes);
    auto& store = researcher.Records();
    const std::string interview = store.Create(
        "interview", {{"project_id", project.id}, {"kind", "unstructured_interview"}, {"title", "Larga"}})["id"];
    store.Create("recording", {{"project_id", project.id},
                               {"interview_id", interview},
                               {"status", "complete"},
                               {"audio_sha256", blob.sha256},
                               {"duration_ms", 3600 * 1000}});
    if (!sync::SyncClient(researcher).SyncOnce().ok) throw std::runtime_error("the researcher's sync failed");

    auto interpreter = NewVault(root / "d-interpreter", "ines");
    EnrolVault(interpreter, hq, project.id, sync::Role::Interpreter);
    sync::SyncClient client(interpreter);
    if (!client.SyncOnce().ok) throw std::runtime_error("the interpreter's sync failed");

    // Baseline: the same bytes with plain GETs from the same endpoint, written
    // to a file and synced, as curl -o would.
    double baseline_s = 0;
    {
        const auto token = *interpreter.GetMeta("sync.token");
        sync::HttpClient http;
        const auto sink = root / "d-sink";
        const auto start = Clock::now();
        {
            const UniqueFd fd(::open(sink.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
            int64_t at = 0;
            while (at < static_cast<int64_t>(size)) {
                const auto r = http.Get(hq.Url() + "/v1/blobs/" + blob.sha256 + "/data?offset=" + std::to_string(at),
                                        token);
                if (!r.Ok() || r.body.empty()) throw std::runtime_error("baseline GET failed: " + r.ErrorText());
                if (::write(fd.Get(), r.body.data(), r.body.size()) != static_cast<ssize_t>(r.body.size()))
                    throw std::runtime_error("baseline write failed");
                at += static_cast<int64_t>(r.body.size());
            }
            if (::fsync(fd.Get()) != 0) throw std::runtime_error("baseline fsync failed");
        }
        baseline_s = Seconds(Clock::now() - start);
        if (fs::file_size(sink) != size) throw std::runtime_error("baseline got the wrong size");
    }

    const auto start = Clock::now();
    const auto report = client.DownloadBlob(blob.sha256);
    const double download_s = Seconds(Clock::now() - start);
    if (!report.ok || report.size != static_cast<int64_t>(size))
        throw std::runtime_error("DownloadBlob failed: " + report.error);
    if (storage::BlobStore(interpreter).ReadAll(blob.sha256) != bytes)
        throw std::runtime_error("the downloaded recording differs");

    const double mib = static_cast<double>(options.download_mib);
    std::printf("  baseline GETs to a file: %.3f s (%.1f MiB/s)   DownloadBlob: %.3f s (%.1f MiB/s, %d GETs)   ratio "
                "%.2fx\n",
                baseline_s, mib / baseline_s, download_s, mib / download_s, report.requests, download_s / baseline_s);
    rows.push_back({"d", std::to_string(options.download_mib) + " MiB recording, GETs of 4 MiB (" +
                             std::to_string(report.requests) + ")",
                    Fixed(download_s, 2) + " s (" + Fixed(mib / download_s, 0) + " MiB/s)",
                    Fixed(baseline_s, 2) + " s (" + Fixed(mib / baseline_s, 0) + " MiB/s)",
                    Fixed(download_s / baseline_s, 2) + "x"});
}

// [SECTION] (c) many devices

struct SimDevice {
    std::string device_id;
    std::string token;
    std::string from; ///< the loopback address its connections leave from; empty: any
    std::vector<std::string> record_ids;
    std::vector<std::string> change_ids;
    std::vector<std::string> bodies;  ///< push requests, in order
    std::vector<std::string> gzipped; ///< the same, gzip-compressed
    std::vector<int64_t> first_seqs;  ///< per change, from the first push
    std::vector<double> latencies_ms; ///< every attempt, failed ones included
    size_t failures = 0;              ///< attempts that got no answer or a 5xx
    std::string last_failure;
    std::string error;
};

sync::PushRequest BuildChanges(SimDevice& device, const std::string& project_id, size_t count, NoteWriter& writer) {
    sync::PushRequest request;
    for (size_t i = 0; i < count; ++i) {
        const auto now = storage::SystemMillis();
        const auto id = storage::NewUuidV7(now);
        const auto hlc = storage::HlcTimestamp{now, static_cast<uint32_t>(i)}.ToString();
        Json body = {{"id", id},
                     {"type", "field_note"},
                     {"project_id", project_id},
                     {"created_at", storage::FormatIsoMillis(now)},
                     {"updated_at", hlc},
                     {"author", "persona"},
                     {"device", device.device_id},
                     {"rev", 1},
                     {"deleted", false},
                     {"kind", writer.Kind()},
                     {"title", writer.Title()},
                     {"text", writer.Text()},
                     {"written_at", "2024-06-11"}};
        sync::Change change{storage::NewUuidV7(now), "field_note", id, 1, "upsert", hlc, std::move(body)};
        device.record_ids.push_back(id);
        device.change_ids.push_back(change.change_id);
        request.changes.push_back(std::move(change));
    }
    return request;
}

/// The device's notes as push bodies of options.device_batch changes;
/// returns their bytes.
size_t WriteBodies(SimDevice& device, const std::string& project_id, const Options& options, NoteWriter& writer) {
    const auto all = BuildChanges(device, project_id, options.device_records, writer);
    size_t bytes = 0;
    for (size_t at = 0; at < all.changes.size(); at += options.device_batch) {
        sync::PushRequest batch;
        const size_t end = std::min(all.changes.size(), at + options.device_batch);
        batch.changes.assign(all.changes.begin() + static_cast<std::ptrdiff_t>(at),
                             all.changes.begin() + static_cast<std::ptrdiff_t>(end));
        device.bodies.push_back(Json(batch).dump());
        bytes += device.bodies.back().size();
    }
    return bytes;
}

/// Every device on its own thread, released together; returns the wall time.
/// `compressed`: each body gzip-compressed as SyncClient sends it (done
/// before the devices are released).
double PushAll(std::vector<SimDevice>& devices, const std::string& url, sync::ItemStatus expected,
               bool compressed = false) {
    std::latch ready(static_cast<std::ptrdiff_t>(devices.size()));
    std::latch go(1);
    std::vector<std::thread> threads;
    threads.reserve(devices.size());
    for (auto& device : devices) {
        // Compressed before the release, as each phone compresses its push
        // on its own CPU: 500 devices simulated on the cores headquarters
        // runs on would otherwise count their compressing against it.
        if (compressed && device.gzipped.size() != device.bodies.size()) {
            device.gzipped.clear();
            for (const auto& body : device.bodies) device.gzipped.push_back(sync::GzipCompress(body).value());
        }
        device.latencies_ms.clear();
        device.failures = 0;
        threads.emplace_back([&device, &ready, &go, &url, expected, compressed] {
            sync::HttpOptions http;
            http.local_address = device.from;
            sync::HttpClient client(http);
            ready.count_down();
            go.wait();
            size_t at = 0;
            for (size_t b = 0; b < device.bodies.size(); ++b) {
                const auto& body = device.bodies[b];
                // A failed request is sent again, as the device's next cycle
                // would: a push is idempotent, so a retried batch may answer
                // "duplicate" for what the lost attempt applied.
                std::optional<sync::HttpResult> answer;
                bool retried = false;
                for (int attempt = 0; attempt < 3 && !answer; ++attempt) {
                    const auto start = Clock::now();
                    auto r = compressed ? client.PostEncoded(url + "/v1/push", device.gzipped[b], "gzip", device.token)
                                        : client.Post(url + "/v1/push", body, device.token);
                    device.latencies_ms.push_back(Seconds(Clock::now() - start) * 1000.0);
                    if (r.Ok()) answer = std::move(r);
                    else {
                        retried = true;
                        ++device.failures;
                        device.last_failure = r.ErrorText();
                    }
                }
                if (!answer) {
                    device.error = "three attempts failed: " + device.last_failure;
                    return;
                }
                sync::PushResponse response;
                try {
                    response = Json::parse(answer->body).get<sync::PushResponse>();
                } catch (const std::exception& e) {
                    device.error = std::string("answer not understood: ") + e.what();
                    return;
                }
                for (const auto& item : response.results) {
                    if (at >= device.change_ids.size() || item.change_id != device.change_ids[at]) {
                        device.error = "answer out of order";
                        return;
                    }
                    const bool fine = item.status == expected || (retried && expected == sync::ItemStatus::Applied &&
                                                                  item.status == sync::ItemStatus::Duplicate);
                    if (!fine) {
                        device.error =
                            std::string("change answered ") + sync::ItemStatusName(item.status) + ": " + item.reason;
                        return;
                    }
                    if (expected == sync::ItemStatus::Applied) device.first_seqs.push_back(item.server_seq);
                    else if (device.first_seqs.at(at) != item.server_seq) {
                        device.error = "a duplicate answered another seq than the first push";
                        return;
                    }
                    ++at;
                }
            }
            if (at != device.change_ids.size()) device.error = "answers for " + std::to_string(at) + " changes";
        });
    }
    ready.wait();
    const auto start = Clock::now();
    go.count_down();
    for (auto& t : threads) t.join();
    const double wall = Seconds(Clock::now() - start);
    for (const auto& d : devices)
        if (!d.error.empty()) throw std::runtime_error("device " + d.device_id + ": " + d.error);
    return wall;
}

struct LatencySummary {
    double p50 = 0, p99 = 0, max = 0;
    size_t requests = 0;
    size_t failures = 0;
    std::string failure;
};

LatencySummary Summarise(const std::vector<SimDevice>& devices) {
    std::vector<double> all;
    LatencySummary summary;
    for (const auto& d : devices) {
        all.insert(all.end(), d.latencies_ms.begin(), d.latencies_ms.end());
        summary.failures += d.failures;
        if (d.failures) summary.failure = d.last_failure;
    }
    std::sort(all.begin(), all.end());
    summary.p50 = Percentile(all, 0.50);
    summary.p99 = Percentile(all, 0.99);
    summary.max = all.empty() ? 0 : all.back();
    summary.requests = all.size();
    return summary;
}

/// Whether `store` holds each device's records once, owned by that device,
/// at revision 1, with one distinct seq per change, and nothing else but
/// the project; prints what it found.
bool ExactlyOnce(sync::HqStore& store, const std::string& project_id, const std::vector<SimDevice>& devices) {
    size_t total = 0;
    for (const auto& d : devices) total += d.record_ids.size();
    const auto held = store.CountRecords(project_id);
    std::map<std::string, int> seen;
    std::map<std::string, std::string> owner;
    bool all_rev_one = true;
    store.ForEachRecord(project_id, [&](const sync::StoredRecord& r) {
        const auto id = r.body.value("id", "");
        ++seen[id];
        owner[id] = r.owner_device;
        if (r.body.value("type", "") == "field_note" && r.rev != 1) all_rev_one = false;
    });
    size_t missing = 0, doubled = 0, wrong_owner = 0;
    std::set<int64_t> seqs;
    for (const auto& d : devices) {
        for (const auto& id : d.record_ids) {
            const auto it = seen.find(id);
            if (it == seen.end()) ++missing;
            else if (it->second != 1) ++doubled;
            else if (owner[id] != d.device_id) ++wrong_owner;
        }
        seqs.insert(d.first_seqs.begin(), d.first_seqs.end());
    }
    const bool ok = held == static_cast<int64_t>(total) + 1 && missing == 0 && doubled == 0 && wrong_owner == 0 &&
                    all_rev_one && seqs.size() == total;
    std::printf("  HQ holds %lld records (expected %zu + the project); missing %zu, twice %zu, wrong owner %zu, "
                "distinct seqs %zu: %s\n",
                static_cast<long long>(held), total, missing, doubled, wrong_owner, seqs.size(),
                ok ? "exactly once" : "MISMATCH");
    return ok;
}

void RunDevices(const Options& options, const fs::path& root, std::vector<Row>& rows) {
    std::printf("\n(c) %zu devices pushing %zu field notes each, %zu per request, all at once\n", options.devices,
                options.device_records, options.device_batch);
    HqUnderTest hq(root / "c-hq");
    const auto project = hq.Store().CreateProject("Café Nariño");

    // Enrolment over HTTP, one device after the other (not timed).
    std::vector<SimDevice> devices(options.devices);
    {
        sync::HttpClient client;
        for (size_t i = 0; i < devices.size(); ++i) {
            auto& d = devices[i];
            d.device_id = storage::NewUuidV7();
            const sync::EnrolRequest request{hq.Code(project.id, "persona " + std::to_string(i)), d.device_id,
                                             "dispositivo " + std::to_string(i)};
            const auto r = client.Post(hq.Url() + "/v1/enrol", Json(request).dump());
            if (!r.Ok()) throw std::runtime_error("enrolment failed: " + r.ErrorText());
            d.token = Json::parse(r.body).get<sync::EnrolResponse>().token;
        }
    }
    NoteWriter writer(options.seed + 1);
    size_t request_bytes = 0;
    for (auto& d : devices) {
        request_bytes += WriteBodies(d, project.id, options, writer);
    }
    const size_t total = options.devices * options.device_records;
    std::printf("  %zu records in %zu requests, %.2f MiB of JSON\n", total, options.devices * devices[0].bodies.size(),
                static_cast<double>(request_bytes) / (1024.0 * 1024.0));

    (void)hq.TakeLog();
    const double wall = PushAll(devices, hq.Url(), sync::ItemStatus::Applied);
    const auto first = Summarise(devices);

    // Nothing lost, nothing twice.
    const auto held = hq.Store().CountRecords(project.id);
    const bool counts_ok = ExactlyOnce(hq.Store(), project.id, devices);
    if (!counts_ok) throw std::runtime_error("(c) lost or duplicated changes");

    const double replay_wall = PushAll(devices, hq.Url(), sync::ItemStatus::Duplicate);
    const auto replay = Summarise(devices);
    const auto held_after = hq.Store().CountRecords(project.id);
    std::printf("  replay of every batch: all %zu changes answered duplicate with their first seq; HQ still holds "
                "%lld records\n",
                total, static_cast<long long>(held_after));
    if (held_after != held) throw std::runtime_error("(c) the replay changed the record count");

    std::printf("  first push: %.3f s, %.0f records/s, %.0f requests/s, latency p50 %.1f ms p99 %.1f ms max %.1f ms, "
                "%zu failed attempts (sent again)%s%s\n",
                wall, static_cast<double>(total) / wall, static_cast<double>(first.requests) / wall, first.p50,
                first.p99, first.max, first.failures, first.failures ? ": " : "", first.failure.c_str());
    std::printf("  replay:     %.3f s, %.0f records/s, latency p50 %.1f ms p99 %.1f ms max %.1f ms, "
                "%zu failed attempts (sent again)%s%s\n",
                replay_wall, static_cast<double>(total) / replay_wall, replay.p50, replay.p99, replay.max,
                replay.failures, replay.failures ? ": " : "", replay.failure.c_str());
    const std::string label = std::to_string(options.devices) + " devices x " + std::to_string(options.device_records) +
                              " records, batches of " + std::to_string(options.device_batch);
    rows.push_back({"c", label + ": wall, throughput",
                    Fixed(wall, 2) + " s, " + Fixed(static_cast<double>(total) / wall, 0) + " rec/s (" +
                        Fixed(static_cast<double>(first.requests) / wall, 0) + " req/s)",
                    "-", "-"});
    rows.push_back({"c", "request latency p50 / p99 / max; failed attempts",
                    Fixed(first.p50, 1) + " / " + Fixed(first.p99, 1) + " / " + Fixed(first.max, 1) + " ms; " +
                        std::to_string(first.failures),
                    "-", "-"});
    rows.push_back({"c", "replay (all duplicate): wall; p50 / p99 / max; failed attempts",
                    Fixed(replay_wall, 2) + " s; " + Fixed(replay.p50, 1) + " / " + Fixed(replay.p99, 1) + " / " +
                        Fixed(replay.max, 1) + " ms; " + std::to_string(replay.failures),
                    "-", "-"});
}


// [SECTION] (e) headquarters at scale

/// A free TCP port on 127.0.0.1: bound, read and released, for a balancer to take next.
int FreePort() {
    const UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd.Get() < 0 || ::bind(fd.Get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
        throw std::runtime_error("no free port on 127.0.0.1");
    return ntohs(address.sin_port);
}

bool Accepts(int port) {
    const UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    return fd.Get() >= 0 && ::connect(fd.Get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

/// Debian's haproxy in TCP mode in front of `ports`, round robin, opening
/// each connection to them with a PROXY protocol v2 header (as
/// docs/deploy.md sets it up).
class Balancer {
public:
    Balancer(const fs::path& dir, const std::vector<int>& ports) : m_port(FreePort()) {
        std::string config = "global\n    maxconn 4000\n"
                             "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 10m\n"
                             "    timeout server 10m\n"
                             "frontend escucha\n    bind 127.0.0.1:" +
                             std::to_string(m_port) + "\n    default_backend escucha_hq\nbackend escucha_hq\n"
                                                      "    balance roundrobin\n";
        for (size_t i = 0; i < ports.size(); ++i)
            config += "    server hq" + std::to_string(i + 1) + " 127.0.0.1:" + std::to_string(ports[i]) +
                      " send-proxy-v2\n";
        fs::create_directories(dir);
        const auto path = dir / "haproxy.cfg";
        std::ofstream(path) << config;
        m_pid = escucha::test::StartProgram({HAPROXY, "-db", "-f", path.string()}, (dir / "haproxy.out").string(),
                                            (dir / "haproxy.err").string());
        for (int i = 0; i < 400; ++i) {
            if (Accepts(m_port)) return;
            int status = 0;
            if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
                m_pid = -1;
                std::ifstream err(dir / "haproxy.err");
                throw std::runtime_error("haproxy exited: " + std::string(std::istreambuf_iterator<char>(err), {}));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        throw std::runtime_error("haproxy did not start listening");
    }
    ~Balancer() {
        if (m_pid <= 0) return;
        ::kill(m_pid, SIGTERM);
        int status = 0;
        ::waitpid(m_pid, &status, 0);
    }
    Balancer(const Balancer&) = delete;
    Balancer& operator=(const Balancer&) = delete;

    static constexpr char HAPROXY[] = "/usr/sbin/haproxy";
    [[nodiscard]] std::string Url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

private:
    int m_port;
    pid_t m_pid = -1;
};

/// A key file of 32 random bytes in hex, for this user alone.
std::string WriteKeyFile(const fs::path& path) {
    std::array<unsigned char, 32> key{};
    randombytes_buf(key.data(), key.size());
    std::string hex;
    for (unsigned char byte : key) {
        hex += "0123456789abcdef"[byte >> 4];
        hex += "0123456789abcdef"[byte & 15];
    }
    sodium_memzero(key.data(), key.size());
    {
        std::ofstream(path) << hex << "\n";
    }
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    return path.string();
}

/// One way of running headquarters, measured with the same devices.
struct Deployment {
    std::string name;
    bool postgres = false;
    int processes = 1; ///< escucha-hq processes; more than one go behind haproxy
};

struct DeploymentResult {
    double wall = 0;
    LatencySummary latency;
    double hq_p50 = -1, hq_p99 = -1; ///< ms, from the processes' own histogram; -1: they keep none
};

/// Cumulative counts of escucha-hq's latency histogram for `route` by
/// bound (seconds; +Inf last), summed over `urls`, from their metrics.
std::map<double, int64_t> RouteHistogram(const std::vector<std::string>& urls, const std::string& route = "push") {
    std::map<double, int64_t> out;
    sync::HttpOptions http;
    http.local_address = "127.0.0.2"; // not the balancer's address: no PROXY header is expected from it
    sync::HttpClient client(http);
    const std::regex line(R"re(escucha_hq_request_duration_seconds_bucket\{route=")re" + route +
                          R"re(",le="([^"]+)"\} (\d+))re");
    for (const auto& url : urls) {
        const auto r = client.Get(url + "/v1/metrics");
        if (!r.Ok()) throw std::runtime_error("metrics: " + r.ErrorText());
        for (auto it = std::sregex_iterator(r.body.begin(), r.body.end(), line); it != std::sregex_iterator(); ++it) {
            const std::string le = (*it)[1];
            out[le == "+Inf" ? HUGE_VAL : std::stod(le)] += std::stoll((*it)[2]);
        }
    }
    return out;
}

/// The `q` quantile in ms of the pushes counted between `before` and
/// `after`, interpolated within its bucket as Prometheus'
/// histogram_quantile() does; -1 when there is no histogram (an older
/// escucha-hq).
double HistogramQuantile(const std::map<double, int64_t>& before, const std::map<double, int64_t>& after, double q) {
    if (after.empty()) return -1;
    std::vector<std::pair<double, int64_t>> cumulative;
    for (const auto& [le, n] : after) {
        const auto was = before.find(le);
        cumulative.emplace_back(le, n - (was == before.end() ? 0 : was->second));
    }
    if (cumulative.empty() || cumulative.back().second == 0) return 0;
    const double rank = q * static_cast<double>(cumulative.back().second);
    double lower = 0;
    int64_t below = 0;
    for (const auto& [le, n] : cumulative) {
        if (static_cast<double>(n) >= rank && n > below) {
            if (std::isinf(le)) return lower * 1000; // past the last bound: the bound is all it says
            return (lower + (le - lower) * (rank - static_cast<double>(below)) / static_cast<double>(n - below)) *
                   1000;
        }
        lower = le;
        below = n;
    }
    return lower * 1000;
}

/// `count` devices, each from a loopback address of its own (HQ limits
/// connections per address, as it would real phones behind real addresses).
std::vector<SimDevice> NewDevices(size_t count) {
    std::vector<SimDevice> devices(count);
    for (size_t i = 0; i < count; ++i) {
        devices[i].device_id = storage::NewUuidV7();
        devices[i].from = "127.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    }
    return devices;
}

/// Writes the project and an enrolment code per device into `store`;
/// returns the project id and the codes, in device order.
std::pair<std::string, std::vector<std::string>> Prepare(sync::HqStore& store, size_t devices) {
    const auto project = store.CreateProject("Café Nariño");
    std::vector<std::string> codes;
    const auto expires = storage::FormatIsoMillis(storage::SystemMillis() + 86'400'000);
    for (size_t i = 0; i < devices; ++i) {
        codes.push_back(sync::NewEnrolmentCode());
        store.AddEnrolment(sync::HashSecret(codes.back()), project.id, sync::Role::Researcher,
                           "persona " + std::to_string(i), expires);
    }
    return {project.id, codes};
}

/// Runs `work(i)` for i in [0, count) on `threads` threads; the first
/// exception thrown is thrown again here.
void InParallel(size_t count, int threads, const std::function<void(size_t)>& work) {
    std::atomic<size_t> next{0};
    std::mutex mutex;
    std::exception_ptr failure;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            for (size_t i = next++; i < count; i = next++) {
                try {
                    work(i);
                } catch (...) {
                    std::lock_guard lock(mutex);
                    if (!failure) failure = std::current_exception();
                }
            }
        });
    for (auto& t : pool) t.join();
    if (failure) std::rethrow_exception(failure);
}

/// Enrols every device over HTTP (from its own address, not timed), 32 at a
/// time, so that headquarters has opened the connections to its store it
/// needs when many devices come at once, as a server that has been running
/// has; then builds each device's push bodies: the same notes for every
/// deployment.
void EnrolAndWrite(std::vector<SimDevice>& devices, const std::vector<std::string>& codes, const std::string& url,
                   const std::string& project_id, const Options& options) {
    InParallel(devices.size(), 32, [&](size_t i) {
        auto& d = devices[i];
        sync::HttpOptions http;
        http.local_address = d.from;
        sync::HttpClient client(http);
        const sync::EnrolRequest request{codes[i], d.device_id, "dispositivo " + std::to_string(i)};
        const auto r = client.Post(url + "/v1/enrol", Json(request).dump());
        if (!r.Ok()) throw std::runtime_error("enrolment failed: " + r.ErrorText());
        d.token = Json::parse(r.body).get<sync::EnrolResponse>().token;
    });
    NoteWriter writer(options.seed + 4);
    for (auto& d : devices) (void)WriteBodies(d, project_id, options, writer);
}

/// Real escucha-hq processes (the binary built beside this benchmark) on
/// the SQLite store or on one PostgreSQL database, with a project and an
/// enrolment code per device; one process, or several behind haproxy.
class Headquarters {
public:
    Headquarters(const Deployment& how, size_t devices, const fs::path& dir, escucha::test::PgServer* pg,
                 const std::string& key_file)
        : m_postgres(how.postgres), m_dir(dir), m_url(how.postgres ? pg->NewDatabase() : std::string()),
          m_key(sync::KeySourceFrom(key_file, "ESCUCHA_BENCH_UNUSED_PASSPHRASE")) {
        sync::PrepareDataDir(dir);
        {
            auto store = sync::OpenAnyHqStore(m_url, dir, m_key);
            std::tie(m_project_id, m_codes) = Prepare(*store, devices);
        }
        std::vector<std::string> extra = {"--key-file", key_file};
        if (how.postgres) extra.insert(extra.end(), {"--store", m_url});
        if (how.processes > 1) extra.insert(extra.end(), {"--proxy-from", "127.0.0.1"});
        std::vector<int> ports;
        for (int i = 0; i < how.processes; ++i) {
            m_processes.push_back(std::make_unique<escucha::test::HqProcess>(dir.string(), extra));
            ports.push_back(m_processes.back()->Port());
        }
        if (how.processes > 1) m_balancer.emplace(dir / "haproxy", ports);
    }

    /// Where devices go: the balancer, or the one process.
    [[nodiscard]] std::string Target() const {
        return m_balancer ? m_balancer->Url() : m_processes.front()->Url();
    }
    /// Each process's own address (for its metrics).
    [[nodiscard]] std::vector<std::string> ProcessUrls() const {
        std::vector<std::string> urls;
        for (const auto& p : m_processes) urls.push_back(p->Url());
        return urls;
    }
    [[nodiscard]] const std::string& ProjectId() const { return m_project_id; }
    [[nodiscard]] const std::vector<std::string>& Codes() const { return m_codes; }

    /// The store, to read back: the SQLite store after its one process has
    /// stopped (it holds the directory); PostgreSQL while they serve.
    std::unique_ptr<sync::HqStore> ReadBack() {
        if (!m_postgres) m_processes.clear();
        return sync::OpenAnyHqStore(m_url, m_dir, m_key);
    }

private:
    bool m_postgres;
    fs::path m_dir;
    std::string m_url;
    sync::HqKeySource m_key;
    std::string m_project_id;
    std::vector<std::string> m_codes;
    std::vector<std::unique_ptr<escucha::test::HqProcess>> m_processes;
    std::optional<Balancer> m_balancer;
};

/// The simulated devices pushing at once to `how`.
DeploymentResult RunDeployment(const Deployment& how, const Options& options, const fs::path& dir,
                               escucha::test::PgServer* pg, const std::string& key_file) {
    std::printf("\n  %s\n", how.name.c_str());
    Headquarters hq(how, options.devices, dir, pg, key_file);
    const auto target = hq.Target();
    auto devices = NewDevices(options.devices);
    EnrolAndWrite(devices, hq.Codes(), target, hq.ProjectId(), options);
    const auto urls = hq.ProcessUrls();
    const auto before = RouteHistogram(urls);
    DeploymentResult result;
    result.wall = PushAll(devices, target, sync::ItemStatus::Applied, true);
    result.latency = Summarise(devices);
    const auto after = RouteHistogram(urls);
    result.hq_p50 = HistogramQuantile(before, after, 0.50);
    result.hq_p99 = HistogramQuantile(before, after, 0.99);
    const size_t total = options.devices * options.device_records;
    std::printf("    %.3f s, %.0f records/s, %.0f requests/s, latency p50 %.1f ms p99 %.1f ms max %.1f ms, "
                "%zu failed attempts (sent again)%s%s\n",
                result.wall, static_cast<double>(total) / result.wall,
                static_cast<double>(result.latency.requests) / result.wall, result.latency.p50, result.latency.p99,
                result.latency.max, result.latency.failures, result.latency.failures ? ": " : "",
                result.latency.failure.c_str());
    if (result.hq_p99 >= 0)
        std::printf("    escucha-hq's own time per push, header read to answer ready (its metrics' histogram): p50 "
                    "%.0f ms, p99 %.0f ms\n",
                    result.hq_p50, result.hq_p99);
    auto store = hq.ReadBack();
    std::printf("  ");
    if (!ExactlyOnce(*store, hq.ProjectId(), devices)) throw std::runtime_error("(e) lost or duplicated changes");
    return result;
}

// [SECTION] (f) real devices

/// Real devices against `how`: a vault each (SQLCipher, minimum Argon2
/// cost), enrolled with sync::Enrol from its own loopback address, its
/// notes imported; then every device's SyncClient::SyncOnce() on a thread
/// of its own, all released together. Returns the wall time.
double RunRealDevices(const Deployment& how, const Options& options, const fs::path& dir,
                      escucha::test::PgServer* pg, const std::string& key_file) {
    std::printf("\n  %s\n", how.name.c_str());
    Headquarters hq(how, options.devices, dir / "hq", pg, key_file);
    const auto target = hq.Target();
    struct RealDevice {
        std::optional<storage::Vault> vault;
        sync::HttpOptions http;
        std::vector<std::string> ids;
        sync::SyncReport report;
        double ms = 0;
    };
    std::vector<RealDevice> devices(options.devices);
    const auto addresses = NewDevices(options.devices);
    std::vector<Json> notes(options.devices);
    {
        NoteWriter writer(options.seed + 5);
        for (auto& chunk : notes) {
            chunk = Json::array();
            for (size_t n = 0; n < options.device_records; ++n)
                chunk.push_back({{"type", "field_note"},
                                 {"project_id", hq.ProjectId()},
                                 {"kind", writer.Kind()},
                                 {"title", writer.Title()},
                                 {"text", writer.Text()},
                                 {"written_at", "2024-06-11"}});
        }
    }
    const auto setup = Clock::now();
    InParallel(devices.size(), 32, [&](size_t i) {
        auto& d = devices[i];
        d.http.local_address = addresses[i].from;
        d.vault.emplace(NewVault(dir / ("device-" + std::to_string(i)), "persona " + std::to_string(i)));
        if (const auto error = sync::Enrol(*d.vault, target, hq.Codes()[i], "", d.http))
            throw std::runtime_error("enrolment failed: " + *error);
        d.ids = d.vault->Records().Import(notes[i]);
    });
    std::printf("    %zu vaults made, enrolled and given %zu notes each in %.1f s (not timed)\n", devices.size(),
                options.device_records, Seconds(Clock::now() - setup));

    const auto urls = hq.ProcessUrls();
    const auto push_before = RouteHistogram(urls, "push"), pull_before = RouteHistogram(urls, "pull");
    std::latch ready(static_cast<std::ptrdiff_t>(devices.size()));
    std::latch go(1);
    std::vector<std::thread> threads;
    for (auto& d : devices)
        threads.emplace_back([&d, &ready, &go] {
            sync::SyncClient client(*d.vault, d.http);
            ready.count_down();
            go.wait();
            const auto start = Clock::now();
            d.report = client.SyncOnce();
            d.ms = Seconds(Clock::now() - start) * 1000.0;
        });
    ready.wait();
    const auto start = Clock::now();
    go.count_down();
    for (auto& t : threads) t.join();
    const double wall = Seconds(Clock::now() - start);
    const auto push_after = RouteHistogram(urls, "push"), pull_after = RouteHistogram(urls, "pull");

    std::vector<double> ms;
    for (const auto& d : devices) {
        if (!d.report.ok) throw std::runtime_error("(f) a sync failed: " + d.report.error);
        if (d.report.acknowledged != static_cast<int64_t>(options.device_records) || d.report.pending != 0)
            throw std::runtime_error("(f) a device had " + std::to_string(d.report.acknowledged) +
                                     " changes acknowledged and " + std::to_string(d.report.pending) + " left");
        ms.push_back(d.ms);
    }
    std::sort(ms.begin(), ms.end());
    const size_t total = options.devices * options.device_records;
    std::printf("    %.3f s, %.0f records/s; each device's sync (push, then pull) p50 %.1f ms p99 %.1f ms max %.1f "
                "ms; every outbox empty\n",
                wall, static_cast<double>(total) / wall, Percentile(ms, 0.50), Percentile(ms, 0.99), ms.back());
    std::printf("    in escucha-hq (its metrics' histogram): push p50 %.0f ms p99 %.0f ms, pull p50 %.0f ms p99 %.0f "
                "ms\n",
                HistogramQuantile(push_before, push_after, 0.5), HistogramQuantile(push_before, push_after, 0.99),
                HistogramQuantile(pull_before, pull_after, 0.5), HistogramQuantile(pull_before, pull_after, 0.99));
    // Headquarters holds each device's notes once, as that device's.
    auto store = hq.ReadBack();
    std::map<std::string, std::string> owner;
    store->ForEachRecord(hq.ProjectId(), [&](const sync::StoredRecord& r) {
        owner[r.body.value("id", "")] = r.owner_device;
    });
    size_t found = 0;
    std::set<std::string> owners;
    for (const auto& d : devices) {
        std::set<std::string> mine;
        for (const auto& id : d.ids)
            if (const auto it = owner.find(id); it != owner.end()) {
                ++found;
                mine.insert(it->second);
            }
        if (mine.size() != 1) throw std::runtime_error("(f) a device's notes are owned by " + std::to_string(mine.size()) + " devices");
        owners.insert(*mine.begin());
    }
    const bool ok = found == total && owner.size() == total + 1 && owners.size() == devices.size();
    std::printf("    HQ holds %zu records (expected %zu + the project), %zu of the devices' notes, each device's "
                "under its own id: %s\n",
                owner.size(), total, found, ok ? "exactly once" : "MISMATCH");
    if (!ok) throw std::runtime_error("(f) lost or duplicated changes");
    return wall;
}

/// The same devices against escucha's server in this process over a store
/// opened with `key` or plain: what encryption at rest costs.
double RunInProcess(bool postgres, bool sealed, const Options& options, const fs::path& dir,
                    escucha::test::PgServer* pg, const std::string& key_file) {
    const std::string url = postgres ? pg->NewDatabase() : std::string();
    const auto key = sealed ? sync::KeySourceFrom(key_file, "ESCUCHA_BENCH_UNUSED_PASSPHRASE") : sync::HqKeySource{};
    fs::create_directories(dir);
    std::unique_ptr<sync::HqStore> store;
    if (sealed) store = sync::OpenAnyHqStore(url, dir, key);
    else if (postgres) store = std::make_unique<sync::PgHqStore>(url, key);
    else store = std::make_unique<sync::SqliteHqStore>((dir / "hq.db").string());
    auto& held = *store;
    HqUnderTest hq(dir, std::move(store));
    const auto [project_id, codes] = Prepare(held, options.devices);
    auto devices = NewDevices(options.devices);
    EnrolAndWrite(devices, codes, hq.Url(), project_id, options);
    const double wall = PushAll(devices, hq.Url(), sync::ItemStatus::Applied, true);
    const auto latency = Summarise(devices);
    std::printf("    %s, %s: %.3f s, p50 %.1f ms p99 %.1f ms; ", postgres ? "PostgreSQL" : "SQLite",
                sealed ? "encrypted at rest" : "plain", wall, latency.p50, latency.p99);
    if (!ExactlyOnce(held, project_id, devices)) throw std::runtime_error("(e) lost or duplicated changes");
    return wall;
}

void RunScale(const Options& options, const fs::path& root, std::vector<Row>& rows) {
    std::printf("\n(e) %zu devices pushing %zu field notes each, %zu per request, gzip-compressed, all at once, to "
                "real escucha-hq processes\n",
                options.devices, options.device_records, options.device_batch);
    auto* pg = escucha::test::PgServer::Shared(true);
    if (!pg) throw std::runtime_error(escucha::test::PgServer::Skipped());
    if (!fs::exists(Balancer::HAPROXY)) throw std::runtime_error("haproxy is not installed (apt-get install haproxy)");
    const auto key_file = WriteKeyFile(root / "hq.key");
    const size_t total = options.devices * options.device_records;
    const Deployment deployments[] = {{"SQLite store, 1 escucha-hq process", false, 1},
                                      {"PostgreSQL store, 1 escucha-hq process", true, 1},
                                      {"PostgreSQL store, 3 escucha-hq processes behind haproxy", true, 3}};
    std::vector<DeploymentResult> results;
    int n = 0;
    for (const auto& how : deployments)
        results.push_back(RunDeployment(how, options, root / ("e-" + std::to_string(++n)), pg, key_file));
    const std::string label = std::to_string(options.devices) + " devices x " + std::to_string(options.device_records);
    for (size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        rows.push_back({"e",
                        deployments[i].name + ", " + label +
                            ": wall; records/s (requests/s); p50 / p99 / max; in escucha-hq p50 / p99",
                        Fixed(r.wall, 2) + " s; " + Fixed(static_cast<double>(total) / r.wall, 0) + " (" +
                            Fixed(static_cast<double>(r.latency.requests) / r.wall, 0) + "); " +
                            Fixed(r.latency.p50, 1) + " / " + Fixed(r.latency.p99, 1) + " / " +
                            Fixed(r.latency.max, 1) + " ms; " +
                            (r.hq_p99 < 0 ? std::string("-") : Fixed(r.hq_p50, 0) + " / " + Fixed(r.hq_p99, 0) + " ms") +
                            "; 0 lost, 0 twice",
                        i == 0 ? "-" : "SQLite store", i == 0 ? "-" : Fixed(results[0].wall / r.wall, 2) + "x"});
    }
    std::printf("\n  encryption at rest, escucha's server in this process:\n");
    for (bool postgres : {false, true}) {
        const auto tag = std::string(postgres ? "pg" : "sqlite");
        const double plain = RunInProcess(postgres, false, options, root / ("e-" + tag + "-plain"), pg, key_file);
        const double sealed = RunInProcess(postgres, true, options, root / ("e-" + tag + "-sealed"), pg, key_file);
        rows.push_back({"e",
                        std::string(postgres ? "PostgreSQL" : "SQLite") + " store in process, " + label +
                            ": encrypted at rest / plain",
                        Fixed(sealed, 2) + " s", Fixed(plain, 2) + " s", Fixed(sealed / plain, 2) + "x"});
    }
}

void RunRealScale(const Options& options, const fs::path& root, std::vector<Row>& rows) {
    std::printf("\n(f) %zu real devices (a SQLCipher vault and SyncClient each) with %zu field notes each, syncing at "
                "once, to real escucha-hq processes\n",
                options.devices, options.device_records);
    auto* pg = escucha::test::PgServer::Shared(true);
    if (!pg) throw std::runtime_error(escucha::test::PgServer::Skipped());
    if (!fs::exists(Balancer::HAPROXY)) throw std::runtime_error("haproxy is not installed (apt-get install haproxy)");
    const auto key_file = WriteKeyFile(root / "hq-f.key");
    const Deployment deployments[] = {{"SQLite store, 1 escucha-hq process", false, 1},
                                      {"PostgreSQL store, 3 escucha-hq processes behind haproxy", true, 3}};
    std::vector<double> walls;
    int n = 0;
    for (const auto& how : deployments)
        walls.push_back(RunRealDevices(how, options, root / ("f-" + std::to_string(++n)), pg, key_file));
    const std::string label = std::to_string(options.devices) + " real devices x " +
                              std::to_string(options.device_records);
    for (size_t i = 0; i < walls.size(); ++i)
        rows.push_back({"f", deployments[i].name + ", " + label + ": wall",
                        Fixed(walls[i], 2) + " s; " +
                            Fixed(static_cast<double>(options.devices * options.device_records) / walls[i], 0) +
                            " records/s",
                        i == 0 ? "-" : "SQLite store", i == 0 ? "-" : Fixed(walls[0] / walls[i], 2) + "x"});
}

} // namespace

int main(int argc, char** argv) {
    try {
        const auto options = ParseOptions(argc, argv);
        if (!options) return 0;
        storage::EnsureSodium();
        std::printf("escucha sync benchmark: %u CPUs (%s), load average %s\n", std::thread::hardware_concurrency(),
                    CpuModel().c_str(), LoadAverage().c_str());
        const TempDir root;
        std::vector<Row> rows;
        if (options->parts.find('a') != std::string::npos) RunPush(*options, root.Path(), rows);
        if (options->parts.find('b') != std::string::npos) RunBlob(*options, root.Path(), rows);
        if (options->parts.find('c') != std::string::npos) RunDevices(*options, root.Path(), rows);
        if (options->parts.find('d') != std::string::npos) RunDownload(*options, root.Path(), rows);
        if (options->parts.find('e') != std::string::npos) RunScale(*options, root.Path(), rows);
        if (options->parts.find('f') != std::string::npos) RunRealScale(*options, root.Path(), rows);
        PrintRows(rows);
        std::printf("\nload average at the end: %s\n", LoadAverage().c_str());
        return 0;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "escucha-bench-sync: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "escucha-bench-sync: %s\n", e.what());
        return 2;
    }
}
