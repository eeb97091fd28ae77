#include "feature_activities.h"

#include "i18n.h"
#include "labels.h"

#include "escucha/interpret/interpretation_records.h"

#include "escucha/interpret/exchange.h"
#include "escucha/interpret/report.h"
#include "escucha/storage/blobs.h"
#include "escucha/storage/fsutil.h"

#include <cstdlib>
#include <memory>

namespace escucha::gui {

void ActivitiesFeature::Run(std::function<void(storage::RecordStore&)> work, std::function<void()> done) {
    m_ctx.RunOnStore(std::move(work), std::move(done));
}

void ActivitiesFeature::Follow(bool force) {
    const RecordDraft* d = m_editing.Draft();
    const std::string id = d ? d->id : std::string();
    if (!force && id == m_followed) return;
    if (id != m_followed) {
        m_quotes.clear();
        m_feedback.clear();
        m_feedback_loaded = false;
        m_tally.reset();
        m_ballot = {};
        m_decision.clear();
    }
    m_followed = id;
    if (id.empty()) return;
    if (d->type == interpret::PROFILE_TYPE) LoadQuotes(id);
    else if (d->type == interpret::SESSION_TYPE) LoadFeedback(id);
    else if (d->type == interpret::ROUND_TYPE) LoadTally(id);
}

void ActivitiesFeature::Clear() {
    m_followed.clear();
    m_quotes.clear();
    m_feedback.clear();
    m_feedback_loaded = false;
    m_tally.reset();
    m_ballot = {};
    m_decision.clear();
}

// [SECTION] Quotes

void ActivitiesFeature::LoadQuotes(const std::string& profile_id) {
    auto quotes = std::make_shared<std::vector<interpret::Quote>>();
    Run([profile_id, quotes](storage::RecordStore& store) { *quotes = interpret::QuotesOf(store, profile_id, true); },
        [this, profile_id, quotes] {
            if (m_followed == profile_id) m_quotes = std::move(*quotes);
        });
}

void ActivitiesFeature::AddQuote(const std::string& profile_id, const std::string& coding_id) {
    Run([profile_id, coding_id](storage::RecordStore& store) { interpret::AddQuote(store, profile_id, coding_id); },
        [this, profile_id] {
            m_ctx.status = Tr("Quote added to the profile");
            if (m_followed == profile_id) LoadQuotes(profile_id);
        });
}

void ActivitiesFeature::RemoveQuote(const std::string& quote_id) {
    Run([quote_id](storage::RecordStore& store) { interpret::RemoveQuote(store, quote_id); },
        [this] { Follow(true); });
}

void ActivitiesFeature::MoveQuote(const std::string& quote_id, int64_t index) {
    Run([quote_id, index](storage::RecordStore& store) { interpret::MoveQuote(store, quote_id, index); },
        [this] { Follow(true); });
}

// [SECTION] Feedback

void ActivitiesFeature::LoadFeedback(const std::string& session_id) {
    auto records = std::make_shared<std::vector<storage::Json>>();
    Run([session_id, records](storage::RecordStore& store) { *records = interpret::FeedbackOf(store, session_id); },
        [this, session_id, records] {
            if (m_followed != session_id) return;
            // What this device wrote or received last for each profile (several devices may each have written one).
            for (const auto& r : *records) {
                auto& f = m_feedback[r.value("profile_id", std::string())];
                f.recognised = r.value("recognised", std::string());
                f.exists = r.value("exists", std::string());
                f.missing = r.value("missing", std::string());
                f.superfluous = r.value("superfluous", std::string());
                f.refinement = r.value("refinement", std::string());
                f.saved_id = r.value("id", std::string());
            }
            m_feedback_loaded = true;
        });
}

void ActivitiesFeature::SaveFeedback(const std::string& session_id, const std::string& profile_id) {
    const FeedbackDraft& f = m_feedback[profile_id];
    interpret::ProfileFeedback feedback{profile_id, storage::Json::object()};
    const auto put = [&](const char* field, const std::string& value) {
        feedback.answers[field] = value.empty() ? storage::Json() : storage::Json(value);
    };
    put("recognised", f.recognised);
    put("exists", f.exists);
    put("missing", f.missing);
    put("superfluous", f.superfluous);
    put("refinement", f.refinement);
    auto saved = std::make_shared<std::string>();
    Run(
        [session_id, feedback, saved](storage::RecordStore& store) {
            const auto records = interpret::RecordFeedback(store, session_id, {feedback});
            if (!records.empty()) *saved = records.front().value("id", std::string());
        },
        [this, session_id, profile_id, saved] {
            m_ctx.status = Tr("Feedback saved");
            if (m_followed == session_id) m_feedback[profile_id].saved_id = *saved;
        });
}

void ActivitiesFeature::Refine(const std::string& profile_id, const std::string& feedback_id) {
    auto version = std::make_shared<std::string>();
    Run(
        [profile_id, feedback_id, version](storage::RecordStore& store) {
            *version = interpret::RefineProfile(store, profile_id, feedback_id).value("id", std::string());
        },
        [this, version] {
            m_ctx.status = Tr("A new version of the profile was made");
            if (open_record) open_record(interpret::PROFILE_TYPE, *version);
        });
}

// [SECTION] Rounds

void ActivitiesFeature::LoadTally(const std::string& round_id) {
    auto tally = std::make_shared<interpret::Tally>();
    Run([round_id, tally](storage::RecordStore& store) { *tally = interpret::TallyRound(store, round_id); },
        [this, round_id, tally] {
            if (m_followed == round_id) m_tally = std::move(*tally);
        });
}

void ActivitiesFeature::AddVoters(const std::string& round_id, int64_t count) {
    Run([round_id, count](storage::RecordStore& store) { (void)interpret::AddVoters(store, round_id, count); },
        [this, round_id] {
            if (open_record) open_record(interpret::ROUND_TYPE, round_id); // its tokens, read again
        });
}

void ActivitiesFeature::Cast(const std::string& round_id) {
    if (m_ballot.token.empty()) return;
    std::vector<interpret::Mark> marks;
    for (const auto& [challenge, mark] : m_ballot.marks) {
        interpret::Mark m = mark;
        m.challenge_id = challenge;
        marks.push_back(std::move(m));
    }
    const std::string token = m_ballot.token;
    Run([round_id, token, marks](storage::RecordStore& store) { interpret::CastVote(store, round_id, token, marks); },
        [this, round_id] {
            m_ctx.status = Tr("Ballot counted");
            m_ballot = {};
            if (m_followed == round_id) LoadTally(round_id);
        });
}

void ActivitiesFeature::Close(const std::string& round_id, const std::string& decision) {
    Run([round_id, decision](storage::RecordStore& store) { interpret::CloseRound(store, round_id, decision); },
        [this, round_id] {
            if (open_record) open_record(interpret::ROUND_TYPE, round_id);
        });
}

// [SECTION] Exports

namespace {

/// The person's home folder (where a new export goes unless they say otherwise).
std::string HomeFolder() {
    const char* home = std::getenv("HOME");
    return home && *home ? home : ".";
}

/// The labels of type names and choices in the current language, read on the
/// UI thread for a report built on the worker.
std::function<std::string(const std::string&)> CurrentLabels() {
    auto labels = std::make_shared<const std::map<std::string, std::string>>(NameLabels(interpret::AllRecordTypes()));
    return [labels](const std::string& name) {
        const auto it = labels->find(name);
        return it == labels->end() ? name : it->second;
    };
}

/// The current language's words, read on the UI thread, for a report built on the worker.
std::shared_ptr<words::PoCatalogue> CurrentWords() {
    auto po = std::make_shared<words::PoCatalogue>();
    std::string error;
    if (CurrentLanguage() == "en" || !po->Parse(words::EmbeddedPo(CurrentLanguage()), error)) return nullptr;
    return po;
}

} // namespace

std::string& ActivitiesFeature::ExportPath(const std::string& what) {
    auto& path = m_export_paths[what];
    if (path.empty()) path = HomeFolder() + "/escucha-" + what;
    return path;
}

void ActivitiesFeature::ExportReport(const std::string& type, const std::string& id) {
    const std::string path = ExportPath(type + ".html");
    const auto po = CurrentWords();
    const std::string language = CurrentLanguage();
    auto labels = CurrentLabels();
    Run(
        [type, id, path, po, language, labels](storage::RecordStore& store) {
            interpret::ReportOptions options;
            options.language = language;
            options.choice_label = labels;
            if (po)
                options.words = [po](const char* english) {
                    const char* t = po->Find(english);
                    return std::string(t ? t : english);
                };
            std::string html;
            if (type == interpret::PROFILE_TYPE) html = interpret::ProfileReport(store, id, options);
            else if (type == interpret::SESSION_TYPE) html = interpret::SessionReport(store, id, options);
            else html = interpret::RoundReport(store, id, options);
            storage::WriteFileAtomically(path, html);
        },
        [this, path] { m_ctx.status = std::string(Tr("Report saved (not encrypted): ")) + path; });
}

void ActivitiesFeature::ExportProject(const std::string& project_id, const std::string& format,
                                      const std::string& group_field) {
    const std::string path = ExportPath("project." + format);
    const auto po = CurrentWords();
    const std::string language = CurrentLanguage();
    auto labels = CurrentLabels();
    auto withheld = std::make_shared<size_t>(0);
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, project_id, format, group_field, path, po, language, labels, withheld](
            std::optional<storage::Vault>& vault) {
            if (!vault) return;
            auto& store = vault->Records();
            std::string bytes;
            if (format == "html") {
                interpret::ReportOptions options;
                options.language = language;
                options.choice_label = labels;
                if (po)
                    options.words = [po](const char* english) {
                        const char* t = po->Find(english);
                        return std::string(t ? t : english);
                    };
                bytes = interpret::CodeGroupReport(store, project_id, group_field, options);
            } else {
                auto file = interpret::ExportVaultProject(*vault, project_id, format);
                *withheld = file.summary.withheld_sources.size();
                bytes = std::move(file.bytes);
            }
            storage::WriteFileAtomically(path, bytes);
            ui.Post([this, session, path, withheld] {
                if (session != m_ctx.session) return;
                m_ctx.error.clear();
                m_ctx.status = std::string(Tr("Exported (not encrypted): ")) + path;
                if (*withheld > 0)
                    m_ctx.status += std::string(" · ") + std::to_string(*withheld) + " " +
                                    Tr("sources withheld: no consent to quote them verbatim");
            });
        },
        [this, session](std::string what) {
            if (session == m_ctx.session) m_ctx.error = std::move(what);
        });
}

} // namespace escucha::gui
