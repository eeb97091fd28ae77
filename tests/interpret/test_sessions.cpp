#include "escucha/capture/operations.h"
#include "escucha/interpret/codebook.h"
#include "escucha/interpret/coding.h"
#include "escucha/interpret/profiles.h"
#include "escucha/interpret/sessions.h"

#include "interpret/project_store.h"

#include <catch2/catch.hpp>

using namespace escucha;
using storage::Json;

namespace {

template <typename F>
std::string ErrorCode(F&& work) {
    try {
        work();
    } catch (const storage::RecordError& e) {
        return e.Code();
    }
    return {};
}

struct Vault : test::ProjectStore {
    std::string Profile(const std::string& name) {
        return store.Create("profile", {{"project_id", project},
                                        {"kind", "collective"},
                                        {"name", name},
                                        {"context", "Cosecha de café"},
                                        {"needs", {"guardería"}}})["id"];
    }
    Json Session(const Json& profiles, const Json& extra = Json::object()) {
        Json fields = {{"kind", "contrast"},
                       {"title", "Contraste en la alcaldía"},
                       {"held_on", "2026-04-02"},
                       {"place_label", "Alcaldía"},
                       {"facilitators", {"Ana", "Beto"}},
                       {"community_count", 12},
                       {"public_sector_count", 3},
                       {"education_count", 1},
                       {"profile_ids", profiles}};
        fields.update(extra);
        return interpret::CreateSession(store, project, fields);
    }
};

} // namespace

TEST_CASE("A session keeps anonymous counts and the profiles presented", "[interpret][sessions]") {
    Vault v;
    const auto a = v.Profile("Recolectoras");
    const auto b = v.Profile("Cortadores");
    const auto session = v.Session({a, b});
    CHECK(session["community_count"] == 12);
    CHECK(session["private_sector_count"] == 0); // a count not given is none
    CHECK(session["facilitators"] == Json({"Ana", "Beto"}));
    CHECK(v.store.Get(a)->value("status", "") == "presented");
    CHECK(interpret::SessionCompositionFields().size() == 6);
    CHECK(ErrorCode([&] { (void)v.Session({a}, {{"civil_society_count", -1}}); }) == storage::errc::NOT_NEGATIVE);
    CHECK(ErrorCode([&] { (void)v.Session({a}, {{"kind", "party"}}); }) == storage::errc::UNKNOWN_CHOICE);
    CHECK(ErrorCode([&] { (void)v.Session(Json::array({session["id"]})); }) == storage::errc::REFERENCE_WRONG_TYPE);
}

