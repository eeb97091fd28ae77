#include "escucha/capture/listening_records.h"
#include "escucha/interpret/interpretation_records.h"

#include <catch2/catch.hpp>

using namespace escucha;
using storage::Json;

TEST_CASE("Profiles link participants and narratives and keep their lists", "[interpret]") {
    storage::Catalogue catalogue;
    capture::AddListeningTypes(catalogue);
    interpret::AddInterpretationTypes(catalogue);
    storage::Database db(":memory:", true);
    storage::RegisterSearchFunctions(db);
    storage::HybridLogicalClock clock;
    storage::RecordStore store(db, catalogue, clock, {"ana", "dev"});
    store.EnsureSchema();
    const std::string p = store.Create("project", {{"name", "Café"}})["id"];
    const std::string rosa = store.Create("participant", {{"project_id", p}, {"pseudonym", "Rosa"}})["id"];
    const std::string luz = store.Create("participant", {{"project_id", p}, {"pseudonym", "Luz"}})["id"];
    const std::string n = store.Create("narrative", {{"project_id", p}, {"title", "Cosecha"}, {"text", "..."}})["id"];

    const auto profile = store.Create("profile", {{"project_id", p},
                                                  {"kind", "collective"},
                                                  {"name", "Recolectoras migrantes"},
                                                  {"participant_ids", {rosa, luz}},
                                                  {"narrative_ids", {n}},
                                                  {"needs", {"guardería durante la cosecha"}},
                                                  {"problems", {"pago por arroba sin báscula confiable"}}});
    CHECK(profile["status"] == "draft");
    CHECK(profile["version"] == 1);
    CHECK(store.Search("guarderia").at(0).id == profile["id"]);
    CHECK(store.Search("bascula").at(0).id == profile["id"]);

    CHECK_THROWS_WITH(
        store.Create("profile",
                     {{"project_id", p}, {"kind", "individual"}, {"name", "Rosa"}, {"participant_ids", {rosa, luz}}}),
        Catch::Contains("one participant"));
    CHECK_THROWS_WITH(store.Update(profile["id"], {{"version", 0}}), Catch::Contains("1 or more"));
    CHECK_THROWS_WITH(store.Update(profile["id"], {{"narrative_ids", {rosa}}}),
                      Catch::Contains("is a participant, not a narrative"));
    CHECK_THROWS_WITH(store.Delete(n), Catch::Contains("still refer"));
    const auto refined = store.Update(profile["id"], {{"status", "refined"}, {"version", 2}});
    CHECK(refined["rev"] == 2);
}
