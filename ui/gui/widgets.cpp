// [SECTION] Small pieces
// [SECTION] Reference pickers
// [SECTION] Wrapped long text
// [SECTION] The form
#include "widgets.h"

#include "i18n.h"
#include "labels.h"
#include "wrap_text.h"

#include <imgui_stdlib.h>

#include <algorithm>
#include <cstring>

namespace escucha::gui {

using storage::FieldKind;

// [SECTION] Small pieces

bool WideButton(const char* label, const Frame& f) {
    return ImGui::Button(label, ImVec2(f.narrow ? -1.0f : 0.0f, 0));
}

bool ConfirmedButton(const char* label, const char* popup_id, const char* question, const char* confirm,
                     const Frame& f) {
    // The modal's title is the button's words; its identity stays the same in every language.
    const std::string name = std::string(label) + "###" + popup_id;
    if (WideButton(label, f)) ImGui::OpenPopup(name.c_str());
    bool confirmed = false;
    if (ImGui::BeginPopupModal(name.c_str(), nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
        ImGui::PushTextWrapPos(360.0f * f.scale);
        ImGui::TextWrapped("%s", question);
        ImGui::PopTextWrapPos();
        if (ImGui::Button(confirm)) {
            confirmed = true;
            ImGui::CloseCurrentPopup();
        }
        ImGui::SameLine();
        if (ImGui::Button(Tr("Cancel"))) ImGui::CloseCurrentPopup();
        ImGui::EndPopup();
    }
    return confirmed;
}

void ErrorText(const std::string& text) {
    if (text.empty()) return;
    ImGui::PushStyleColor(ImGuiCol_Text, ERROR_COLOUR);
    ImGui::TextWrapped("%s", text.c_str());
    ImGui::PopStyleColor();
}

namespace {

/// Whether `needle` (already folded) is in `haystack`, ignoring case and accents.
bool Contains(const std::string& haystack, const std::string& needle) {
    return needle.empty() || FoldForMatch(haystack).find(needle) != std::string::npos;
}

// [SECTION] Reference pickers

/// A filterable, virtualised list of the records of `type` in a combo.
/// Returns true with `chosen` set when one was picked.
bool PickRecord(AppState& s, const char* id, const char* preview, const std::string& type, std::string& chosen,
                const std::vector<std::string>& exclude, const Frame& f) {
    std::string& filter = s.picker_filter; // one picker is open at a time; cleared when it opens
    bool picked = false;
    ImGui::SetNextItemWidth(f.narrow ? -1.0f : 360.0f * f.scale);
    if (ImGui::BeginCombo(id, preview, ImGuiComboFlags_HeightLarge)) {
        if (ImGui::IsWindowAppearing()) {
            filter.clear();
            ImGui::SetKeyboardFocusHere();
        }
        ImGui::SetNextItemWidth(-1);
        ImGui::InputTextWithHint("##filter", Tr("Type to narrow the list"), &filter);
        const auto it = s.lists.find(type);
        const std::string folded = FoldForMatch(filter);
        std::vector<const RowSummary*> rows;
        if (it != s.lists.end())
            for (const auto& r : it->second.rows)
                if (std::find(exclude.begin(), exclude.end(), r.id) == exclude.end() &&
                    Contains(s.RowLabel(type, r), folded))
                    rows.push_back(&r);
        if (rows.empty()) ImGui::TextDisabled("%s", Tr("Nothing to choose yet."));
        ImGuiListClipper clipper;
        clipper.Begin(static_cast<int>(rows.size()));
        while (clipper.Step())
            for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
                const auto* r = rows[static_cast<size_t>(i)];
                ImGui::PushID(r->id.c_str());
                if (ImGui::Selectable(s.RowLabel(type, *r).c_str())) {
                    chosen = r->id;
                    picked = true;
                }
                ImGui::PopID();
            }
        ImGui::EndCombo();
    }
    return picked;
}

std::string LabelOf(AppState& s, const std::string& type, const std::string& id) {
    if (id.empty()) return {};
    if (const auto* r = s.Row(type, id)) return s.RowLabel(type, *r);
    return id.substr(0, 8) + "…"; // a record this device cannot see (pulled reference)
}

// [SECTION] Wrapped long text

float Measure(std::string_view text) { return ImGui::CalcTextSize(text.data(), text.data() + text.size()).x; }

struct WrapEdit {
    AppState::WrappedField* field;
    std::string before; ///< the display before this frame's edit
    float width;
    bool changed = false;
};

/// Runs inside InputTextMultiline after an edit: applies it to the real text
/// and wraps again (see wrap_text.h).
int OnWrappedEdit(ImGuiInputTextCallbackData* data) {
    if (data->EventFlag != ImGuiInputTextFlags_CallbackEdit) return 0;
    auto* edit = static_cast<WrapEdit*>(data->UserData);
    const bool backspace = ImGui::IsKeyDown(ImGui::GetKeyIndex(ImGuiKey_Backspace));
    const auto result = ApplyWrappedEdit(edit->before, std::string_view(data->Buf, data->BufTextLen),
                                         static_cast<size_t>(data->CursorPos), backspace);
    // The display string itself is ImGui's buffer until the call returns: it
    // is changed only through `data`.
    const std::string display = WrapText(result.text, edit->width, Measure);
    data->DeleteChars(0, data->BufTextLen);
    data->InsertChars(0, display.data(), display.data() + display.size());
    data->CursorPos = data->SelectionStart = data->SelectionEnd =
        static_cast<int>(ToDisplayPosition(display, result.cursor));
    edit->before = display;
    edit->field->text = result.text;
    edit->changed = true;
    return 0;
}

/// A multiline editor whose lines wrap at the field's width.
bool WrappedTextEditor(AppState& s, const RecordDraft& d, const std::string& name, std::string& text, float height) {
    auto& field = s.wrapped[std::to_string(d.key) + "/" + name];
    const ImGuiStyle& style = ImGui::GetStyle();
    const float width = ImGui::GetContentRegionAvail().x - style.FramePadding.x * 2 - style.ScrollbarSize - 2;
    // Wrap again when the text changed elsewhere or the field's width did,
    // but never under the cursor of someone typing.
    if (!field.active && (field.text != text || field.width != width)) {
        field.display = WrapText(text, width, Measure);
        field.text = text;
        field.width = width;
    }
    WrapEdit edit{&field, field.display, width};
    // No undo: ImGui's undo records positions in the display, which every
    // re-wrap shifts; undoing would change the wrong characters.
    ImGui::InputTextMultiline("##v", &field.display, ImVec2(-1, height),
                              ImGuiInputTextFlags_CallbackEdit | ImGuiInputTextFlags_NoUndoRedo, OnWrappedEdit, &edit);
    field.active = ImGui::IsItemActive();
    if (!edit.changed && field.display != edit.before) {
        // Escape puts back the text from when the field was entered, without
        // telling the callback. In a form that saves as you type, that would
        // throw away minutes of writing: keep the text, show it again.
        field.display = WrapText(field.text, width, Measure);
    }
    if (edit.changed && text != field.text) {
        text = field.text;
        return true;
    }
    return false;
}

// [SECTION] The form

void DrawField(AppState& s, RecordDraft& d, const storage::FieldSpec& spec, const Frame& f, bool& first) {
    FieldValue& v = d.values[spec.name];
    const char* label = FieldLabel(spec.name);
    bool changed = false;
    ImGui::PushID(spec.name.c_str());
    // Label above the field: it survives any translation's length and any screen width.
    if (spec.required) ImGui::Text("%s *", label);
    else ImGui::TextUnformatted(label);
    if (first && s.focus_first_field && spec.kind != FieldKind::Boolean && spec.kind != FieldKind::ChoiceList) {
        ImGui::SetKeyboardFocusHere();
        s.focus_first_field = false;
    }
    first = false;
    const float width = -1.0f;
    switch (spec.kind) {
    case FieldKind::Text:
        ImGui::SetNextItemWidth(width);
        if (spec.name == "code") {
            // Generated; shown so the researcher can write it on paper.
            ImGui::TextDisabled("%s", v.text.empty() ? Tr("(made when saved)") : v.text.c_str());
        } else {
            changed = ImGui::InputText("##v", &v.text);
        }
        break;
    case FieldKind::LongText: {
        const bool main_text = spec.name == "text" || spec.name == "summary" || spec.name == "narrative_summary";
        const float lines = main_text ? (f.narrow ? 9.0f : 14.0f) : 4.0f;
        changed = WrappedTextEditor(s, d, spec.name, v.text, ImGui::GetTextLineHeight() * lines);
        break;
    }
    case FieldKind::Integer:
        ImGui::SetNextItemWidth(f.narrow ? -1.0f : 160.0f * f.scale);
        changed = ImGui::InputText("##v", &v.text, ImGuiInputTextFlags_CharsDecimal);
        break;
    case FieldKind::Date:
        ImGui::SetNextItemWidth(f.narrow ? -80.0f * f.scale : 220.0f * f.scale);
        changed = ImGui::InputTextWithHint("##v", Tr("YYYY-MM-DD"), &v.text);
        ImGui::SameLine();
        if (ImGui::Button(Tr("Today"))) {
            v.text = Today();
            changed = true;
        }
        break;
    case FieldKind::Boolean: changed = ImGui::Checkbox(Tr("Yes"), &v.flag); break;
    case FieldKind::Choice: {
        ImGui::SetNextItemWidth(f.narrow ? -1.0f : 360.0f * f.scale);
        if (ImGui::BeginCombo("##v", v.text.empty() ? "—" : ChoiceLabel(v.text))) {
            if (!spec.required && ImGui::Selectable("—", v.text.empty())) {
                v.text.clear();
                changed = true;
            }
            for (const auto& c : spec.choices)
                if (ImGui::Selectable(ChoiceLabel(c), v.text == c)) {
                    v.text = c;
                    changed = true;
                }
            ImGui::EndCombo();
        }
        break;
    }
    case FieldKind::ChoiceList:
        for (const auto& c : spec.choices) {
            bool on = std::find(v.items.begin(), v.items.end(), c) != v.items.end();
            if (ImGui::Checkbox(ChoiceLabel(c), &on)) {
                if (on) v.items.push_back(c);
                else v.items.erase(std::remove(v.items.begin(), v.items.end(), c), v.items.end());
                changed = true;
            }
        }
        break;
    case FieldKind::TextList:
        ImGui::SetNextItemWidth(width);
        changed = ImGui::InputTextWithHint("##v", Tr("separate with commas"), &v.text);
        break;
    case FieldKind::Reference: {
        std::string chosen;
        const std::string preview = v.text.empty() ? "—" : LabelOf(s, spec.ref_type, v.text);
        if (PickRecord(s, "##v", preview.c_str(), spec.ref_type, chosen, {d.id}, f)) {
            v.text = chosen;
            changed = true;
        }
        if (!v.text.empty() && !spec.required) {
            ImGui::SameLine();
            if (ImGui::SmallButton(Tr("Clear"))) {
                v.text.clear();
                changed = true;
            }
        }
        break;
    }
    case FieldKind::ReferenceList: {
        for (size_t i = 0; i < v.items.size(); ++i) {
            ImGui::PushID(static_cast<int>(i));
            ImGui::Bullet();
            ImGui::TextUnformatted(LabelOf(s, spec.ref_type, v.items[i]).c_str());
            ImGui::SameLine();
            if (ImGui::SmallButton(Tr("Remove"))) {
                v.items.erase(v.items.begin() + static_cast<std::ptrdiff_t>(i));
                changed = true;
                ImGui::PopID();
                break;
            }
            ImGui::PopID();
        }
        std::string chosen;
        if (PickRecord(s, "##add", Tr("Add…"), spec.ref_type, chosen, v.items, f)) {
            v.items.push_back(chosen);
            changed = true;
        }
        break;
    }
    }
    if (changed) {
        s.Edited(d, spec.name, f.now);
        // A choice is made in one go: keep it at once rather than in a second.
        const bool typed = spec.kind == FieldKind::Text || spec.kind == FieldKind::LongText ||
                           spec.kind == FieldKind::Integer || spec.kind == FieldKind::Date ||
                           spec.kind == FieldKind::TextList;
        if (!typed) s.FocusLeft(d);
    }
    // Text fields save when the keyboard leaves them; pickers save at once.
    if (ImGui::IsItemDeactivatedAfterEdit()) s.FocusLeft(d);
    if (const auto e = d.field_errors.find(spec.name); e != d.field_errors.end())
        ErrorText(std::string(label) + " " + e->second);
    ImGui::Spacing();
    ImGui::PopID();
}

} // namespace

void DrawForm(AppState& s, RecordDraft& d, const Frame& f, std::initializer_list<const char*> skip) {
    const auto& type = s.Type(d.type);
    bool first = true;
    ImGui::PushID(d.key);
    for (const auto& spec : type.fields) {
        if (std::any_of(skip.begin(), skip.end(), [&](const char* name) { return spec.name == name; })) continue;
        DrawField(s, d, spec, f, first);
    }
    ErrorText(d.error);
    ImGui::PopID();
}

} // namespace escucha::gui
