#include "escucha/capture/operations.h"
#include "escucha/interpret/codebook.h"
#include "escucha/interpret/coding.h"
#include "escucha/interpret/profiles.h"

#include "interpret/project_store.h"

#include <catch2/catch.hpp>

#include <map>

using namespace escucha;
using storage::Json;

namespace {

/// The code of the RecordError `work` throws, or "" when it throws none.
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
    std::string code = interpret::CreateCode(store, project, {{"name", "Tierra"}, {"kind", "need"}})["id"];

    /// A participant with a consent given for `scopes`.
    std::string Person(const std::string& pseudonym, const Json& scopes) {
        const std::string id = store.Create("participant", {{"project_id", project}, {"pseudonym", pseudonym}})["id"];
        store.Create("consent", {{"project_id", project},
                                 {"participant_id", id},
                                 {"script_version", "v1"},
                                 {"language", "es"},
                                 {"mode", "oral_recorded"},
                                 {"scopes", scopes}});
        return id;
    }
    std::string Interview(const std::string& title) {
        return store.Create("interview", {{"project_id", project}, {"kind", "life_journey"}, {"title", title}})["id"];
    }
    std::string Narrative(const std::string& text, const Json& tellers, const Json& interviews = Json::array()) {
        Json fields = {{"project_id", project}, {"title", "Relato"}, {"text", text}};
        if (!tellers.empty()) fields["teller_ids"] = tellers;
        if (!interviews.empty()) fields["source_interview_ids"] = interviews;
        return store.Create("narrative", fields)["id"];
    }
    /// Codes the whole of `source`'s text; returns the coding's id.
    std::string Coding(const std::string& source, int64_t end) {
        return interpret::CodePassage(store, {source, 0, end}, {code}).at(0)["id"];
    }
    std::string Profile(const std::string& name, const Json& participants = Json::array()) {
        Json fields = {{"project_id", project}, {"kind", "collective"}, {"name", name}};
        if (!participants.empty()) fields["participant_ids"] = participants;
        return store.Create("profile", fields)["id"];
    }
};

std::vector<std::string> CodingIds(const std::vector<interpret::Quote>& quotes) {
    std::vector<std::string> out;
    for (const auto& q : quotes) out.push_back(q.coding_id);
    return out;
}

} // namespace

