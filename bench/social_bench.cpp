// A WhatsApp chat export of 100,000 messages, made up in memory: reading it
// alone (the floor) against reading and storing it with ImportSocial, in an
// in-memory vault and in an encrypted vault on disk, and how much the vault
// on disk grows against the export's size.
// Run: escucha-bench-social [messages]
//
//   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DESCUCHA_BUILD_TESTS=OFF
//   cmake --build build-bench --target escucha-bench-social && build-bench/bench/escucha-bench-social
#include "escucha/capture/listening_records.h"
#include "escucha/capture/social_import.h"
#include "escucha/storage/vault.h"

#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

using namespace escucha;
namespace fs = std::filesystem;

namespace {

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

/// A chat of `n` messages among eight people, Android in Spanish with a
/// 24-hour clock: one message a minute or so, some on several lines, some
/// with a number, a handle or an address to mask, some media.
std::string MakeChat(int n) {
    static const char* const AUTHORS[] = {"Rosa Quiñónez", "Tomás Ruiz",  "Doña Eulalia",    "+57 312 555 0101",
                                          "Julián Ortiz",  "María Peña", "Cooperativa Sur", "Ñato Gómez"};
    static const char* const WORDS[] = {
        "¿Llegaron las semillas de maíz a la vereda?",
        "El capataz pesó la arroba con la báscula vieja otra vez, y nos pagó con vales",
        "Mañana hay minga para arreglar el camino, lleven machete y almuerzo",
        "Ya cosechamos el café, pero el intermediario paga 1.500.000 por carga y no alcanza",
        "Llueve desde anoche 🌧️ y el río creció, no se puede pasar",
        "Gracias a todos por venir a la reunión del comité 🙏",
        "¿Alguien sabe si el banco agrario sigue dando créditos para abono?",
        "Los niños no fueron a la escuela porque no hubo transporte",
        "Mi hija se fue a trabajar a la ciudad, allá le pagan por día",
        "Hay que llevar la cédula y el certificado de la junta",
    };
    std::mt19937 random(7);
    std::string out;
    out.reserve(static_cast<size_t>(n) * 110);
    int day = 1, month = 1, year = 2023, minute = 6 * 60;
    char header[64];
    for (int i = 0; i < n; ++i) {
        minute += 1 + static_cast<int>(random() % 3);
        if (minute >= 22 * 60) {
            minute = 6 * 60;
            if (++day > 28) {
                day = 1;
                if (++month > 12) {
                    month = 1;
                    ++year;
                }
            }
        }
        std::snprintf(header, sizeof header, "%02d/%02d/%04d %02d:%02d - ", day, month, year, minute / 60,
                      minute % 60);
        out += header;
        out += AUTHORS[random() % 8];
        out += ": ";
        const auto kind = random() % 20;
        if (kind == 0) {
            out += "PTT-20230101-WA" + std::to_string(1000 + i % 9000) + ".opus (archivo adjunto)";
        } else if (kind == 1) {
            out += "<Multimedia omitido>";
        } else {
            out += WORDS[random() % 10];
            if (kind == 2) out += ", llámenme al 300 " + std::to_string(100 + i % 900) + " 4567";
            if (kind == 3) out += " @vecino_" + std::to_string(i % 97);
            if (kind == 4) out += " o escriban a junta" + std::to_string(i % 13) + "@example.org";
            if (kind == 5) out += "\ny otra línea más\ny la última";
        }
        out += '\n';
    }
    return out;
}

int64_t DirBytes(const fs::path& dir) {
    int64_t total = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) total += static_cast<int64_t>(e.file_size());
    return total;
}

capture::AuthorChoices Generated() {
    capture::AuthorChoices c;
    c.generate = true;
    return c;
}

} // namespace

int main(int argc, char** argv) {
    if (sodium_init() < 0) return 1;
    const int n = argc > 1 ? std::atoi(argv[1]) : 100000;
    const std::string chat = MakeChat(n);
    const std::string file = "Chat de WhatsApp con Junta vecinal.txt";
    std::printf("export: %d messages, %.1f MiB\n", n, static_cast<double>(chat.size()) / (1 << 20));

    // The floor: reading alone, best of three.
    double parse = 1e9;
    size_t read = 0;
    for (int round = 0; round < 3; ++round) {
        const auto a = std::chrono::steady_clock::now();
        const auto parsed = capture::ParseSocialExport(chat, file);
        const auto b = std::chrono::steady_clock::now();
        parse = std::min(parse, Seconds(a, b));
        read = parsed.messages.size();
    }
    std::printf("parse alone:             %8.3f s  %9.0f messages/s  (%zu messages)\n", parse, n / parse, read);

    storage::Catalogue catalogue;
    capture::AddListeningTypes(catalogue);
    {
        storage::Database db(":memory:", true);
        storage::RegisterSearchFunctions(db);
        storage::HybridLogicalClock clock;
        storage::RecordStore store(db, catalogue, clock, {"bench", "dev"});
        store.EnsureSchema();
        const std::string project = store.Create("project", {{"name", "Bench"}})["id"];
        const auto a = std::chrono::steady_clock::now();
        const auto report = capture::ImportSocial(store, project, capture::ParseSocialExport(chat, file), Generated());
        const auto b = std::chrono::steady_clock::now();
        const double t = Seconds(a, b);
        std::printf("parse + import, memory:  %8.3f s  %9.0f messages/s  (%lld stored; %.1fx the floor)\n", t, n / t,
                    static_cast<long long>(report.added), t / parse);
    }

    const fs::path dir = fs::temp_directory_path() / ("escucha-bench-social-" + std::to_string(getpid()));
    fs::remove_all(dir);
    const storage::Passphrase passphrase("frase de paso del banco de pruebas");
    std::string project;
    {
        // The cheapest key derivation: the benchmark is about the import, not the key.
        auto vault = storage::Vault::Create(dir / "vault", passphrase, catalogue,
                                            {"bench", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN});
        project = vault.Records().Create("project", {{"name", "Bench"}})["id"];
    }
    const int64_t before = DirBytes(dir);
    double t = 0;
    int64_t added = 0;
    {
        auto vault = storage::Vault::Open(dir / "vault", passphrase, catalogue);
        const auto a = std::chrono::steady_clock::now();
        const auto report =
            capture::ImportSocial(vault.Records(), project, capture::ParseSocialExport(chat, file), Generated());
        const auto b = std::chrono::steady_clock::now();
        t = Seconds(a, b);
        added = report.added;
    } // closed: its journal folded into the database
    const int64_t after = DirBytes(dir);
    std::printf("parse + import, on disk: %8.3f s  %9.0f messages/s  (%lld stored; %.1fx the floor)\n", t, n / t,
                static_cast<long long>(added), t / parse);
    std::printf("vault growth: %.1f MiB for a %.1f MiB export (%.1fx)\n",
                static_cast<double>(after - before) / (1 << 20), static_cast<double>(chat.size()) / (1 << 20),
                static_cast<double>(after - before) / static_cast<double>(chat.size()));
    fs::remove_all(dir);
    return 0;
}
