// Coding and its results: the box under a text to code a passage, the
// codebook, the excerpts of a code, and the results of listening as charts
// and a code x group matrix drawn with Dear ImGui's draw lists.
#include "i18n.h"
#include "labels.h"
#include "panels.h"

#include <imgui_stdlib.h>

#include <algorithm>
#include <cstdio>

namespace escucha::gui {

namespace {

constexpr const char* CODE_KINDS[] = {"need", "aspiration", "perception", "problem", "value", "other"};

/// A code's colour (grey when it has none or it cannot be read).
ImU32 CodeColour(const std::string& hex, float alpha = 1.0f) {
    unsigned r = 128, g = 128, b = 128;
    if (hex.size() == 7 && hex[0] == '#') std::sscanf(hex.c_str() + 1, "%02x%02x%02x", &r, &g, &b);
    return IM_COL32(r, g, b, static_cast<int>(alpha * 255));
}

/// A small square of the code's colour, centred on a line `height` high
/// (a frame's height when 0), followed on the same line by what comes next.
void Swatch(const std::string& hex, float height = 0) {
    if (height <= 0) height = ImGui::GetFrameHeight();
    const float size = ImGui::GetTextLineHeight() * 0.8f;
    const ImVec2 p = ImGui::GetCursorScreenPos();
    const float y = p.y + (height - size) * 0.5f;
    ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(p.x, y), ImVec2(p.x + size, y + size), CodeColour(hex), 2.0f);
    ImGui::Dummy(ImVec2(size, height));
    ImGui::SameLine();
}

std::string CodeName(const CodingFeature& c, const std::string& id) {
    const auto* code = c.Code(id);
    return code ? code->name : id.substr(0, 8) + "…";
}

/// What a group value is called: a choice's label, or the value as recorded.
std::string GroupLabel(const std::string& value) {
    if (value == interpret::NOT_RECORDED) return Tr("Not recorded");
    return ChoiceLabel(value);
}

/// Colours told apart by most people, for groups in charts.
ImU32 GroupColour(size_t i) {
    static const ImU32 palette[] = {IM_COL32(31, 119, 180, 255), IM_COL32(255, 127, 14, 255),
                                    IM_COL32(44, 160, 44, 255),  IM_COL32(214, 39, 40, 255),
                                    IM_COL32(148, 103, 189, 255), IM_COL32(140, 86, 75, 255),
                                    IM_COL32(227, 119, 194, 255), IM_COL32(127, 127, 127, 255),
                                    IM_COL32(188, 189, 34, 255),  IM_COL32(23, 190, 207, 255)};
    return palette[i % (sizeof palette / sizeof palette[0])];
}

/// The codes offered for a passage: live ones, indented under their parents, as ticks.
void CodeTicks(CodingFeature& c, const Frame& f) {
    auto& ticked = c.Ticked();
    for (const auto& code : c.Codebook()) {
        if (code.retired || !code.merged_into.empty()) continue;
        ImGui::PushID(code.id.c_str());
        if (code.depth > 0) ImGui::Indent(16.0f * f.scale * static_cast<float>(code.depth));
        Swatch(code.colour);
        bool on = ticked.count(code.id) > 0;
        if (ImGui::Checkbox(code.name.c_str(), &on)) {
            if (on) ticked.insert(code.id);
            else ticked.erase(code.id);
        }
        if (code.depth > 0) ImGui::Unindent(16.0f * f.scale * static_cast<float>(code.depth));
        ImGui::PopID();
    }
}

} // namespace

// [SECTION] The coding box under a text