TEST_CASE("A profile's quotes are excerpts, in an order a person sets, each with why it was chosen",
          "[interpret][profiles]") {
    Vault v;
    const auto rosa = v.Person("Rosa", {"quote_verbatim", "show_in_sessions"});
    const auto interview = v.Interview("Trayectoria de Rosa");
    const auto n = v.Narrative("Mi tierra es mía. El agua no llega.", {rosa}, {interview});
    const auto c1 = v.Coding(n, 17);
    const auto c2 = interpret::CodePassage(v.store, {n, 18, 35}, {v.code}).at(0)["id"].get<std::string>();
    const auto c3 = v.Coding(n, 2);
    const auto profile = v.Profile("Recolectoras", {rosa});

    const auto q1 = interpret::AddQuote(v.store, profile, c1, "Dice la tierra como propia");
    CHECK(q1["position"] == 1);
    const auto q2 = interpret::AddQuote(v.store, profile, c2);
    const auto q3 = interpret::AddQuote(v.store, profile, c3);
    CHECK(q3["position"] == 3);
    CHECK(ErrorCode([&] { (void)interpret::AddQuote(v.store, profile, c1); }) == storage::errc::ALREADY_QUOTED);
    CHECK(ErrorCode([&] { (void)interpret::AddQuote(v.store, profile, n); }) == storage::errc::REFERENCE_WRONG_TYPE);
    CHECK(ErrorCode([&] { (void)interpret::AddQuote(v.store, c1, c2); }) == storage::errc::REFERENCE_WRONG_TYPE);

    auto quotes = interpret::QuotesOf(v.store, profile);
    REQUIRE(quotes.size() == 3);
    CHECK(CodingIds(quotes) == std::vector<std::string>{c1, c2, c3});
    CHECK(quotes[0].text == "Mi tierra es mía.");
    CHECK(quotes[0].withheld == interpret::Withheld::No);
    CHECK(quotes[0].note == "Dice la tierra como propia");
    CHECK(quotes[1].text == "El agua no llega.");
    CHECK(quotes[0].trail.source_id.empty()); // the trail only on request

    interpret::MoveQuote(v.store, q3["id"], 0);
    CHECK(CodingIds(interpret::QuotesOf(v.store, profile)) == std::vector<std::string>{c3, c1, c2});
    interpret::MoveQuote(v.store, q3["id"], 99);
    CHECK(CodingIds(interpret::QuotesOf(v.store, profile)) == std::vector<std::string>{c1, c2, c3});
    interpret::RemoveQuote(v.store, q2["id"]);
    quotes = interpret::QuotesOf(v.store, profile);
    CHECK(CodingIds(quotes) == std::vector<std::string>{c1, c3});
    CHECK(quotes[1].position == 3);                  // the others keep their order
    (void)interpret::AddQuote(v.store, profile, c2); // a removed excerpt can be quoted again, last
    CHECK(CodingIds(interpret::QuotesOf(v.store, profile)) == std::vector<std::string>{c1, c3, c2});
    CHECK(interpret::SetQuoteNote(v.store, q1["id"], "")["note"].is_null());

    SECTION("the trail leads to the coding, its source, the interview and the participant") {
        const auto traced = interpret::QuotesOf(v.store, profile, true);
        const auto& t = traced.at(0).trail;
        CHECK(t.coding_id == c1);
        CHECK(t.code_id == v.code);
        CHECK(t.code_name == "Tierra");
        CHECK(t.source_id == n);
        CHECK(t.source_type == "narrative");
        CHECK(t.source_title == "Relato");
        CHECK(t.interview_ids == std::vector<std::string>{interview});
        CHECK(t.interview_titles == std::vector<std::string>{"Trayectoria de Rosa"});
        CHECK(t.participant_ids == std::vector<std::string>{rosa});
        CHECK(t.pseudonyms == std::vector<std::string>{"Rosa"});
    }
    SECTION("two interpreters' quotes added offline are two records: neither is lost") {
        // What another device wrote arrives as its own record.
        Json other = *v.store.Get(q1["id"].get<std::string>());
        other["id"] = storage::NewUuidV7();
        other["coding_id"] = c2;
        other["rev"] = 1;
        other["device"] = "other";
        CHECK(v.store.ApplyRemote(other));
        CHECK(interpret::QuotesOf(v.store, profile).size() == 4);
    }
}

TEST_CASE("A quote without consent to quote word for word is withheld, and its words appear nowhere",
          "[interpret][profiles][consent]") {
    Vault v;
    const std::string canary = "CANARIO-7731 no lo cuentes";
    const auto rosa = v.Person("Rosa", {"quote_verbatim"});
    const auto luz = v.Person("Luz", {"record_audio", "show_in_sessions"}); // no quote_verbatim
    const auto profile = v.Profile("Recolectoras", {rosa, luz});

    const auto of_rosa = v.Coding(v.Narrative("Rosa habla claro.", {rosa}), 17);
    const auto of_luz = v.Coding(v.Narrative(canary, {luz}), 26);
    const auto of_both = v.Coding(v.Narrative(canary + " juntas", {rosa, luz}), 26);
    const auto of_nobody = v.Coding(v.Narrative(canary + " sin relator", Json::array()), 26);
    const auto note = v.store.Create("field_note", {{"project_id", v.project}, {"text", "Observé la báscula."}});
    const auto of_note = v.Coding(note["id"], 19);
    for (const auto& c : {of_rosa, of_luz, of_both, of_nobody, of_note}) (void)interpret::AddQuote(v.store, profile, c);

    const auto quotes = interpret::QuotesOf(v.store, profile, true);
    REQUIRE(quotes.size() == 5);
    CHECK(quotes[0].withheld == interpret::Withheld::No);
    CHECK(quotes[0].text == "Rosa habla claro.");
    CHECK(quotes[1].withheld == interpret::Withheld::NoConsent);
    CHECK(quotes[1].not_consenting == std::vector<std::string>{"Luz"});
    CHECK(quotes[2].withheld == interpret::Withheld::NoConsent); // one teller without consent is enough
    CHECK(quotes[2].not_consenting == std::vector<std::string>{"Luz"});
    CHECK(quotes[3].withheld == interpret::Withheld::NoParticipant);
    CHECK(quotes[4].withheld == interpret::Withheld::No); // the researcher's own words
    CHECK(quotes[4].text == "Observé la báscula.");
    for (const auto& q : quotes) {
        INFO(q.coding_id);
        CHECK(q.text.find("CANARIO") == std::string::npos);
        CHECK(q.note.find("CANARIO") == std::string::npos);
        CHECK(q.trail.source_title.find("CANARIO") == std::string::npos);
    }
    CHECK(std::string(interpret::WithheldWords(interpret::Withheld::NoConsent)).find("withheld") == 0);

    // Consent given later: the words show; withdrawn: they are gone.
    v.store.Create("consent", {{"project_id", v.project},
                               {"participant_id", luz},
                               {"script_version", "v2"},
                               {"language", "es"},
                               {"mode", "written"},
                               {"scopes", {"quote_verbatim"}}});
    CHECK(interpret::QuotesOf(v.store, profile)[1].text == canary);
}

