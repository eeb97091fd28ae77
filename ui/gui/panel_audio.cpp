// [SECTION] Small pieces
// [SECTION] Recordings in the form of an interview or a consent
// [SECTION] The recorder
// [SECTION] The player and the transcript
// [SECTION] Recovered recordings
#include "i18n.h"
#include "labels.h"
#include "panels.h"

#include "escucha/capture/audio.h"

#include <imgui_stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace escucha::gui {

namespace {

// [SECTION] Small pieces

const ImVec4 RECORD_COLOUR{0.78f, 0.12f, 0.12f, 1};
const ImVec4 RECORD_HOVERED_COLOUR{0.88f, 0.2f, 0.2f, 1};
const ImVec4 LEVEL_COLOUR{0.2f, 0.6f, 0.3f, 1};
const ImVec4 LOUD_COLOUR{0.85f, 0.45f, 0.1f, 1};

/// A big round-cornered red button with a white dot before its words: the one
/// thing to press to record, a thumb's size on a phone.
bool RecordButton(const char* label, const Frame& f, bool enabled = true) {
    const float height = TouchHeight(f) * (f.narrow ? 1.6f : 1.3f);
    const float width = f.narrow ? ImGui::GetContentRegionAvail().x : std::max(260.0f * f.scale, height * 5);
    ImGui::BeginDisabled(!enabled);
    ImGui::PushStyleColor(ImGuiCol_Button, RECORD_COLOUR);
    ImGui::PushStyleColor(ImGuiCol_ButtonHovered, RECORD_HOVERED_COLOUR);
    ImGui::PushStyleColor(ImGuiCol_ButtonActive, DANGER_ACTIVE_COLOUR);
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 1, 1, 1));
    ImGui::PushStyleVar(ImGuiStyleVar_FrameRounding, height / 2);
    const ImVec2 at = ImGui::GetCursorScreenPos();
    const bool pressed = ImGui::Button((std::string("###") + label).c_str(), ImVec2(width, height));
    // A white dot, then the words, centred together.
    const float radius = ImGui::GetFontSize() * 0.4f, gap = ImGui::GetFontSize() * 0.5f;
    const ImVec2 text = ImGui::CalcTextSize(label);
    const float x = at.x + (width - (radius * 2 + gap + text.x)) / 2;
    const ImU32 white = ImGui::GetColorU32(ImGuiCol_Text);
    ImDrawList* draw = ImGui::GetWindowDrawList();
    draw->AddCircleFilled(ImVec2(x + radius, at.y + height / 2), radius, white);
    draw->AddText(ImVec2(x + radius * 2 + gap, at.y + (height - text.y) / 2), white, label);
    ImGui::PopStyleVar();
    ImGui::PopStyleColor(4);
    ImGui::EndDisabled();
    return pressed;
}

/// The width of each of `count` buttons that share a row on a phone (0 elsewhere:
/// as wide as their words). Taken before the row's first button.
float ShareOfRow(const Frame& f, int count) {
    if (!f.narrow) return 0.0f;
    const float spacing = ImGui::GetStyle().ItemSpacing.x;
    return (ImGui::GetContentRegionAvail().x - spacing * static_cast<float>(count - 1)) / static_cast<float>(count);
}

/// A button of a row (see ShareOfRow); a finger's height on a phone.
bool RowButton(const char* label, const Frame& f, float width, float height = 0) {
    return ImGui::Button(label, ImVec2(width, height > 0 ? height : (f.narrow ? TouchHeight(f) : 0.0f)));
}

std::string Filled(const char* words, const std::string& value) {
    std::string out = words;
    if (const auto at = out.find("%s"); at != std::string::npos) out.replace(at, 2, value);
    return out;
}

/// Text drawn larger than the font (the elapsed time).
void BigText(const std::string& text, float factor) {
    ImGui::SetWindowFontScale(factor);
    ImGui::TextUnformatted(text.c_str());
    ImGui::SetWindowFontScale(1.0f);
}

std::string RecordingTitle(const RecordingRow& r) {
    return r.title.empty() ? std::string(TypeLabel("recording")) : r.title;
}

/// "Complete · 12:34 · Imported from a file · 5 minutes ago, 09:30" for a row.
std::string RecordingState(const RecordingRow& r) {
    std::string line = ChoiceLabel(r.status);
    if (r.status != "recording") line += " · " + ClockText(r.duration_ms);
    if (r.source == "imported") line += std::string(" · ") + ChoiceLabel("imported");
    if (const auto when = SinceInWords(r.started_at, std::time(nullptr)); !when.empty()) line += " · " + when;
    return line;
}

} // namespace

