#include "escucha/capture/listening_records.h"
#include "escucha/capture/operations.h"

#include <catch2/catch.hpp>

using namespace escucha;
using storage::Json;

namespace {

struct Fixture {
    storage::Catalogue catalogue;
    storage::Database db{":memory:", true};
    storage::HybridLogicalClock clock;
    std::optional<storage::RecordStore> store;
    std::string project;

    Fixture() {
        capture::AddListeningTypes(catalogue);
        storage::RegisterSearchFunctions(db);
        store.emplace(db, catalogue, clock, storage::WriterIdentity{"ana", "dev"});
        store->EnsureSchema();
        project = store->Create("project", {{"name", "Café"}})["id"];
    }
    Json Add(const std::string& type, Json fields) {
        fields["project_id"] = project;
        return store->Create(type, fields);
    }
};

} // namespace

TEST_CASE("Participants get a random code and a pseudonym first", "[capture]") {
    Fixture f;
    const auto a = f.Add("participant", {{"pseudonym", "Rosa"}});
    const auto b = f.Add("participant", {{"pseudonym", "Luz"}, {"referred_by", a["id"]}});
    CHECK(a["code"].get<std::string>().rfind("P-", 0) == 0);
    CHECK(a["code"].get<std::string>().size() == 8);
    CHECK(a["code"] != b["code"]);
    CHECK_THROWS_WITH(f.store->Update(a["id"], {{"referred_by", a["id"]}}), Catch::Contains("refer themselves"));
    CHECK_THROWS_WITH(f.Add("participant", {{"pseudonym", "X"}, {"age_band", "30"}}), Catch::Contains("25_34"));
}

TEST_CASE("Identity links stay off the journal and out of search by default", "[capture]") {
    Fixture f;
    const auto p = f.Add("participant", {{"pseudonym", "Rosa"}});
    const auto journal = f.store->PendingJournalCount();
    f.Add("identity_link", {{"participant_id", p["id"]},
                            {"full_name", "Rosa Elvira Quiñónez"},
                            {"contact", "+57 300"},
                            {"notes", "llamar al Quiñónez"}});
    CHECK(f.store->PendingJournalCount() == journal);
    CHECK(f.store->Search("quinonez").empty());
}

TEST_CASE("Consent status and withdrawal date go together", "[capture]") {
    Fixture f;
    const auto p = f.Add("participant", {{"pseudonym", "Rosa"}});
    const Json base = {{"participant_id", p["id"]},
                       {"script_version", "v2"},
                       {"language", "es"},
                       {"mode", "oral_recorded"},
                       {"scopes", {"record_audio", "transcribe"}}};
    const auto c = f.Add("consent", base);
    CHECK(c["status"] == "given");
    CHECK_THROWS_WITH(f.store->Update(c["id"], {{"status", "withdrawn"}}), Catch::Contains("withdrawn_at"));
    CHECK(f.store->Update(c["id"], {{"status", "withdrawn"}, {"withdrawn_at", "2026-02-01"}})["rev"] == 2);
    Json bad = base;
    bad["scopes"] = {"sell_data"};
    CHECK_THROWS_WITH(f.Add("consent", bad), Catch::Contains("quote_verbatim"));
}

TEST_CASE("Times inside interviews and transcripts run forwards", "[capture]") {
    Fixture f;
    CHECK_THROWS_WITH(
        f.Add("interview",
              {{"kind", "informal"}, {"started_at", "2026-03-02T10:00"}, {"ended_at", "2026-03-02T09:00"}}),
        Catch::Contains("ended_at"));
    const auto i = f.Add(
        "interview", {{"kind", "life_journey"}, {"started_at", "2026-03-02T10:00"}, {"ended_at", "2026-03-02T11:30"}});
    CHECK(i["status"] == "draft");
    CHECK_THROWS_WITH(
        f.Add("transcript_segment", {{"interview_id", i["id"]}, {"start_ms", 5000}, {"end_ms", 4000}, {"text", "x"}}),
        Catch::Contains("end_ms"));
    CHECK_THROWS_WITH(
        f.Add("transcript_segment", {{"interview_id", i["id"]}, {"start_ms", -1}, {"end_ms", 4000}, {"text", "x"}}),
        Catch::Contains("negative"));
    const auto s = f.Add("transcript_segment", {{"interview_id", i["id"]},
                                                {"start_ms", 0},
                                                {"end_ms", 4000},
                                                {"speaker", "Rosa"},
                                                {"text", "Trabajamos por arroba."}});
    CHECK(f.store->Search("arroba").at(0).id == s["id"]);
}

