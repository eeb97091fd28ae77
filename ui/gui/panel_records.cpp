// [SECTION] The list of a record type
// [SECTION] The record open in the form
#include "i18n.h"
#include "labels.h"
#include "panels.h"

#include "escucha/capture/operations.h"
#include "escucha/capture/social_import.h"
#include "escucha/interpret/coding.h"
#include "escucha/interpret/priorities.h"
#include "escucha/interpret/profiles.h"
#include "escucha/interpret/sessions.h"

#include <imgui_stdlib.h>

namespace escucha::gui {

// [SECTION] The list of a record type

void DrawRecordList(EditingFeature& e, const SyncFeature& sync, const std::string& type, const Frame& f) {
    if (!f.narrow) { // on a phone the menu above says it already
        ImGui::AlignTextToFramePadding();
        ImGui::TextUnformatted(TypePluralLabel(type));
        ImGui::SameLine();
    }
    std::string add = std::string("+ ") + Tr("New") + "###new";
    if (ImGui::Button(add.c_str(), ImVec2(f.narrow ? -1.0f : 0.0f, 0))) e.NewRecord(type);
    const auto& list = e.Lists().List(type);
    if (!list.loaded) {
        ImGui::TextDisabled("%s", Tr("Reading…"));
        return;
    }
    const auto& rows = list.rows;
    if (rows.empty()) {
        ImGui::TextWrapped("%s", Tr("Nothing here yet. \"New\" (Ctrl+N) makes the first one."));
        return;
    }
    ImGui::BeginChild("rows", ImVec2(0, 0), false);
    const float row_height = ImGui::GetTextLineHeightWithSpacing() * 2 + (f.narrow ? 12.0f * f.scale : 2.0f);
    // A project may hold tens of thousands of records: draw only those in view.
    ImGuiListClipper clipper;
    clipper.Begin(static_cast<int>(rows.size()), row_height + ImGui::GetStyle().ItemSpacing.y);
    while (clipper.Step())
        for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
            const auto& r = rows[static_cast<size_t>(i)];
            std::string detail;
            for (const auto& part : {r.kind, r.status})
                if (!part.empty()) detail += std::string(detail.empty() ? "" : " · ") + ChoiceLabel(part);
            if (!r.when.empty()) detail += (detail.empty() ? "" : " · ") + r.when;
            // Where the record stands with headquarters, once the device is enrolled.
            const auto& v = sync.View();
            if (v.enrolled && !v.project_id.empty() && e.Lists().ProjectId() == v.project_id) {
                const auto it = v.unsent.find(r.id);
                const char* state = it == v.unsent.end() ? Tr("sent")
                                    : it->second         ? Tr("refused")
                                                         : Tr("waiting to be sent");
                detail = std::string(state) + (detail.empty() ? "" : " · ") + detail;
            }
            // Cut with "…" where the list ends, never in the middle of a letter.
            const float room = ImGui::GetContentRegionAvail().x - ImGui::GetStyle().FramePadding.x;
            const std::string label =
                Ellipsize(e.Lists().RowLabel(type, r), room) + "\n" + Ellipsize(detail, room) + "###" + r.id;
            if (ImGui::Selectable(label.c_str(), e.Draft() && e.Draft()->id == r.id, 0, ImVec2(0, row_height)))
                e.OpenRecord(r.id);
            const std::string title = e.Lists().RowLabel(type, r);
            FullTextOnHold(title, ImGui::CalcTextSize(title.c_str()).x > room);
        }
    ImGui::EndChild();
}

// [SECTION] The record open in the form

