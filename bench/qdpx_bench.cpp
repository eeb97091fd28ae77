// A REFI-QDA project (.qdpx) of 1,000 interviews with 50,000 codings against
// zipping the same texts plainly with libzip, in one run (issue goal: the
// export takes at most twice as long). Run: escucha-bench-qdpx [sources] [codings]
//
//   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DESCUCHA_BUILD_TESTS=OFF
//   cmake --build build-bench --target escucha-bench-qdpx && build-bench/bench/escucha-bench-qdpx
//
// Both sides deflate at libzip's default level and build the archive in
// memory. The export is timed from the records already read (as
// ProjectRecords) and, separately, with the read from the vault.
#include "escucha/interpret/coding.h"
#include "escucha/interpret/exchange.h"
#include "escucha/interpret/interpretation_records.h"

#include <zip.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <stdexcept>

using namespace escucha;
using storage::Json;

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

/// The texts zipped plainly: one deflated entry per text, in memory.
size_t PlainZip(const std::vector<std::string>& names, const std::vector<std::string>& texts) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
    zip_source_keep(buffer);
    zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
    if (!archive) throw std::runtime_error("zip");
    for (size_t i = 0; i < texts.size(); ++i) {
        zip_source_t* s = zip_source_buffer(archive, texts[i].data(), texts[i].size(), 0);
        const auto index = zip_file_add(archive, names[i].c_str(), s, ZIP_FL_ENC_UTF_8);
        zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_DEFLATE, 0);
    }
    if (zip_close(archive) != 0) throw std::runtime_error("zip");
    zip_source_open(buffer);
    zip_source_seek(buffer, 0, SEEK_END);
    const auto size = zip_source_tell(buffer);
    std::string out(static_cast<size_t>(size), '\0');
    zip_source_seek(buffer, 0, SEEK_SET);
    zip_source_read(buffer, out.data(), static_cast<zip_uint64_t>(size));
    zip_source_close(buffer);
    zip_source_free(buffer);
    zip_error_fini(&error);
    return out.size();
}

double Median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    const int sources = argc > 1 ? std::atoi(argv[1]) : 1000;
    const int codings = argc > 2 ? std::atoi(argv[2]) : 50000;
    const int codes = 60;
    storage::Database db(":memory:", true);
    storage::RegisterSearchFunctions(db);
    storage::HybridLogicalClock clock;
    storage::RecordStore store(db, interpret::AllRecordTypes(), clock, {"bench", "dev"});
    store.EnsureSchema();
    const std::string project = store.Create("project", {{"name", "Bench"}})["id"];
    std::vector<std::string> people, ids, texts, names, code_ids;
    const auto t0 = std::chrono::steady_clock::now();
    store.Atomically([&] {
        for (int i = 0; i < 100; ++i) {
            people.push_back(store.Create("participant", {{"project_id", project},
                                                          {"pseudonym", "P" + std::to_string(i)},
                                                          {"age_band", "25_34"},
                                                          {"territory", "Nariño"},
                                                          {"vulnerability_groups", {"migrante"}}})["id"]);
            store.Create("consent", {{"project_id", project},
                                     {"participant_id", people.back()},
                                     {"script_version", "v1"},
                                     {"language", "es"},
                                     {"mode", "written"},
                                     {"scopes", {"quote_verbatim"}}});
        }
        for (int i = 0; i < codes; ++i)
            code_ids.push_back(store.Create("code", {{"project_id", project},
                                                     {"name", "Código " + std::to_string(i)},
                                                     {"kind", "need"},
                                                     {"colour", "#1f77b4"}})["id"]);
        // An interview of about 12 KiB: words with accents, lines, an emoji now and then.
        for (int i = 0; i < sources; ++i) {
            std::string text;
            for (int w = 0; text.size() < 12000; ++w)
                text += (w % 97 == 0 ? "\n" : "") + std::string(w % 13 == 0 ? "cosechá " : "palabra") +
                        std::to_string((w * 7 + i) % 1000) + (w % 211 == 0 ? " 😀 " : " ");
            const std::string id = store.Create("narrative", {{"project_id", project},
                                                              {"title", "Entrevista " + std::to_string(i)},
                                                              {"text", text},
                                                              {"teller_ids", {people[i % people.size()]}}})["id"];
            ids.push_back(id);
            names.push_back("sources/" + id + ".txt");
            texts.push_back(text);
        }
        for (int i = 0; i < codings; ++i) {
            const int s = i % sources;
            const int64_t length = interpret::CodePointLength(texts[s]);
            const int64_t start = (static_cast<int64_t>(i) * 131) % (length - 80);
            const int64_t end = start + 20 + i % 60;
            store.Create("coding", {{"project_id", project},
                                    {"code_id", code_ids[i % codes]},
                                    {"narrative_id", ids[s]},
                                    {"start", start},
                                    {"end", end},
                                    {"excerpt", interpret::CodePointSlice(texts[s], start, end)},
                                    {"memo", i % 10 == 0 ? "una nota, con \"comillas\"" : ""}});
        }
    });
    std::printf("built %d interviews, %d codings in %.1f s\n", sources, codings, Seconds(t0));

    std::vector<double> plain, exported, with_read;
    size_t plain_bytes = 0, qdpx_bytes = 0;
    for (int round = 0; round < 5; ++round) {
        auto a = std::chrono::steady_clock::now();
        plain_bytes = PlainZip(names, texts);
        plain.push_back(Seconds(a));

        a = std::chrono::steady_clock::now();
        const auto records = interpret::ProjectRecords::FromStore(store, project);
        const double read = Seconds(a);
        a = std::chrono::steady_clock::now();
        const auto file = interpret::ExportQdpx(records);
        exported.push_back(Seconds(a));
        with_read.push_back(read + exported.back());
        qdpx_bytes = file.bytes.size();
        if (file.summary.codings != codings) std::printf("warning: %lld codings exported\n",
                                                         static_cast<long long>(file.summary.codings));
    }
    const double p = Median(plain), e = Median(exported), r = Median(with_read);
    std::printf("plain zip of the texts: %.3f s (%zu bytes)\n", p, plain_bytes);
    std::printf("qdpx export:            %.3f s (%zu bytes), %.2fx plain\n", e, qdpx_bytes, e / p);
    std::printf("qdpx with the vault read: %.3f s, %.2fx plain\n", r, r / p);
    return 0;
}