void DrawCodingBox(CodingFeature& c, EditingFeature& e, RecordDraft& d, const std::string& field, const Frame& f) {
    ImGui::Separator();
    if (!ImGui::CollapsingHeader(Tr("Coding"), ImGuiTreeNodeFlags_DefaultOpen)) return;
    if (d.id.empty()) {
        ImGui::TextDisabled("%s", Tr("Write and save the text first; then select a passage to code it."));
        return;
    }
    if (!c.CodebookLoaded()) c.LoadCodebook();
    const std::string& text = d.values[field].text;
    const auto& wrapped = e.Wrapped(std::to_string(d.key) + "/" + field);
    const bool saved = !d.dirty && !d.saving && wrapped.text == text;
    const auto selection = saved ? CodingFeature::SelectionOf(text, wrapped.sel_from, wrapped.sel_to) : std::nullopt;
    if (!saved) {
        ImGui::TextDisabled("%s", Tr("Saving… the passage can be coded once the text is saved."));
    } else if (!selection) {
        ImGui::TextWrapped("%s", Tr("Select a passage of the text above, then tick the codes it speaks of."));
    } else {
        ImGui::TextDisabled("%s", Tr("Passage"));
        ImGui::TextWrapped("«%s»", selection->words.c_str());
    }
    if (c.Codebook().empty() && c.CodebookLoaded()) {
        ImGui::TextWrapped("%s", Tr("The codebook is empty: make codes under Codebook."));
    } else {
        CodeTicks(c, f);
    }
    ImGui::SetNextItemWidth(-1);
    ImGui::InputTextWithHint("##memo", Tr("Memo (optional)"), &c.Memo());
    ImGui::BeginDisabled(!selection || c.Ticked().empty());
    if (WideButton(Tr("Code the passage"), f) && selection) c.Apply(d.id, *selection);
    ImGui::EndDisabled();

    const auto& codings = c.CodingsOf(d.id);
    if (codings.empty()) return;
    ImGui::Spacing();
    ImGui::TextDisabled("%s (%zu)", Tr("Coded passages"), codings.size());
    for (const auto& row : codings) {
        ImGui::PushID(row.id.c_str());
        const auto* code = c.Code(row.code_id);
        Swatch(code ? code->colour : std::string());
        ImGui::TextUnformatted(CodeName(c, row.code_id).c_str());
        if (row.needs_review) {
            ImGui::SameLine();
            ImGui::TextColored(ERROR_COLOUR, "%s", Tr("needs review"));
        }
        ImGui::Indent();
        ImGui::TextWrapped("«%s»", row.excerpt.c_str());
        if (!row.memo.empty()) ImGui::TextDisabled("%s", row.memo.c_str());
        if (ConfirmedButton(Tr("Remove"), "remove_coding", Tr("Remove this code from the passage?"), Tr("Remove"), f))
            c.RemoveCoding(row.id);
        ImGui::Unindent();
        ImGui::PopID();
    }
}

// [SECTION] Excerpts of a code

void DrawExcerpts(CodingFeature& c, EditingFeature& e, AppState& app, const Frame& f) {
    const auto& view = c.Excerpts();
    if (view.code_id.empty()) return;
    const auto* code = c.Code(view.code_id);
    Swatch(code ? code->colour : std::string());
    if (view.group.empty() && view.only.empty())
        ImGui::TextWrapped("%s: %s", Tr("Excerpts"), CodeName(c, view.code_id).c_str());
    else
        ImGui::TextWrapped("%s: %s · %s", Tr("Excerpts"), CodeName(c, view.code_id).c_str(),
                           GroupLabel(view.group).c_str());
    if (view.loading) {
        ImGui::TextDisabled("%s", Tr("Reading…"));
        return;
    }
    if (view.excerpts.empty()) ImGui::TextDisabled("%s", Tr("No passage has this code yet."));
    for (const auto& ex : view.excerpts) {
        ImGui::PushID(ex.coding_id.c_str());
        ImGui::Separator();
        std::string who;
        for (const auto& p : ex.participants) who += (who.empty() ? "" : ", ") + p.pseudonym;
        ImGui::TextDisabled("%s%s%s", TypeLabel(ex.source_type), who.empty() ? "" : " · ", who.c_str());
        ImGui::TextWrapped("«%s»", ex.text.c_str());
        if (ex.needs_review) ImGui::TextColored(ERROR_COLOUR, "%s", Tr("The text changed here: check this passage."));
        if (!ex.memo.empty()) ImGui::TextDisabled("%s", ex.memo.c_str());
        if (SideButton(Tr("Open the source"), f)) {
            app.Show(ex.source_type);
            e.OpenRecord(ex.source_id);
        }
        if (!f.narrow) ImGui::SameLine();
        DrawQuoteIn(app.activities, e, ex.coding_id, f);
        ImGui::PopID();
    }
}

// [SECTION] The codebook

