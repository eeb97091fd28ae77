// Bringing a chat export in (a WhatsApp chat as .txt or .zip): the file is
// read and parsed on the vault's worker (nothing of it written anywhere),
// the authors are shown for the person to give each a pseudonym (or have
// them generated), then capture::ImportSocial stores it all in one
// transaction, its progress shown. panel_social.cpp draws from it.
//
// Thread contract: UI thread only, except the progress counters, which the
// worker writes.
#pragma once

#include "app_context.h"
#include "feature_lists.h"

#include "escucha/capture/social_import.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace escucha::gui {

struct SocialAuthorChoice {
    std::string name; ///< as the export shows it (stays on this device, shown only here)
    int64_t messages = 0;
    std::string pseudonym;
    bool leave_out = false;
};

class SocialFeature {
public:
    SocialFeature(AppContext& ctx, ListsFeature& lists) : m_ctx(ctx), m_lists(lists) {}

    enum class Step { Closed, ChooseFile, Reading, ChooseNames, Importing, Done };
    [[nodiscard]] Step CurrentStep() const { return m_step; }
    void Open();  ///< the import screen, asking for a file
    void Close(); ///< back to the list; what was read is forgotten

    std::string& Path() { return m_path; }
    std::string& TimeZone() { return m_time_zone; } ///< optional, "-05:00"
    bool& Generate() { return m_generate; }
    /// Reads and parses the file at Path().
    void Read();
    [[nodiscard]] const capture::SocialExport* Parsed() const { return m_parsed.get(); }
    [[nodiscard]] std::vector<SocialAuthorChoice>& Authors() { return m_authors; }
    /// Stores the chat with the pseudonyms chosen.
    void Import();
    /// Messages gone through and their total, while importing.
    [[nodiscard]] std::pair<int64_t, int64_t> Progress() const { return {m_done->load(), m_total->load()}; }
    [[nodiscard]] const std::optional<capture::SocialImportReport>& Report() const { return m_report; }
    void Clear(); ///< at lock

    // [SECTION] Pictures of the item open in the form (shown on request)

    struct PictureRow {
        std::string id, title, media_type, sha256;
        int64_t width = 0, height = 0;
    };
    /// A picture decoded for showing: RGBA pixels, wiped when hidden.
    struct ShownPicture {
        std::string id;
        int width = 0, height = 0;
        std::vector<unsigned char> rgba;
        int generation = 0; ///< changes whenever the pixels do
        bool loading = false;
        bool downloading = false; ///< from headquarters: it was brought in on another device
        std::string error;        ///< in the user's words
    };
    /// Follows the record open in the form: its pictures are read when it
    /// changes; another record hides what was shown.
    void FollowItem(const std::string& item_id);
    [[nodiscard]] const std::vector<PictureRow>& Pictures() const { return m_pictures; }
    /// Decrypts and decodes a picture on the worker.
    void ShowPicture(const std::string& picture_id);
    void HidePicture();
    [[nodiscard]] const ShownPicture& Shown() const { return m_shown; }

    /// Set by the owner: the items were stored (the lists are read again).
    std::function<void()> on_imported;

private:
    AppContext& m_ctx;
    ListsFeature& m_lists;
    Step m_step = Step::Closed;
    std::string m_path, m_time_zone;
    bool m_generate = false;
    std::shared_ptr<const capture::SocialExport> m_parsed;
    std::vector<SocialAuthorChoice> m_authors;
    std::shared_ptr<std::atomic<int64_t>> m_done = std::make_shared<std::atomic<int64_t>>(0);
    std::shared_ptr<std::atomic<int64_t>> m_total = std::make_shared<std::atomic<int64_t>>(0);
    std::optional<capture::SocialImportReport> m_report;
    void DownloadPicture(const std::string& picture_id, const std::string& sha);

    std::string m_item_id;
    std::vector<PictureRow> m_pictures;
    int m_picture_request = 0;
    ShownPicture m_shown;
};

} // namespace escucha::gui
