// Two interpreters code the same text offline, through a real escucha-hq:
// every coding of both arrives everywhere, and an edit of the text made on
// one device moves the codings made on the other.
#include "escucha/interpret/codebook.h"
#include "escucha/interpret/coding.h"
#include "escucha/interpret/priorities.h"
#include "escucha/interpret/profiles.h"
#include "escucha/interpret/sessions.h"
#include "sync/sync_fixture.h"

#include <algorithm>

using namespace escucha;
using namespace escucha::test;

namespace {

/// Every live excerpt of `code` on a device, by the excerpt's words.
std::map<std::string, interpret::Excerpt> ExcerptsByWords(storage::Vault& vault, const std::string& code) {
    std::map<std::string, interpret::Excerpt> out;
    for (auto& e : interpret::Excerpts(vault.Records(), code)) out[e.text + "@" + std::to_string(e.start)] = e;
    return out;
}

int64_t Start(const std::string& text, const std::string& words) {
    return interpret::CodePointOffset(text, static_cast<int64_t>(text.find(words)));
}

} // namespace

TEST_CASE("Codings made offline on two devices all arrive, and follow an edit of the text made elsewhere",
          "[sync][coding]") {
    Hq hq;
    Device ana(hq, "researcher");
    Device luis(hq, "interpreter");
    const std::string text = "Ñandú dice: el capataz pesa la arroba 😀 y nos paga con vales.";
    const auto told = ana.Add("narrative", {{"title", "La báscula"}, {"text", text}});
    const std::string id = told["id"];
    const auto scale = interpret::CreateCode(ana.vault.Records(), ana.Project(), {{"name", "Báscula"}})["id"];
    const auto pay = interpret::CreateCode(ana.vault.Records(), ana.Project(), {{"name", "Pago"}})["id"];
    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok);

    // Offline, both code the same text: the same passage with different codes and with the same one.
    const auto arroba = Start(text, "pesa la arroba");
    const auto vales = Start(text, "vales");
    interpret::CodePassage(ana.vault.Records(), {id, arroba, arroba + 14}, {scale}, "Ana");
    interpret::CodePassage(luis.vault.Records(), {id, arroba, arroba + 14}, {pay, scale}, "Luis");
    interpret::CodePassage(luis.vault.Records(), {id, vales, vales + 5}, {pay});
    // And Ana rewrites the start of the text, before either passage, still offline.
    const std::string edited = "Doña Rosalba, del comité, cuenta: el capataz pesa la arroba 😀 y nos paga con vales.";
    ana.vault.Records().Update(id, {{"text", edited}});
    (void)interpret::FollowEdit(ana.vault.Records(), id);

    REQUIRE(ana.Sync().ok);  // her edit and her coding
    REQUIRE(luis.Sync().ok); // his codings go; her edit comes, and his codings follow it
    REQUIRE(ana.Sync().ok);  // his codings: they follow her edit here too, to the same place
    REQUIRE(luis.Sync().ok); // his moves go
    REQUIRE(ana.Sync().ok);  // her moves (the same) go, his come
    REQUIRE(luis.Sync().ok);

    for (auto* device : {&ana, &luis}) {
        INFO((device == &ana ? "ana" : "luis"));
        const auto by_pay = ExcerptsByWords(device->vault, pay);
        // Nothing lost: Ana's and Luis's "Báscula" on the same passage are both there.
        CHECK(interpret::Excerpts(device->vault.Records(), scale).size() == 2);
        CHECK(interpret::Excerpts(device->vault.Records(), pay).size() == 2);
        // Every coding reads its words where it says, in the edited text.
        for (const auto& code : {scale, pay})
            for (const auto& e : interpret::Excerpts(device->vault.Records(), code)) {
                INFO(e.text);
                CHECK_FALSE(e.needs_review);
                CHECK(interpret::CodePointSlice(edited, e.start, e.end) == e.text);
            }
        CHECK(by_pay.count("vales@" + std::to_string(Start(edited, "vales"))) == 1);
    }
    // Both moved the same codings to the same place: nothing for a person to settle.
    CHECK(ana.vault.Records().ListConflicts().empty());
    CHECK(luis.vault.Records().ListConflicts().empty());
    RequireSameAsHq(hq, luis.vault);

    // An edit inside a passage coded elsewhere: flagged there for a person, never silently wrong.
    ana.vault.Records().Update(id, {{"text", "Doña Rosalba cuenta: el capataz pesa mal y nos paga con vales."}});
    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok);
    const auto after = interpret::Excerpts(luis.vault.Records(), scale);
    REQUIRE(after.size() == 2);
    CHECK(std::all_of(after.begin(), after.end(), [](const auto& e) { return e.needs_review; }));
    const auto still = interpret::Excerpts(luis.vault.Records(), pay);
    CHECK(std::count_if(still.begin(), still.end(), [](const auto& e) { return !e.needs_review; }) == 1); // "vales"
}

