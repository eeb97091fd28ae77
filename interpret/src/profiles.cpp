#include "escucha/interpret/profiles.h"

#include "escucha/capture/operations.h"
#include "escucha/interpret/coding.h"
#include "live_record.h"

#include <algorithm>
#include <unordered_map>

namespace escucha::interpret {

using storage::RecordError;
namespace errc = storage::errc;

namespace {

/// The live quotes of a profile, in their order: position, then creation.
std::vector<Json> OrderedQuotes(storage::RecordStore& store, const std::string& profile_id) {
    auto quotes = detail::LiveReferring(store, profile_id, QUOTE_TYPE, "profile_id");
    std::stable_sort(quotes.begin(), quotes.end(), [](const Json& a, const Json& b) {
        const auto pa = a.value("position", int64_t{1}), pb = b.value("position", int64_t{1});
        if (pa != pb) return pa < pb;
        return a["id"].get<std::string>() < b["id"].get<std::string>();
    });
    return quotes;
}

/// The title of `record` by its type's title field; empty when it has none.
std::string TitleOf(const storage::Catalogue& catalogue, const Json& record) {
    const auto* type = catalogue.Find(record.value("type", std::string()));
    if (!type || type->title_field.empty()) return {};
    const auto it = record.find(type->title_field);
    return it != record.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// The ids of the interviews `source` names (a segment's interview, a
/// narrative's source interviews), in field order.
std::vector<std::string> InterviewsOf(const storage::Catalogue& catalogue, const Json& source) {
    std::vector<std::string> ids;
    const auto* type = catalogue.Find(source.value("type", std::string()));
    if (!type) return ids;
    for (const auto& f : type->fields) {
        if (f.ref_type != "interview" || !source.contains(f.name)) continue;
        const auto& v = source[f.name];
        if (v.is_string()) ids.push_back(v.get<std::string>());
        if (v.is_array())
            for (const auto& item : v)
                if (item.is_string()) ids.push_back(item.get<std::string>());
    }
    return ids;
}

} // namespace

// [SECTION] Quotes

Json AddQuote(storage::RecordStore& store, const std::string& profile_id, const std::string& coding_id,
              const std::string& note) {
    Json created;
    store.Atomically([&] {
        const auto profile = detail::LiveOfType(store, profile_id, PROFILE_TYPE, "profile_id");
        (void)detail::LiveOfType(store, coding_id, CODING_TYPE, "coding_id");
        int64_t last = 0;
        for (const auto& q : OrderedQuotes(store, profile_id)) {
            if (q.value("coding_id", std::string()) == coding_id)
                throw RecordError("coding_id", "the profile quotes this excerpt already", errc::ALREADY_QUOTED,
                                  {{"id", coding_id}});
            last = std::max(last, q.value("position", int64_t{1}));
        }
        Json fields = {{"project_id", profile["project_id"]},
                       {"profile_id", profile_id},
                       {"coding_id", coding_id},
                       {"position", last + 1}};
        if (!note.empty()) fields["note"] = note;
        created = store.Create(QUOTE_TYPE, fields);
    });
    return created;
}

void RemoveQuote(storage::RecordStore& store, const std::string& quote_id) {
    store.Atomically([&] {
        (void)detail::LiveOfType(store, quote_id, QUOTE_TYPE, "quote_id");
        store.Delete(quote_id);
    });
}

void MoveQuote(storage::RecordStore& store, const std::string& quote_id, int64_t index) {
    store.Atomically([&] {
        const auto quote = detail::LiveOfType(store, quote_id, QUOTE_TYPE, "quote_id");
        auto quotes = OrderedQuotes(store, quote["profile_id"].get<std::string>());
        const auto at = std::find_if(quotes.begin(), quotes.end(), [&](const Json& q) { return q["id"] == quote_id; });
        Json moving = std::move(*at);
        quotes.erase(at);
        const auto place = static_cast<size_t>(std::clamp<int64_t>(index, 0, static_cast<int64_t>(quotes.size())));
        quotes.insert(quotes.begin() + static_cast<std::ptrdiff_t>(place), std::move(moving));
        // Only the quotes whose number changes are written: fewer changes
        // to merge with another interpreter's.
        for (size_t i = 0; i < quotes.size(); ++i) {
            const auto wanted = static_cast<int64_t>(i + 1);
            if (quotes[i].value("position", int64_t{0}) != wanted)
                store.Update(quotes[i]["id"].get<std::string>(), {{"position", wanted}});
        }
    });
}

Json SetQuoteNote(storage::RecordStore& store, const std::string& quote_id, const std::string& note) {
    Json updated;
    store.Atomically([&] {
        (void)detail::LiveOfType(store, quote_id, QUOTE_TYPE, "quote_id");
        updated = store.Update(quote_id, {{"note", note.empty() ? Json() : Json(note)}});
    });
    return updated;
}

const char* WithheldWords(Withheld why) {
    switch (why) {
    case Withheld::No: return "shown";
    case Withheld::NoConsent: return "withheld: the participant's consent does not cover quoting word for word";
    case Withheld::NoParticipant: return "withheld: no participant's consent covers quoting this source word for word";
    case Withheld::SourceGone: return "withheld: the excerpt or its source is no longer here";
    }
    return "withheld";
}

Withheld QuotableSource(storage::RecordStore& store, const Json& source, std::vector<std::string>* not_consenting) {
    const auto& catalogue = store.Types();
    if (source.value("deleted", false)) return Withheld::SourceGone;
    const auto* person = catalogue.WithRole(storage::RecordRole::Person);
    const auto* type = catalogue.Find(source.value("type", std::string()));
    if (!type) return Withheld::SourceGone;
    // A type that can name no person holds the researcher's own words.
    const bool can_name =
        person && std::any_of(type->fields.begin(), type->fields.end(),
                              [&](const storage::FieldSpec& f) { return f.ref_type == person->name; });
    if (!can_name) return Withheld::No;
    const auto participants = ParticipantsOfSource(catalogue, source);
    if (participants.empty()) return Withheld::NoParticipant;
    Withheld outcome = Withheld::No;
    for (const auto& pid : participants) {
        if (capture::ParticipantConsents(store, pid, capture::SCOPE_QUOTE_VERBATIM)) continue;
        outcome = Withheld::NoConsent;
        if (!not_consenting) continue;
        const auto p = store.Get(pid);
        not_consenting->push_back(p && !p->value("deleted", false) ? TitleOf(catalogue, *p) : std::string());
    }
    return outcome;
}

std::vector<Quote> QuotesOf(storage::RecordStore& store, const std::string& profile_id, bool with_trail) {
    const auto& catalogue = store.Types();
    (void)detail::LiveOfType(store, profile_id, PROFILE_TYPE, "profile_id");
    std::unordered_map<std::string, std::optional<Json>> read_once;
    const auto read = [&](const std::string& id) -> const std::optional<Json>& {
        auto it = read_once.find(id);
        if (it == read_once.end()) it = read_once.emplace(id, store.Get(id)).first;
        return it->second;
    };
    std::vector<Quote> out;
    for (const auto& record : OrderedQuotes(store, profile_id)) {
        Quote q;
        q.id = record["id"].get<std::string>();
        q.coding_id = record.value("coding_id", std::string());
        q.position = record.value("position", int64_t{1});
        q.note = record.value("note", std::string());
        const auto& coding = read(q.coding_id);
        const bool coding_live = coding && !coding->value("deleted", false);
        const auto source_ref = coding_live ? SourceOf(catalogue, *coding) : SourceRef{};
        const auto& source = source_ref.id.empty() ? read_once[""] : read(source_ref.id);
        if (!coding_live || !source) {
            q.withheld = Withheld::SourceGone;
        } else {
            q.withheld = QuotableSource(store, *source, &q.not_consenting);
            q.needs_review = coding->value("needs_review", false);
            if (!q.needs_review && !source->value("deleted", false)) {
                // Words that no longer read at the coding's offsets (an edit
                // not yet followed) are shown flagged, never as if right.
                const auto* field = CodableField(catalogue.Get(source_ref.type));
                const std::string text = field ? source->value(field->name, std::string()) : std::string();
                const int64_t from = ByteOffset(text, coding->value("start", int64_t{0}));
                const int64_t to = ByteOffset(text, coding->value("end", int64_t{0}));
                const std::string excerpt = coding->value("excerpt", std::string());
                q.needs_review = from < 0 || to < from ||
                                 text.compare(static_cast<size_t>(from), static_cast<size_t>(to - from), excerpt) != 0;
            }
            if (q.withheld == Withheld::No) q.text = coding->value("excerpt", std::string());
        }
        if (with_trail && coding_live) {
            auto& t = q.trail;
            t.coding_id = q.coding_id;
            t.code_id = coding->value("code_id", std::string());
            if (const auto& code = read(t.code_id); code) t.code_name = code->value("name", std::string());
            t.source_id = source_ref.id;
            t.source_type = source_ref.type;
            if (source && !source->value("deleted", false)) {
                t.source_title = TitleOf(catalogue, *source);
                for (const auto& iid : InterviewsOf(catalogue, *source)) {
                    t.interview_ids.push_back(iid);
                    const auto& interview = read(iid);
                    t.interview_titles.push_back(interview && !interview->value("deleted", false)
                                                     ? TitleOf(catalogue, *interview)
                                                     : std::string());
                }
                for (const auto& pid : ParticipantsOfSource(catalogue, *source)) {
                    t.participant_ids.push_back(pid);
                    const auto& p = read(pid);
                    t.pseudonyms.push_back(p && !p->value("deleted", false) ? TitleOf(catalogue, *p) : std::string());
                }
            }
        }
        out.push_back(std::move(q));
    }
    return out;
}

} // namespace escucha::interpret