namespace {

void DrawIdentity(EditingFeature& e, const Frame& f) {
    ImGui::Separator();
    if (!e.Identity()) {
        ImGui::BeginDisabled(e.Draft()->id.empty() || e.IdentityLoading());
        if (WideButton(Tr("Show identity (real name, contact)"), f)) e.ShowIdentity();
        ImGui::EndDisabled();
        if (e.Draft()->id.empty()) ImGui::TextDisabled("%s", Tr("Save the participant first."));
        return;
    }
    ImGui::TextWrapped("%s", Tr("Real name and contact. They stay on this device unless the project sends "
                                "identities to headquarters, and never appear in lists or search."));
    ImGui::Text("%s", SaveState(*e.Identity()));
    DrawForm(e, *e.Identity(), f, {PersonFieldOf(e.Type(e.Identity()->type))});
    if (WideButton(Tr("Hide identity"), f)) e.HideIdentity();
}

void DrawConsentActions(EditingFeature& e, const Frame& f) {
    auto& d = *e.Draft();
    if (d.id.empty() || d.values[capture::CONSENT_STATUS].text == capture::CONSENT_WITHDRAWN) return;
    if (ConfirmedButton(Tr("Withdraw consent"), "withdraw",
                        Tr("The participant withdraws consent today. What they gave (narratives they told, their "
                           "words in transcripts, items they wrote, their real name) is erased on this device, and at "
                           "headquarters and on other devices at their next sync. Profiles that drew on it are "
                           "flagged for review. Continue?"),
                        Tr("Withdraw"), f))
        e.WithdrawConsent(f.now);
}

void DrawDelete(EditingFeature& e, const Frame& f) {
    if (ConfirmedButton(Tr("Delete"), "delete",
                        Tr("Delete this record? Its content is erased on this device and, at the next sync, at "
                           "headquarters."),
                        Tr("Delete"), f, true))
        e.DeleteRecord();
}

} // namespace

void DrawRecordEditor(EditingFeature& e, AudioFeature& a, CodingFeature& c, ActivitiesFeature& act,
                      SocialFeature& social, const Frame& f) {
    if (!e.Draft()) {
        ImGui::TextWrapped("%s", Tr("Choose one from the list, or make a new one."));
        return;
    }
    auto& d = *e.Draft();
    if (!f.narrow) { // on a phone the bar above has the way back and the state
        ImGui::AlignTextToFramePadding();
        ImGui::TextUnformatted(TypeLabel(d.type));
        ImGui::SameLine();
        ImGui::TextDisabled("%s", SaveState(d));
        ImGui::SameLine(ImGui::GetWindowContentRegionMax().x - 90.0f * f.scale);
        if (ImGui::Button(Tr("Close"), ImVec2(90.0f * f.scale, 0))) {
            e.CloseRecord();
            return;
        }
        ImGui::Separator();
    }
    ImGui::BeginChild("form", ImVec2(0, 0), false);
    // Another record starts at its top, not where the last one was left.
    static int shown_key = 0;
    if (shown_key != d.key) {
        shown_key = d.key;
        ImGui::SetScrollY(0);
    }
    // What it was recorded as comes first: the record button is the first thing to reach.
    if (AudioFeature::HasRecordings(d.type)) {
        DrawRecordings(a, d, f);
        ImGui::Separator();
    }
    if (d.type == capture::SOCIAL_ITEM) DrawItemPictures(social, d, f);
    // A round's voters, status and decision change through its voting below, not by hand.
    DrawForm(e, d, f,
             d.type == interpret::ROUND_TYPE ? interpret::RoundFieldsSetByOperations() : std::vector<std::string>{});
    if (HasRole(d.type, storage::RecordRole::Person)) DrawIdentity(e, f);
    if (HasRole(d.type, storage::RecordRole::Consent)) DrawConsentActions(e, f);
    if (const auto* text = interpret::CodableField(e.Type(d.type))) DrawCodingBox(c, e, d, text->name, f);
    act.Follow();
    if (d.type == interpret::PROFILE_TYPE) DrawQuotes(act, e, d, f);
    else if (d.type == interpret::SESSION_TYPE) DrawFeedback(act, e, d, f);
    else if (d.type == interpret::ROUND_TYPE) DrawRound(act, e, d, f);
    if (e.ReadsBeside() && f.narrow) {
        // No room beside the form on a phone: the narratives follow it.
        if (ImGui::CollapsingHeader(Tr("Narratives it draws on"))) DrawLinkedNarratives(e, f);
    }
    ImGui::Separator();
    if (e.Draft() && !e.Draft()->id.empty()) DrawDelete(e, f);
    if (e.Draft()) {
        const auto& r = *e.Draft();
        if (!r.author.empty()) ImGui::TextDisabled("%s %s · %s", Tr("By"), r.author.c_str(), r.created_at.c_str());
    }
    ImGui::EndChild();
}

} // namespace escucha::gui
