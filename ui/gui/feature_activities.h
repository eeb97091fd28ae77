// The activities of collective interpretation on the record open in the
// form: a profile's quotes (chosen from excerpts, withheld when consent does
// not cover quoting), a session's feedback on the profiles it presented (and
// the refined version it asks for), and a prioritisation round's voters,
// ballots and result. Each command is one interpret/ operation on the
// vault's worker; panel_activities.cpp draws from it.
//
// Thread contract: UI thread only.
#pragma once

#include "app_context.h"
#include "feature_editing.h"

#include "escucha/interpret/priorities.h"
#include "escucha/interpret/profiles.h"
#include "escucha/interpret/sessions.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace escucha::gui {

/// What a person writes about one profile in a session, before it is saved.
struct FeedbackDraft {
    std::string recognised, exists; ///< yes, partly, no, or empty
    std::string missing, superfluous, refinement;
    std::string saved_id; ///< the feedback record this device holds for it, once saved
};

/// A ballot being filled in for one voter token.
struct BallotDraft {
    std::string token;
    std::map<std::string, interpret::Mark> marks; ///< by challenge id
};

class ActivitiesFeature {
public:
    ActivitiesFeature(AppContext& ctx, EditingFeature& editing) : m_ctx(ctx), m_editing(editing) {}

    /// Reads what the open record's activity needs when the open record
    /// changed (or `force`): its quotes, its feedback, or its round's tally.
    void Follow(bool force = false);

    // --- quotes of the open profile ---
    [[nodiscard]] const std::vector<interpret::Quote>& Quotes() const { return m_quotes; }
    void AddQuote(const std::string& profile_id, const std::string& coding_id);
    void RemoveQuote(const std::string& quote_id);
    void MoveQuote(const std::string& quote_id, int64_t index);

    // --- feedback of the open session ---
    [[nodiscard]] std::map<std::string, FeedbackDraft>& Feedback() { return m_feedback; }
    [[nodiscard]] bool FeedbackLoaded() const { return m_feedback_loaded; }
    void SaveFeedback(const std::string& session_id, const std::string& profile_id);
    /// A new version of the profile as its feedback asks; it opens in the form.
    void Refine(const std::string& profile_id, const std::string& feedback_id);

    // --- the open round ---
    [[nodiscard]] const std::optional<interpret::Tally>& Tally() const { return m_tally; }
    [[nodiscard]] BallotDraft& Ballot() { return m_ballot; }
    void AddVoters(const std::string& round_id, int64_t count);
    void Cast(const std::string& round_id);
    void Close(const std::string& round_id, const std::string& decision);
    std::string& Decision() { return m_decision; }

    // --- exports (files outside the vault: not encrypted, the person is told) ---
    /// Where the next export of `what` goes (a path the person may change).
    std::string& ExportPath(const std::string& what);
    /// A printable HTML report of the open profile, session or round.
    void ExportReport(const std::string& type, const std::string& id);
    /// The project as .qdpx, .qdc, a CSV of excerpts, or an HTML page of its codes by `group_field`.
    void ExportProject(const std::string& project_id, const std::string& format, const std::string& group_field = {});

    void Clear(); ///< at lock

    /// Set by the owner: goes to a record's section and opens it (a refined profile, a round read again).
    std::function<void(const std::string& type, const std::string& id)> open_record;

private:
    void Run(std::function<void(storage::RecordStore&)> work, std::function<void()> done = {});
    void LoadQuotes(const std::string& profile_id);
    void LoadFeedback(const std::string& session_id);
    void LoadTally(const std::string& round_id);

    AppContext& m_ctx;
    EditingFeature& m_editing;
    std::string m_followed; ///< the record whose activity was read last
    std::vector<interpret::Quote> m_quotes;
    std::map<std::string, FeedbackDraft> m_feedback; ///< by profile id
    bool m_feedback_loaded = false;
    std::optional<interpret::Tally> m_tally;
    BallotDraft m_ballot;
    std::string m_decision;
    std::map<std::string, std::string> m_export_paths;
};

} // namespace escucha::gui
