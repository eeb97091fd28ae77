#include "escucha/capture/operations.h"
#include "escucha/interpret/codebook.h"
#include "escucha/interpret/coding.h"
#include "escucha/interpret/priorities.h"

#include "interpret/project_store.h"

#include <catch2/catch.hpp>

using namespace escucha;
using interpret::Mark;
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
    std::vector<std::string> challenges;
    Vault() {
        for (const char* s : {"Pago por arroba sin báscula", "Guardería en cosecha", "Cooperativa de secado"})
            challenges.push_back(interpret::CreateChallenge(
                store, project,
                {{"kind", "challenge"}, {"statement", s}, {"pillars", {"rights_at_work", "social_protection"}}})["id"]);
    }
    interpret::NewRound Round(const std::string& method, int64_t voters, const Json& extra = Json::object()) {
        Json fields = {{"title", "Ronda"}, {"method", method}, {"challenge_ids", challenges}};
        fields.update(extra);
        return interpret::CreateRound(store, project, fields, voters);
    }
    std::vector<std::string> Order(const interpret::Tally& t) {
        std::vector<std::string> out;
        for (const auto& r : t.rows) out.push_back(r.challenge_id);
        return out;
    }
};

Mark Dots(const std::string& challenge, int64_t dots, const std::string& argument = {}) {
    Mark m;
    m.challenge_id = challenge;
    m.dots = dots;
    m.argument = argument;
    return m;
}

Mark Scored(const std::string& challenge, int64_t impact, int64_t feasibility) {
    Mark m;
    m.challenge_id = challenge;
    m.impact = impact;
    m.feasibility = feasibility;
    return m;
}

Mark Ranked(const std::string& challenge, int64_t rank) {
    Mark m;
    m.challenge_id = challenge;
    m.rank = rank;
    return m;
}

} // namespace

TEST_CASE("Challenges carry evidence and pillars; a withdrawal takes erased evidence out and flags them",
          "[interpret][priorities]") {
    Vault v;
    const std::string rosa = v.store.Create("participant", {{"project_id", v.project}, {"pseudonym", "Rosa"}})["id"];
    const std::string n = v.store.Create(
        "narrative",
        {{"project_id", v.project}, {"title", "R"}, {"text", "Sin báscula"}, {"teller_ids", {rosa}}})["id"];
    const std::string code = interpret::CreateCode(v.store, v.project, {{"name", "Pago"}, {"kind", "problem"}})["id"];
    const std::string coding = interpret::CodePassage(v.store, {n, 0, 11}, {code}).at(0)["id"];
    const auto c = interpret::CreateChallenge(v.store, v.project,
                                              {{"kind", "opportunity"},
                                               {"statement", "Báscula comunitaria"},
                                               {"pillars", {"employment"}},
                                               {"code_ids", {code}},
                                               {"coding_ids", {coding}},
                                               {"narrative_ids", {n}}});
    CHECK(ErrorCode([&] {
              (void)interpret::CreateChallenge(v.store, v.project,
                                               {{"kind", "challenge"}, {"statement", "x"}, {"pillars", {"wages"}}});
          }) == storage::errc::UNKNOWN_CHOICE);
    (void)capture::WithdrawConsent(v.store, rosa, "2026-05-01");
    const auto after = *v.store.Get(c["id"].get<std::string>());
    CHECK(after.value("needs_review", false));
    CHECK_FALSE(after.contains("coding_ids"));
    CHECK_FALSE(after.contains("narrative_ids"));
    CHECK(after["code_ids"] == Json({code}));
}