// [SECTION] Recordings in the form of an interview or a consent

void DrawRecordings(AudioFeature& a, const RecordDraft& d, const Frame& f) {
    // A chat message's voice notes come with its export: nothing is recorded onto it here.
    const bool made_here = capture::RecordedOnto(d.type);
    if (!made_here && (!a.RecordingsLoaded() || a.Recordings().empty())) return;
    ImGui::Separator();
    ImGui::TextUnformatted(TypePluralLabel("recording"));
    if (d.id.empty()) {
        ImGui::TextDisabled("%s", Tr("Save it first: then it can be recorded."));
        return;
    }
    if (made_here && RecordButton(Tr("Record"), f, !a.Recording() && !a.Importing())) a.StartRecording();
    if (!a.Notice().empty()) ImGui::TextColored(OK_COLOUR, "%s", a.Notice().c_str());
    if (!a.RecordingsLoaded()) {
        ImGui::TextDisabled("%s", Tr("Reading…"));
    } else if (a.Recordings().empty()) {
        ImGui::TextDisabled("%s", Tr("No recording yet."));
    }
    for (const auto& r : a.Recordings()) {
        ImGui::PushID(r.id.c_str());
        const float room = ImGui::GetContentRegionAvail().x;
        ImGui::TextUnformatted(Ellipsize(RecordingTitle(r), room).c_str());
        ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
        ImGui::TextWrapped("%s", RecordingState(r).c_str());
        ImGui::PopStyleColor();
        const bool playable = r.status != "recording" && !r.audio_sha256.empty();
        ImGui::BeginDisabled(!playable || a.Recording());
        if (RowButton(Tr("Listen and transcribe"), f, f.narrow ? -1.0f : 0.0f)) a.OpenRecording(r);
        ImGui::EndDisabled();
        if (playable) {
            if (ImGui::TreeNodeEx("##export", ImGuiTreeNodeFlags_SpanAvailWidth, "%s", Tr("Copy out of the vault…"))) {
                ImGui::PushStyleColor(ImGuiCol_Text, ERROR_COLOUR);
                ImGui::TextWrapped("%s", Tr("The copy is not encrypted: whoever gets the file can listen to it. "
                                            "Keep it only where the project allows."));
                ImGui::PopStyleColor();
                ImGui::SetNextItemWidth(-1);
                ImGui::InputTextWithHint("##path", Tr("File to create, e.g. /home/ana/entrevista.opus"),
                                         &a.ExportPath(r.id));
                ImGui::BeginDisabled(a.ExportPath(r.id).empty());
                if (ConfirmedButton(Tr("Copy out"), "export",
                                    Tr("The recording will be written to that file without encryption, outside the "
                                       "vault. Go on?"),
                                    Tr("Copy out"), f))
                    a.Export(r.id);
                ImGui::EndDisabled();
                ImGui::TreePop();
            }
        }
        ImGui::Spacing();
        ImGui::PopID();
    }
    if (made_here &&
        ImGui::TreeNodeEx("##import", ImGuiTreeNodeFlags_SpanAvailWidth, "%s", Tr("Import a recording from a file…"))) {
        ImGui::TextWrapped("%s", Tr("WAV, Ogg Opus, FLAC, Ogg Vorbis or MP3. It is encoded again into the vault; "
                                    "the file itself is left as it is."));
        ImGui::BeginDisabled(a.Importing());
        ImGui::SetNextItemWidth(-1);
        const bool go = ImGui::InputTextWithHint("##import-path", Tr("Path of the file, e.g. /home/ana/grabacion.wav"),
                                                 &a.ImportPath(), ImGuiInputTextFlags_EnterReturnsTrue);
        ImGui::EndDisabled();
        if (a.Importing()) {
            char percent[16];
            std::snprintf(percent, sizeof percent, "%d %%", static_cast<int>(a.ImportProgress() * 100));
            ImGui::ProgressBar(static_cast<float>(a.ImportProgress()), ImVec2(-1, 0), percent);
            if (WideButton(Tr("Stop the import"), f)) a.CancelImport();
        } else {
            ImGui::BeginDisabled(a.ImportPath().empty() || a.Recording());
            if (WideButton(Tr("Import"), f) || go) a.StartImport();
            ImGui::EndDisabled();
        }
        ImGui::TreePop();
    }
}

// [SECTION] The recorder

