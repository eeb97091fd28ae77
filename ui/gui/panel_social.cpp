// Bringing a chat export in: the file, the authors' pseudonyms, the
// progress and what came of it.
#include "i18n.h"
#include "panels.h"

#include <GL/gl.h>
#include <imgui_stdlib.h>

#include <algorithm>

namespace escucha::gui {

namespace {

/// The texture of the picture shown, made from the feature's pixels and
/// deleted when they go.
class PictureTexture {
public:
    PictureTexture() = default;
    PictureTexture(const PictureTexture&) = delete;
    PictureTexture& operator=(const PictureTexture&) = delete;
    ~PictureTexture() { Drop(); }

    /// The texture for `shown`, made again when its pixels changed; 0 when none.
    GLuint For(const SocialFeature::ShownPicture& shown) {
        if (shown.generation != m_generation) {
            Drop();
            m_generation = shown.generation;
            if (!shown.rgba.empty()) {
                glGenTextures(1, &m_texture);
                glBindTexture(GL_TEXTURE_2D, m_texture);
                glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
                glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
                glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
                glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
                glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
                glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, shown.width, shown.height, 0, GL_RGBA, GL_UNSIGNED_BYTE,
                             shown.rgba.data());
            }
        }
        return m_texture;
    }

private:
    void Drop() {
        if (m_texture) glDeleteTextures(1, &m_texture);
        m_texture = 0;
    }
    GLuint m_texture = 0;
    int m_generation = -1;
};

} // namespace

void DrawItemPictures(SocialFeature& s, const RecordDraft& d, const Frame& f) {
    static PictureTexture texture;
    s.FollowItem(d.id);
    const auto& shown = s.Shown();
    const GLuint tex = texture.For(shown);
    if (s.Pictures().empty()) return;
    ImGui::TextDisabled("%s", Tr("Pictures"));
    for (const auto& p : s.Pictures()) {
        ImGui::PushID(p.id.c_str());
        const bool open = shown.id == p.id;
        if (p.width > 0 && p.height > 0)
            ImGui::TextWrapped("%s (%lld × %lld)", p.title.c_str(), static_cast<long long>(p.width),
                               static_cast<long long>(p.height));
        else
            ImGui::TextWrapped("%s", p.title.c_str());
        if (WideButton(open ? Tr("Hide the picture") : Tr("Show the picture"), f)) {
            if (open) s.HidePicture();
            else s.ShowPicture(p.id);
        }
        if (open) {
            if (shown.downloading) ImGui::TextDisabled("%s", Tr("Downloading from headquarters…"));
            else if (shown.loading) ImGui::TextDisabled("%s", Tr("Opening…"));
            else if (!shown.error.empty()) ImGui::TextWrapped("%s", shown.error.c_str());
            else if (tex && shown.width > 0) {
                // As wide as the form allows, never wider than the picture itself.
                const float room = ImGui::GetContentRegionAvail().x;
                const float scale = std::min(1.0f, room / static_cast<float>(shown.width));
                ImGui::Image(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(tex)),
                             ImVec2(static_cast<float>(shown.width) * scale, static_cast<float>(shown.height) * scale));
            }
        }
        ImGui::PopID();
    }
    ImGui::Separator();
}

void DrawSocialImportButton(SocialFeature& s, const Frame& f) {
    if (WideButton(Tr("Import a chat or social-media export"), f)) s.Open();
}

