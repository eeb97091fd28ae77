// A profile's narratives, read beside the profile while writing it.
#include "i18n.h"
#include "panels.h"

namespace escucha::gui {

void DrawLinkedNarratives(EditingFeature& e, const Frame& f) {
    (void)f;
    if (!e.ReadsBeside()) return;
    if (e.LinkedNarratives().empty()) {
        ImGui::TextWrapped("%s", Tr("Link narratives in \"Narratives drawn on\" to read them here while you write."));
        return;
    }
    std::string open; // opened after the loop: opening clears the list being drawn
    for (const auto& n : e.LinkedNarratives()) {
        const std::string id = n.value("id", "");
        const auto& type = e.Type(n.value("type", ""));
        ImGui::PushID(id.c_str());
        // The title, cut with "…" where the button needs the room.
        const char* open_label = Tr("Open");
        const float button = ImGui::CalcTextSize(open_label).x + ImGui::GetStyle().FramePadding.x * 2;
        const float room = ImGui::GetContentRegionAvail().x - button - ImGui::GetStyle().ItemSpacing.x;
        ImGui::TextUnformatted(Ellipsize(n.value(type.title_field, ""), room).c_str());
        ImGui::SameLine();
        if (ImGui::SmallButton(open_label)) open = id;
        ImGui::Separator();
        // Read-only and wrapped: this pane is for reading.
        for (const auto& field : type.fields)
            if (field.kind == storage::FieldKind::LongText) ImGui::TextWrapped("%s", n.value(field.name, "").c_str());
        ImGui::Spacing();
        ImGui::Spacing();
        ImGui::PopID();
    }
    if (!open.empty()) e.OpenRecord(open);
}

} // namespace escucha::gui