TEST_CASE("A round hands out anonymous tokens and refuses what does not fit its method", "[interpret][priorities]") {
    Vault v;
    CHECK(interpret::IsVoterToken(interpret::NewVoterToken()));
    CHECK_FALSE(interpret::IsVoterToken("V-ROSA01"));
    CHECK_FALSE(interpret::IsVoterToken("Rosa"));
    const auto round = v.Round("dot_voting", 3);
    CHECK(round.tokens.size() == 3);
    CHECK(round.round["dots_per_voter"] == interpret::DEFAULT_DOTS_PER_VOTER);
    CHECK(round.round["voter_tokens"].size() == 3);
    CHECK(ErrorCode([&] {
              (void)v.Round("ranking", 1, {{"challenge_ids", Json::array()}});
          }) == storage::errc::NO_CHALLENGES);
    CHECK(ErrorCode([&] {
              (void)v.Round("impact_feasibility", 1, {{"score_min", 5}, {"score_max", 5}});
          }) == storage::errc::BAD_SCORE_RANGE);
    CHECK(ErrorCode([&] { (void)v.Round("dot_voting", 1, {{"dots_per_voter", 0}}); }) == storage::errc::AT_LEAST_ONE);
    CHECK(ErrorCode([&] {
              (void)v.Round("dot_voting", 1, {{"voter_tokens", {"María"}}});
          }) == storage::errc::BAD_VOTER_TOKEN);

    const std::string id = round.round["id"];
    const auto& [a, b, c] = std::tie(v.challenges[0], v.challenges[1], v.challenges[2]);
    const auto& token = round.tokens[0];
    const auto refused = [&](const std::string& t, std::vector<Mark> ballot) {
        return ErrorCode([&] { (void)interpret::CastVote(v.store, id, t, ballot); });
    };
    CHECK(refused("Rosa", {Dots(a, 1)}) == storage::errc::BAD_VOTER_TOKEN);
    CHECK(refused(interpret::NewVoterToken(), {Dots(a, 1)}) == storage::errc::UNKNOWN_VOTER);
    CHECK(refused(token, {}) == storage::errc::EMPTY_BALLOT);
    CHECK(refused(token, {Dots(a, 0)}) == storage::errc::EMPTY_BALLOT);
    CHECK(refused(token, {Dots(a, 2), Dots(b, 2)}) == storage::errc::DOTS_OVER_BUDGET);
    CHECK(refused(token, {Dots(a, -1), Dots(b, 2)}) == storage::errc::NOT_NEGATIVE);
    CHECK(refused(token, {Dots(a, 1), Dots(a, 1)}) == storage::errc::MARKED_TWICE);
    CHECK(refused(token, {Dots(round.round["id"], 1)}) == storage::errc::CHALLENGE_NOT_IN_ROUND);
    CHECK(v.store.Count(interpret::VOTE_TYPE) == 0);
    CHECK(refused(token, {Dots(a, 2), Dots(c, 1)}).empty());
    CHECK(interpret::AddVoters(v.store, id, 2).size() == 2);
    CHECK(v.store.Get(id)->at("voter_tokens").size() == 5);
    interpret::CloseRound(v.store, id, "Se prioriza la báscula");
    CHECK(refused(round.tokens[1], {Dots(a, 1)}) == storage::errc::ROUND_CLOSED);

    const auto scoring = v.Round("impact_feasibility", 1);
    const auto score = [&](std::vector<Mark> ballot) {
        return ErrorCode([&] { (void)interpret::CastVote(v.store, scoring.round["id"], scoring.tokens[0], ballot); });
    };
    CHECK(score({Scored(a, 0, 3)}) == storage::errc::SCORE_OUT_OF_RANGE);
    CHECK(score({Scored(a, 3, 6)}) == storage::errc::SCORE_OUT_OF_RANGE);
    CHECK(score({Scored(a, 5, 1)}).empty());

    const auto ranking = v.Round("ranking", 1);
    const auto rank = [&](std::vector<Mark> ballot) {
        return ErrorCode([&] { (void)interpret::CastVote(v.store, ranking.round["id"], ranking.tokens[0], ballot); });
    };
    CHECK(rank({Ranked(a, 1), Ranked(b, 2)}) == storage::errc::RANKS_NOT_PERMUTATION); // c left out
    CHECK(rank({Ranked(a, 1), Ranked(b, 1), Ranked(c, 3)}) == storage::errc::RANKS_NOT_PERMUTATION);
    CHECK(rank({Ranked(a, 1), Ranked(b, 2), Ranked(c, 4)}) == storage::errc::RANKS_NOT_PERMUTATION);
    CHECK(rank({Ranked(a, 3), Ranked(b, 1), Ranked(c, 2)}).empty());
}