void DrawSocialImport(SocialFeature& s, const Frame& f) {
    using Step = SocialFeature::Step;
    ImGui::TextUnformatted(Tr("Import a chat export"));
    ImGui::Separator();
    switch (s.CurrentStep()) {
    case Step::Closed:
        return;
    case Step::ChooseFile:
    case Step::Reading: {
        const bool reading = s.CurrentStep() == Step::Reading;
        ImGui::TextWrapped("%s", Tr("A WhatsApp chat exported from the phone (Export chat, the .txt or the .zip), a "
                                    "Facebook or Instagram \"Download your information\" export in JSON, or a Telegram "
                                    "result.json. It is read here and nothing of it is written anywhere but the vault."));
        ImGui::TextDisabled("%s", Tr("File"));
        ImGui::SetNextItemWidth(-1);
        ImGui::InputTextWithHint("##path", "/home/…/WhatsApp Chat - ….zip", &s.Path());
        ImGui::TextDisabled("%s", Tr("Time zone of the phone, for a WhatsApp chat (optional)"));
        ImGui::SetNextItemWidth(f.narrow ? -1.0f : 160.0f * f.scale);
        ImGui::InputTextWithHint("##tz", "-05:00", &s.TimeZone());
        ImGui::BeginDisabled(reading || s.Path().empty());
        if (WideButton(reading ? Tr("Reading…") : Tr("Read the file"), f)) s.Read();
        ImGui::EndDisabled();
        if (!f.narrow) ImGui::SameLine();
        if (!reading && WideButton(Tr("Cancel"), f)) s.Close();
        return;
    }
    case Step::ChooseNames: {
        const auto& p = *s.Parsed();
        ImGui::TextWrapped("%s: %s · %zu %s", Tr("Chat"), p.thread.c_str(), p.messages.size(), Tr("messages"));
        if (p.platform == "whatsapp" && p.date_order_basis == capture::DateOrderBasis::Assumed)
            ImGui::TextColored(ERROR_COLOUR, "%s",
                               Tr("Nothing in the file tells whether dates are day/month or month/day: the usual order "
                                  "for its language was assumed. Check a few dates after the import."));
        ImGui::TextWrapped("%s", Tr("Give each person a pseudonym, never their name. Names and phone numbers stay on "
                                    "this device, in identity links, and never go to headquarters."));
        ImGui::Spacing();
        for (auto& a : s.Authors()) {
            ImGui::PushID(a.name.c_str());
            ImGui::TextUnformatted(a.name.c_str());
            ImGui::SameLine();
            ImGui::TextDisabled("(%lld)", static_cast<long long>(a.messages));
            ImGui::BeginDisabled(a.leave_out);
            ImGui::SetNextItemWidth(f.narrow ? -1.0f : 240.0f * f.scale);
            ImGui::InputTextWithHint("##pseudonym", Tr("Pseudonym"), &a.pseudonym);
            ImGui::EndDisabled();
            if (!f.narrow) ImGui::SameLine();
            ImGui::Checkbox(Tr("Leave out"), &a.leave_out);
            ImGui::PopID();
        }
        ImGui::Checkbox(Tr("Generate pseudonyms for those left empty"), &s.Generate());
        if (WideButton(Tr("Import"), f)) s.Import();
        if (!f.narrow) ImGui::SameLine();
        if (WideButton(Tr("Cancel"), f)) s.Close();
        return;
    }
    case Step::Importing: {
        const auto [done, total] = s.Progress();
        ImGui::TextUnformatted(Tr("Importing…"));
        ImGui::ProgressBar(total > 0 ? static_cast<float>(done) / static_cast<float>(total) : 0.0f, ImVec2(-1, 0));
        ImGui::TextDisabled("%lld / %lld", static_cast<long long>(done), static_cast<long long>(total));
        return;
    }
    case Step::Done: {
        const auto& r = *s.Report();
        ImGui::TextWrapped("%s: %s", Tr("Chat"), r.thread.c_str());
        ImGui::BulletText("%s: %lld", Tr("New messages"), static_cast<long long>(r.added));
        ImGui::BulletText("%s: %lld", Tr("Already here"), static_cast<long long>(r.skipped));
        ImGui::BulletText("%s: %lld", Tr("Not stored"), static_cast<long long>(r.refused));
        for (const auto& [reason, n] : r.refused_by_reason) {
            const char* why = reason == "system_line"       ? Tr("lines of the app, not of anyone")
                              : reason == "deleted_in_chat" ? Tr("deleted in the chat")
                              : reason == "author_left_out" ? Tr("from people left out")
                                                            : Tr("empty");
            ImGui::Indent();
            ImGui::BulletText("%s: %lld", why, static_cast<long long>(n));
            ImGui::Unindent();
        }
        if (r.masked_numbers + r.masked_handles + r.masked_emails > 0)
            ImGui::TextWrapped("%s: %lld / %lld / %lld", Tr("Masked in the text (numbers / handles / addresses)"),
                               static_cast<long long>(r.masked_numbers), static_cast<long long>(r.masked_handles),
                               static_cast<long long>(r.masked_emails));
        ImGui::BulletText("%s: %lld", Tr("Voice notes kept"), static_cast<long long>(r.voice_notes));
        ImGui::BulletText("%s: %lld", Tr("Pictures kept"), static_cast<long long>(r.images));
        for (const auto& [reason, n] : r.media_not_kept) {
            const char* why = reason == "missing"      ? Tr("attached files not in this file (import the .zip)")
                              : reason == "not_kept"   ? Tr("videos, documents or contact cards, not kept")
                              : reason == "unreadable" ? Tr("files that are not audio or a picture this app reads")
                              : reason == "too_large"  ? Tr("files too large")
                              : reason == "ambiguous"  ? Tr("two files of the same name in the zip")
                                                       : Tr("not kept");
            ImGui::Indent();
            ImGui::BulletText("%s: %lld", why, static_cast<long long>(n));
            ImGui::Unindent();
        }
        for (const auto& a : r.authors) {
            if (a.left_out) continue;
            ImGui::BulletText("%s%s", a.pseudonym.c_str(), a.created ? "" : Tr(" (already a participant)"));
        }
        if (WideButton(Tr("Back to the list"), f)) s.Close();
        return;
    }
    }
}

} // namespace escucha::gui
