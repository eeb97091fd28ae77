// Challenges and opportunities, and their prioritisation.
//
// A challenge (or opportunity) states what the material shows, with its
// evidence (codes, excerpts, profiles, narratives), classified by the
// pillars of the ILO's approach to decent work in the rural economy
// (employment, rights at work, social protection, social dialogue).
//
// A prioritisation round orders some of them by one method: dot voting
// (each voter places up to a budget of dots), impact x feasibility scoring
// (each voter scores both within a range; a challenge's score is the mean
// of impact x feasibility over the voters who scored it) or ranking (each
// voter ranks every challenge; Borda points, n for first place down to 1).
// Voters are anonymous tokens handed out with the round (V-7K3M9Q), never
// names. Each mark is a record of its own (type `vote`): ballots cast on
// several devices offline all count. A voter who votes again (on any
// device) replaces their earlier ballot: the ballot cast last counts.
//
// Each operation is one function over a RecordStore and one transaction.
//
// Errors: storage::RecordError with a code from error_code.h (NO_CHALLENGES,
// BAD_SCORE_RANGE, BAD_VOTER_TOKEN, UNKNOWN_VOTER, ROUND_CLOSED,
// CHALLENGE_NOT_IN_ROUND, EMPTY_BALLOT, MARKED_TWICE, DOTS_OVER_BUDGET,
// SCORE_OUT_OF_RANGE, RANKS_NOT_PERMUTATION, NOT_NEGATIVE, and the store's
// own codes); storage::SqliteError from the database.
#pragma once

#include "escucha/storage/records.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace escucha::interpret {

using storage::Json;

inline constexpr const char* CHALLENGE_TYPE = "challenge";
inline constexpr const char* ROUND_TYPE = "prioritisation_round";
inline constexpr const char* VOTE_TYPE = "vote";

/// Defaults a round gets when its method needs them and none were given.
inline constexpr int64_t DEFAULT_DOTS_PER_VOTER = 3;
inline constexpr int64_t DEFAULT_SCORE_MIN = 1;
inline constexpr int64_t DEFAULT_SCORE_MAX = 5;

/// The fields of a round that change only through its operations (voters
/// added, votes closed, a decision recorded), never by editing the record.
inline const std::vector<std::string>& RoundFieldsSetByOperations() {
    static const std::vector<std::string> fields = {"voter_tokens", "status", "decision"};
    return fields;
}

// [SECTION] Voter tokens

/// A new anonymous voter token: "V-" and six characters that cannot be
/// mistaken for one another (no 0/O, 1/I).
[[nodiscard]] std::string NewVoterToken();
/// Whether `text` has the form of a voter token (and so holds no name).
[[nodiscard]] bool IsVoterToken(std::string_view text);

// [SECTION] Challenges and rounds

/// Creates a challenge or opportunity in `project_id` from `fields` (kind,
/// statement, description, pillars, code_ids, coding_ids, profile_ids,
/// narrative_ids). Returns the stored record.
Json CreateChallenge(storage::RecordStore& store, const std::string& project_id, const Json& fields);

struct NewRound {
    Json round;
    std::vector<std::string> tokens; ///< one per voter, to hand out
};

/// Creates a prioritisation round in `project_id` from `fields` (title,
/// method, challenge_ids, dots_per_voter, score_min, score_max, session_id,
/// held_on) with `voters` anonymous voter tokens. The method's parameters
/// default to 3 dots per voter and scores from 1 to 5.
NewRound CreateRound(storage::RecordStore& store, const std::string& project_id, const Json& fields, int64_t voters);

/// Hands out `voters` more tokens for round `round_id`. Returns them.
std::vector<std::string> AddVoters(storage::RecordStore& store, const std::string& round_id, int64_t voters);

/// One voter's mark for one challenge. Only what the round's method uses
/// is read: dots (dot voting), impact and feasibility (scoring), rank
/// (ranking, 1 first).
struct Mark {
    std::string challenge_id;
    int64_t dots = 0;
    int64_t impact = 0;
    int64_t feasibility = 0;
    int64_t rank = 0;
    std::string argument; ///< why, in the voter's words; may be empty
};

/// Casts the ballot of voter `voter_token` in round `round_id`: one vote
/// record per mark, together, under one ballot id. Checks the ballot against
/// the round's method: dots not negative and within the budget per voter
/// (a mark of no dots is kept only for its argument), scores within the
/// range, ranks a permutation of 1..n over all n challenges of the round;
/// each challenge of the round at most once. Refuses a closed round. A
/// voter's later ballot replaces their earlier ones in the tally. Returns
/// the vote records created.
std::vector<Json> CastVote(storage::RecordStore& store, const std::string& round_id, const std::string& voter_token,
                           const std::vector<Mark>& ballot);

/// Closes round `round_id` with `decision` (what was decided, and why).
Json CloseRound(storage::RecordStore& store, const std::string& round_id, const std::string& decision);

// [SECTION] Tally

struct TallyRow {
    std::string challenge_id;
    std::string statement;
    std::string kind;  ///< challenge or opportunity
    int64_t place = 0; ///< 1 first; tied challenges share a place (1, 2, 2, 4)
    bool tied = false; ///< another challenge has the same score
    /// What the order is by: dots (dot voting), mean impact x feasibility
    /// (scoring), Borda points (ranking).
    double score = 0;
    int64_t voters = 0;     ///< voters whose counted ballot marks it
    int64_t dots = 0;       ///< dot voting: dots placed
    double mean_impact = 0; ///< scoring
    double mean_feasibility = 0;
    int64_t borda = 0;                  ///< ranking: sum over voters of n - rank + 1
    double mean_rank = 0;               ///< ranking
    std::vector<std::string> arguments; ///< every argument given for it in a counted ballot, in ballot order
};

struct Tally {
    std::string method;
    std::vector<TallyRow> rows; ///< best first; ties in the round's order of challenges
    int64_t voters_invited = 0; ///< tokens handed out
    int64_t ballots = 0;        ///< ballots counted (one per voter)
    int64_t superseded = 0;     ///< earlier ballots replaced by a later one of the same voter
    bool ties = false;          ///< some challenges share a place
};

/// Counts round `round_id`: for each voter token its last ballot (the one
/// whose records were created last; ids are time-ordered), whatever device
/// cast it; marks for challenges no longer in the round are left out. Rows
/// are ordered by score, best first; equal scores share a place and keep
/// the order the round lists its challenges in.
[[nodiscard]] Tally TallyRound(storage::RecordStore& store, const std::string& round_id);

} // namespace escucha::interpret
