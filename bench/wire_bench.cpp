// Wire benchmark: pushing field notes over a simulated rural link.
//
// A SlowLink (slow_link.h) on loopback delays every byte by half a round
// trip and lets each direction through at a fixed rate (default 64 kbit/s,
// 300 ms round trip). Through it, for each count of notes:
//
//   escucha (gzip)   a fresh vault holding N field notes (300-800 characters
//                    of Spanish and French, as researchers write them) is
//                    enrolled to an in-process HqServer; one SyncClient::
//                    SyncOnce() runs. Bytes: everything the device sent
//                    during the cycle (push, then the pull's requests).
//                    Time: from the start to HQ's answer to the last push.
//   escucha (plain)  the same with HttpOptions::compress = false: the push
//                    bodies as they were before compression, in the same run.
//   gzip once        the reference: the same push JSON (built from the
//                    journal as SyncClient builds it), gzip-compressed as
//                    one stream and POSTed once with sync::HttpClient through
//                    the same kind of link to an endpoint answering "{}".
//
// Then a link that drops mid-push: every open connection is cut once after
// a share of the compressed bytes has gone; the first cycle fails, a second
// one resumes. Checked: the outbox is empty, HQ holds each note once at rev 1.
//
// Then edits after a push: notes pushed, the title of each edited, pushed
// as the members that changed and, in the same run, as whole records.
//
// Everything listens on 127.0.0.1 on ports the OS picks, in this process,
// under a fresh directory in /tmp removed at the end. Key derivation uses
// libsodium's minimum Argon2id cost and is never timed.

#include "escucha/capture/listening_records.h"
#include "escucha/interpret/interpretation_records.h"
#include "escucha/storage/clock.h"
#include "escucha/storage/secret.h"
#include "escucha/storage/vault.h"
#include "escucha/sync/hq_server.h"
#include "escucha/sync/http.h"
#include "escucha/sync/sync_client.h"
#include "slow_link.h"

#include <httplib.h>
#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace storage = escucha::storage;
namespace sync = escucha::sync;
using escucha::bench::SlowLink;
using sync::Json;
using Clock = std::chrono::steady_clock;