TEST_CASE("An interpreter's profiles, quotes, sessions, feedback, rounds and ballots reach headquarters and the team",
          "[sync][coding]") {
    Hq hq;
    Device ana(hq, "researcher");
    Device luis(hq, "interpreter");
    Device eva(hq, "interpreter");
    const auto rosa = ana.Add("participant", {{"pseudonym", "Rosa"}});
    ana.Add("consent", {{"participant_id", rosa["id"]},
                        {"script_version", "v1"},
                        {"language", "es"},
                        {"mode", "written"},
                        {"scopes", {"quote_verbatim"}}});
    const auto told = ana.Add("narrative", {{"title", "Vales"}, {"text", "Nos pagan con vales."}, {"teller_ids", {rosa["id"]}}});
    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok);
    REQUIRE(eva.Sync().ok);

    // Luis, offline: a code, a coding, a profile quoting it, a session with feedback, a round.
    auto& store = luis.vault.Records();
    const std::string code = interpret::CreateCode(store, luis.Project(), {{"name", "Pago"}})["id"];
    const std::string coding = interpret::CodePassage(store, {told["id"], 14, 19}, {code})[0]["id"];
    const std::string profile = luis.Add("profile", {{"kind", "individual"}, {"name", "Rosa"}})["id"];
    interpret::AddQuote(store, profile, coding, "en sus palabras");
    const std::string session = interpret::CreateSession(store, luis.Project(), {{"kind", "collective_interpretation"},
                                                                                 {"title", "Casa comunal"},
                                                                                 {"held_on", "2026-11-20"},
                                                                                 {"community_count", 9},
                                                                                 {"profile_ids", {profile}}})["id"];
    interpret::RecordFeedback(store, session, {{profile, {{"recognised", "yes"}, {"refinement", "Más sobre el pago"}}}});
    const std::string challenge = interpret::CreateChallenge(store, luis.Project(), {{"kind", "challenge"},
                                                                                     {"statement", "Pago en vales"},
                                                                                     {"pillars", {"rights_at_work"}},
                                                                                     {"coding_ids", {coding}}})["id"];
    const auto round = interpret::CreateRound(store, luis.Project(), {{"title", "Ronda"}, {"method", "dot_voting"},
                                                                      {"challenge_ids", {challenge}}}, 2);
    interpret::CastVote(store, round.round["id"], round.tokens[0], {{challenge, 2, 0, 0, 0, "urge"}});
    // Eva, offline too, casts the other ballot on her device once she has the round.
    REQUIRE(luis.Sync().ok);
    RequireSameAsHq(hq, luis.vault);
    REQUIRE(eva.Sync().ok);
    interpret::CastVote(eva.vault.Records(), round.round["id"], round.tokens[1], {{challenge, 3, 0, 0, 0, ""}});
    REQUIRE(eva.Sync().ok);
    REQUIRE(luis.Sync().ok);
    REQUIRE(ana.Sync().ok);

    for (auto* device : {&luis, &eva, &ana}) {
        INFO((device == &luis ? "luis" : device == &eva ? "eva" : "ana"));
        auto& r = device->vault.Records();
        const auto quotes = interpret::QuotesOf(r, profile);
        REQUIRE(quotes.size() == 1);
        CHECK(quotes[0].text == "vales");
        CHECK(interpret::FeedbackOf(r, session).size() == 1);
        const auto tally = interpret::TallyRound(r, round.round["id"]);
        if (device == &ana) {
            // A field researcher receives what the team edits together (the round), not
            // others' own records: the ballots stay with the interpreters and headquarters.
            CHECK(tally.ballots == 0);
            continue;
        }
        CHECK(tally.ballots == 2);
        CHECK(tally.rows.at(0).dots == 5);
    }
}