TEST_CASE("Dot voting tallies dots, with the arguments, and ties share a place in the round's order",
          "[interpret][priorities]") {
    Vault v;
    const auto round = v.Round("dot_voting", 4);
    const std::string id = round.round["id"];
    const auto& [a, b, c] = std::tie(v.challenges[0], v.challenges[1], v.challenges[2]);
    interpret::CastVote(v.store, id, round.tokens[0], {Dots(a, 1, "Nos roban en el peso"), Dots(c, 2)});
    interpret::CastVote(v.store, id, round.tokens[1], {Dots(c, 3, "Secar juntos")});
    interpret::CastVote(v.store, id, round.tokens[2], {Dots(a, 3), Dots(b, 0, "Importa, pero después")});
    // The second voter changes their mind: the later ballot counts.
    interpret::CastVote(v.store, id, round.tokens[1], {Dots(a, 1), Dots(b, 2, "Los niños primero")});
    const auto t = interpret::TallyRound(v.store, id);
    CHECK(t.method == "dot_voting");
    CHECK(t.ballots == 3);
    CHECK(t.superseded == 1);
    CHECK(t.voters_invited == 4);
    REQUIRE(t.rows.size() == 3);
    CHECK(v.Order(t) == std::vector<std::string>{a, b, c});
    CHECK(t.rows[0].dots == 5);
    CHECK(t.rows[0].voters == 3);
    CHECK(t.rows[0].place == 1);
    CHECK_FALSE(t.rows[0].tied);
    // b and c have 2 dots each: they share second place, in the round's order.
    CHECK(t.rows[1].dots == 2);
    CHECK(t.rows[2].dots == 2);
    CHECK(t.rows[1].place == 2);
    CHECK(t.rows[2].place == 2);
    CHECK(t.rows[1].tied);
    CHECK(t.ties);
    CHECK(t.rows[0].arguments == std::vector<std::string>{"Nos roban en el peso"});
    CHECK(t.rows[1].arguments == std::vector<std::string>{"Importa, pero después", "Los niños primero"});
    CHECK(t.rows[2].arguments.empty()); // "Secar juntos" was in the replaced ballot
    CHECK(t.rows[0].statement == "Pago por arroba sin báscula");
}

TEST_CASE("Impact x feasibility scoring orders by the mean product, ranking by Borda points",
          "[interpret][priorities]") {
    Vault v;
    const auto& [a, b, c] = std::tie(v.challenges[0], v.challenges[1], v.challenges[2]);
    const auto scoring = v.Round("impact_feasibility", 2);
    const std::string s = scoring.round["id"];
    interpret::CastVote(v.store, s, scoring.tokens[0], {Scored(a, 5, 1), Scored(b, 3, 3), Scored(c, 2, 2)});
    interpret::CastVote(v.store, s, scoring.tokens[1], {Scored(a, 5, 3), Scored(b, 4, 3)});
    auto t = interpret::TallyRound(v.store, s);
    // a: (5 + 15) / 2 = 10; b: (9 + 12) / 2 = 10.5; c: 4 / 1.
    CHECK(v.Order(t) == std::vector<std::string>{b, a, c});
    CHECK(t.rows[0].score == Approx(10.5));
    CHECK(t.rows[0].mean_impact == Approx(3.5));
    CHECK(t.rows[0].mean_feasibility == Approx(3.0));
    CHECK(t.rows[1].score == Approx(10));
    CHECK(t.rows[2].voters == 1);
    CHECK_FALSE(t.ties);

    const auto ranking = v.Round("ranking", 3);
    const std::string r = ranking.round["id"];
    interpret::CastVote(v.store, r, ranking.tokens[0], {Ranked(a, 1), Ranked(b, 2), Ranked(c, 3)});
    interpret::CastVote(v.store, r, ranking.tokens[1], {Ranked(a, 3), Ranked(b, 1), Ranked(c, 2)});
    interpret::CastVote(v.store, r, ranking.tokens[2], {Ranked(a, 2), Ranked(b, 3), Ranked(c, 1)});
    t = interpret::TallyRound(v.store, r);
    // Every challenge has 3 + 2 + 1 = 6 points: all tied, in the round's order.
    CHECK(v.Order(t) == std::vector<std::string>{a, b, c});
    for (const auto& row : t.rows) {
        CHECK(row.borda == 6);
        CHECK(row.place == 1);
        CHECK(row.tied);
        CHECK(row.mean_rank == Approx(2.0));
    }
}