TEST_CASE("A withdrawn consent erases the quotes of what it erases, and flags the profile",
          "[interpret][profiles][withdrawal]") {
    Vault v;
    const auto rosa = v.Person("Rosa", {"quote_verbatim"});
    const auto luz = v.Person("Luz", {"quote_verbatim"});
    const auto of_rosa = v.Coding(v.Narrative("Rosa habla claro.", {rosa}), 17);
    const auto of_luz = v.Coding(v.Narrative("Luz habla bajo.", {luz}), 15);
    const auto profile = v.Profile("Recolectoras", {rosa, luz});
    const auto other = v.Profile("Cortadores");
    const auto q_rosa = interpret::AddQuote(v.store, profile, of_rosa)["id"].get<std::string>();
    const auto q_luz = interpret::AddQuote(v.store, profile, of_luz)["id"].get<std::string>();
    const auto q_other = interpret::AddQuote(v.store, other, of_rosa)["id"].get<std::string>();
    const auto quote_before = *v.store.Get(q_rosa);
    std::map<std::string, Json> held_at_hq;
    for (const auto& id : {of_rosa, of_luz}) {
        held_at_hq[id] = *v.store.Get(id);
        const auto source = held_at_hq[id]["narrative_id"].get<std::string>();
        held_at_hq[source] = *v.store.Get(source);
    }

    const auto withdrawal = capture::WithdrawConsent(v.store, rosa, "2026-03-14");
    CHECK(withdrawal.erased.at("quote") == 2);
    CHECK(withdrawal.erased.at("coding") == 1);
    for (const auto& id : {q_rosa, q_other}) {
        const auto gone = v.store.Get(id);
        CHECK(gone->value("deleted", false));
        CHECK_FALSE(gone->contains("coding_id"));
    }
    const auto left = interpret::QuotesOf(v.store, profile);
    REQUIRE(left.size() == 1);
    CHECK(left[0].id == q_luz);
    CHECK(interpret::QuotesOf(v.store, other).empty());
    CHECK(v.store.Get(profile)->value("needs_review", false));

    // Headquarters accepts the quote's tombstone: it follows from the withdrawal.
    const auto consent = capture::ConsentsOf(v.store, rosa).at(0);
    // Headquarters, before the other tombstones arrive, holds the coding and
    // the narrative as they were.
    const auto lookup = [&](const std::string& id) -> std::optional<Json> {
        const auto it = held_at_hq.find(id);
        return it == held_at_hq.end() ? std::nullopt : std::optional<Json>(it->second);
    };
    CHECK(capture::ErasureFollowsWithdrawal(v.store.Types(), quote_before, consent, lookup));
    // Not for a quote of someone else's words.
    CHECK_FALSE(capture::ErasureFollowsWithdrawal(v.store.Types(), *v.store.Get(q_luz), consent, lookup));
}