namespace {

struct NewCodeForm {
    std::string name, kind = "need", description, parent_id;
    float colour[3] = {0.2f, 0.5f, 0.8f};
};

std::string HexOf(const float rgb[3]) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "#%02X%02X%02X", static_cast<int>(rgb[0] * 255 + 0.5f),
                  static_cast<int>(rgb[1] * 255 + 0.5f), static_cast<int>(rgb[2] * 255 + 0.5f));
    return hex;
}

/// A combo of codes (none: "—"), leaving out `except` and what is under it.
bool CodePicker(const char* label, CodingFeature& c, std::string& chosen, const std::string& except,
                const char* none) {
    bool picked = false;
    const std::string current = !chosen.empty() ? CodeName(c, chosen) : none ? none : Tr("Choose…");
    ImGui::SetNextItemWidth(-1);
    if (ImGui::BeginCombo(label, current.c_str())) {
        if (none && ImGui::Selectable(none, chosen.empty())) {
            chosen.clear();
            picked = true;
        }
        int skip_depth = -1;
        for (const auto& code : c.Codebook()) {
            if (skip_depth >= 0 && code.depth > skip_depth) continue;
            skip_depth = -1;
            if (code.id == except) {
                skip_depth = code.depth;
                continue;
            }
            if (code.retired || !code.merged_into.empty()) continue;
            ImGui::PushID(code.id.c_str());
            const std::string shown = std::string(static_cast<size_t>(code.depth) * 2, ' ') + code.name;
            if (ImGui::Selectable(shown.c_str(), chosen == code.id)) {
                chosen = code.id;
                picked = true;
            }
            ImGui::PopID();
        }
        ImGui::EndCombo();
    }
    return picked;
}

void DrawNewCode(CodingFeature& c, const Frame& f) {
    static NewCodeForm form;
    if (!ImGui::CollapsingHeader(Tr("New code"))) return;
    ImGui::PushID("new_code");
    ImGui::SetNextItemWidth(-1);
    ImGui::InputTextWithHint("##name", Tr("Name"), &form.name);
    ImGui::SetNextItemWidth(-1);
    if (ImGui::BeginCombo("##kind", ChoiceLabel(form.kind))) {
        for (const char* k : CODE_KINDS)
            if (ImGui::Selectable(ChoiceLabel(k), form.kind == k)) form.kind = k;
        ImGui::EndCombo();
    }
    ImGui::ColorEdit3(Tr("Colour"), form.colour, ImGuiColorEditFlags_NoInputs);
    ImGui::TextDisabled("%s", Tr("Under"));
    CodePicker("##parent", c, form.parent_id, {}, Tr("(top level)"));
    ImGui::SetNextItemWidth(-1);
    ImGui::InputTextWithHint("##description", Tr("Description"), &form.description);
    ImGui::BeginDisabled(form.name.find_first_not_of(' ') == std::string::npos);
    if (WideButton(Tr("Create code"), f)) {
        c.CreateCode(form.name, form.kind, HexOf(form.colour), form.parent_id, form.description);
        form.name.clear();
        form.description.clear();
    }
    ImGui::EndDisabled();
    ImGui::PopID();
}

void DrawChosenCode(CodingFeature& c, const Frame& f) {
    const auto* code = c.Code(c.Chosen());
    if (!code) return;
    static std::string rename_for, new_name, move_to, merge_into;
    if (rename_for != code->id) {
        rename_for = code->id;
        new_name = code->name;
        move_to = code->parent_id;
        merge_into.clear();
    }
    const std::string id = code->id; // the rows may be read again by what follows
    ImGui::PushID("chosen");
    Swatch(code->colour);
    ImGui::TextWrapped("%s · %s%s", code->name.c_str(), ChoiceLabel(code->kind),
                       code->retired ? (std::string(" · ") + Tr("retired")).c_str() : "");
    if (!code->description.empty()) ImGui::TextWrapped("%s", code->description.c_str());
    if (!code->retired) {
        ImGui::SetNextItemWidth(-1);
        ImGui::InputText("##rename", &new_name);
        ImGui::BeginDisabled(new_name.empty() || new_name == code->name);
        if (SideButton(Tr("Rename"), f)) c.RenameCode(id, new_name);
        ImGui::EndDisabled();
        ImGui::TextDisabled("%s", Tr("Under"));
        if (CodePicker("##move", c, move_to, id, Tr("(top level)"))) c.MoveCode(id, move_to);
        ImGui::TextDisabled("%s", Tr("Merge into"));
        CodePicker("##merge", c, merge_into, id, nullptr);
        ImGui::BeginDisabled(merge_into.empty());
        if (ConfirmedButton(Tr("Merge"), "merge",
                            Tr("Every passage with this code gets the other one instead, and this code is retired. "
                               "Continue?"),
                            Tr("Merge"), f))
            c.MergeCodes(id, merge_into);
        ImGui::EndDisabled();
        if (!f.narrow) ImGui::SameLine();
        if (ConfirmedButton(Tr("Retire"), "retire",
                            Tr("Retire this code? Passages keep it, but it is no longer offered for coding."),
                            Tr("Retire"), f))
            c.RetireCode(id);
    }
    ImGui::PopID();
}

} // namespace

