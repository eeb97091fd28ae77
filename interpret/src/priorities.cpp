#include "escucha/interpret/priorities.h"

#include "escucha/storage/secret.h"
#include "live_record.h"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

namespace escucha::interpret {

using storage::RecordError;
namespace errc = storage::errc;

namespace {

constexpr std::string_view TOKEN_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"; // 32 symbols
constexpr size_t TOKEN_LENGTH = 6;

bool Lists(const Json& list, const std::string& id) {
    return list.is_array() && std::find(list.begin(), list.end(), Json(id)) != list.end();
}

/// `count` new tokens, none of them among `taken`.
std::vector<std::string> NewTokens(int64_t count, const Json& taken) {
    if (count < 0) throw RecordError("voters", "must not be negative", errc::NOT_NEGATIVE, {{"field", "voters"}});
    std::set<std::string> seen;
    for (const auto& t : taken) seen.insert(t.get<std::string>());
    std::vector<std::string> out;
    while (static_cast<int64_t>(out.size()) < count) {
        auto token = NewVoterToken();
        if (seen.insert(token).second) out.push_back(std::move(token));
    }
    return out;
}

/// A score as a fraction, so equal means (3/2 and 6/4) tie exactly.
struct Fraction {
    int64_t num = 0;
    int64_t den = 1;
};
int Compare(const Fraction& a, const Fraction& b) {
    const auto l = static_cast<int64_t>(a.num) * b.den, r = static_cast<int64_t>(b.num) * a.den;
    return l < r ? -1 : l > r ? 1 : 0;
}

void CheckScore(const char* field, int64_t value, int64_t min, int64_t max) {
    if (value < min || value > max)
        throw RecordError(field, "the score is out of range", errc::SCORE_OUT_OF_RANGE,
                          {{"field", field}, {"value", value}, {"min", min}, {"max", max}});
}

} // namespace

// [SECTION] Voter tokens

std::string NewVoterToken() {
    storage::EnsureSodium();
    std::string token = "V-";
    for (size_t i = 0; i < TOKEN_LENGTH; ++i)
        token.push_back(TOKEN_ALPHABET[randombytes_uniform(static_cast<uint32_t>(TOKEN_ALPHABET.size()))]);
    return token;
}

bool IsVoterToken(std::string_view text) {
    if (text.size() != TOKEN_LENGTH + 2 || text.substr(0, 2) != "V-") return false;
    return std::all_of(text.begin() + 2, text.end(),
                       [](char c) { return TOKEN_ALPHABET.find(c) != std::string_view::npos; });
}

// [SECTION] Challenges and rounds

Json CreateChallenge(storage::RecordStore& store, const std::string& project_id, const Json& fields) {
    if (!fields.is_object()) throw RecordError("", "a challenge must be a JSON object", errc::NOT_AN_OBJECT);
    Json record = fields;
    record["project_id"] = project_id;
    Json created;
    store.Atomically([&] { created = store.Create(CHALLENGE_TYPE, record); });
    return created;
}

NewRound CreateRound(storage::RecordStore& store, const std::string& project_id, const Json& fields, int64_t voters) {
    if (!fields.is_object()) throw RecordError("", "a round must be a JSON object", errc::NOT_AN_OBJECT);
    NewRound out;
    store.Atomically([&] {
        Json record = fields;
        record["project_id"] = project_id;
        const std::string method = record.value("method", "");
        if (method == "dot_voting" && !record.contains("dots_per_voter"))
            record["dots_per_voter"] = DEFAULT_DOTS_PER_VOTER;
        if (method == "impact_feasibility") {
            if (!record.contains("score_min")) record["score_min"] = DEFAULT_SCORE_MIN;
            if (!record.contains("score_max")) record["score_max"] = DEFAULT_SCORE_MAX;
        }
        out.tokens = NewTokens(voters, record.value("voter_tokens", Json::array()));
        Json tokens = record.value("voter_tokens", Json::array());
        for (const auto& t : out.tokens) tokens.push_back(t);
        record["voter_tokens"] = tokens;
        out.round = store.Create(ROUND_TYPE, record);
    });
    return out;
}

std::vector<std::string> AddVoters(storage::RecordStore& store, const std::string& round_id, int64_t voters) {
    std::vector<std::string> added;
    store.Atomically([&] {
        const auto round = detail::LiveOfType(store, round_id, ROUND_TYPE, "round_id");
        Json tokens = round.value("voter_tokens", Json::array());
        added = NewTokens(voters, tokens);
        for (const auto& t : added) tokens.push_back(t);
        store.Update(round_id, {{"voter_tokens", tokens}});
    });
    return added;
}

std::vector<Json> CastVote(storage::RecordStore& store, const std::string& round_id, const std::string& voter_token,
                           const std::vector<Mark>& ballot) {
    std::vector<Json> created;
    store.Atomically([&] {
        const auto round = detail::LiveOfType(store, round_id, ROUND_TYPE, "round_id");
        if (round.value("status", "open") == "closed")
            throw RecordError("round_id", "the round is closed", errc::ROUND_CLOSED, {});
        if (!IsVoterToken(voter_token))
            throw RecordError("voter_token", "is not an anonymous voter token", errc::BAD_VOTER_TOKEN, {});
        if (!Lists(round.value("voter_tokens", Json::array()), voter_token))
            throw RecordError("voter_token", "is not a voter of this round", errc::UNKNOWN_VOTER, {});
        if (ballot.empty()) throw RecordError("challenge_id", "the ballot is empty", errc::EMPTY_BALLOT, {});
        const auto challenges = round.value("challenge_ids", Json::array());
        std::set<std::string> marked;
        for (const auto& m : ballot) {
            if (!Lists(challenges, m.challenge_id))
                throw RecordError("challenge_id", "is not prioritised in this round", errc::CHALLENGE_NOT_IN_ROUND,
                                  {{"id", m.challenge_id}});
            if (!marked.insert(m.challenge_id).second)
                throw RecordError("challenge_id", "is marked twice", errc::MARKED_TWICE, {{"id", m.challenge_id}});
        }
        const std::string method = round.value("method", "");
        std::vector<Json> records;
        for (const auto& m : ballot) {
            Json r = {{"challenge_id", m.challenge_id}};
            if (!m.argument.empty()) r["argument"] = m.argument;
            records.push_back(std::move(r));
        }
        if (method == "dot_voting") {
            const int64_t budget = round.value("dots_per_voter", DEFAULT_DOTS_PER_VOTER);
            int64_t given = 0;
            for (const auto& m : ballot) {
                if (m.dots < 0)
                    throw RecordError("dots", "must not be negative", errc::NOT_NEGATIVE, {{"field", "dots"}});
                given += m.dots;
            }
            if (given > budget)
                throw RecordError("dots", "more dots than each voter has", errc::DOTS_OVER_BUDGET,
                                  {{"given", given}, {"budget", budget}});
            if (given == 0) throw RecordError("dots", "the ballot places no dot", errc::EMPTY_BALLOT, {});
            for (size_t i = 0; i < ballot.size(); ++i) records[i]["dots"] = ballot[i].dots;
            // A mark of no dots is kept only for its argument.
            records.erase(std::remove_if(records.begin(), records.end(),
                                         [](const Json& r) { return r["dots"] == 0 && !r.contains("argument"); }),
                          records.end());
        } else if (method == "impact_feasibility") {
            const int64_t min = round.value("score_min", DEFAULT_SCORE_MIN);
            const int64_t max = round.value("score_max", DEFAULT_SCORE_MAX);
            for (size_t i = 0; i < ballot.size(); ++i) {
                CheckScore("impact", ballot[i].impact, min, max);
                CheckScore("feasibility", ballot[i].feasibility, min, max);
                records[i]["impact"] = ballot[i].impact;
                records[i]["feasibility"] = ballot[i].feasibility;
            }
        } else if (method == "ranking") {
            const auto n = static_cast<int64_t>(challenges.size());
            std::set<int64_t> ranks;
            for (const auto& m : ballot)
                if (m.rank >= 1 && m.rank <= n) ranks.insert(m.rank);
            if (static_cast<int64_t>(ballot.size()) != n || static_cast<int64_t>(ranks.size()) != n)
                throw RecordError("rank", "the ranks are not 1 to n, each once", errc::RANKS_NOT_PERMUTATION,
                                  {{"count", n}});
            for (size_t i = 0; i < ballot.size(); ++i) records[i]["rank"] = ballot[i].rank;
        }
        const std::string ballot_id = storage::NewUuidV7();
        for (auto& r : records) {
            r["project_id"] = round["project_id"];
            r["round_id"] = round_id;
            r["voter_token"] = voter_token;
            r["ballot_id"] = ballot_id;
            created.push_back(store.Create(VOTE_TYPE, r));
        }
    });
    return created;
}

Json CloseRound(storage::RecordStore& store, const std::string& round_id, const std::string& decision) {
    Json updated;
    store.Atomically([&] {
        (void)detail::LiveOfType(store, round_id, ROUND_TYPE, "round_id");
        Json patch = {{"status", "closed"}};
        if (!decision.empty()) patch["decision"] = decision;
        updated = store.Update(round_id, patch);
    });
    return updated;
}

// [SECTION] Tally

Tally TallyRound(storage::RecordStore& store, const std::string& round_id) {
    const auto round = detail::LiveOfType(store, round_id, ROUND_TYPE, "round_id");
    Tally tally;
    tally.method = round.value("method", "");
    tally.voters_invited = static_cast<int64_t>(round.value("voter_tokens", Json::array()).size());
    const auto challenges = round.value("challenge_ids", Json::array());
    const auto n = static_cast<int64_t>(challenges.size());

    // Each voter's last ballot: the one whose newest record is newest.
    struct Ballot {
        std::string newest;
        std::vector<Json> marks;
    };
    std::map<std::string, std::map<std::string, Ballot>> by_voter; // token -> ballot id -> marks
    for (auto& vote : detail::LiveReferring(store, round_id, VOTE_TYPE, "round_id")) {
        auto& b = by_voter[vote.value("voter_token", "")][vote.value("ballot_id", "")];
        b.newest = std::max(b.newest, vote["id"].get<std::string>());
        b.marks.push_back(std::move(vote));
    }
    std::vector<Ballot*> counted;
    for (auto& [token, ballots] : by_voter) {
        Ballot* last = nullptr;
        for (auto& [id, b] : ballots)
            if (!last || b.newest > last->newest) last = &b;
        counted.push_back(last);
        tally.superseded += static_cast<int64_t>(ballots.size()) - 1;
    }
    std::sort(counted.begin(), counted.end(), [](const Ballot* a, const Ballot* b) { return a->newest < b->newest; });
    tally.ballots = static_cast<int64_t>(counted.size());

    // One row per challenge of the round, in the round's order.
    std::unordered_map<std::string, size_t> row_of;
    struct Sums {
        int64_t impact = 0, feasibility = 0, product = 0, rank = 0;
    };
    std::vector<Sums> sums(challenges.size());
    for (const auto& c : challenges) {
        TallyRow row;
        row.challenge_id = c.get<std::string>();
        if (const auto record = store.Get(row.challenge_id); record && !record->value("deleted", false)) {
            row.statement = record->value("statement", "");
            row.kind = record->value("kind", "");
        }
        row_of.emplace(row.challenge_id, tally.rows.size());
        tally.rows.push_back(std::move(row));
    }
    for (const auto* ballot : counted) {
        for (const auto& mark : ballot->marks) {
            const auto it = row_of.find(mark.value("challenge_id", ""));
            if (it == row_of.end()) continue;
            auto& row = tally.rows[it->second];
            auto& s = sums[it->second];
            bool counts = false;
            if (tally.method == "dot_voting") {
                const auto dots = mark.value("dots", int64_t{0});
                row.dots += dots;
                counts = dots > 0;
            } else if (tally.method == "impact_feasibility" && mark.contains("impact") &&
                       mark.contains("feasibility")) {
                const auto i = mark["impact"].get<int64_t>(), f = mark["feasibility"].get<int64_t>();
                s.impact += i;
                s.feasibility += f;
                s.product += i * f;
                counts = true;
            } else if (tally.method == "ranking" && mark.contains("rank")) {
                const auto rank = mark["rank"].get<int64_t>();
                if (rank >= 1 && rank <= n) {
                    row.borda += n - rank + 1;
                    s.rank += rank;
                    counts = true;
                }
            }
            if (counts) ++row.voters;
            if (mark.contains("argument")) row.arguments.push_back(mark["argument"].get<std::string>());
        }
    }

    // Scores, as fractions for exact ties.
    std::vector<Fraction> key(tally.rows.size());
    for (size_t i = 0; i < tally.rows.size(); ++i) {
        auto& row = tally.rows[i];
        const auto v = row.voters;
        if (tally.method == "dot_voting") {
            key[i] = {row.dots, 1};
        } else if (tally.method == "impact_feasibility") {
            key[i] = {sums[i].product, v > 0 ? v : 1};
            if (v > 0) {
                row.mean_impact = static_cast<double>(sums[i].impact) / static_cast<double>(v);
                row.mean_feasibility = static_cast<double>(sums[i].feasibility) / static_cast<double>(v);
            }
        } else if (tally.method == "ranking") {
            key[i] = {row.borda, 1};
            if (v > 0) row.mean_rank = static_cast<double>(sums[i].rank) / static_cast<double>(v);
        }
        row.score = static_cast<double>(key[i].num) / static_cast<double>(key[i].den);
    }
    std::vector<size_t> order(tally.rows.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return Compare(key[a], key[b]) > 0; });
    std::vector<TallyRow> sorted;
    for (size_t at = 0; at < order.size(); ++at) {
        auto row = std::move(tally.rows[order[at]]);
        const bool same_as_before = at > 0 && Compare(key[order[at]], key[order[at - 1]]) == 0;
        const bool same_as_next = at + 1 < order.size() && Compare(key[order[at]], key[order[at + 1]]) == 0;
        row.place = same_as_before ? sorted.back().place : static_cast<int64_t>(at + 1);
        row.tied = same_as_before || same_as_next;
        tally.ties = tally.ties || row.tied;
        sorted.push_back(std::move(row));
    }
    tally.rows = std::move(sorted);
    return tally;
}

} // namespace escucha::interpret