TEST_CASE("Social-media items need text or a paraphrase", "[capture]") {
    Fixture f;
    CHECK_THROWS_WITH(f.Add("social_media_item", {{"platform", "facebook"}}), Catch::Contains("paraphrase"));
    CHECK_NOTHROW(
        f.Add("social_media_item", {{"platform", "facebook"}, {"paraphrase", "Una recolectora se queja del pago."}}));
}

TEST_CASE("Narratives and field notes are searchable by every word", "[capture]") {
    Fixture f;
    const auto n = f.Add("narrative", {{"title", "El retorno"},
                                       {"text", "Volvimos a la vereda después de la cosecha en el Huila."},
                                       {"kind", "emergent"}});
    const auto note =
        f.Add("field_note", {{"kind", "say_vs_do"}, {"text", "Dicen que no trabajan niños; vi niños cargando."}});
    CHECK(f.store->Search("huila").at(0).id == n["id"]);
    CHECK(f.store->Search("ninos").at(0).id == note["id"]);
    CHECK(note["kind"] == "say_vs_do");
}

TEST_CASE("A form is saved with every field that fits; the others are named with their code", "[capture]") {
    Fixture f;
    const auto saved = capture::SaveWhatFits(*f.store, "interview", "",
                                             {{"project_id", f.project},
                                              {"kind", "informal"},
                                              {"title", "En la vereda"},
                                              {"started_at", "el martes"},
                                              {"ended_at", "2026-13-45"}});
    CHECK(saved.stored["title"] == "En la vereda");
    CHECK_FALSE(saved.stored.contains("started_at"));
    REQUIRE(saved.refused.size() == 2);
    CHECK(saved.refused.at("started_at").code == storage::errc::NOT_A_DATE);
    CHECK(saved.refused.at("started_at").params["field"] == "started_at");
    CHECK(saved.refused.count("ended_at") == 1);
    const std::string id = saved.stored["id"];

    // An edit keeps what fits too.
    const auto edited = capture::SaveWhatFits(*f.store, "interview", id, {{"title", "Otra"}, {"kind", "no such kind"}});
    CHECK(edited.stored["title"] == "Otra");
    CHECK(edited.refused.count("kind") == 1);
    CHECK(f.store->Get(id)->at("kind") == "informal");

    // A new record without what it must have is refused whole, and nothing is stored.
    const auto before = f.store->List("interview").size();
    CHECK_THROWS_AS(capture::SaveWhatFits(*f.store, "interview", "", {{"project_id", f.project}, {"title", "x"}}),
                    storage::RecordError);
    CHECK(f.store->List("interview").size() == before);
}

TEST_CASE("A consent covers a scope only while given with it and never withdrawn", "[capture]") {
    Fixture f;
    const auto rosa = f.Add("participant", {{"pseudonym", "Rosa"}});
    const auto luz = f.Add("participant", {{"pseudonym", "Luz"}});
    const auto mar = f.Add("participant", {{"pseudonym", "Mar"}});
    const Json base = {{"script_version", "1"}, {"language", "es"}, {"mode", "written"}};
    auto consent = [&](const Json& who, Json scopes, const std::string& status = "given") {
        Json c = base;
        c["participant_id"] = who["id"];
        c["scopes"] = std::move(scopes);
        c["status"] = status;
        if (status == "withdrawn") c["withdrawn_at"] = "2026-03-01";
        return f.Add("consent", c);
    };
    consent(rosa, {"record_audio", "quote_verbatim"});
    consent(luz, {"record_audio"});
    consent(mar, {"quote_verbatim"});
    CHECK(capture::ParticipantConsents(*f.store, rosa["id"], capture::SCOPE_QUOTE_VERBATIM));
    CHECK_FALSE(capture::ParticipantConsents(*f.store, luz["id"], capture::SCOPE_QUOTE_VERBATIM));
    CHECK(capture::ParticipantConsents(*f.store, mar["id"], capture::SCOPE_QUOTE_VERBATIM));
    // A later withdrawal revokes what an earlier consent gave.
    consent(mar, {"quote_verbatim"}, "withdrawn");
    CHECK_FALSE(capture::ParticipantConsents(*f.store, mar["id"], capture::SCOPE_QUOTE_VERBATIM));
    CHECK(capture::ConsentsOf(*f.store, mar["id"]).size() == 2);
    // Nobody asked: nothing covered.
    const auto nadie = f.Add("participant", {{"pseudonym", "Nadie"}});
    CHECK_FALSE(capture::ParticipantConsents(*f.store, nadie["id"], capture::SCOPE_QUOTE_VERBATIM));
    CHECK_FALSE(capture::ConsentCovers({Json{{"status", "refused"}, {"scopes", {"quote_verbatim"}}}}, "quote_verbatim"));
}
