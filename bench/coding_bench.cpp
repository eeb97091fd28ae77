// Excerpts of one code across 100,000 codings (issue 12's goal: under 50 ms
// in Release). Run: escucha-bench-coding [codings] [codes]
//
//   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DESCUCHA_BUILD_TESTS=OFF
//   cmake --build build-bench --target escucha-bench-coding && build-bench/bench/escucha-bench-coding
//
// First figures (in-memory vault, one core, built by hand with -O2): 2,000
// excerpts of a code among 100,000 codings in about 21 ms; 10,000 in about
// 100 ms (about 10 µs each).
#include "escucha/interpret/coding.h"
#include "escucha/interpret/interpretation_records.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace escucha;
using storage::Json;

int main(int argc, char** argv) {
    const int codings = argc > 1 ? std::atoi(argv[1]) : 100000;
    const int codes = argc > 2 ? std::atoi(argv[2]) : 50;
    const int sources = 1000;
    storage::Database db(":memory:", true);
    storage::RegisterSearchFunctions(db);
    storage::HybridLogicalClock clock;
    storage::RecordStore store(db, interpret::AllRecordTypes(), clock, {"bench", "dev"});
    store.EnsureSchema();
    const std::string project = store.Create("project", {{"name", "Bench"}})["id"];
    Json records = Json::array();
    std::vector<std::string> people, texts, code_ids;
    const auto t0 = std::chrono::steady_clock::now();
    store.Atomically([&] {
        for (int i = 0; i < 100; ++i)
            people.push_back(store.Create("participant", {{"project_id", project},
                                                          {"pseudonym", "P" + std::to_string(i)},
                                                          {"age_band", "25_34"},
                                                          {"territory", "Cauca"},
                                                          {"vulnerability_groups", {"migrante"}}})["id"]);
        std::string text;
        for (int w = 0; w < 400; ++w) text += "palabra" + std::to_string(w) + " ";
        for (int i = 0; i < sources; ++i)
            texts.push_back(store.Create("narrative", {{"project_id", project},
                                                       {"title", "N" + std::to_string(i)},
                                                       {"text", text},
                                                       {"teller_ids", {people[i % people.size()]}}})["id"]);
        for (int i = 0; i < codes; ++i)
            code_ids.push_back(
                store.Create("code", {{"project_id", project}, {"name", "C" + std::to_string(i)}})["id"]);
        for (int i = 0; i < codings; ++i)
            store.Create("coding", {{"project_id", project},
                                    {"code_id", code_ids[i % codes]},
                                    {"narrative_id", texts[i % sources]},
                                    {"start", 0},
                                    {"end", 8},
                                    {"excerpt", "palabra0"}});
    });
    const auto t1 = std::chrono::steady_clock::now();
    std::printf("built %d codings over %d sources, %d codes in %.1f s\n", codings, sources, codes,
                std::chrono::duration<double>(t1 - t0).count());
    for (int round = 0; round < 5; ++round) {
        const auto a = std::chrono::steady_clock::now();
        const auto excerpts = interpret::Excerpts(store, code_ids[round % codes]);
        const auto b = std::chrono::steady_clock::now();
        std::printf("Excerpts(code %d): %zu excerpts in %.2f ms\n", round, excerpts.size(),
                    std::chrono::duration<double, std::milli>(b - a).count());
    }
    return 0;
}
