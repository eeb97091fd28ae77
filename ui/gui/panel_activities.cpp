// The activities of collective interpretation, under the form of the record
// they belong to: a profile's quotes, a session's feedback, a round's
// ballots and result (a bar chart drawn with Dear ImGui's draw lists).
#include "i18n.h"
#include "labels.h"
#include "panels.h"

#include <imgui_stdlib.h>

#include <algorithm>
#include <cstdio>

namespace escucha::gui {

namespace {

std::string RowName(const EditingFeature& e, const std::string& type, const std::string& id) {
    if (const auto* r = e.Lists().Row(type, id)) return e.Lists().RowLabel(type, *r);
    return id.substr(0, 8) + "…";
}

/// Why a quote's words are not shown, in words.
std::string WithheldText(const interpret::Quote& q) {
    switch (q.withheld) {
    case interpret::Withheld::No:
        return {};
    case interpret::Withheld::NoConsent: {
        std::string who;
        for (const auto& p : q.not_consenting) who += (who.empty() ? "" : ", ") + p;
        return std::string(Tr("Withheld: the consent of these participants does not cover quoting their words: ")) +
               who;
    }
    case interpret::Withheld::NoParticipant:
        return Tr("Withheld: the source names nobody whose consent covers quoting it.");
    case interpret::Withheld::SourceGone:
        return Tr("Withheld: the passage or its source is no longer on this device.");
    }
    return {};
}

/// A choice among yes, partly and no (or nothing yet).
void Answer(const char* label, std::string& value, const Frame& f) {
    ImGui::TextDisabled("%s", label);
    ImGui::PushID(label);
    for (const char* a : {"yes", "partly", "no"}) {
        if (ImGui::RadioButton(ChoiceLabel(a), value == a)) value = value == a ? std::string() : std::string(a);
        ImGui::SameLine();
    }
    ImGui::NewLine();
    (void)f;
    ImGui::PopID();
}

/// A paragraph that wraps as it is written (the form's own long-text editor).
void Paragraph(EditingFeature& e, const RecordDraft& d, const std::string& key, const char* label, std::string& value,
               const Frame& f) {
    ImGui::TextDisabled("%s", label);
    (void)WrappedText(e, d, key, value, 70.0f * f.scale);
}

int64_t Number(const RecordDraft& d, const char* field, int64_t fallback) {
    const auto it = d.values.find(field);
    if (it == d.values.end() || it->second.text.empty()) return fallback;
    try {
        return std::stoll(it->second.text);
    } catch (const std::exception&) {
        return fallback;
    }
}

} // namespace

/// A printable report of the open profile, session or round, saved where the person says.
void DrawReportExport(ActivitiesFeature& a, const RecordDraft& d, const Frame& f) {
    if (d.id.empty() || !ImGui::CollapsingHeader(Tr("Report (HTML, to print or project)"))) return;
    ImGui::PushID("report");
    ImGui::SetNextItemWidth(-1);
    ImGui::InputText("##path", &a.ExportPath(d.type + ".html"));
    ImGui::TextDisabled("%s", Tr("The file is not encrypted: keep it as safe as the testimony in it."));
    if (WideButton(Tr("Save the report"), f)) a.ExportReport(d.type, d.id);
    ImGui::PopID();
}

// [SECTION] A profile's quotes

void DrawQuotes(ActivitiesFeature& a, EditingFeature& e, const RecordDraft& d, const Frame& f) {
    ImGui::Separator();
    if (!ImGui::CollapsingHeader(Tr("Quotes"), ImGuiTreeNodeFlags_DefaultOpen)) return;
    if (d.id.empty()) return;
    const auto& quotes = a.Quotes();
    if (quotes.empty())
        ImGui::TextWrapped("%s", Tr("No quotes yet. Choose them among the excerpts of a code (Codebook or Results): "
                                    "“Quote in a profile”."));
    for (size_t i = 0; i < quotes.size(); ++i) {
        const auto& q = quotes[i];
        ImGui::PushID(q.id.c_str());
        if (q.withheld == interpret::Withheld::No) {
            ImGui::TextWrapped("%zu. «%s»", i + 1, q.text.c_str());
        } else {
            ImGui::Text("%zu.", i + 1);
            ImGui::SameLine();
            ImGui::PushStyleColor(ImGuiCol_Text, ERROR_COLOUR);
            ImGui::TextWrapped("%s", WithheldText(q).c_str());
            ImGui::PopStyleColor();
        }
        if (q.needs_review) ImGui::TextColored(ERROR_COLOUR, "%s", Tr("The text changed here: check this passage."));
        if (!q.note.empty()) ImGui::TextDisabled("%s", q.note.c_str());
        if (ImGui::TreeNode(Tr("Where it comes from"))) {
            const auto& t = q.trail;
            ImGui::TextWrapped("%s: %s", Tr("Code"), t.code_name.c_str());
            ImGui::TextWrapped("%s: %s", TypeLabel(t.source_type),
                               t.source_title.empty() ? t.source_id.substr(0, 8).c_str() : t.source_title.c_str());
            for (const auto& title : t.interview_titles) ImGui::TextWrapped("%s: %s", TypeLabel("interview"), title.c_str());
            std::string who;
            for (const auto& p : t.pseudonyms) who += (who.empty() ? "" : ", ") + p;
            if (!who.empty()) ImGui::TextWrapped("%s: %s", Tr("Participants"), who.c_str());
            ImGui::TreePop();
        }
        ImGui::BeginDisabled(i == 0);
        if (SideButton(Tr("Move up"), f)) a.MoveQuote(q.id, static_cast<int64_t>(i) - 1);
        ImGui::EndDisabled();
        ImGui::SameLine();
        ImGui::BeginDisabled(i + 1 == quotes.size());
        if (SideButton(Tr("Move down"), f)) a.MoveQuote(q.id, static_cast<int64_t>(i) + 1);
        ImGui::EndDisabled();
        ImGui::SameLine();
        if (ConfirmedButton(Tr("Remove"), "remove_quote", Tr("Remove this quote from the profile?"), Tr("Remove"), f))
            a.RemoveQuote(q.id);
        ImGui::PopID();
    }
    DrawReportExport(a, d, f);
    (void)e;
}

/// Under an excerpt: make it a quote of one of the project's profiles.
void DrawQuoteIn(ActivitiesFeature& a, const EditingFeature& e, const std::string& coding_id, const Frame& f) {
    const auto& profiles = e.Lists().List(interpret::PROFILE_TYPE).rows;
    if (profiles.empty()) return;
    ImGui::SetNextItemWidth(f.narrow ? -1.0f : 260.0f * f.scale);
    if (ImGui::BeginCombo("##quote_in", Tr("Quote in a profile…"))) {
        for (const auto& p : profiles) {
            ImGui::PushID(p.id.c_str());
            if (ImGui::Selectable(e.Lists().RowLabel(interpret::PROFILE_TYPE, p).c_str())) a.AddQuote(p.id, coding_id);
            ImGui::PopID();
        }
        ImGui::EndCombo();
    }
}

// [SECTION] A session's feedback

void DrawFeedback(ActivitiesFeature& a, EditingFeature& e, RecordDraft& d, const Frame& f) {
    ImGui::Separator();
    if (!ImGui::CollapsingHeader(Tr("Feedback on the profiles presented"), ImGuiTreeNodeFlags_DefaultOpen)) return;
    if (d.id.empty()) return;
    const auto& presented = d.values["profile_ids"].items;
    if (presented.empty()) {
        ImGui::TextWrapped("%s", Tr("Add the profiles presented in this session above; then note what was said "
                                    "about each."));
        return;
    }
    if (!a.FeedbackLoaded()) {
        ImGui::TextDisabled("%s", Tr("Reading…"));
        return;
    }
    for (const auto& profile : presented) {
        ImGui::PushID(profile.c_str());
        if (ImGui::TreeNodeEx(RowName(e, interpret::PROFILE_TYPE, profile).c_str(), ImGuiTreeNodeFlags_DefaultOpen)) {
            auto& fb = a.Feedback()[profile];
            Answer(Tr("Recognised?"), fb.recognised, f);
            Answer(Tr("Does it exist in the territory?"), fb.exists, f);
            Paragraph(e, d, "feedback/" + profile + "/missing", Tr("What is missing"), fb.missing, f);
            Paragraph(e, d, "feedback/" + profile + "/superfluous", Tr("What is superfluous"), fb.superfluous, f);
            Paragraph(e, d, "feedback/" + profile + "/refinement", Tr("How to refine it"), fb.refinement, f);
            if (WideButton(Tr("Save the feedback"), f)) a.SaveFeedback(d.id, profile);
            if (!fb.saved_id.empty() && !fb.refinement.empty()) {
                if (!f.narrow) ImGui::SameLine();
                if (ConfirmedButton(Tr("Refine the profile"), "refine",
                                    Tr("Make a new version of the profile as this feedback asks? The version "
                                       "presented stays as it was."),
                                    Tr("Refine"), f))
                    a.Refine(profile, fb.saved_id);
            }
            ImGui::TreePop();
        }
        ImGui::PopID();
    }
    DrawReportExport(a, d, f);
}

// [SECTION] A prioritisation round

namespace {

/// The result: one bar per challenge, as long as its score, best first.
void DrawTallyChart(const interpret::Tally& t, const Frame& f) {
    double best = 0;
    for (const auto& r : t.rows) best = std::max(best, r.score);
    if (best <= 0) best = 1;
    ImDrawList* draw = ImGui::GetWindowDrawList();
    const float width = ImGui::GetContentRegionAvail().x;
    const float bar = std::max(14.0f, ImGui::GetFontSize());
    for (const auto& r : t.rows) {
        char head[64];
        std::snprintf(head, sizeof head, "%lld%s. ", static_cast<long long>(r.place), r.tied ? "=" : "");
        ImGui::TextWrapped("%s%s", head, r.statement.c_str());
        const ImVec2 p = ImGui::GetCursorScreenPos();
        const float room = std::max(20.0f, width - ImGui::CalcTextSize("000.0").x - 8);
        const float w = room * static_cast<float>(r.score / best);
        const ImU32 colour = r.kind == "opportunity" ? IM_COL32(44, 160, 44, 255) : IM_COL32(214, 39, 40, 255);
        draw->AddRectFilled(p, ImVec2(p.x + std::max(w, 2.0f), p.y + bar), colour, 2.0f);
        char score[32];
        std::snprintf(score, sizeof score, "%.1f", r.score);
        draw->AddText(ImVec2(p.x + w + 4, p.y), ImGui::GetColorU32(ImGuiCol_Text), score);
        ImGui::Dummy(ImVec2(width, bar + 2));
        if (t.method == "impact_feasibility")
            ImGui::TextDisabled("%s %.1f · %s %.1f · %lld %s", Tr("impact"), r.mean_impact, Tr("feasibility"),
                                r.mean_feasibility, static_cast<long long>(r.voters), Tr("voters"));
        else if (t.method == "ranking")
            ImGui::TextDisabled("%s %.1f · %lld %s", Tr("mean place"), r.mean_rank, static_cast<long long>(r.voters),
                                Tr("voters"));
        else
            ImGui::TextDisabled("%lld %s · %lld %s", static_cast<long long>(r.dots), Tr("dots"),
                                static_cast<long long>(r.voters), Tr("voters"));
        if (!r.arguments.empty() && ImGui::TreeNode(r.challenge_id.c_str(), "%s (%zu)", Tr("Arguments"),
                                                    r.arguments.size())) {
            for (const auto& arg : r.arguments) ImGui::BulletText("%s", arg.c_str());
            ImGui::TreePop();
        }
    }
    (void)f;
}

} // namespace

void DrawRound(ActivitiesFeature& a, EditingFeature& e, RecordDraft& d, const Frame& f) {
    ImGui::Separator();
    if (d.id.empty()) return;
    const std::string method = d.values["method"].text;
    const auto& challenges = d.values["challenge_ids"].items;
    const bool closed = d.values["status"].text == "closed";
    const auto tokens = SplitList(d.values["voter_tokens"].text);
    if (!closed && ImGui::CollapsingHeader(Tr("Voting"), ImGuiTreeNodeFlags_DefaultOpen)) {
        ImGui::TextWrapped("%s", Tr("Each voter gets a token, not a name. Hand them out on paper; a voter's last "
                                    "ballot is the one counted."));
        if (SideButton(Tr("Five more voters"), f)) a.AddVoters(d.id, 5);
        auto& ballot = a.Ballot();
        if (!tokens.empty() && !challenges.empty()) {
            ImGui::SetNextItemWidth(f.narrow ? -1.0f : 200.0f * f.scale);
            if (ImGui::BeginCombo("##token", ballot.token.empty() ? Tr("Voter token…") : ballot.token.c_str())) {
                for (const auto& t : tokens)
                    if (ImGui::Selectable(t.c_str(), t == ballot.token)) ballot.token = t;
                ImGui::EndCombo();
            }
            const int lo = static_cast<int>(Number(d, "score_min", interpret::DEFAULT_SCORE_MIN));
            const int hi = static_cast<int>(Number(d, "score_max", interpret::DEFAULT_SCORE_MAX));
            if (method == "dot_voting")
                ImGui::TextDisabled("%s: %lld", Tr("Dots per voter"),
                                    static_cast<long long>(Number(d, "dots_per_voter", interpret::DEFAULT_DOTS_PER_VOTER)));
            for (const auto& c : challenges) {
                ImGui::PushID(c.c_str());
                auto& mark = ballot.marks[c];
                ImGui::TextWrapped("%s", RowName(e, interpret::CHALLENGE_TYPE, c).c_str());
                ImGui::SetNextItemWidth(f.narrow ? -1.0f : 200.0f * f.scale);
                if (method == "dot_voting") {
                    int dots = static_cast<int>(mark.dots);
                    if (ImGui::InputInt(Tr("dots"), &dots)) mark.dots = std::max(0, dots);
                } else if (method == "impact_feasibility") {
                    int impact = std::clamp(static_cast<int>(mark.impact), lo, hi);
                    int feasibility = std::clamp(static_cast<int>(mark.feasibility), lo, hi);
                    if (ImGui::SliderInt(Tr("impact"), &impact, lo, hi)) mark.impact = impact;
                    ImGui::SetNextItemWidth(f.narrow ? -1.0f : 200.0f * f.scale);
                    if (ImGui::SliderInt(Tr("feasibility"), &feasibility, lo, hi)) mark.feasibility = feasibility;
                    mark.impact = impact;
                    mark.feasibility = feasibility;
                } else {
                    int rank = static_cast<int>(mark.rank);
                    if (ImGui::InputInt(Tr("place"), &rank)) mark.rank = std::max(0, rank);
                }
                ImGui::SetNextItemWidth(-1);
                ImGui::InputTextWithHint("##argument", Tr("Why (optional)"), &mark.argument);
                ImGui::PopID();
            }
            ImGui::BeginDisabled(ballot.token.empty());
            if (WideButton(Tr("Count this ballot"), f)) a.Cast(d.id);
            ImGui::EndDisabled();
        } else if (challenges.empty()) {
            ImGui::TextWrapped("%s", Tr("Add the challenges and opportunities to prioritise above."));
        }
    }
    if (ImGui::CollapsingHeader(Tr("Result"), ImGuiTreeNodeFlags_DefaultOpen)) {
        if (!a.Tally()) {
            ImGui::TextDisabled("%s", Tr("Reading…"));
        } else if (a.Tally()->ballots == 0) {
            ImGui::TextDisabled("%s", Tr("No ballot yet."));
        } else {
            const auto& t = *a.Tally();
            ImGui::TextDisabled("%lld %s · %lld %s", static_cast<long long>(t.ballots), Tr("ballots"),
                                static_cast<long long>(t.voters_invited), Tr("voters invited"));
            if (t.ties) ImGui::TextDisabled("%s", Tr("Some share a place: they tie on the score."));
            DrawTallyChart(t, f);
        }
        if (!closed) {
            ImGui::TextDisabled("%s", Tr("Decision"));
            (void)WrappedText(e, d, "round/decision", a.Decision(), 70.0f * f.scale);
            ImGui::BeginDisabled(a.Decision().empty());
            if (ConfirmedButton(Tr("Close the round"), "close_round",
                                Tr("Close the round with this decision? No more ballots are counted."), Tr("Close"),
                                f))
                a.Close(d.id, a.Decision());
            ImGui::EndDisabled();
        }
    }
    DrawReportExport(a, d, f);
}

} // namespace escucha::gui