namespace {

void DrawRecorder(AudioFeature& a, const Frame& f) {
    Recorder* r = a.CurrentRecorder();
    const auto state = r ? r->CurrentState() : Recorder::State::Finished;
    const bool running = r && (state == Recorder::State::Capturing || state == Recorder::State::Encoding);
    const bool paused = r && r->Paused();
    const char* words = !r                                  ? (a.Finishing() ? Tr("Saving…") : "")
                        : state == Recorder::State::Opening ? Tr("Opening the microphone…")
                        : paused                            ? Tr("Paused")
                        : running                           ? Tr("Recording")
                                                            : Tr("Saving…");
    if (r && running && !paused) ImGui::TextColored(RECORD_COLOUR, "%s", words);
    else ImGui::TextDisabled("%s", words);
    BigText(ClockText(r ? r->ElapsedMs() : a.LastDurationMs()), f.narrow ? 2.6f : 2.2f);

    // The level meter: how loud the microphone hears, so a person sees it works.
    const float level = std::min(1.0f, a.Level());
    ImGui::PushStyleColor(ImGuiCol_PlotHistogram, level > 0.9f ? LOUD_COLOUR : LEVEL_COLOUR);
    ImGui::ProgressBar(r && running && !paused ? std::sqrt(level) : 0.0f, ImVec2(-1, 18.0f * f.scale), "");
    ImGui::PopStyleColor();
    ImGui::TextDisabled("%s", Tr("Sound level"));
    ImGui::Spacing();

    if (r) {
        const float height = TouchHeight(f) * (f.narrow ? 1.4f : 1.1f);
        ImGui::BeginDisabled(!running);
        const float share = f.narrow ? ShareOfRow(f, 2) : 200.0f * f.scale;
        if (RowButton(paused ? Tr("Resume") : Tr("Pause"), f, share, height)) a.SetPaused(!paused);
        ImGui::EndDisabled();
        ImGui::SameLine();
        PushDanger();
        if (RowButton(Tr("Stop"), f, share, height)) a.StopRecording();
        PopDanger();
        ImGui::Spacing();
        // A mark: a note at this moment, to come back to while listening.
        ImGui::BeginDisabled(a.RecordingId().empty() || !running);
        ImGui::SetNextItemWidth(f.narrow ? -1.0f : -200.0f * f.scale);
        const bool enter = ImGui::InputTextWithHint("##mark", Tr("Note for a mark (optional)"), &a.MarkNote(),
                                                    ImGuiInputTextFlags_EnterReturnsTrue);
        if (!f.narrow) ImGui::SameLine();
        if (RowButton(Tr("Add a mark"), f, f.narrow ? -1.0f : 0.0f) || enter) a.AddMark();
        ImGui::EndDisabled();
    } else {
        if (RecordButton(Tr("Record again"), f, !a.Finishing())) a.StartRecording();
        if (WideButton(Tr("Back to the form"), f)) a.CloseScreen();
    }
    ErrorText(a.RecorderError());
    if (!a.Notice().empty()) ImGui::TextColored(OK_COLOUR, "%s", a.Notice().c_str());
    if (!a.SessionMarks().empty()) ImGui::TextDisabled("%s", TypePluralLabel("audio_mark"));
    for (const auto& m : a.SessionMarks())
        ImGui::Text("%s  %s", ClockText(m.at_ms).c_str(), m.note.empty() ? Tr("(mark)") : m.note.c_str());
}

// [SECTION] The player and the transcript

void DrawTransport(AudioFeature& a, Player& p, const Frame& f) {
    const int64_t position = p.PositionMs(), duration = std::max<int64_t>(1, p.DurationMs());
    const std::string times = ClockText(position) + " / " + ClockText(duration);
    ImGui::TextUnformatted(times.c_str());
    // The slider is in tenths of a second: fine enough to land on a word.
    int tenths = static_cast<int>(position / 100);
    ImGui::SetNextItemWidth(-1);
    ImGui::PushStyleVar(ImGuiStyleVar_GrabMinSize, f.narrow ? 28.0f * f.scale : 14.0f * f.scale);
    if (ImGui::SliderInt("##position", &tenths, 0, static_cast<int>(duration / 100), ""))
        a.SeekMs(static_cast<int64_t>(tenths) * 100);
    ImGui::PopStyleVar();
    const float share = f.narrow ? ShareOfRow(f, 2) : 140.0f * f.scale;
    if (RowButton(Tr("Back 5 s"), f, share)) a.BackMs(5000);
    ImGui::SameLine();
    if (RowButton((std::string(p.Playing() ? Tr("Pause") : Tr("Play")) + "###play").c_str(), f, share)) a.Toggle();
    if (!f.narrow) ImGui::SameLine();
    float speed = static_cast<float>(p.Speed());
    ImGui::SetNextItemWidth(f.narrow ? -1.0f : 220.0f * f.scale);
    const std::string format = std::string(Tr("Speed")) + " %.2f×";
    if (ImGui::SliderFloat("##speed", &speed, static_cast<float>(Player::MIN_SPEED),
                           static_cast<float>(Player::MAX_SPEED), format.c_str()))
        a.SetSpeed(std::round(speed * 20.0f) / 20.0f); // in steps of 0.05
}

void DrawMarks(AudioFeature& a, const Frame& f) {
    if (a.Marks().empty()) return;
    if (!ImGui::CollapsingHeader(Tr("Marks"), ImGuiTreeNodeFlags_DefaultOpen)) return;
    for (const auto& m : a.Marks()) {
        ImGui::PushID(m.id.c_str());
        const std::string label = ClockText(m.at_ms) + "   " + (m.note.empty() ? Tr("(mark)") : m.note);
        if (ImGui::Selectable(label.c_str(), false, 0, ImVec2(0, f.narrow ? TouchHeight(f) * 0.8f : 0)))
            a.SeekMs(m.at_ms);
        ImGui::PopID();
    }
}

void DrawSegmentEditor(AudioFeature& a, const Frame& f) {
    auto& s = a.Segment();
    ImGui::TextUnformatted(s.id.empty() ? Tr("New segment") : Tr("Segment"));
    const float stamp = ImGui::CalcTextSize(Tr("End here")).x + ImGui::CalcTextSize(Tr("Start here")).x;
    (void)stamp;
    const float field = f.narrow ? ImGui::GetContentRegionAvail().x * 0.45f : 110.0f * f.scale;
    ImGui::SetNextItemWidth(field);
    ImGui::InputTextWithHint("##start", Tr("Start"), &s.start);
    ImGui::SameLine();
    if (SideButton(Tr("Start here"), f)) a.StampStart();
    ImGui::SetNextItemWidth(field);
    ImGui::InputTextWithHint("##end", Tr("End"), &s.end);
    ImGui::SameLine();
    if (SideButton(Tr("End here"), f)) a.StampEnd();
    ImGui::SetNextItemWidth(-1);
    ImGui::InputTextWithHint("##speaker", Tr("Speaker (pseudonym or role)"), &s.speaker);
    if (s.focus_text) {
        ImGui::SetKeyboardFocusHere();
        s.focus_text = false;
    }
    ImGui::InputTextMultiline("##text", &s.text, ImVec2(-1, ImGui::GetTextLineHeight() * (f.narrow ? 4.0f : 6.0f)));
    const float share = s.id.empty() ? (f.narrow ? -1.0f : 0.0f) : ShareOfRow(f, 2);
    ImGui::BeginDisabled(s.saving);
    if (RowButton(Tr("Save segment"), f, share)) a.SaveSegment();
    ImGui::EndDisabled();
    if (!s.id.empty()) {
        ImGui::SameLine();
        if (RowButton(Tr("New segment"), f, share)) a.NewSegment();
    }
    ErrorText(s.error);
}

void DrawSegments(AudioFeature& a, const Frame& f) {
    const auto& segments = a.Segments();
    if (segments.empty()) {
        ImGui::TextDisabled("%s", Tr("No segment yet."));
        return;
    }
    const int64_t at = a.CurrentPlayer() ? a.CurrentPlayer()->PositionMs() : -1;
    const float row = ImGui::GetTextLineHeightWithSpacing() * 2 + (f.narrow ? 12.0f * f.scale : 2.0f);
    // An interview's transcript may run to thousands of segments: draw those in view.
    ImGuiListClipper clipper;
    clipper.Begin(static_cast<int>(segments.size()), row + ImGui::GetStyle().ItemSpacing.y);
    while (clipper.Step())
        for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
            const auto& s = segments[static_cast<size_t>(i)];
            ImGui::PushID(s.id.c_str());
            const bool now = at >= s.start_ms && at < s.end_ms;
            const float room = ImGui::GetContentRegionAvail().x - ImGui::GetStyle().FramePadding.x;
            std::string head = ClockText(s.start_ms) + "–" + ClockText(s.end_ms);
            if (!s.speaker.empty()) head += "  " + s.speaker;
            std::string text;
            for (char c : s.text) text.push_back(c == '\n' ? ' ' : c);
            const std::string label = Ellipsize(head, room) + "\n" + Ellipsize(text, room) + "###seg";
            if (ImGui::Selectable(label.c_str(), now || a.Segment().id == s.id, 0, ImVec2(0, row))) a.EditSegment(s.id);
            ImGui::PopID();
        }
}