TEST_CASE("Ballots cast on two devices offline both count", "[interpret][priorities][sync]") {
    // Two devices hold the same round; each takes a ballot offline, then
    // each receives the other's votes as they come from headquarters.
    test::ProjectStore first;
    storage::HybridLogicalClock clock;
    storage::Database db{":memory:", true};
    storage::RegisterSearchFunctions(db);
    storage::RecordStore second{db, interpret::AllRecordTypes(), clock, {"beto", "tablet"}};
    second.EnsureSchema();
    const auto copy = [](storage::RecordStore& from, storage::RecordStore& to, const std::string& type) {
        for (const auto& r : from.List(type)) (void)to.ApplyRemote(r);
    };
    second.ApplyRemote(*first.store.Get(first.project));
    std::vector<std::string> challenges;
    for (const char* s : {"Báscula", "Guardería"})
        challenges.push_back(
            interpret::CreateChallenge(first.store, first.project, {{"kind", "challenge"}, {"statement", s}})["id"]);
    const auto round = interpret::CreateRound(
        first.store, first.project, {{"title", "R"}, {"method", "dot_voting"}, {"challenge_ids", challenges}}, 2);
    copy(first.store, second, interpret::CHALLENGE_TYPE);
    copy(first.store, second, interpret::ROUND_TYPE);
    const std::string id = round.round["id"];

    interpret::CastVote(first.store, id, round.tokens[0], {Dots(challenges[0], 3, "Primero")});
    interpret::CastVote(second, id, round.tokens[1], {Dots(challenges[0], 1), Dots(challenges[1], 2, "Segundo")});
    copy(first.store, second, interpret::VOTE_TYPE);
    copy(second, first.store, interpret::VOTE_TYPE);

    for (auto* store : {&first.store, &second}) {
        const auto t = interpret::TallyRound(*store, id);
        CHECK(t.ballots == 2);
        REQUIRE(t.rows.size() == 2);
        CHECK(t.rows[0].challenge_id == challenges[0]);
        CHECK(t.rows[0].dots == 4);
        CHECK(t.rows[0].voters == 2);
        CHECK(t.rows[1].dots == 2);
        CHECK(t.rows[0].arguments == std::vector<std::string>{"Primero"});
    }
}

TEST_CASE("A round made in a form gets its method's usual parameters", "[interpret][priorities]") {
    Vault v;
    const Json ids = Json::array({v.challenges[0], v.challenges[1]});
    const auto dots = v.store.Create(interpret::ROUND_TYPE, {{"project_id", v.project},
                                                            {"title", "Puntos"},
                                                            {"method", "dot_voting"},
                                                            {"challenge_ids", ids}});
    CHECK(dots["dots_per_voter"] == interpret::DEFAULT_DOTS_PER_VOTER);
    const auto scores = v.store.Create(interpret::ROUND_TYPE, {{"project_id", v.project},
                                                              {"title", "Notas"},
                                                              {"method", "impact_feasibility"},
                                                              {"challenge_ids", ids},
                                                              {"score_max", 10}});
    CHECK(scores["score_min"] == interpret::DEFAULT_SCORE_MIN);
    CHECK(scores["score_max"] == 10); // what was given stays
}