void DrawCodebook(CodingFeature& c, EditingFeature& e, AppState& app, const Frame& f) {
    if (!c.CodebookLoaded()) {
        c.LoadCodebook();
        ImGui::TextDisabled("%s", Tr("Reading…"));
        return;
    }
    const bool side = !f.narrow && ImGui::GetContentRegionAvail().x > 640.0f * f.scale;
    ImGui::BeginChild("codes", ImVec2(side ? ImGui::GetContentRegionAvail().x * 0.45f : 0, f.narrow && !c.Chosen().empty() ? 200.0f * f.scale : 0), false);
    DrawNewCode(c, f);
    ImGui::Separator();
    if (c.Codebook().empty()) ImGui::TextWrapped("%s", Tr("No codes yet. A code names what people speak of: a need, an aspiration, a perception, a problem, a value."));
    for (const auto& code : c.Codebook()) {
        if (!code.merged_into.empty()) continue;
        ImGui::PushID(code.id.c_str());
        if (code.depth > 0) ImGui::Indent(16.0f * f.scale * static_cast<float>(code.depth));
        const float row = f.narrow ? TouchHeight(f) : ImGui::GetTextLineHeight();
        Swatch(code.colour, row);
        std::string label = code.name;
        if (code.retired) label += std::string(" (") + Tr("retired") + ")";
        ImGui::PushStyleVar(ImGuiStyleVar_SelectableTextAlign, ImVec2(0, 0.5f));
        if (ImGui::Selectable(label.c_str(), c.Chosen() == code.id, 0, ImVec2(0, row))) c.Choose(code.id);
        ImGui::PopStyleVar();
        if (code.depth > 0) ImGui::Unindent(16.0f * f.scale * static_cast<float>(code.depth));
        ImGui::PopID();
    }
    ImGui::EndChild();
    if (c.Chosen().empty()) return;
    if (side) ImGui::SameLine();
    ImGui::BeginChild("chosen", ImVec2(0, 0), side);
    DrawChosenCode(c, f);
    ImGui::Separator();
    DrawExcerpts(c, e, app, f);
    ImGui::EndChild();
}

// [SECTION] Results