void DrawPlayer(AudioFeature& a, const Frame& f) {
    const auto& r = a.Playing();
    if (a.PlayerLoading()) ImGui::TextDisabled("%s", Tr("Opening the recording…"));
    ErrorText(a.PlayerError());
    Player* p = a.CurrentPlayer();
    if (!p && !a.MissingAudio().empty()) {
        // Recorded on another device: an interpreter fetches it from headquarters.
        if (a.Downloading()) {
            const auto [done, total] = a.DownloadProgress();
            ImGui::TextUnformatted(Tr("Downloading the recording from headquarters…"));
            ImGui::ProgressBar(total > 0 ? static_cast<float>(done) / static_cast<float>(total) : 0.0f, ImVec2(-1, 0));
        } else if (WideButton(Tr("Download from headquarters"), f)) {
            a.DownloadMissing();
        }
    }
    if (!p) {
        if (WideButton(Tr("Back to the form"), f)) a.CloseScreen();
        return;
    }
    ImGui::TextUnformatted(Ellipsize(RecordingTitle(r), ImGui::GetContentRegionAvail().x).c_str());
    DrawTransport(a, *p, f);
    if (!a.CanTranscribe()) {
        DrawMarks(a, f);
        ImGui::TextDisabled("%s", Tr("A consent's recording is listened to, not transcribed."));
        return;
    }
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    ImGui::TextWrapped("%s", Tr("Ctrl+Space plays or pauses · Ctrl+Enter: the segment starts here · Ctrl+S saves it"));
    ImGui::PopStyleColor();
    ImGui::Separator();
    if (f.narrow) {
        DrawSegmentEditor(a, f);
        DrawMarks(a, f);
        if (ImGui::CollapsingHeader(Tr("Transcript"), ImGuiTreeNodeFlags_DefaultOpen)) DrawSegments(a, f);
        return;
    }
    // Desktop: the transcript beside the segment being typed.
    ImGui::BeginChild("transcript", ImVec2(ImGui::GetContentRegionAvail().x * 0.5f, 0), true);
    ImGui::TextUnformatted(Tr("Transcript"));
    ImGui::Separator();
    DrawSegments(a, f);
    ImGui::EndChild();
    ImGui::SameLine();
    ImGui::BeginChild("segment", ImVec2(0, 0), true);
    DrawSegmentEditor(a, f);
    DrawMarks(a, f);
    ImGui::EndChild();
}

} // namespace

