// Search over every text in the vault, accents ignored. The results list is
// virtualised: ranks for all matches arrive at once; titles and snippets are
// read only for the rows that come into view.
#include "i18n.h"
#include "labels.h"
#include "panels.h"

#include <imgui_stdlib.h>

namespace escucha::gui {

namespace {

/// A snippet on one line, the matched words in bold colour. The vault marks
/// them with \x01 … \x02.
void DrawSnippet(const std::string& snippet) {
    size_t pos = 0;
    bool first = true;
    while (pos < snippet.size()) {
        const bool match = snippet[pos] == '\x01';
        if (match) ++pos;
        const size_t end = snippet.find(match ? '\x02' : '\x01', pos);
        const std::string part = snippet.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        // Fields and paragraphs are joined by newlines in the index; on one line a dot sets them apart.
        std::string flat;
        for (char c : part) {
            if (c == '\n') flat += " · ";
            else flat.push_back(c);
        }
        if (!first) ImGui::SameLine(0, 0);
        first = false;
        if (match) ImGui::TextColored(ImVec4(0.65f, 0.25f, 0.0f, 1), "%s", flat.c_str());
        else ImGui::TextDisabled("%s", flat.c_str());
        if (end == std::string::npos) break;
        pos = end + (match ? 1 : 0);
    }
}

} // namespace

void DrawSearch(SearchFeature& s, const EditingFeature& e, const Frame& f) {
    const auto& q = s.View();
    if (s.TakeFocus()) ImGui::SetKeyboardFocusHere();
    ImGui::SetNextItemWidth(f.narrow ? -1.0f : -120.0f * f.scale);
    bool go = ImGui::InputTextWithHint("##query", Tr("Search all text (Ctrl+F), accents ignored"), &s.Query(),
                                       ImGuiInputTextFlags_EnterReturnsTrue);
    if (!f.narrow) ImGui::SameLine();
    go |= WideButton(Tr("Search"), f);
    if (go) s.Search();
    if (q.searching) ImGui::TextDisabled("%s", Tr("Searching…"));
    if (q.done == 0) {
        ImGui::TextWrapped("%s", Tr("Every word must appear; end a word with * to match its beginning (cosech*)."));
        return;
    }
    ImGui::Text(Tr("%zu found"), q.ranks.size());
    ImGui::BeginChild("hits", ImVec2(0, 0), false);
    const float row = ImGui::GetTextLineHeightWithSpacing() * 2 + (f.narrow ? 12.0f * f.scale : 2.0f);
    ImGuiListClipper clipper;
    clipper.Begin(static_cast<int>(q.ranks.size()), row + ImGui::GetStyle().ItemSpacing.y);
    while (clipper.Step()) {
        s.NeedHits(static_cast<size_t>(clipper.DisplayStart), static_cast<size_t>(clipper.DisplayEnd));
        for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
            const auto index = static_cast<size_t>(i);
            ImGui::PushID(i);
            const auto hit = q.hits.find(index);
            if (hit == q.hits.end()) {
                ImGui::Selectable("…", false, ImGuiSelectableFlags_Disabled, ImVec2(0, row));
                ImGui::PopID();
                continue;
            }
            const auto& h = hit->second;
            if (h.id.empty()) {
                ImGui::Selectable(Tr("(no longer in the vault)"), false, ImGuiSelectableFlags_Disabled, ImVec2(0, row));
                ImGui::PopID();
                continue;
            }
            const ImVec2 start = ImGui::GetCursorPos();
            if (ImGui::Selectable("##hit", e.Draft() && e.Draft()->id == h.id, ImGuiSelectableFlags_AllowItemOverlap,
                                  ImVec2(0, row)))
                s.OpenHit(index);
            ImGui::SetCursorPos(start);
            std::string title = h.title.empty() ? std::string(TypeLabel(h.type)) : h.title;
            const std::string kind = std::string("  ·  ") + TypeLabel(h.type);
            const float room = ImGui::GetContentRegionAvail().x - ImGui::CalcTextSize(kind.c_str()).x;
            ImGui::TextUnformatted((Ellipsize(title, room) + kind).c_str());
            DrawSnippet(h.snippet);
            ImGui::SetCursorPos(ImVec2(start.x, start.y + row + ImGui::GetStyle().ItemSpacing.y));
            ImGui::PopID();
        }
    }
    ImGui::EndChild();
}

} // namespace escucha::gui
