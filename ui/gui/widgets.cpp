// [SECTION] Small pieces
// [SECTION] Reference pickers
// [SECTION] Wrapped long text
// [SECTION] Date picker
// [SECTION] The form
#include "widgets.h"

#include "i18n.h"
#include "labels.h"
#include "wrap_text.h"

#include <imgui_internal.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace escucha::gui {

using storage::FieldKind;

// [SECTION] Small pieces

bool WideButton(const char* label, const Frame& f) { return ImGui::Button(label, ImVec2(f.narrow ? -1.0f : 0.0f, 0)); }

bool SideButton(const char* label, const Frame& f) {
    return ImGui::Button(label, ImVec2(0, f.narrow ? TouchHeight(f) : 0.0f));
}

void PushDanger() {
    ImGui::PushStyleColor(ImGuiCol_Button, DANGER_COLOUR);
    ImGui::PushStyleColor(ImGuiCol_ButtonHovered, DANGER_HOVERED_COLOUR);
    ImGui::PushStyleColor(ImGuiCol_ButtonActive, DANGER_ACTIVE_COLOUR);
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 1, 1, 1));
}

void PopDanger() { ImGui::PopStyleColor(4); }

bool ConfirmedButton(const char* label, const char* popup_id, const char* question, const char* confirm, const Frame& f,
                     bool danger) {
    // The modal's title is the button's words; its identity stays the same in every language.
    const std::string name = std::string(label) + "###" + popup_id;
    if (danger) PushDanger();
    const bool asked = WideButton(label, f);
    if (danger) PopDanger();
    if (asked) ImGui::OpenPopup(name.c_str());
    bool confirmed = false;
    // On a phone the question fits the screen, whatever its language.
    const float wrap = std::min(360.0f * f.scale, ImGui::GetMainViewport()->WorkSize.x - 40.0f * f.scale);
    ImGui::SetNextWindowPos(ImGui::GetMainViewport()->GetCenter(), ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
    if (ImGui::BeginPopupModal(name.c_str(), nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
        ImGui::PushTextWrapPos(wrap);
        ImGui::TextWrapped("%s", question);
        ImGui::PopTextWrapPos();
        if (danger) PushDanger();
        const bool yes = SideButton(confirm, f);
        if (danger) PopDanger();
        if (yes) {
            confirmed = true;
            ImGui::CloseCurrentPopup();
        }
        ImGui::SameLine();
        if (SideButton(Tr("Cancel"), f)) ImGui::CloseCurrentPopup();
        ImGui::EndPopup();
    }
    return confirmed;
}

const char* SaveState(const RecordDraft& d) {
    if (d.saving) return Tr("Saving…");
    if (!d.error.empty()) return Tr("Not saved");
    if (d.dirty) return d.id.empty() ? Tr("Not saved yet") : Tr("Changed");
    return d.id.empty() ? Tr("Not saved yet") : Tr("Saved");
}

std::string Ellipsize(const std::string& text, float width) {
    if (ImGui::CalcTextSize(text.c_str()).x <= width) return text;
    const float room = width - ImGui::CalcTextSize("…").x;
    // The longest start that fits, cut at a character boundary.
    size_t lo = 0, hi = text.size();
    while (lo < hi) {
        const size_t mid = (lo + hi + 1) / 2;
        if (ImGui::CalcTextSize(text.data(), text.data() + mid).x <= room) lo = mid;
        else hi = mid - 1;
    }
    while (lo > 0 && (static_cast<unsigned char>(text[lo]) & 0xC0) == 0x80) --lo;
    std::string out = text.substr(0, lo);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "…";
}

void ErrorText(const std::string& text) {
    if (text.empty()) return;
    ImGui::PushStyleColor(ImGuiCol_Text, ERROR_COLOUR);
    ImGui::TextWrapped("%s", text.c_str());
    ImGui::PopStyleColor();
}

void FullTextOnHold(const std::string& text, bool cut) {
    if (!cut) return;
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", text.c_str());
    const ImGuiID id = ImGui::GetItemID() ? ImGui::GetItemID() : ImGui::GetID(text.c_str());
    ImGui::PushID(static_cast<int>(id));
    if (ImGui::IsItemHovered() && ImGui::IsMouseClicked(ImGuiMouseButton_Right)) ImGui::OpenPopup("whole");
    if (ImGui::BeginPopup("whole")) {
        ImGui::PushTextWrapPos(ImGui::GetMainViewport()->WorkSize.x * 0.8f);
        ImGui::TextUnformatted(text.c_str());
        ImGui::PopTextWrapPos();
        ImGui::EndPopup();
    }
    ImGui::PopID();
}

namespace {

/// Whether `needle` (already folded) is in `haystack`, ignoring case and accents.
bool Contains(const std::string& haystack, const std::string& needle) {
    return needle.empty() || FoldForMatch(haystack).find(needle) != std::string::npos;
}

// [SECTION] Reference pickers

/// A filterable, virtualised list of the records of `type` in a combo.
/// Returns true with `chosen` set when one was picked.
bool PickRecord(EditingFeature& s, const char* id, const char* preview, const std::string& type, std::string& chosen,
                const std::vector<std::string>& exclude, const Frame& f) {
    std::string& filter = s.PickerFilter(); // one picker is open at a time; cleared when it opens
    bool picked = false;
    const float width = f.narrow ? ImGui::GetContentRegionAvail().x : 360.0f * f.scale;
    ImGui::SetNextItemWidth(f.narrow ? -1.0f : width);
    // The chosen record's name, cut with "…" before the arrow.
    const std::string shown =
        Ellipsize(preview, width - ImGui::GetFrameHeight() - ImGui::GetStyle().FramePadding.x * 2);
    if (ImGui::BeginCombo(id, shown.c_str(), ImGuiComboFlags_HeightLarge)) {
        if (ImGui::IsWindowAppearing()) {
            filter.clear();
            ImGui::SetKeyboardFocusHere();
        }
        ImGui::SetNextItemWidth(-1);
        ImGui::InputTextWithHint("##filter", Tr("Type to narrow the list"), &filter);
        const auto& list = s.Lists().List(type);
        const std::string folded = FoldForMatch(filter);
        std::vector<const RowSummary*> rows;
        for (const auto& r : list.rows)
            if (std::find(exclude.begin(), exclude.end(), r.id) == exclude.end() &&
                Contains(s.Lists().RowLabel(type, r), folded))
                rows.push_back(&r);
        if (rows.empty()) ImGui::TextDisabled("%s", Tr("Nothing to choose yet."));
        // The list grows as wide as its longest name, up to the window's edge; a longer one is cut with "…".
        const ImGuiViewport* vp = ImGui::GetMainViewport();
        const ImGuiStyle& style = ImGui::GetStyle();
        const float room = std::max(ImGui::GetContentRegionAvail().x,
                                    vp->WorkPos.x + vp->WorkSize.x - ImGui::GetCursorScreenPos().x -
                                        style.WindowPadding.x - style.ScrollbarSize - style.ItemSpacing.x);
        ImGuiListClipper clipper;
        clipper.Begin(static_cast<int>(rows.size()));
        while (clipper.Step())
            for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
                const auto* r = rows[static_cast<size_t>(i)];
                ImGui::PushID(r->id.c_str());
                if (ImGui::Selectable(Ellipsize(s.Lists().RowLabel(type, *r), room).c_str())) {
                    chosen = r->id;
                    picked = true;
                }
                ImGui::PopID();
            }
        ImGui::EndCombo();
    }
    return picked;
}

std::string LabelOf(EditingFeature& s, const std::string& type, const std::string& id) {
    if (id.empty()) return {};
    if (const auto* r = s.Lists().Row(type, id)) return s.Lists().RowLabel(type, *r);
    return id.substr(0, 8) + "…"; // a record this device cannot see (pulled reference)
}

// [SECTION] Wrapped long text

float Measure(std::string_view text) { return ImGui::CalcTextSize(text.data(), text.data() + text.size()).x; }

struct WrapEdit {
    EditingFeature::WrappedField* field;
    std::string before; ///< the display before this frame's edit
    float width;
    bool changed = false;
};

/// Puts `text` (wrapped) in the editor's buffer with the cursor at text position `cursor`.
void ShowText(ImGuiInputTextCallbackData* data, WrapEdit& edit, std::string text, size_t cursor) {
    // The display string itself is ImGui's buffer until the call returns: it
    // is changed only through `data`.
    const std::string display = WrapText(text, edit.width, Measure);
    data->DeleteChars(0, data->BufTextLen);
    data->InsertChars(0, display.data(), display.data() + display.size());
    data->CursorPos = data->SelectionStart = data->SelectionEnd = static_cast<int>(ToDisplayPosition(display, cursor));
    edit.before = display;
    edit.field->text = std::move(text);
    edit.changed = true;
}

bool KeyPressed(ImGuiKey key, bool repeat = true) { return ImGui::IsKeyPressed(ImGui::GetKeyIndex(key), repeat); }

/// Runs inside InputTextMultiline every frame it has the keyboard: applies an
/// edit to the real text and wraps again (see wrap_text.h), undoes and
/// redoes, and keeps the cursor off the inside of soft breaks.
int OnWrappedEdit(ImGuiInputTextCallbackData* data) {
    auto& edit = *static_cast<WrapEdit*>(data->UserData);
    auto& field = *edit.field;
    const ImGuiIO& io = ImGui::GetIO();
    if (data->EventFlag == ImGuiInputTextFlags_CallbackEdit) {
        const bool backspace = ImGui::IsKeyDown(ImGui::GetKeyIndex(ImGuiKey_Backspace));
        auto result = ApplyWrappedEdit(edit.before, std::string_view(data->Buf, data->BufTextLen),
                                       static_cast<size_t>(data->CursorPos), backspace);
        field.history.Record(field.text, ToTextPosition(edit.before, field.cursor), result.text, ImGui::GetTime());
        ShowText(data, edit, std::move(result.text), result.cursor);
    } else if (data->EventFlag == ImGuiInputTextFlags_CallbackAlways) {
        const bool shortcut = io.KeyCtrl && !io.KeyAlt && !io.KeySuper;
        const bool undo = shortcut && !io.KeyShift && KeyPressed(ImGuiKey_Z);
        const bool redo = shortcut && (KeyPressed(ImGuiKey_Y) || (io.KeyShift && KeyPressed(ImGuiKey_Z)));
        std::string text = field.text;
        size_t cursor = ToTextPosition(edit.before, static_cast<size_t>(data->CursorPos));
        if ((undo && field.history.Undo(text, cursor)) || (redo && field.history.Redo(text, cursor))) {
            ShowText(data, edit, std::move(text), cursor);
        } else {
            const std::string_view display(data->Buf, data->BufTextLen);
            const int settled =
                static_cast<int>(SettleCursor(display, field.cursor, static_cast<size_t>(data->CursorPos),
                                              KeyPressed(ImGuiKey_RightArrow), KeyPressed(ImGuiKey_LeftArrow)));
            if (settled != data->CursorPos) {
                if (data->SelectionStart == data->SelectionEnd) data->SelectionStart = data->SelectionEnd = settled;
                else if (data->SelectionEnd == data->CursorPos) data->SelectionEnd = settled;
                else if (data->SelectionStart == data->CursorPos) data->SelectionStart = settled;
                data->CursorPos = settled;
            }
        }
    }
    field.cursor = static_cast<size_t>(data->CursorPos);
    const std::string_view shown(data->Buf, static_cast<size_t>(data->BufTextLen));
    const auto [lo, hi] = std::minmax(data->SelectionStart, data->SelectionEnd);
    field.sel_from = ToTextPosition(shown, static_cast<size_t>(std::max(0, lo)));
    field.sel_to = ToTextPosition(shown, static_cast<size_t>(std::max(0, hi)));
    return 0;
}

using Mark = EditingFeature::WrappedField::Mark;

/// Where the found words are in the display, measured: one rectangle per word, by line.
const std::vector<Mark>& MeasureFound(EditingFeature::WrappedField& field) {
    const std::string& display = field.display;
    if (field.marks_display == display && !field.marks.empty()) return field.marks;
    field.marks_display = display;
    field.marks.clear();
    size_t line_start = 0;
    int line = 0;
    size_t scanned = 0;
    for (const auto& [from, to] : field.found) {
        const size_t d0 = ToDisplayPosition(display, from);
        size_t d1 = ToDisplayPosition(display, to);
        for (; scanned < d0; ++scanned)
            if (display[scanned] == '\n') {
                ++line;
                line_start = scanned + 1;
            }
        // A word cut over two lines is marked on its first.
        const size_t line_end = display.find('\n', d0);
        if (line_end != std::string::npos && d1 > line_end) d1 = line_end;
        const char* base = display.data();
        field.marks.push_back({line, ImGui::CalcTextSize(base + line_start, base + d0).x,
                               ImGui::CalcTextSize(base + line_start, base + d1).x});
    }
    return field.marks;
}

/// The child window Dear ImGui 1.86 draws a multiline editor in (labelled `label` in the current window).
ImGuiWindow* EditorWindow(const char* label) {
    const ImGuiWindow* parent = ImGui::GetCurrentWindow();
    char name[512];
    std::snprintf(name, sizeof name, "%s/%s_%08X", parent->Name, label, ImGui::GetID(label));
    return ImGui::FindWindowByName(name);
}

/// Marks the found words over the editor just drawn, and the first time
/// scrolls the editor and the form to the first of them.
void DrawFound(ImGuiWindow* editor, const std::vector<Mark>& marks, bool scroll_to_first) {
    if (!editor || marks.empty()) return;
    const ImGuiStyle& style = ImGui::GetStyle();
    const float line_height = ImGui::GetFontSize();
    if (scroll_to_first) {
        const float y = static_cast<float>(marks.front().line) * line_height;
        ImGui::SetScrollY(editor, std::max(0.0f, y - editor->Size.y * 0.3f));
        ImGui::SetScrollHereY(0.2f);
    }
    const ImVec2 origin(editor->Pos.x + style.FramePadding.x - editor->Scroll.x,
                        editor->Pos.y + style.FramePadding.y - editor->Scroll.y);
    ImDrawList* draw = editor->DrawList;
    draw->PushClipRect(editor->InnerClipRect.Min, editor->InnerClipRect.Max, true);
    for (const auto& m : marks) {
        const float y = origin.y + static_cast<float>(m.line) * line_height;
        if (y + line_height < editor->InnerClipRect.Min.y || y > editor->InnerClipRect.Max.y) continue;
        draw->AddRectFilled(ImVec2(origin.x + m.x0 - 1, y), ImVec2(origin.x + m.x1 + 1, y + line_height),
                            ImGui::GetColorU32(FOUND_COLOUR), 2.0f);
    }
    draw->PopClipRect();
}

/// A multiline editor whose lines wrap at the field's width.
bool WrappedTextEditor(EditingFeature& s, const RecordDraft& d, const std::string& name, std::string& text,
                       float height) {
    auto& field = s.Wrapped(std::to_string(d.key) + "/" + name);
    const ImGuiStyle& style = ImGui::GetStyle();
    const float width = ImGui::GetContentRegionAvail().x - style.FramePadding.x * 2 - style.ScrollbarSize - 2;
    // Wrap again when the text changed elsewhere or the field's width did,
    // but never under the cursor of someone typing.
    if (!field.active && (field.text != text || field.width != width)) {
        field.display = WrapText(text, width, Measure);
        field.text = text;
        field.width = width;
    }
    // Words a search found, when the record was opened from it.
    const std::vector<std::pair<size_t, size_t>>* found = nullptr;
    if (!s.FoundIn().empty() && s.FoundIn() == d.id) {
        if (field.found_text != field.text || (field.found.empty() && field.found_text.empty())) {
            field.found_text = field.text;
            field.found = FindTerms(field.text, s.FoundTerms());
            field.marks_display.clear(); // measured again
        }
        found = &field.found;
    }
    WrapEdit edit{&field, field.display, width};
    // ImGui's own undo is off: it records positions in the display, which
    // every re-wrap shifts. The field keeps its own (UndoHistory).
    ImGui::InputTextMultiline("##v", &field.display, ImVec2(-1, height),
                              ImGuiInputTextFlags_CallbackEdit | ImGuiInputTextFlags_CallbackAlways |
                                  ImGuiInputTextFlags_NoUndoRedo,
                              OnWrappedEdit, &edit);
    field.active = ImGui::IsItemActive();
    if (!edit.changed && field.display != edit.before) {
        // Escape puts back the text from when the field was entered, without
        // telling the callback. In a form that saves as you type, that would
        // throw away minutes of writing: keep the text, show it again.
        field.display = WrapText(field.text, width, Measure);
    }
    if (found && !found->empty() && field.found_text == field.text) { // not on the frame of an edit: next frame
        const bool first_time = !field.found_shown;
        field.found_shown = true;
        DrawFound(EditorWindow("##v"), MeasureFound(field), first_time && s.FoundScrollPending());
        if (first_time) s.FoundScrolled();
    }
    if (edit.changed && text != field.text) {
        text = field.text;
        return true;
    }
    return false;
}

/// Marks the found words over a one-line field just drawn (the first time,
/// the form scrolls to it).
void MarkFoundInLine(EditingFeature& s, const RecordDraft& d, const std::string& text) {
    if (s.FoundIn().empty() || s.FoundIn() != d.id || ImGui::IsItemActive()) return;
    const auto found = FindTerms(text, s.FoundTerms());
    if (found.empty()) return;
    if (s.FoundScrollPending()) {
        ImGui::SetScrollHereY(0.3f);
        s.FoundScrolled();
    }
    const ImGuiStyle& style = ImGui::GetStyle();
    const ImVec2 min = ImGui::GetItemRectMin(), max = ImGui::GetItemRectMax();
    ImDrawList* draw = ImGui::GetWindowDrawList();
    draw->PushClipRect(min, max, true);
    for (const auto& [from, to] : found) {
        const float x0 = min.x + style.FramePadding.x + ImGui::CalcTextSize(text.data(), text.data() + from).x;
        const float x1 = min.x + style.FramePadding.x + ImGui::CalcTextSize(text.data(), text.data() + to).x;
        draw->AddRectFilled(ImVec2(x0 - 1, min.y + style.FramePadding.y),
                            ImVec2(x1 + 1, min.y + style.FramePadding.y + ImGui::GetFontSize()),
                            ImGui::GetColorU32(FOUND_COLOUR), 2.0f);
    }
    draw->PopClipRect();
}

// [SECTION] Date picker

/// The month a date field's calendar shows, kept while it is open.
struct CalendarPage {
    int year = 0, month = 0;
};

/// A calendar beside a date field: month by month, a grid of days, today.
/// Returns true with `value` set when a day was picked.
bool DatePicker(std::string& value, const Frame& f) {
    static const char* const WEEKDAYS[] = {N_("Mo"), N_("Tu"), N_("We"), N_("Th"), N_("Fr"), N_("Sa"), N_("Su")};
    ImGuiStorage* storage = ImGui::GetStateStorage();
    const ImGuiID page_id = ImGui::GetID("calendar-page");
    if (SideButton(Tr("Calendar"), f)) {
        // Opens at the field's date, or at today's month.
        const auto shown = ParseDate(value);
        const auto today = ParseDate(Today());
        const CivilDate start = shown ? *shown : today ? *today : CivilDate{2026, 1, 1};
        storage->SetInt(page_id, start.year * 12 + (start.month - 1));
        ImGui::OpenPopup("calendar");
    }
    bool picked = false;
    const float spacing = 2.0f * f.scale;
    const float padding = ImGui::GetStyle().WindowPadding.x;
    // Seven days a row, as wide as a finger on a phone and still on the screen.
    const float cell = std::min(f.narrow ? TouchHeight(f) : 34.0f * f.scale,
                                (ImGui::GetMainViewport()->WorkSize.x - 2 * padding - 6 * spacing) / 7.0f);
    if (f.narrow) {
        const ImGuiViewport* vp = ImGui::GetMainViewport();
        ImGui::SetNextWindowPos(ImVec2(vp->WorkPos.x + vp->WorkSize.x * 0.5f, vp->WorkPos.y + vp->WorkSize.y * 0.5f),
                                ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
    }
    if (ImGui::BeginPopup("calendar")) {
        int page = storage->GetInt(page_id, 0);
        const int year = page / 12, month = page % 12 + 1;
        ImGui::PushStyleVar(ImGuiStyleVar_ItemSpacing, ImVec2(spacing, spacing));
        const float row = cell * 7 + spacing * 6;
        if (ImGui::Button("‹", ImVec2(cell, cell))) --page;
        ImGui::SameLine();
        char title[64];
        std::snprintf(title, sizeof title, "%s %d", MonthName(month), year);
        const float title_width = ImGui::CalcTextSize(title).x;
        const float x = ImGui::GetCursorPosX();
        ImGui::SetCursorPosX(x + std::max(0.0f, (row - 2 * cell - 2 * spacing - title_width) * 0.5f));
        ImGui::AlignTextToFramePadding();
        ImGui::TextUnformatted(title);
        ImGui::SameLine(x + row - 2 * cell - spacing);
        if (ImGui::Button("›", ImVec2(cell, cell))) ++page;
        storage->SetInt(page_id, page);
        for (int w = 0; w < 7; ++w) {
            if (w) ImGui::SameLine();
            const char* name = Tr(WEEKDAYS[w]);
            const float nx = ImGui::GetCursorPosX();
            ImGui::SetCursorPosX(nx + (cell - ImGui::CalcTextSize(name).x) * 0.5f);
            ImGui::TextDisabled("%s", name);
            ImGui::SameLine(nx + cell + spacing);
            ImGui::Dummy(ImVec2(0, 0));
        }
        const auto chosen = ParseDate(value);
        const auto today = ParseDate(Today());
        const int first = Weekday({year, month, 1});
        const int days = DaysInMonth(year, month);
        for (int slot = 0; slot < first + days; ++slot) {
            if (slot % 7) ImGui::SameLine();
            if (slot < first) {
                ImGui::Dummy(ImVec2(cell, cell));
                continue;
            }
            const CivilDate day{year, month, slot - first + 1};
            const bool is_chosen = chosen && *chosen == day;
            const bool is_today = today && *today == day;
            if (is_chosen) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
            if (is_today) ImGui::PushStyleVar(ImGuiStyleVar_FrameBorderSize, 2.0f * f.scale);
            char label[8];
            std::snprintf(label, sizeof label, "%d", day.day);
            if (ImGui::Button(label, ImVec2(cell, cell))) {
                value = FormatDate(day);
                picked = true;
                ImGui::CloseCurrentPopup();
            }
            if (is_today) ImGui::PopStyleVar();
            if (is_chosen) ImGui::PopStyleColor();
        }
        ImGui::PopStyleVar();
        ImGui::Spacing();
        if (ImGui::Button(Tr("Today"), ImVec2(row, f.narrow ? TouchHeight(f) : 0.0f))) {
            value = Today();
            picked = true;
            ImGui::CloseCurrentPopup();
        }
        ImGui::EndPopup();
    }
    return picked;
}

// [SECTION] The form

bool IsTyped(FieldKind kind) {
    return kind == FieldKind::Text || kind == FieldKind::LongText || kind == FieldKind::Integer ||
           kind == FieldKind::Date || kind == FieldKind::TextList;
}

/// The field that takes the keyboard when a form opens for writing: the
/// first one typed into (a choice above it is made with the mouse or a finger).
const storage::FieldSpec* FirstTypedField(const storage::RecordType& type, const std::vector<std::string>& skip) {
    for (const auto& spec : type.fields) {
        if (std::find(skip.begin(), skip.end(), spec.name) != skip.end()) continue;
        if (IsTyped(spec.kind) && spec.name != "code") return &spec;
    }
    return nullptr;
}

void DrawField(EditingFeature& s, RecordDraft& d, const storage::FieldSpec& spec, const Frame& f, bool focus) {
    FieldValue& v = d.values[spec.name];
    const auto kind = d.values.find("kind");
    const char* label = FormFieldLabel(d.type, spec.name, kind == d.values.end() ? "" : kind->second.text);
    bool changed = false;
    bool picked = false; // a day chosen in the calendar
    ImGui::PushID(spec.name.c_str());
    // Label above the field, wrapped: it survives any translation's length and any screen width.
    if (spec.required) ImGui::TextWrapped("%s *", label);
    else ImGui::TextWrapped("%s", label);
    if (focus) ImGui::SetKeyboardFocusHere();
    const float width = -1.0f;
    switch (spec.kind) {
    case FieldKind::Text:
        ImGui::SetNextItemWidth(width);
        if (spec.name == "code") {
            // Generated; shown so the researcher can write it on paper.
            ImGui::TextDisabled("%s", v.text.empty() ? Tr("(made when saved)") : v.text.c_str());
        } else {
            changed = ImGui::InputText("##v", &v.text);
            MarkFoundInLine(s, d, v.text);
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
    case FieldKind::Date: {
        // Typed (year-month-day) or picked in the calendar beside it.
        const float button = ImGui::CalcTextSize(Tr("Calendar")).x + ImGui::GetStyle().FramePadding.x * 2;
        ImGui::SetNextItemWidth(f.narrow ? -(button + ImGui::GetStyle().ItemSpacing.x) : 220.0f * f.scale);
        changed = ImGui::InputTextWithHint("##v", Tr("YYYY-MM-DD"), &v.text);
        const bool typed_done = ImGui::IsItemDeactivatedAfterEdit();
        ImGui::SameLine();
        if (DatePicker(v.text, f)) changed = picked = true;
        if (typed_done) s.FocusLeft(d);
        break;
    }
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
        MarkFoundInLine(s, d, v.text);
        break;
    case FieldKind::Reference: {
        std::string chosen;
        const std::string preview = v.text.empty() ? "—" : LabelOf(s, spec.ref_type, v.text);
        if (PickRecord(s, "##v", preview.c_str(), spec.ref_type, chosen, {d.id}, f)) {
            v.text = chosen;
            changed = true;
        }
        if (!v.text.empty() && !spec.required) {
            if (!f.narrow) ImGui::SameLine();
            if (SideButton(Tr("Clear"), f)) {
                v.text.clear();
                changed = true;
            }
        }
        break;
    }
    case FieldKind::ReferenceList: {
        for (size_t i = 0; i < v.items.size(); ++i) {
            ImGui::PushID(static_cast<int>(i));
            // The name, cut with "…" where the button needs the room.
            const char* remove = Tr("Remove");
            const float button = ImGui::CalcTextSize(remove).x + ImGui::GetStyle().FramePadding.x * 2;
            const float room = ImGui::GetContentRegionAvail().x - button - ImGui::GetStyle().ItemSpacing.x;
            ImGui::AlignTextToFramePadding();
            ImGui::TextUnformatted(Ellipsize(LabelOf(s, spec.ref_type, v.items[i]), room).c_str());
            ImGui::SameLine(std::max(ImGui::GetCursorPosX(), ImGui::GetContentRegionMax().x - button));
            if (SideButton(remove, f)) {
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
        // A choice (or a day in the calendar) is made in one go: keep it at once rather than in a second.
        const bool typed = IsTyped(spec.kind) && !picked;
        if (!typed) s.FocusLeft(d);
    }
    // Text fields save when the keyboard leaves them; pickers save at once.
    if (spec.kind != FieldKind::Date && ImGui::IsItemDeactivatedAfterEdit()) s.FocusLeft(d);
    if (const auto e = d.field_errors.find(spec.name); e != d.field_errors.end())
        ErrorText(std::string(label) + " " + e->second);
    ImGui::Spacing();
    ImGui::PopID();
}

} // namespace

void DrawForm(EditingFeature& s, RecordDraft& d, const Frame& f, const std::vector<std::string>& skip) {
    const auto& type = s.Type(d.type);
    // Ctrl+N: typing goes to the first field one types into, even below a choice.
    const storage::FieldSpec* focus = s.TakeFocus() ? FirstTypedField(type, skip) : nullptr;
    ImGui::PushID(d.key);
    for (const auto& spec : type.fields) {
        if (std::find(skip.begin(), skip.end(), spec.name) != skip.end()) continue;
        DrawField(s, d, spec, f, &spec == focus);
    }
    ErrorText(d.error);
    ImGui::PopID();
}

bool WrappedText(EditingFeature& s, const RecordDraft& d, const std::string& name, std::string& text, float height) {
    ImGui::PushID(name.c_str());
    const bool changed = WrappedTextEditor(s, d, name, text, height);
    ImGui::PopID();
    return changed;
}

} // namespace escucha::gui