void DrawAudio(AudioFeature& a, const Frame& f) {
    if (!f.narrow) {
        ImGui::BeginDisabled(a.Recording()); // a recording goes on until it is stopped
        if (ImGui::Button((std::string("‹ ") + Tr("Back")).c_str())) a.CloseScreen();
        ImGui::EndDisabled();
        ImGui::SameLine();
        ImGui::AlignTextToFramePadding();
        ImGui::TextUnformatted(a.Screen() == AudioScreen::Recorder ? Tr("Recording") : Tr("Listen and transcribe"));
        ImGui::Separator();
    }
    if (a.Screen() == AudioScreen::Recorder) DrawRecorder(a, f);
    else DrawPlayer(a, f);
}

// [SECTION] Recovered recordings

void DrawRecovered(AudioFeature& a, const Frame& f) {
    if (a.Recovered().empty()) return;
    const RecordingRow r = a.Recovered().front();
    ImGui::PushStyleColor(ImGuiCol_ChildBg, ImVec4(1.0f, 0.95f, 0.8f, 1));
    const float height = ImGui::GetTextLineHeightWithSpacing() * (f.narrow ? 3.0f : 1.2f) +
                         (f.narrow ? TouchHeight(f) : ImGui::GetFrameHeight()) + ImGui::GetStyle().WindowPadding.y * 2;
    ImGui::BeginChild("recovered", ImVec2(0, height), true, ImGuiWindowFlags_NoScrollbar);
    ImGui::TextWrapped("%s",
                       Filled(Tr("A recording cut short was recovered: %s kept."), ClockText(r.duration_ms)).c_str());
    if (!f.narrow) ImGui::SameLine();
    const float share = ShareOfRow(f, 2);
    if (RowButton(Tr("Open it"), f, share)) a.OpenRecording(r);
    ImGui::SameLine();
    if (RowButton(Tr("Later"), f, share)) a.DismissRecovered();
    ImGui::EndChild();
    ImGui::PopStyleColor();
}

} // namespace escucha::gui
