// Sync with headquarters: enrol this device, see what waits, sync now.
#include "i18n.h"
#include "labels.h"
#include "panels.h"

#include <imgui_stdlib.h>

#include <ctime>

namespace escucha::gui {

namespace {

std::string Bytes(int64_t n) {
    char text[32];
    if (n >= 1024 * 1024) std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(n) / (1024.0 * 1024.0));
    else std::snprintf(text, sizeof text, "%.0f kB", static_cast<double>(n) / 1024.0);
    return text;
}

void DrawEnrol(SyncFeature& s, const Frame& f) {
    const auto& v = s.View();
    auto& form = s.Form();
    ImGui::TextWrapped("%s", Tr("This device is not enrolled. A coordinator at headquarters gives you the server's "
                                "address, a one-time code and, for a server with its own certificate, that "
                                "certificate's file."));
    ImGui::Spacing();
    ImGui::PushItemWidth(f.narrow ? -1.0f : 480.0f * f.scale);
    ImGui::TextUnformatted(Tr("Server"));
    ImGui::InputTextWithHint("##server", "https://hq.example.org:8443", &form.server);
    ImGui::TextUnformatted(Tr("Enrolment code"));
    if (form.focus_code) {
        ImGui::SetKeyboardFocusHere(); // a refused code is corrected where it was typed
        form.focus_code = false;
    }
    // Any case, with spaces or dashes: it is put as headquarters wrote it.
    bool submit =
        ImGui::InputTextWithHint("##code", "K7QF-M2XD-9PLA-3RTB", &form.code, ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::TextUnformatted(Tr("Certificate file (optional)"));
    ImGui::InputTextWithHint("##ca", "/media/usb/hq.pem", &form.ca_path);
    ImGui::PopItemWidth();
    ImGui::BeginDisabled(v.running);
    submit |= WideButton(Tr("Enrol"), f);
    ImGui::EndDisabled();
    if (submit) s.Enrol();
}

void DrawConflicts(SyncFeature& s, EditingFeature& e, const Frame& f) {
    const auto& v = s.View();
    if (v.conflict_list.empty()) return;
    ImGui::Separator();
    ImGui::TextWrapped("%s", Tr("Two versions of the same text: it was changed on this device and on another one "
                                "before they synced. Nothing is lost until you choose which one stays."));
    int64_t settle = -1;
    bool take_other = false;
    std::string open;
    for (const auto& c : v.conflict_list) {
        ImGui::PushID(static_cast<int>(c.seq));
        ImGui::Spacing();
        ImGui::Separator();
        ImGui::TextWrapped("%s: %s · %s", TypeLabel(c.record_type),
                           c.record_title.empty() ? Tr("(untitled)") : c.record_title.c_str(), FieldLabel(c.field));
        ImGui::TextDisabled("%s", Tr("On this device (what the record shows now):"));
        ImGui::Indent();
        ImGui::TextWrapped("%s", c.kept.empty() ? Tr("(empty)") : c.kept.c_str());
        ImGui::Unindent();
        char from[200];
        if (c.other_author.empty()) std::snprintf(from, sizeof from, "%s", Tr("From another device:"));
        else std::snprintf(from, sizeof from, Tr("From %s, on another device:"), c.other_author.c_str());
        ImGui::TextDisabled("%s", from);
        ImGui::Indent();
        ImGui::TextWrapped("%s", c.other.empty() ? Tr("(empty)") : c.other.c_str());
        ImGui::Unindent();
        if (WideButton(Tr("Keep the one on this device"), f)) settle = c.seq;
        if (!f.narrow) ImGui::SameLine();
        if (WideButton(Tr("Use the one from the other device"), f)) {
            settle = c.seq;
            take_other = true;
        }
        if (!f.narrow) ImGui::SameLine();
        if (WideButton(Tr("Open the record"), f)) open = c.record_id;
        ImGui::PopID();
    }
    // Acted on after the loop: both change the list being drawn.
    if (settle >= 0) s.ResolveConflict(settle, take_other);
    if (!open.empty()) e.OpenRecord(open);
}

void DrawRefused(SyncFeature& s, EditingFeature& e, const Frame& f) {
    const auto& v = s.View();
    if (v.refused_list.empty()) return;
    ImGui::Separator();
    ImGui::TextWrapped("%s", Tr("Refused by headquarters, kept on this device with the reason. Open the record to "
                                "correct it (the corrected record is sent), send it again as it is, or discard the "
                                "change."));
    std::string open;
    int64_t retry = 0, discard = 0;
    for (const auto& r : v.refused_list) {
        ImGui::PushID(static_cast<int>(r.seq));
        ImGui::Separator();
        ImGui::TextWrapped("%s: %s", TypeLabel(r.record_type),
                           r.record_title.empty() ? r.record_id.c_str() : r.record_title.c_str());
        ErrorText(r.reason);
        if (WideButton(Tr("Open the record"), f)) open = r.record_id;
        if (WideButton(Tr("Send again"), f)) retry = r.seq;
        if (ConfirmedButton(Tr("Discard the change"), "discard",
                            Tr("Discard this change? Headquarters keeps its version; this device keeps the record as "
                               "it is."),
                            Tr("Discard"), f, true))
            discard = r.seq;
        ImGui::PopID();
    }
    // Acted on after the loop: each changes the list being drawn.
    if (!open.empty()) e.OpenRecord(open);
    if (retry) s.RetryRefused(retry);
    if (discard) s.DiscardRefused(discard);
}

void DrawLocalWork(SyncFeature& s, const Frame& f) {
    std::string adopt, keep;
    for (const auto& l : s.View().local_work) {
        ImGui::PushID(l.project_id.c_str());
        ImGui::Separator();
        int64_t n = 0;
        std::string kinds;
        for (const auto& [type, count] : l.records) {
            n += count;
            kinds += (kinds.empty() ? "" : ", ") + std::to_string(count) + " " +
                     (count == 1 ? TypeLabel(type) : TypePluralLabel(type));
        }
        char words[512];
        std::snprintf(words, sizeof words,
                      Tr("This device holds %d record(s) recorded before enrolment, in its own "
                         "project \"%s\": %s."),
                      static_cast<int>(n), l.name.c_str(), kinds.c_str());
        ImGui::TextWrapped("%s", words);
        if (l.kept) {
            ImGui::TextWrapped("%s", Tr("You chose to keep them on this device only: they are not sent."));
        } else {
            ImGui::TextWrapped(Tr("Move them into \"%s\"? They are then sent to headquarters."),
                               s.View().project_name.c_str());
        }
        if (WideButton(Tr("Move them into the project"), f)) adopt = l.project_id;
        if (!l.kept && WideButton(Tr("Keep them on this device only"), f)) keep = l.project_id;
        ImGui::PopID();
    }
    if (!adopt.empty()) s.AdoptLocalWork(adopt);
    if (!keep.empty()) s.KeepLocalWork(keep);
}

} // namespace

void DrawSync(SyncFeature& s, EditingFeature& e, const Frame& f) {
    const auto& v = s.View();
    ImGui::TextUnformatted(Tr("Sync with headquarters"));
    ImGui::Separator();
    if (!v.known) {
        ImGui::TextDisabled("%s", Tr("Reading…"));
        return;
    }
    if (!v.enrolled) {
        DrawEnrol(s, f);
    } else {
        ImGui::Text("%s: %s", Tr("Server"), v.server.c_str());
        ImGui::TextWrapped("%s: %s (%s)", Tr("Project"), v.project_name.c_str(), ChoiceLabel(v.role));
        ImGui::Spacing();
        ImGui::Text(Tr("Records waiting to be sent: %lld"), static_cast<long long>(v.waiting_records));
        if (v.rejected > 0)
            ErrorText(std::string(Tr("Refused by headquarters (kept on this device): ")) + std::to_string(v.rejected));
        if (v.conflicts > 0)
            ImGui::Text(Tr("Edits made elsewhere at the same time, kept for you to merge: %lld"),
                        static_cast<long long>(v.conflicts));
        // When, in words and on this device's clock ("5 minutes ago (14:32)").
        const std::time_t now = std::time(nullptr);
        const std::string success = SinceInWords(v.last_success, now);
        ImGui::TextWrapped("%s: %s", Tr("Last success"),
                           v.last_success.empty() ? Tr("never")
                           : success.empty()      ? v.last_success.c_str()
                                                  : success.c_str());
        if (!v.last_error.empty()) {
            // Kept as "instant reason": the instant in words, then the reason.
            const auto space = v.last_error.find(' ');
            const std::string when = SinceInWords(v.last_error.substr(0, space), now);
            const std::string reason =
                when.empty() || space == std::string::npos ? v.last_error : v.last_error.substr(space + 1);
            ErrorText(std::string(Tr("Last error")) + (when.empty() ? "" : " " + when) + ": " + reason);
        }
        ImGui::Spacing();
        ImGui::BeginDisabled(v.running);
        if (WideButton(Tr("Sync now"), f)) s.SyncNow();
        ImGui::EndDisabled();
        if (v.running) {
            const auto& p = v.progress;
            const float changes = p.changes_total > 0 ? static_cast<float>(p.changes_sent) / p.changes_total : 1.0f;
            std::string text = std::to_string(p.changes_sent) + " / " + std::to_string(p.changes_total);
            ImGui::TextUnformatted(Tr("Changes"));
            ImGui::ProgressBar(changes, ImVec2(-1, 0), text.c_str());
            if (p.blob_bytes_total > 0) {
                ImGui::TextUnformatted(Tr("Recordings and photos"));
                text = Bytes(p.blob_bytes_done) + " / " + Bytes(p.blob_bytes_total);
                ImGui::ProgressBar(static_cast<float>(p.blob_bytes_done) / static_cast<float>(p.blob_bytes_total),
                                   ImVec2(-1, 0), text.c_str());
            }
            if (p.phase == sync::SyncProgress::Phase::Pull)
                ImGui::Text(Tr("Receiving: %lld records"), static_cast<long long>(p.pulled));
        }
    }
    if (!v.message.empty()) {
        if (v.message_is_error) ErrorText(v.message);
        else ImGui::TextWrapped("%s", v.message.c_str());
    }
    if (v.enrolled) {
        DrawLocalWork(s, f);
        DrawConflicts(s, e, f);
        DrawRefused(s, e, f);
    }
}

} // namespace escucha::gui
