// Excerpts of one code across 100,000 codings (goal: under 50 ms in
// Release), and the code x group matrix the results screen draws, counted
// over all of them. Run: escucha-bench-coding [codings] [codes]
//
//   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DESCUCHA_BUILD_TESTS=OFF
//   cmake --build build-bench --target escucha-bench-coding && build-bench/bench/escucha-bench-coding
//
// First figures (in-memory vault, one core, built by hand with -O2): 2,000
// excerpts of a code among 100,000 codings in about 21 ms; 10,000 in about
// 100 ms (about 10 µs each).
#include "escucha/interpret/analysis.h"
#include "escucha/interpret/coding.h"
#include "escucha/interpret/interpretation_records.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace escucha;
using storage::Json;

namespace {

/// `prefix` followed by `n` ("P7").
std::string Named(const char* prefix, int n) {
    std::string s = prefix;
    s += std::to_string(n);
    return s;
}

} // namespace

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
                                                          {"pseudonym", Named("P", i)},
                                                          {"age_band", i % 3 == 0 ? "25_34" : "45_54"},
                                                          {"gender", i % 2 == 0 ? "mujer" : "hombre"},
                                                          {"territory", Named("T", i % 12)},
                                                          {"vulnerability_groups", {"migrante", Named("G", i % 7)}}})["id"]);
        std::string text;
        for (int w = 0; w < 400; ++w) text += Named("palabra", w) + " ";
        for (int i = 0; i < sources; ++i)
            texts.push_back(store.Create("narrative", {{"project_id", project},
                                                       {"title", Named("N", i)},
                                                       {"text", text},
                                                       {"teller_ids", {people[i % people.size()]}}})["id"]);
        for (int i = 0; i < codes; ++i)
            code_ids.push_back(
                store.Create("code", {{"project_id", project}, {"name", Named("C", i)}})["id"]);
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
    // The results screen: every coding counted by code and by one group field.
    for (const auto& field : interpret::GroupFields()) {
        const auto a = std::chrono::steady_clock::now();
        const auto m = interpret::CodeGroupMatrix(store, project, field);
        const auto b = std::chrono::steady_clock::now();
        std::printf("CodeGroupMatrix(%s): %lld codings, %zu codes x %zu groups in %.1f ms\n", field.c_str(),
                    static_cast<long long>(m.codings), m.codes.size(), m.groups.size(),
                    std::chrono::duration<double, std::milli>(b - a).count());
    }
    return 0;
}
