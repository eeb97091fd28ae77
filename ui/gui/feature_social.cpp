#include "feature_social.h"

#include "i18n.h"

#include "error_words.h"

#include "escucha/storage/blobs.h"
#include "escucha/sync/sync_client.h"
#include "escucha/storage/error_code.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace escucha::gui {

namespace {

/// The file's bytes, bounded by what an export may be; a clear error otherwise.
std::string ReadExport(const std::string& path, const capture::SocialLimits& limits) {
    namespace fs = std::filesystem;
    const std::string name = fs::path(path).filename().string();
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec || !fs::is_regular_file(path, ec))
        throw storage::RecordError("file", "cannot read " + name, storage::errc::SOCIAL_UNKNOWN_FORMAT,
                                   {{"file", name}});
    if (static_cast<int64_t>(size) > limits.max_file_bytes)
        throw storage::RecordError("file", name + " is too large", storage::errc::SOCIAL_TOO_LARGE,
                                   {{"file", name}, {"limit", std::to_string(limits.max_file_bytes >> 20) + " MiB"}});
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

void SocialFeature::Open() {
    Clear();
    m_step = Step::ChooseFile;
}

void SocialFeature::Close() {
    if (m_step == Step::Reading || m_step == Step::Importing) return; // it finishes first
    Clear();
}

void SocialFeature::Clear() {
    HidePicture();
    m_item_id.clear();
    m_pictures.clear();
    m_step = Step::Closed;
    m_parsed.reset();
    m_authors.clear();
    m_report.reset();
    m_done->store(0);
    m_total->store(0);
}

void SocialFeature::Read() {
    if (m_path.empty()) return;
    m_step = Step::Reading;
    const std::string path = m_path;
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    auto parsed = std::make_shared<capture::SocialExport>();
    // Parsing needs no vault, but runs on the worker so that the window never waits.
    m_ctx.worker.Post(
        [this, &ui, session, path, parsed](std::optional<storage::Vault>&) {
            const capture::SocialLimits limits;
            *parsed = capture::ParseSocialExport(ReadExport(path, limits),
                                                 std::filesystem::path(path).filename().string(), limits);
            ui.Post([this, session, parsed] {
                if (session != m_ctx.session || m_step != Step::Reading) return;
                m_parsed = parsed;
                m_authors.clear();
                for (const auto& [name, count] : capture::SocialAuthors(*parsed))
                    m_authors.push_back({name, count, {}, false});
                m_ctx.error.clear();
                m_step = Step::ChooseNames;
            });
        },
        [this, session](std::string what) {
            if (session != m_ctx.session) return;
            m_ctx.error = std::move(what);
            m_step = Step::ChooseFile;
        });
}

void SocialFeature::Import() {
    if (!m_parsed || m_lists.ProjectId().empty()) return;
    capture::AuthorChoices choices;
    choices.generate = m_generate;
    for (const auto& a : m_authors) {
        if (a.leave_out) choices.pseudonyms[a.name] = "-";
        else if (!a.pseudonym.empty()) choices.pseudonyms[a.name] = a.pseudonym;
    }
    if (!m_time_zone.empty()) choices.time_zone = m_time_zone;
    m_step = Step::Importing;
    m_done->store(0);
    m_total->store(static_cast<int64_t>(m_parsed->messages.size()));
    const std::string project = m_lists.ProjectId();
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    auto parsed = m_parsed;
    auto done = m_done, total = m_total;
    auto report = std::make_shared<capture::SocialImportReport>();
    m_ctx.worker.Post(
        [this, &ui, session, project, parsed, choices, done, total, report,
         path = m_path](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            // Read again for the files beside the chat (voice notes, photos):
            // the bytes are not held while the names are being chosen.
            const capture::SocialLimits limits;
            const std::string bytes = ReadExport(path, limits);
            const capture::SocialMediaArchive media(bytes, std::filesystem::path(path).filename().string(), limits);
            *report = capture::ImportSocial(*vault, project, *parsed, choices, media,
                                            [&ui, done, total](int64_t d, int64_t t) {
                                                done->store(d);
                                                total->store(t);
                                                ui.Post([] {}); // wakes the window to draw the progress
                                            });
            ui.Post([this, session, report] {
                if (session != m_ctx.session) return;
                m_report = *report;
                m_step = Step::Done;
                m_ctx.error.clear();
                m_ctx.status = Tr("Chat imported");
                std::fprintf(stderr, "escucha: chat imported, %lld new\n", static_cast<long long>(report->added));
                if (on_imported) on_imported();
            });
        },
        [this, session](std::string what) {
            if (session != m_ctx.session) return;
            m_ctx.error = std::move(what);
            m_step = Step::ChooseNames; // nothing was stored: choose again
        });
}

// [SECTION] Pictures

namespace {

/// Pictures larger than this are not decoded for showing (a small file can
/// claim a huge picture).
constexpr int64_t MAX_SHOWN_PIXELS = 40'000'000;

std::string StrOf(const storage::Json& r, const char* field) {
    const auto it = r.find(field);
    return it != r.end() && it->is_string() ? it->get<std::string>() : std::string();
}

} // namespace

void SocialFeature::FollowItem(const std::string& item_id) {
    if (item_id == m_item_id) return;
    m_item_id = item_id;
    m_pictures.clear();
    HidePicture();
    if (item_id.empty()) return;
    const int request = ++m_picture_request, session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post([this, &ui, request, session, item_id](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        std::vector<PictureRow> rows;
        for (const auto& r : capture::PicturesOf(vault->Records(), item_id))
            rows.push_back({StrOf(r, "id"), StrOf(r, "title"), StrOf(r, "media_type"), StrOf(r, "image_sha256"),
                            r.value("width", int64_t{0}), r.value("height", int64_t{0})});
        ui.Post([this, request, session, rows = std::move(rows)]() mutable {
            if (session != m_ctx.session || request != m_picture_request) return;
            m_pictures = std::move(rows);
        });
    });
}

void SocialFeature::ShowPicture(const std::string& picture_id) {
    const auto row = std::find_if(m_pictures.begin(), m_pictures.end(),
                                  [&](const PictureRow& p) { return p.id == picture_id; });
    if (row == m_pictures.end()) return;
    HidePicture();
    m_shown.id = picture_id;
    m_shown.loading = true;
    const int request = ++m_picture_request, session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    struct Decoded {
        int width = 0, height = 0;
        std::vector<unsigned char> rgba;
        const char* error = nullptr; ///< English, worded on the window's thread
    };
    m_ctx.worker.Post(
        [this, &ui, request, session, picture_id, sha = row->sha256](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            storage::BlobStore blobs(*vault);
            if (!blobs.Find(sha)) {
                // Brought in on another device: headquarters has it.
                ui.Post([this, request, session, picture_id, sha] {
                    if (session != m_ctx.session || request != m_picture_request || m_shown.id != picture_id) return;
                    DownloadPicture(picture_id, sha);
                });
                return;
            }
            auto decoded = std::make_shared<Decoded>();
            std::string bytes = blobs.ReadAll(sha);
            auto picture = capture::DecodePicture(bytes, MAX_SHOWN_PIXELS);
            using Outcome = capture::DecodedPicture::Outcome;
            if (picture.outcome == Outcome::Shown) {
                decoded->width = picture.width;
                decoded->height = picture.height;
                decoded->rgba = std::move(picture.rgba);
            } else {
                decoded->error = picture.outcome == Outcome::TooLarge ? N_("This picture is too large to show here.")
                                 : picture.outcome == Outcome::KindNotShown
                                     ? N_("This kind of picture (WebP) cannot be shown here; it is kept in the vault.")
                                     : N_("This picture cannot be read.");
            }
            sodium_memzero(bytes.data(), bytes.size());
            ui.Post([this, request, session, picture_id, decoded] {
                if (session != m_ctx.session || request != m_picture_request || m_shown.id != picture_id) {
                    if (!decoded->rgba.empty()) sodium_memzero(decoded->rgba.data(), decoded->rgba.size());
                    return;
                }
                m_shown.loading = false;
                m_shown.error = decoded->error ? Tr(decoded->error) : "";
                m_shown.width = decoded->width;
                m_shown.height = decoded->height;
                m_shown.rgba = std::move(decoded->rgba);
                ++m_shown.generation;
            });
        },
        [this, session, picture_id](std::string what) {
            if (session != m_ctx.session || m_shown.id != picture_id) return;
            m_shown.loading = false;
            m_shown.error = std::move(what);
        });
}

void SocialFeature::DownloadPicture(const std::string& picture_id, const std::string& sha) {
    m_shown.downloading = true;
    const int request = m_picture_request, session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    // On the sync connection, as a recording's audio is fetched.
    m_ctx.sync_worker.Post(
        [this, &ui, request, session, picture_id, sha](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            sync::SyncClient client(*vault);
            const auto report = client.DownloadBlob(sha, {});
            ui.Post([this, request, session, picture_id, report] {
                if (session != m_ctx.session || request != m_picture_request || m_shown.id != picture_id) return;
                m_shown.downloading = false;
                if (!report.ok) {
                    m_shown.loading = false;
                    m_shown.error =
                        report.error_code.empty() ? report.error : WordError(report.error_code, report.error_params);
                    return;
                }
                ShowPicture(picture_id);
            });
        },
        [this, session, picture_id](std::string what) {
            if (session != m_ctx.session || m_shown.id != picture_id) return;
            m_shown.loading = m_shown.downloading = false;
            m_shown.error = std::move(what);
        });
}

void SocialFeature::HidePicture() {
    if (!m_shown.rgba.empty()) sodium_memzero(m_shown.rgba.data(), m_shown.rgba.size());
    const int generation = m_shown.generation + 1;
    m_shown = ShownPicture{};
    m_shown.generation = generation;
}

} // namespace escucha::gui