struct Options {
    std::vector<size_t> counts = {500, 2000};
    double bits_per_second = 64'000;
    int round_trip_ms = 300;
    double drop_share = 0.6; ///< of the compressed push, when the link drops (in its second batch)
    size_t drop_notes = 500;
    size_t edit_notes = 500; ///< pushed, then each edited (0: not measured)
    uint64_t seed = 20240611;
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Fixed(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "escucha-bench-wire-XXXXXX").string();
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

const storage::Catalogue& Types() {
    static const storage::Catalogue catalogue = [] {
        storage::Catalogue c;
        escucha::capture::AddListeningTypes(c);
        escucha::interpret::AddInterpretationTypes(c);
        return c;
    }();
    return catalogue;
}

/// Field notes of 300-800 characters from sentences researchers in Colombian
/// coffee country and in rural Senegal might write, in Spanish and French.
std::string NoteText(std::mt19937_64& random) {
    static const std::vector<std::string> sentences = {
        "Doña Rosalba nos recibió en la cocina mientras tostaba café en una paila de barro.",
        "Comenta que la cosecha de este año fue menor por las lluvias de octubre y que el precio no alcanzó.",
        "Varias veces repitió que los jóvenes ya no quieren quedarse en la vereda.",
        "Al preguntarle por la cooperativa cambió de tema y habló de su hijo en Pasto.",
        "Se nota cansancio cuando habla de las deudas con el banco agrario.",
        "Observo que nadie menciona a los grupos armados por su nombre; dicen «los de allá arriba».",
        "Pidió que no se grabara la parte sobre el conflicto con el vecino por el agua.",
        "Recordó con detalle la helada de 1994 y cómo la familia se fue a trabajar a Ecuador.",
        "Queda pendiente volver el jueves para hablar con el abuelo, que hoy estaba enfermo.",
        "Les ouvriers agricoles disent que le salaire journalier ne suffit plus depuis la dernière saison.",
        "Awa raconte qu'elle marche deux heures chaque matin pour rejoindre le champ d'arachides.",
        "Le chef de village insiste sur le fait que la piste a été réparée grâce au travail collectif.",
        "Personne ne parle ouvertement des intermédiaires qui fixent le prix à la pesée.",
        "La réunion du groupement de femmes a réuni une trentaine de personnes sous le manguier.",
        "Il demande que l'on n'enregistre pas la partie sur le litige foncier avec la famille voisine.",
        "Je me demande si ma présence en tant que chercheuse venue de la ville influence leurs réponses.",
    };
    // Whole sentences repeated would compress far better than real notes
    // (about 17x); sentences of words drawn from theirs compress about as
    // real text does.
    static const std::vector<std::string> words = [] {
        std::vector<std::string> out;
        for (const auto& sentence : sentences) {
            size_t at = 0;
            while (at < sentence.size()) {
                const auto end = std::min(sentence.find(' ', at), sentence.size());
                auto word = sentence.substr(at, end - at);
                while (!word.empty() && (word.back() == '.' || word.back() == ',' || word.back() == ';'))
                    word.pop_back();
                if (!word.empty()) out.push_back(word);
                at = end + 1;
            }
        }
        return out;
    }();
    std::uniform_int_distribution<size_t> length(300, 800);
    std::uniform_int_distribution<size_t> pick(0, words.size() - 1);
    std::uniform_int_distribution<int> sentence_words(6, 18);
    const size_t target = length(random);
    std::string text;
    while (text.size() < target) {
        const int n = sentence_words(random);
        for (int i = 0; i < n; ++i) text += (i == 0 && !text.empty() ? " " : i ? " " : "") + words[pick(random)];
        text += '.';
    }
    return text;
}

/// HqServer over SqliteHqStore in a directory, serving on a thread; keeps
/// the time HQ answered the last push.
class Hq {
public:
    explicit Hq(const fs::path& dir) : m_store(Path(dir)), m_server(m_store, Types(), MakeOptions()) {
        m_port = m_server.Bind("127.0.0.1", 0);
        if (m_port <= 0) throw std::runtime_error("HqServer could not bind 127.0.0.1");
        m_thread = std::thread([this] { m_server.ListenAfterBind(); });
        m_server.WaitUntilReady();
        m_project = m_store.CreateProject("Café y maní").id;
    }
    ~Hq() {
        m_server.Stop();
        m_thread.join();
    }
    Hq(const Hq&) = delete;
    Hq& operator=(const Hq&) = delete;
    [[nodiscard]] int Port() const { return m_port; }
    [[nodiscard]] const std::string& Project() const { return m_project; }
    [[nodiscard]] sync::SqliteHqStore& Store() { return m_store; }
    std::string Code() {
        const auto code = sync::NewEnrolmentCode();
        m_store.AddEnrolment(sync::HashSecret(code), m_project, sync::Role::Researcher, "persona",
                             storage::FormatIsoMillis(storage::SystemMillis() + 86'400'000));
        return code;
    }
    Clock::time_point LastPush() {
        std::lock_guard lock(m_mutex);
        return m_last_push;
    }

private:
    static std::string Path(const fs::path& dir) {
        fs::create_directories(dir);
        return (dir / "hq.db").string();
    }
    sync::ServerOptions MakeOptions() {
        sync::ServerOptions options;
        options.log = [this](const std::string& line) {
            if (line.rfind("POST /v1/push", 0) != 0) return;
            std::lock_guard lock(m_mutex);
            m_last_push = Clock::now();
        };
        return options;
    }
    std::mutex m_mutex;
    Clock::time_point m_last_push{};
    sync::SqliteHqStore m_store;
    sync::HqServer m_server;
    int m_port = -1;
    std::thread m_thread;
    std::string m_project;
};

/// The reference's endpoint: takes a POST and answers "{}".
class BareServer {
public:
    BareServer() {
        m_server.Post("/push", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("{}", "application/json");
        });
        m_port = m_server.bind_to_any_port("127.0.0.1");
        if (m_port <= 0) throw std::runtime_error("the reference server could not bind 127.0.0.1");
        m_thread = std::thread([this] { m_server.listen_after_bind(); });
        while (!m_server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~BareServer() {
        m_server.stop();
        m_thread.join();
    }
    BareServer(const BareServer&) = delete;
    BareServer& operator=(const BareServer&) = delete;
    [[nodiscard]] int Port() const { return m_port; }

private:
    httplib::Server m_server;
    int m_port = -1;
    std::thread m_thread;
};

/// A vault holding `count` notes, enrolled to `hq` through `url`.
storage::Vault NoteVault(const fs::path& dir, Hq& hq, const std::string& url, size_t count, uint64_t seed) {
    auto vault = storage::Vault::Create(dir, storage::Passphrase("frase de paso solo para medir"), Types(),
                                        {"persona", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN});
    if (const auto error = sync::Enrol(vault, url, hq.Code(), ""))
        throw std::runtime_error("enrolment failed: " + *error);
    std::mt19937_64 random(seed);
    std::vector<Json> notes;
    for (size_t i = 0; i < count; ++i)
        notes.push_back({{"type", "field_note"},
                         {"project_id", hq.Project()},
                         {"kind", "observation"},
                         {"title", "Visita " + std::to_string(i + 1)},
                         {"text", NoteText(random)},
                         {"written_at", "2024-06-11"}});
    (void)vault.Records().Import(Json(notes));
    return vault;
}

/// The push JSON SyncClient would send for the outbox, batch by batch.
std::vector<std::string> PushBodies(storage::Vault& vault) {
    std::vector<std::string> bodies;
    int64_t after = 0;
    for (;;) {
        const auto batch = vault.Records().PendingJournal(sync::SyncClient::BATCH, after);
        if (batch.empty()) break;
        sync::PushRequest request;
        for (const auto& e : batch)
            request.changes.push_back(
                {e.change_id, e.record_type, e.record_id, e.rev, e.op, e.hlc, Json::parse(e.body, nullptr, false)});
        bodies.push_back(Json(request).dump());
        after = batch.back().seq;
    }
    return bodies;
}

struct Run {
    uint64_t up = 0;
    uint64_t down = 0;
    double push_s = 0;
    double cycle_s = 0;
};

/// One sync cycle of a fresh vault of `count` notes through a fresh link.
Run SyncThroughLink(const fs::path& dir, const Options& o, size_t count, bool compress, size_t& json_bytes,
                    std::string& json_all) {
    Hq hq(dir / "hq");
    SlowLink link(hq.Port(), o.bits_per_second, o.round_trip_ms);
    auto vault = NoteVault(dir / "vault", hq, link.Url(), count, o.seed);
    json_all.clear();
    json_bytes = 0;
    for (const auto& body : PushBodies(vault)) {
        json_bytes += body.size();
        json_all += body;
    }
    sync::HttpOptions http;
    http.compress = compress;
    // libcurl counts a body as sent once it is in the socket's buffer: on a
    // link this slow a large request then shows no progress for longer than
    // the default 30 s stall limit while it crosses.
    http.stall_timeout_s = 600;
    sync::SyncClient client(vault, http);
    const auto up = link.Up(), down = link.Down();
    const auto start = Clock::now();
    const auto report = client.SyncOnce();
    const auto end = Clock::now();
    if (!report.ok) throw std::runtime_error("sync failed: " + report.error);
    int64_t notes = 0;
    hq.Store().ForEachRecord(hq.Project(), [&](const sync::StoredRecord& r) { notes += r.record_type == "field_note"; });
    if (notes != static_cast<int64_t>(count)) throw std::runtime_error("HQ does not hold every note");
    return {link.Up() - up, link.Down() - down, Seconds(hq.LastPush() - start), Seconds(end - start)};
}

/// The reference: `gz` POSTed once through a fresh link.
Run SendOnce(const Options& o, const std::string& gz) {
    BareServer bare;
    SlowLink link(bare.Port(), o.bits_per_second, o.round_trip_ms);
    sync::HttpOptions options;
    options.stall_timeout_s = 600; // as in SyncThroughLink
    sync::HttpClient http(options);
    const auto start = Clock::now();
    const auto result = http.PostEncoded(link.Url() + "/push", gz, "");
    const auto end = Clock::now();
    if (!result.Ok()) throw std::runtime_error("the reference POST failed: " + result.ErrorText());
    return {link.Up(), link.Down(), Seconds(end - start), Seconds(end - start)};
}

void PrintRow(const char* what, size_t notes, const Run& run, double gz_bytes, const Run& once) {
    std::printf("| %zu | %s | %s | %s | %s | %s | %s |\n", notes, what, Fixed(static_cast<double>(run.up) / 1024, 1).c_str(),
                Fixed(static_cast<double>(run.up) / gz_bytes, 2).c_str(), Fixed(run.push_s, 1).c_str(),
                Fixed(run.push_s / once.push_s, 2).c_str(), Fixed(run.cycle_s, 1).c_str());
}

void DropMidPush(const fs::path& dir, const Options& o, double gz_expected) {
    Hq hq(dir / "hq");
    SlowLink link(hq.Port(), o.bits_per_second, o.round_trip_ms);
    auto vault = NoteVault(dir / "vault", hq, link.Url(), o.drop_notes, o.seed + 1);
    const auto total = vault.Records().PendingJournalCount();
    sync::HttpOptions http;
    http.stall_timeout_s = 20;
    sync::SyncClient client(vault, http);
    const auto start = Clock::now();
    link.DropAfter(static_cast<uint64_t>(gz_expected * o.drop_share));
    const auto first = client.SyncOnce();
    const auto waiting = vault.Records().PendingJournalCount();
    const auto up_first = link.Up();
    const auto second = client.SyncOnce();
    const auto end = Clock::now();
    int64_t at_hq = 0, rev_not_one = 0;
    hq.Store().ForEachRecord(hq.Project(), [&](const sync::StoredRecord& r) {
        if (r.record_type != "field_note") return;
        ++at_hq;
        if (r.rev != 1) ++rev_not_one;
    });
    std::printf("\nLink drop mid-push (%zu notes, cut once after %.0f%% of the compressed push):\n", o.drop_notes,
                o.drop_share * 100);
    std::printf("  first cycle: %s (%s); %lld of %lld changes already acknowledged, %s KiB sent\n",
                first.ok ? "ok" : "failed", first.error_code.c_str(), static_cast<long long>(total - waiting),
                static_cast<long long>(total), Fixed(static_cast<double>(up_first) / 1024, 1).c_str());
    std::printf("  second cycle: %s; outbox %lld; HQ holds %lld notes, %lld not at rev 1\n",
                second.ok ? "ok" : "failed", static_cast<long long>(vault.Records().PendingJournalCount()),
                static_cast<long long>(at_hq), static_cast<long long>(rev_not_one));
    std::printf("  both cycles: %s KiB sent (%s x the gzip of the JSON), %s s\n",
                Fixed(static_cast<double>(link.Up()) / 1024, 1).c_str(),
                Fixed(static_cast<double>(link.Up()) / gz_expected, 2).c_str(), Fixed(Seconds(end - start), 1).c_str());
    if (!second.ok || at_hq != static_cast<int64_t>(o.drop_notes) || rev_not_one != 0 ||
        vault.Records().PendingJournalCount() != 0)
        throw std::runtime_error("after the drop, HQ does not hold every note exactly once");
}

/// Edits after a push: `count` notes pushed through a fresh link, then the
/// title of each edited and pushed again, twice: as the device sends such
/// edits now (the members changed, docs/decisions/0027), and with the
/// journal told to send every record whole, as before.
void EditsAfterPush(const fs::path& dir, const Options& o, size_t count) {
    Hq hq(dir / "hq");
    SlowLink link(hq.Port(), o.bits_per_second, o.round_trip_ms);
    auto vault = NoteVault(dir / "vault", hq, link.Url(), count, o.seed + 2);
    sync::HttpOptions http;
    http.stall_timeout_s = 600; // as in SyncThroughLink
    if (!sync::SyncClient(vault, http).SyncOnce().ok) throw std::runtime_error("the first push failed");
    std::vector<std::string> ids;
    vault.Records().ForEach([&](const Json& r) {
        if (r["type"] == "field_note") ids.push_back(r["id"]);
    });
    std::printf("\nEdits after a push (%zu notes at HQ, then the title of each edited; one SyncOnce each):\n\n"
                "| sent as | KiB sent | push s | whole cycle s |\n|---|---|---|---|\n",
                count);
    for (const bool whole : {false, true}) {
        for (const auto& id : ids)
            vault.Records().Update(id, {{"title", std::string(whole ? "Visita revisada " : "Visita corregida ") + id.substr(30)}});
        if (whole) vault.Db().Exec("UPDATE journal SET fields = NULL");
        sync::SyncClient client(vault, http);
        const auto up = link.Up();
        const auto start = Clock::now();
        const auto report = client.SyncOnce();
        const auto end = Clock::now();
        if (!report.ok || report.acknowledged != static_cast<int64_t>(ids.size()))
            throw std::runtime_error("the edits did not all land: " + report.error);
        std::printf("| %s | %s | %s | %s |\n", whole ? "whole records (before)" : "changed members",
                    Fixed(static_cast<double>(link.Up() - up) / 1024, 1).c_str(),
                    Fixed(Seconds(hq.LastPush() - start), 1).c_str(), Fixed(Seconds(end - start), 1).c_str());
        std::fflush(stdout);
    }
    // HQ holds each note as the device does.
    std::map<std::string, Json> at_hq;
    hq.Store().ForEachRecord(hq.Project(), [&](const sync::StoredRecord& r) { at_hq[r.body["id"]] = r.body; });
    for (const auto& id : ids)
        if (!at_hq.count(id) || at_hq[id] != *vault.Records().Get(id))
            throw std::runtime_error("HQ does not hold note " + id + " as the device does");
}

} // namespace

int main(int argc, char** argv) {
    try {
        Options o;
        for (int i = 1; i < argc; ++i) {
            const std::string arg = argv[i];
            if (arg == "--help" || arg == "-h" || i + 1 >= argc) {
                std::printf("usage: %s [--notes 500,2000|none] [--kbit 64] [--rtt-ms 300] [--drop-notes 500|0] [--edit-notes 500|0]\n", argv[0]);
                return arg == "--help" || arg == "-h" ? 0 : 2;
            }
            const std::string value = argv[++i];
            if (arg == "--notes") {
                o.counts.clear();
                if (value == "none") continue; // the drop alone
                for (size_t at = 0; at <= value.size();) {
                    const auto comma = std::min(value.find(',', at), value.size());
                    o.counts.push_back(std::stoul(value.substr(at, comma - at)));
                    at = comma + 1;
                }
            } else if (arg == "--kbit") o.bits_per_second = std::stod(value) * 1000;
            else if (arg == "--rtt-ms") o.round_trip_ms = std::stoi(value);
            else if (arg == "--drop-notes") o.drop_notes = std::stoul(value);
            else if (arg == "--edit-notes") o.edit_notes = std::stoul(value);
            else throw std::invalid_argument("unknown option " + arg);
        }
        if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
        TempDir dir;
        std::printf("escucha-bench-wire: link %.0f kbit/s each way, %d ms round trip\n", o.bits_per_second / 1000,
                    o.round_trip_ms);
        std::printf("\n| notes | sent as | KiB sent | x gzip of the JSON | push s | x gzip sent once | whole cycle s |\n"
                    "|---|---|---|---|---|---|---|\n");
        double drop_gz = 0;
        int n = 0;
        for (const size_t count : o.counts) {
            size_t json_bytes = 0;
            std::string json;
            const auto gzip = SyncThroughLink(dir.Path() / ("gz" + std::to_string(n)), o, count, true, json_bytes, json);
            const auto packed = sync::GzipCompress(json).value();
            const auto once = SendOnce(o, packed);
            const auto plain =
                SyncThroughLink(dir.Path() / ("plain" + std::to_string(n)), o, count, false, json_bytes, json);
            const double gz = static_cast<double>(packed.size());
            std::printf("| %zu | JSON %s KiB, its gzip %s KiB (%.2fx) | | | | | |\n", count,
                        Fixed(static_cast<double>(json_bytes) / 1024, 1).c_str(), Fixed(gz / 1024, 1).c_str(),
                        static_cast<double>(json_bytes) / gz);
            PrintRow("gzip sent once (reference)", count, once, gz, once);
            PrintRow("escucha, push gzip", count, gzip, gz, once);
            PrintRow("escucha, push uncompressed", count, plain, gz, once);
            if (count == o.drop_notes) drop_gz = gz;
            ++n;
            std::fflush(stdout);
        }
        if (o.drop_notes > 0) {
            if (drop_gz == 0) {
                // The size of the compressed push, to know where to cut.
                Hq hq(dir.Path() / "size-hq");
                auto vault = NoteVault(dir.Path() / "size-vault", hq, "http://127.0.0.1:" + std::to_string(hq.Port()),
                                       o.drop_notes, o.seed + 1);
                std::string json;
                for (const auto& body : PushBodies(vault)) json += body;
                drop_gz = static_cast<double>(sync::GzipCompress(json).value().size());
            }
            DropMidPush(dir.Path() / "drop", o, drop_gz);
        }
        if (o.edit_notes > 0) EditsAfterPush(dir.Path() / "edits", o, o.edit_notes);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "escucha-bench-wire: %s\n", e.what());
        return 1;
    }
}