TEST_CASE("Feedback is recorded per profile in one transaction, and a refinement is a new version",
          "[interpret][sessions]") {
    Vault v;
    const auto a = v.Profile("Recolectoras");
    const auto b = v.Profile("Cortadores");
    const auto c = v.Profile("No presentado");
    const std::string session = v.Session({a, b})["id"];

    // A refused item leaves nothing of the others.
    const auto before = v.store.Count(interpret::FEEDBACK_TYPE);
    CHECK(ErrorCode([&] {
              (void)interpret::RecordFeedback(v.store, session,
                                              {{a, {{"recognised", "yes"}}}, {c, {{"recognised", "no"}}}});
          }) == storage::errc::NOT_PRESENTED);
    CHECK(ErrorCode([&] {
              (void)interpret::RecordFeedback(v.store, session, {{a, {{"recognised", "yes"}}}, {b, Json::object()}});
          }) == storage::errc::EMPTY_FEEDBACK);
    CHECK(ErrorCode([&] {
              (void)interpret::RecordFeedback(v.store, session, {{a, {{"exists", "maybe"}}}});
          }) == storage::errc::UNKNOWN_CHOICE);
    CHECK(v.store.Count(interpret::FEEDBACK_TYPE) == before);

    const auto recorded = interpret::RecordFeedback(
        v.store, session,
        {{b, {{"recognised", "partly"}, {"exists", "yes"}, {"missing", "Los que migran solos"}}},
         {a, {{"recognised", "yes"}, {"refinement", "Añadir el cuidado de los hijos"}}}});
    REQUIRE(recorded.size() == 2);
    CHECK(recorded[0]["profile_id"] == b);
    CHECK(recorded[0]["missing"] == "Los que migran solos");
    // Answering again changes the same record.
    const auto again = interpret::RecordFeedback(v.store, session, {{a, {{"superfluous", "La radio"}}}});
    CHECK(again[0]["id"] == recorded[1]["id"]);
    CHECK(again[0]["recognised"] == "yes");
    CHECK(again[0]["superfluous"] == "La radio");
    const auto all = interpret::FeedbackOf(v.store, session);
    REQUIRE(all.size() == 2);
    CHECK(all[0]["profile_id"] == a); // in the session's order of profiles
    CHECK(all[1]["profile_id"] == b);

    // The profile's quotes follow it into its new version.
    const auto code = interpret::CreateCode(v.store, v.project, {{"name", "Cuidado"}, {"kind", "need"}})["id"];
    const auto note = v.store.Create("field_note", {{"project_id", v.project}, {"text", "Los niños en el surco."}});
    const auto coding = interpret::CodePassage(v.store, {note["id"], 0, 9}, {code}).at(0)["id"].get<std::string>();
    (void)interpret::AddQuote(v.store, a, coding, "Muestra el cuidado");

    const auto feedback_a = recorded[1]["id"].get<std::string>();
    CHECK(ErrorCode([&] { (void)interpret::RefineProfile(v.store, b, feedback_a); }) ==
          storage::errc::FEEDBACK_OTHER_PROFILE);
    const auto v2 =
        interpret::RefineProfile(v.store, a, feedback_a, {{"needs", {"guardería", "cuidado de los hijos"}}});
    CHECK(v2["version"] == 2);
    CHECK(v2["status"] == "refined");
    CHECK(v2["previous_version_id"] == a);
    CHECK(v2["feedback_id"] == feedback_a);
    CHECK(v2["context"] == "Cosecha de café");
    CHECK(v2["needs"].size() == 2);
    const auto old = *v.store.Get(a);
    CHECK(old["version"] == 1); // the old version stays as it was
    CHECK(old["needs"].size() == 1);
    CHECK(old["status"] == "presented");
    const auto quotes = interpret::QuotesOf(v.store, v2["id"]);
    REQUIRE(quotes.size() == 1);
    CHECK(quotes[0].coding_id == coding);
    CHECK(quotes[0].note == "Muestra el cuidado");
    CHECK(interpret::QuotesOf(v.store, a).size() == 1);

    CHECK(ErrorCode([&] { (void)interpret::RefineProfile(v.store, a, feedback_a); }) == storage::errc::ALREADY_REFINED);
    const auto versions = interpret::ProfileVersions(v.store, a);
    REQUIRE(versions.size() == 2);
    CHECK(versions[1]["id"] == v2["id"]);
    CHECK(interpret::ProfileVersions(v.store, v2["id"]).front()["id"] == a);
}

TEST_CASE("A session that showed a withdrawn participant's narrative is flagged for review", "[interpret][sessions]") {
    Vault v;
    const std::string rosa = v.store.Create("participant", {{"project_id", v.project}, {"pseudonym", "Rosa"}})["id"];
    const std::string n = v.store.Create(
        "narrative", {{"project_id", v.project}, {"title", "R"}, {"text", "x"}, {"teller_ids", {rosa}}})["id"];
    const std::string other =
        v.store.Create("narrative", {{"project_id", v.project}, {"title", "O"}, {"text", "y"}})["id"];
    const std::string session = v.Session({v.Profile("P")}, {{"narrative_ids", {n, other}}})["id"];
    (void)capture::WithdrawConsent(v.store, rosa, "2026-05-01");
    const auto flagged = *v.store.Get(session);
    CHECK(flagged.value("needs_review", false));
    CHECK(flagged["narrative_ids"] == Json({other}));
}