namespace {

/// Code frequencies by group: for each code its name, then one bar per
/// group, as long as its count, in the group's colour.
void DrawFrequencyChart(const CodingFeature& c, const interpret::GroupMatrix& m, const Frame& f) {
    ImDrawList* draw = ImGui::GetWindowDrawList();
    // Legend
    for (size_t g = 0; g < m.groups.size(); ++g) {
        const ImVec2 p = ImGui::GetCursorScreenPos();
        const float s = ImGui::GetTextLineHeight() * 0.8f;
        draw->AddRectFilled(ImVec2(p.x, p.y + 2), ImVec2(p.x + s, p.y + 2 + s), GroupColour(g), 2.0f);
        ImGui::Dummy(ImVec2(s, s));
        ImGui::SameLine();
        const std::string label = GroupLabel(m.groups[g]) + " (" + std::to_string(m.column_totals[g]) + ")";
        ImGui::TextUnformatted(label.c_str());
        if (g + 1 < m.groups.size()) {
            const float next = ImGui::CalcTextSize(GroupLabel(m.groups[g + 1]).c_str()).x + s + 60.0f * f.scale;
            if (ImGui::GetContentRegionAvail().x > next + ImGui::GetItemRectMax().x - ImGui::GetWindowPos().x)
                ImGui::SameLine();
        }
    }
    ImGui::Spacing();
    const float bar = std::max(12.0f, ImGui::GetFontSize() * 0.9f);
    const float width = ImGui::GetContentRegionAvail().x;
    const float number = ImGui::CalcTextSize("00000").x;
    const float room = std::max(20.0f, width - number);
    const float largest = static_cast<float>(std::max<int64_t>(1, m.largest_cell));
    ImGuiListClipper clipper;
    const float row_height = ImGui::GetTextLineHeightWithSpacing() + bar * static_cast<float>(m.groups.size()) + 6;
    clipper.Begin(static_cast<int>(m.codes.size()), row_height);
    while (clipper.Step()) {
        for (int r = clipper.DisplayStart; r < clipper.DisplayEnd; ++r) {
            const auto& code = m.codes[static_cast<size_t>(r)].code;
            const ImVec2 top = ImGui::GetCursorScreenPos();
            const std::string name = Ellipsize(code.value("name", std::string()), width);
            draw->AddText(top, ImGui::GetColorU32(ImGuiCol_Text), name.c_str());
            float y = top.y + ImGui::GetTextLineHeightWithSpacing();
            for (size_t g = 0; g < m.groups.size(); ++g) {
                const int64_t n = m.Count(static_cast<size_t>(r), g);
                const float w = room * static_cast<float>(n) / largest;
                if (n > 0) draw->AddRectFilled(ImVec2(top.x, y), ImVec2(top.x + std::max(w, 2.0f), y + bar - 1), GroupColour(g));
                if (n > 0) {
                    const std::string count = std::to_string(n);
                    draw->AddText(ImGui::GetFont(), bar, ImVec2(top.x + w + 4, y - 1),
                                  ImGui::GetColorU32(ImGuiCol_Text), count.c_str());
                }
                y += bar;
            }
            ImGui::Dummy(ImVec2(width, row_height));
            (void)c;
        }
    }
}

/// The code x group matrix: counts shaded by size; a count opens the excerpts behind it.
void DrawMatrix(CodingFeature& c, const interpret::GroupMatrix& m, const Frame& f) {
    const int columns = static_cast<int>(m.groups.size()) + 1;
    if (columns > 63) { // Dear ImGui's tables hold 64 columns
        ImGui::TextWrapped("%s", Tr("Too many groups to show as a table."));
        return;
    }
    const ImGuiTableFlags flags = ImGuiTableFlags_Borders | ImGuiTableFlags_ScrollX | ImGuiTableFlags_ScrollY |
                                  ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit;
    const float height = std::min(ImGui::GetContentRegionAvail().y,
                                  ImGui::GetFrameHeightWithSpacing() * static_cast<float>(m.codes.size() + 2) + 8);
    if (!ImGui::BeginTable("matrix", columns, flags, ImVec2(0, std::max(height, 120.0f * f.scale)))) return;
    ImGui::TableSetupScrollFreeze(1, 1);
    ImGui::TableSetupColumn(Tr("Code"), ImGuiTableColumnFlags_WidthFixed, (f.narrow ? 120.0f : 200.0f) * f.scale);
    for (const auto& g : m.groups) ImGui::TableSetupColumn(GroupLabel(g).c_str());
    ImGui::TableHeadersRow();
    ImGuiListClipper clipper;
    clipper.Begin(static_cast<int>(m.codes.size()));
    const float largest = static_cast<float>(std::max<int64_t>(1, m.largest_cell));
    while (clipper.Step()) {
        for (int r = clipper.DisplayStart; r < clipper.DisplayEnd; ++r) {
            const auto row = static_cast<size_t>(r);
            const auto& code = m.codes[row].code;
            const std::string id = code.value("id", std::string());
            ImGui::TableNextRow();
            ImGui::TableSetColumnIndex(0);
            ImGui::PushID(r);
            const std::string name = std::string(static_cast<size_t>(m.codes[row].depth), ' ') +
                                     code.value("name", std::string()) + "  (" + std::to_string(m.row_totals[row]) + ")";
            ImGui::TextUnformatted(name.c_str());
            for (size_t g = 0; g < m.groups.size(); ++g) {
                ImGui::TableSetColumnIndex(static_cast<int>(g) + 1);
                const int64_t n = m.Count(row, g);
                if (n == 0) {
                    ImGui::TextDisabled("·");
                    continue;
                }
                const float share = static_cast<float>(n) / largest;
                ImGui::TableSetBgColor(ImGuiTableBgTarget_CellBg,
                                       IM_COL32(31, 119, 180, static_cast<int>(40 + 160 * share)));
                ImGui::PushID(static_cast<int>(g));
                if (ImGui::Button(std::to_string(n).c_str(),
                                  ImVec2(std::max(48.0f * f.scale, ImGui::GetColumnWidth()), f.narrow ? TouchHeight(f) : 0)))
                    c.OpenExcerpts(id, m.groups[g], &m.cells[row][g]);
                ImGui::PopID();
            }
            ImGui::PopID();
        }
    }
    ImGui::EndTable();
}

} // namespace

