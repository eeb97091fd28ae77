#include "feature_social.h"

#include "i18n.h"

#include "escucha/storage/error_code.h"

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
        [this, &ui, session, project, parsed, choices, done, total, report](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            *report = capture::ImportSocial(vault->Records(), project, *parsed, choices,
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

} // namespace escucha::gui