void DrawResults(CodingFeature& c, EditingFeature& e, AppState& app, const Frame& f) {
    if (!c.Matrix() && !c.MatrixLoading()) c.LoadMatrix();
    if (!c.CodebookLoaded()) c.LoadCodebook();
    ImGui::TextUnformatted(Tr("Codes by group"));
    ImGui::SetNextItemWidth(f.narrow ? -1.0f : 260.0f * f.scale);
    if (ImGui::BeginCombo("##group", FieldLabel(c.GroupField()))) {
        for (const auto& g : interpret::GroupFields())
            if (ImGui::Selectable(FieldLabel(g), g == c.GroupField())) c.SetGroupField(g);
        ImGui::EndCombo();
    }
    if (!c.Matrix()) {
        ImGui::TextDisabled("%s", Tr("Reading…"));
        return;
    }
    const auto& m = *c.Matrix();
    if (m.codings == 0) {
        ImGui::TextWrapped("%s", Tr("Nothing is coded yet. Code passages of narratives, transcripts, field notes or "
                                    "items, and their counts appear here by group."));
        return;
    }
    ImGui::TextDisabled("%s: %lld", Tr("Coded passages"), static_cast<long long>(m.codings));
    if (ImGui::CollapsingHeader(Tr("Export"))) {
        // The project for other tools (REFI-QDA: QualCoder, NVivo, ATLAS.ti, MAXQDA), a table, or a page.
        static int format = 0;
        static const char* formats[] = {"qdpx", "qdc", "csv", "html"};
        ImGui::RadioButton(Tr("Project (.qdpx)"), &format, 0);
        ImGui::RadioButton(Tr("Codebook (.qdc)"), &format, 1);
        ImGui::RadioButton(Tr("Excerpts (.csv)"), &format, 2);
        ImGui::RadioButton(Tr("This chart (.html)"), &format, 3);
        ImGui::SetNextItemWidth(-1);
        ImGui::InputText("##export_path", &app.activities.ExportPath(std::string("project.") + formats[format]));
        ImGui::TextWrapped("%s", Tr("The file is not encrypted: keep it as safe as the testimony in it. Words whose "
                                    "participants did not consent to being quoted are left out."));
        if (WideButton((std::string(Tr("Export")) + "##file").c_str(), f))
            app.activities.ExportProject(app.lists.ProjectId(), formats[format], c.GroupField());
    }
    static int view = 0;
    if (ImGui::RadioButton(Tr("Chart"), view == 0)) view = 0;
    ImGui::SameLine();
    if (ImGui::RadioButton(Tr("Table"), view == 1)) view = 1;
    const bool excerpts = !c.Excerpts().code_id.empty();
    const bool side = excerpts && !f.narrow && ImGui::GetContentRegionAvail().x > 700.0f * f.scale;
    if (excerpts && !side) {
        // No room beside the results (a phone): the excerpts take the screen, with a way back.
        if (WideButton((std::string("‹ ") + Tr("Back to the results")).c_str(), f)) c.CloseExcerpts();
        else DrawExcerpts(c, e, app, f);
        return;
    }
    ImGui::BeginChild("results", ImVec2(side ? ImGui::GetContentRegionAvail().x * 0.6f : 0, 0), false,
                      ImGuiWindowFlags_HorizontalScrollbar);
    if (view == 0) DrawFrequencyChart(c, m, f);
    else DrawMatrix(c, m, f);
    ImGui::EndChild();
    if (side) {
        ImGui::SameLine();
        ImGui::BeginChild("excerpts", ImVec2(0, 0), true);
        if (SideButton(Tr("Close"), f)) c.CloseExcerpts();
        DrawExcerpts(c, e, app, f);
        ImGui::EndChild();
    }
}

} // namespace escucha::gui
