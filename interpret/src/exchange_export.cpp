// [SECTION] A project's records
// [SECTION] What an export holds
// [SECTION] Codebook
// [SECTION] REFI-QDA project
// [SECTION] CSV of excerpts
#include "escucha/interpret/exchange.h"

#include "exchange_zip.h"

#include "escucha/capture/operations.h"
#include "escucha/interpret/coding.h"
#include "escucha/storage/blobs.h"
#include "escucha/storage/error_code.h"

#include <algorithm>
#include <functional>
#include <set>

namespace escucha::interpret {

using exchange::NameGuid;
using exchange::Xml;
using storage::RecordError;
namespace errc = storage::errc;

// [SECTION] A project's records

ProjectRecords::ProjectRecords(const storage::Catalogue& catalogue, const std::vector<Json>& records,
                               std::string project_id)
    : m_catalogue(&catalogue), m_project_id(std::move(project_id)) {
    for (const auto& r : records) {
        if (!r.is_object() || r.value("deleted", false)) continue;
        const auto* type = catalogue.Find(r.value("type", std::string()));
        if (!type || type->identifying) continue;
        const bool in_project = type->project_scoped ? r.value("project_id", std::string()) == m_project_id
                                                     : r.value("id", std::string()) == m_project_id;
        if (in_project) m_records.push_back(r);
    }
    Index();
}

ProjectRecords ProjectRecords::FromStore(storage::RecordStore& store, const std::string& project_id) {
    std::vector<Json> records;
    store.ForEach([&](const Json& r) {
        if (r.value("project_id", std::string()) == project_id || r.value("id", std::string()) == project_id)
            records.push_back(r);
    });
    return ProjectRecords(store.Types(), records, project_id);
}

void ProjectRecords::Index() {
    std::sort(m_records.begin(), m_records.end(),
              [](const Json& a, const Json& b) { return a.value("id", std::string()) < b.value("id", std::string()); });
    const auto* consent = m_catalogue->WithRole(storage::RecordRole::Consent);
    const auto* person_field = consent ? capture::PersonField(*m_catalogue, *consent) : nullptr;
    for (size_t i = 0; i < m_records.size(); ++i) {
        const auto& r = m_records[i];
        m_by_id.emplace(r.value("id", std::string()), i);
        const auto type = r.value("type", std::string());
        m_by_type[type].push_back(&r);
        if (consent && person_field && type == consent->name && r.contains(person_field->name))
            m_consents[r.value(person_field->name, std::string())].push_back(r);
    }
}

const Json* ProjectRecords::Project() const { return Get(m_project_id); }

const Json* ProjectRecords::Get(const std::string& id) const {
    const auto it = m_by_id.find(id);
    return it == m_by_id.end() ? nullptr : &m_records[it->second];
}

const std::vector<const Json*>& ProjectRecords::OfType(const std::string& type) const {
    static const std::vector<const Json*> none;
    const auto it = m_by_type.find(type);
    return it == m_by_type.end() ? none : it->second;
}

bool ProjectRecords::AllConsent(const std::vector<std::string>& participant_ids) const {
    for (const auto& id : participant_ids) {
        const auto it = m_consents.find(id);
        // A participant whose consents this set lacks has not consented here.
        if (it == m_consents.end() || !capture::ConsentCovers(it->second, capture::SCOPE_QUOTE_VERBATIM))
            return false;
    }
    return true;
}

bool ProjectRecords::Quotable(const Json& source) const {
    return AllConsent(ParticipantsOfSource(*m_catalogue, source));
}

bool ProjectRecords::AudioQuotable(const Json& recording) const {
    std::vector<std::string> ids;
    if (recording.contains("participant_ids") && recording["participant_ids"].is_array())
        for (const auto& id : recording["participant_ids"])
            if (id.is_string()) ids.push_back(id.get<std::string>());
    return AllConsent(ids);
}

// [SECTION] What an export holds

namespace {

std::string Str(const Json& record, const std::string& field) {
    const auto it = record.find(field);
    return it != record.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// A record's time as xsd:dateTime; empty when it has none that parses.
std::string DateTime(const Json& record, const char* field = "created_at") {
    auto text = Str(record, field);
    // What the store writes (2026-03-14T09:30:00.123Z) is one already.
    if (text.size() == 24 && text[10] == 'T' && text[23] == 'Z' && text[19] == '.') return text;
    const auto millis = storage::ParseIsoMillis(text);
    return millis ? storage::FormatIsoMillis(*millis) : std::string();
}

std::string UserGuid(const std::string& author) {
    thread_local std::map<std::string, std::string> known; // one hash per author, not per record
    auto it = known.find(author);
    if (it == known.end()) {
        if (known.size() > 10000) known.clear();
        it = known.emplace(author, NameGuid("escucha user:" + author)).first;
    }
    return it->second;
}

bool IsColour(const std::string& text) {
    if (text.size() != 7 || text[0] != '#') return false;
    return text.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string::npos;
}

/// The title a source is shown by: its type's title field, else its type and id.
std::string SourceName(const storage::Catalogue& catalogue, const Json& source) {
    const auto type = Str(source, "type");
    const auto* spec = catalogue.Find(type);
    std::string name = spec && !spec->title_field.empty() ? Str(source, spec->title_field) : std::string();
    return name.empty() ? type + " " + Str(source, "id").substr(0, 8) : name;
}

/// Byte offsets of each code point of `text`, and the size at the end.
std::vector<size_t> CodePointStarts(std::string_view text) {
    std::vector<size_t> starts;
    starts.reserve(text.size() + 1);
    for (size_t i = 0; i < text.size(); ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts.push_back(i);
    starts.push_back(text.size());
    return starts;
}

/// A coding as the exports see it.
struct CodingView {
    const Json* coding;
    std::string code_id;
    std::string source_id;
    int64_t start;
    int64_t end;
};

/// A text source to export: its record, its text and its codings.
struct SourceView {
    const Json* record;
    std::string text;
    std::vector<CodingView> codings; ///< those that read their excerpt at their offsets
};

/// What the project holds for the exports, consent already applied.
struct Gathered {
    std::vector<const Json*> codes;           ///< in tree order
    std::vector<int> depth;                   ///< of each code
    std::map<std::string, std::vector<CodingView>> codings_by_source;
    std::vector<SourceView> sources;          ///< quotable, with text
    std::set<std::string> exported_sources;
    std::map<std::string, int64_t> exported_codings_of_code;
};

/// The codes in tree order (siblings by name, ASCII case ignored); a code in
/// a cycle or under a code not in the set comes at the top.
void CodeTree(const ProjectRecords& project, Gathered& out) {
    const auto& codes = project.OfType(CODE_TYPE);
    std::map<std::string, std::vector<const Json*>> children;
    std::vector<const Json*> roots;
    for (const auto* c : codes) {
        const auto parent = Str(*c, "parent_id");
        const auto* p = parent.empty() ? nullptr : project.Get(parent);
        if (p && Str(*p, "type") == CODE_TYPE) children[parent].push_back(c);
        else roots.push_back(c);
    }
    const auto by_name = [](const Json* a, const Json* b) {
        const auto ka = exchange::Lower(Str(*a, "name")), kb = exchange::Lower(Str(*b, "name"));
        return ka != kb ? ka < kb : Str(*a, "id") < Str(*b, "id");
    };
    std::set<std::string> seen;
    std::function<void(const Json*, int)> visit = [&](const Json* c, int depth) {
        if (!seen.insert(Str(*c, "id")).second) return;
        out.codes.push_back(c);
        out.depth.push_back(depth);
        auto& kids = children[Str(*c, "id")];
        std::sort(kids.begin(), kids.end(), by_name);
        for (const auto* k : kids) visit(k, depth + 1);
    };
    std::sort(roots.begin(), roots.end(), by_name);
    for (const auto* r : roots) visit(r, 0);
    for (const auto* c : codes) visit(c, 0); // codes in a cycle
}

/// Gathers the codes, and the sources and codings a .qdpx may hold, into
/// `out`; what consent or review leaves out goes into `summary`.
void Gather(const ProjectRecords& project, Gathered& out, ExportSummary& summary, bool sources) {
    CodeTree(project, out);
    if (!sources) return;
    const auto& catalogue = project.Types();
    std::set<std::string> code_ids;
    for (const auto* c : out.codes) code_ids.insert(Str(*c, "id"));
    for (const auto* coding : project.OfType(CODING_TYPE)) {
        const auto source = SourceOf(catalogue, *coding);
        out.codings_by_source[source.id].push_back({coding, Str(*coding, "code_id"), source.id,
                                                    coding->value("start", int64_t{0}),
                                                    coding->value("end", int64_t{0})});
    }
    for (const auto& type : catalogue.Types()) {
        const auto* field = CodableField(type);
        if (!field) continue;
        for (const auto* record : project.OfType(type.name)) {
            auto text = Str(*record, field->name);
            if (text.empty()) continue;
            const auto id = Str(*record, "id");
            const auto it = out.codings_by_source.find(id);
            const auto* codings = it == out.codings_by_source.end() ? nullptr : &it->second;
            if (!project.Quotable(*record)) {
                summary.withheld_sources.push_back(id);
                summary.withheld_codings += codings ? static_cast<int64_t>(codings->size()) : 0;
                continue;
            }
            text = NormaliseNewlines(text);
            // A leading U+FEFF would be taken for a byte-order mark: U+2060
            // (word joiner, also invisible) keeps every offset.
            if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.replace(0, 3, "\xE2\x81\xA0");
            SourceView view{record, std::move(text), {}};
            if (codings) {
                const auto starts = CodePointStarts(view.text);
                const auto length = static_cast<int64_t>(starts.size()) - 1;
                for (const auto& c : *codings) {
                    const bool in_text = c.start >= 0 && c.start <= c.end && c.end <= length;
                    const bool reads = in_text && !c.coding->value("needs_review", false) &&
                                       std::string_view(view.text).substr(starts[c.start],
                                                                          starts[c.end] - starts[c.start]) ==
                                           Str(*c.coding, "excerpt");
                    if (!reads || !code_ids.count(c.code_id)) {
                        summary.review_codings.push_back(Str(*c.coding, "id"));
                        continue;
                    }
                    view.codings.push_back(c);
                    ++out.exported_codings_of_code[c.code_id];
                }
            }
            out.exported_sources.insert(id);
            out.sources.push_back(std::move(view));
        }
    }
}

// [SECTION] Codebook

/// The Code elements of the codebook, nested (the same in a .qdc and a .qde).
void WriteCodes(std::string& xml, const Gathered& g) {
    xml += "<Codes>";
    int open = 0; // Code elements open
    for (size_t i = 0; i < g.codes.size(); ++i) {
        const auto& c = *g.codes[i];
        const int depth = g.depth[i];
        while (open > depth) {
            xml += "</Code>";
            --open;
        }
        const auto id = Str(c, "id");
        const bool retired = c.value("retired", false);
        const auto used = g.exported_codings_of_code.find(id);
        const bool codable = !retired || (used != g.exported_codings_of_code.end() && used->second > 0);
        xml += "<Code guid=\"" + id + "\" name=\"" + Xml(Str(c, "name")) + "\" isCodable=\"" +
               (codable ? "true" : "false") + "\"";
        const auto colour = Str(c, "colour");
        if (IsColour(colour)) xml += " color=\"" + colour + "\"";
        xml += ">";
        std::string description = Str(c, "description");
        if (retired) {
            if (!description.empty()) description += "\n\n";
            description += "(Retired in Escucha: no longer used for new coding.)";
        }
        if (!description.empty()) xml += "<Description>" + Xml(description) + "</Description>";
        ++open;
    }
    while (open-- > 0) xml += "</Code>";
    xml += "</Codes>";
}

/// One Set per code kind (need, aspiration, ...): REFI-QDA has no kinds.
/// `member` is "MemberCode targetGUID" (project) or "MemberCode guid" (codebook).
void WriteKindSets(std::string& xml, const ProjectRecords& project, const Gathered& g, const char* member_attribute) {
    std::map<std::string, std::vector<std::string>> kinds;
    for (const auto* c : g.codes) {
        const auto kind = Str(*c, "kind");
        if (!kind.empty()) kinds[kind].push_back(Str(*c, "id"));
    }
    if (kinds.empty()) return;
    xml += "<Sets>";
    for (const auto& [kind, ids] : kinds) {
        xml += "<Set guid=\"" + NameGuid("escucha kind:" + project.ProjectId() + ":" + kind) + "\" name=\"" +
               Xml(kind) + "\"><Description>Escucha code kind</Description>";
        for (const auto& id : ids) xml += std::string("<MemberCode ") + member_attribute + "=\"" + id + "\"/>";
        xml += "</Set>";
    }
    xml += "</Sets>";
}

} // namespace

ExportedFile ExportQdc(const ProjectRecords& project) {
    ExportedFile out;
    Gathered g;
    Gather(project, g, out.summary, false);
    if (g.codes.empty()) throw RecordError("format", "the project has no codes", errc::QDA_EMPTY_CODEBOOK, {});
    std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                      "<CodeBook xmlns=\"urn:QDA-XML:codebook:1.0\" origin=\"Escucha\">";
    WriteCodes(xml, g);
    WriteKindSets(xml, project, g, "guid");
    xml += "</CodeBook>\n";
    out.summary.codes = static_cast<int64_t>(g.codes.size());
    out.bytes = std::move(xml);
    return out;
}

// [SECTION] REFI-QDA project

namespace {

std::string Attribute(const char* name, const std::string& value) {
    return value.empty() ? std::string() : std::string(" ") + name + "=\"" + Xml(value) + "\"";
}

/// creatingUser and creationDateTime of a record.
std::string Stamp(const Json& record, const char* user_attribute = "creatingUser") {
    const auto author = Str(record, "author");
    return (author.empty() ? std::string() : std::string(" ") + user_attribute + "=\"" + UserGuid(author) + "\"") +
           Attribute("creationDateTime", DateTime(record));
}

} // namespace

ExportedFile ExportQdpx(const ProjectRecords& project, const QdpxOptions& options) {
    ExportedFile out;
    auto& summary = out.summary;
    Gathered g;
    Gather(project, g, summary, true);
    const auto& catalogue = project.Types();
    exchange::ZipWriter zip(options.compression_level);

    // Users: whoever wrote what the project holds.
    std::set<std::string> authors;
    const auto author_of = [&](const Json& r) {
        const auto a = Str(r, "author");
        if (!a.empty()) authors.insert(a);
    };
    const Json* project_record = project.Project();
    if (project_record) author_of(*project_record);
    for (const auto* c : g.codes) author_of(*c);
    for (const auto& s : g.sources) {
        author_of(*s.record);
        for (const auto& c : s.codings) author_of(*c.coding);
    }

    // Recordings with audio, and the transcript segments of each.
    struct AudioView {
        const Json* recording;
        std::vector<const SourceView*> segments;
    };
    std::vector<AudioView> audio;
    for (const auto* rec : project.OfType("recording")) {
        if (Str(*rec, "audio_sha256").empty() || Str(*rec, "status") == "recording") continue;
        const auto id = Str(*rec, "id");
        if (!project.AudioQuotable(*rec)) {
            summary.withheld_audio.push_back(id);
            continue;
        }
        std::optional<std::string> bytes;
        if (options.audio) bytes = options.audio(*rec);
        if (!bytes) {
            summary.audio_unavailable.push_back(id);
            continue;
        }
        AudioView view{rec, {}};
        for (const auto& s : g.sources)
            if (Str(*s.record, "type") == "transcript_segment" && Str(*s.record, "recording_id") == id)
                view.segments.push_back(&s);
        std::sort(view.segments.begin(), view.segments.end(), [](const SourceView* a, const SourceView* b) {
            return a->record->value("start_ms", int64_t{0}) < b->record->value("start_ms", int64_t{0});
        });
        zip.Add("sources/" + id + ".ogg", std::move(*bytes), false);
        author_of(*rec);
        audio.push_back(std::move(view));
    }

    std::string xml;
    xml.reserve(1 << 16);
    xml += "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Project xmlns=\"urn:QDA-XML:project:1.0\"";
    xml += " name=\"" + Xml(project_record ? Str(*project_record, "name") : project.ProjectId()) + "\"";
    xml += " origin=\"" + Xml("Escucha" + (options.exported_by.empty() ? "" : " (" + options.exported_by + ")")) + "\"";
    if (project_record) xml += Stamp(*project_record, "creatingUserGUID");
    xml += ">";

    if (!authors.empty()) {
        xml += "<Users>";
        for (const auto& a : authors) xml += "<User guid=\"" + UserGuid(a) + "\" name=\"" + Xml(a) + "\"/>";
        xml += "</Users>";
    }
    if (!g.codes.empty()) {
        xml += "<CodeBook>";
        WriteCodes(xml, g);
        xml += "</CodeBook>";
    }

    // Cases: one per participant, their groups as variables.
    const auto* person = catalogue.WithRole(storage::RecordRole::Person);
    const auto& people = person ? project.OfType(person->name) : project.OfType("participant");
    std::map<std::string, std::vector<std::string>> sources_of_person;
    for (const auto& s : g.sources)
        for (const auto& pid : ParticipantsOfSource(catalogue, *s.record))
            sources_of_person[pid].push_back(Str(*s.record, "id"));
    const auto variable_guid = [&](const std::string& field) {
        return NameGuid("escucha variable:" + project.ProjectId() + ":" + field);
    };
    if (!people.empty()) {
        xml += "<Variables>";
        for (const auto& field : GroupFields())
            xml += "<Variable guid=\"" + variable_guid(field) + "\" name=\"" + field +
                   "\" typeOfVariable=\"Text\"/>";
        xml += "</Variables><Cases>";
        for (const auto* p : people) {
            const auto pid = Str(*p, "id");
            xml += "<Case guid=\"" + pid + "\"" +
                   Attribute("name", person && !person->title_field.empty() ? Str(*p, person->title_field) : "") +
                   ">";
            for (const auto& field : GroupFields()) {
                if (!p->contains(field)) continue;
                const auto& v = (*p)[field];
                std::string value;
                if (v.is_string()) value = v.get<std::string>();
                else if (v.is_array())
                    for (const auto& item : v)
                        if (item.is_string()) value += (value.empty() ? "" : "; ") + item.get<std::string>();
                if (value.empty()) continue;
                xml += "<VariableValue><VariableRef targetGUID=\"" + variable_guid(field) + "\"/><TextValue>" +
                       Xml(value) + "</TextValue></VariableValue>";
            }
            for (const auto& sid : sources_of_person[pid]) xml += "<SourceRef targetGUID=\"" + sid + "\"/>";
            xml += "</Case>";
            ++summary.cases;
        }
        xml += "</Cases>";
    }

    // Sources: the text of each in sources/, its selections and codings here.
    std::string notes;
    const auto add_note = [&](const std::string& guid, const std::string& name, const Json* stamp,
                              const std::string& text) {
        notes += "<Note guid=\"" + guid + "\"" + Attribute("name", name) + (stamp ? Stamp(*stamp) : "") +
                 "><PlainTextContent>" + Xml(text) + "</PlainTextContent></Note>";
        ++summary.notes;
    };
    if (!g.sources.empty() || !audio.empty()) {
        xml += "<Sources>";
        for (const auto& s : g.sources) {
            const auto id = Str(*s.record, "id");
            xml += "<TextSource guid=\"" + id + "\" name=\"" + Xml(SourceName(catalogue, *s.record)) +
                   "\" plainTextPath=\"internal://" + id + ".txt\"" + Stamp(*s.record) + ">";
            // One selection per passage, with every code applied to it.
            std::map<std::pair<int64_t, int64_t>, std::vector<const CodingView*>> passages;
            for (const auto& c : s.codings) passages[{c.start, c.end}].push_back(&c);
            for (const auto& [span, codings] : passages) {
                const auto& first = *codings.front()->coding;
                xml += "<PlainTextSelection guid=\"" +
                       NameGuid("escucha selection:" + id + ":" + std::to_string(span.first) + ":" +
                                std::to_string(span.second)) +
                       "\" name=\"" + Xml(Str(first, "excerpt")) + "\" startPosition=\"" +
                       std::to_string(span.first) + "\" endPosition=\"" + std::to_string(span.second) + "\"" +
                       Stamp(first) + ">";
                for (const auto* c : codings) {
                    const auto coding_id = Str(*c->coding, "id");
                    xml += "<Coding guid=\"" + coding_id + "\"" + Stamp(*c->coding) + "><CodeRef targetGUID=\"" +
                           c->code_id + "\"/>";
                    const auto memo = Str(*c->coding, "memo");
                    if (!memo.empty()) {
                        const auto note = NameGuid("escucha memo:" + coding_id);
                        add_note(note, "Memo", c->coding, memo);
                        xml += "<NoteRef targetGUID=\"" + note + "\"/>";
                    }
                    xml += "</Coding>";
                    ++summary.codings;
                }
                xml += "</PlainTextSelection>";
            }
            xml += "</TextSource>";
            zip.Add("sources/" + id + ".txt", s.text);
            ++summary.sources;
        }
        // Recordings: the audio, and a transcript of their exported segments
        // with a sync point where each segment starts and ends.
        for (const auto& a : audio) {
            const auto id = Str(*a.recording, "id");
            xml += "<AudioSource guid=\"" + id + "\"" + Attribute("name", SourceName(catalogue, *a.recording)) +
                   " path=\"internal://" + id + ".ogg\"" + Stamp(*a.recording) + ">";
            if (!a.segments.empty()) {
                const auto transcript = NameGuid("escucha transcript:" + id);
                std::string text, points;
                int64_t position = 0;
                for (const auto* s : a.segments) {
                    if (!text.empty()) {
                        text += "\n";
                        ++position;
                    }
                    const auto sid = Str(*s->record, "id");
                    points += "<SyncPoint guid=\"" + NameGuid("escucha sync start:" + sid) + "\" timeStamp=\"" +
                              std::to_string(s->record->value("start_ms", int64_t{0})) + "\" position=\"" +
                              std::to_string(position) + "\"/>";
                    text += s->text;
                    position += CodePointLength(s->text);
                    points += "<SyncPoint guid=\"" + NameGuid("escucha sync end:" + sid) + "\" timeStamp=\"" +
                              std::to_string(s->record->value("end_ms", int64_t{0})) + "\" position=\"" +
                              std::to_string(position) + "\"/>";
                }
                xml += "<Transcript guid=\"" + transcript + "\" name=\"" +
                       Xml(SourceName(catalogue, *a.recording)) + "\" plainTextPath=\"internal://" + transcript +
                       ".txt\"" + Stamp(*a.recording) + ">" + points + "</Transcript>";
                zip.Add("sources/" + transcript + ".txt", std::move(text));
            }
            xml += "</AudioSource>";
            ++summary.audio;
        }
        xml += "</Sources>";
    }

    // What consent left out is said in the project itself.
    std::string withheld_note;
    if (!summary.withheld_sources.empty() || !summary.withheld_audio.empty()) {
        withheld_note = NameGuid("escucha withheld:" + project.ProjectId());
        std::string text = std::to_string(summary.withheld_sources.size()) + " source(s) with " +
                           std::to_string(summary.withheld_codings) + " coding(s), and " +
                           std::to_string(summary.withheld_audio.size()) +
                           " recording(s), are left out of this export: the consent of the participants they "
                           "quote does not cover quoting verbatim.\n";
        for (const auto& id : summary.withheld_sources) text += "\nsource " + id;
        for (const auto& id : summary.withheld_audio) text += "\nrecording " + id;
        add_note(withheld_note, "Left out of this export", nullptr, text);
    }
    if (!notes.empty()) xml += "<Notes>" + notes + "</Notes>";
    WriteKindSets(xml, project, g, "targetGUID");
    if (project_record && !Str(*project_record, "description").empty())
        xml += "<Description>" + Xml(Str(*project_record, "description")) + "</Description>";
    if (!withheld_note.empty()) xml += "<NoteRef targetGUID=\"" + withheld_note + "\"/>";
    xml += "</Project>\n";

    summary.codes = static_cast<int64_t>(g.codes.size());
    // The project file repeats itself: the fastest deflate level already
    // shrinks it well, and it is most of the work for a coded project.
    zip.Add("project.qde", std::move(xml), true, 1);
    out.bytes = zip.Finish();
    return out;
}

// [SECTION] CSV of excerpts

std::string CsvCell(const std::string& text) {
    // A spreadsheet takes a cell starting with these for a formula.
    std::string value = text;
    if (!value.empty() && std::string_view("=+-@\t\r").find(value.front()) != std::string_view::npos)
        value.insert(0, "'");
    if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
    std::string out = "\"";
    for (const char c : value) {
        if (c == '"') out += "\"\"";
        else out.push_back(c);
    }
    out += "\"";
    return out;
}

ExportedFile ExportExcerptsCsv(const ProjectRecords& project) {
    ExportedFile out;
    auto& summary = out.summary;
    Gathered g;
    CodeTree(project, g);
    const auto& catalogue = project.Types();
    const auto* person = catalogue.WithRole(storage::RecordRole::Person);
    std::map<std::string, size_t> code_order;
    for (size_t i = 0; i < g.codes.size(); ++i) code_order[Str(*g.codes[i], "id")] = i;
    std::vector<const Json*> codings(project.OfType(CODING_TYPE).begin(), project.OfType(CODING_TYPE).end());
    std::stable_sort(codings.begin(), codings.end(), [&](const Json* a, const Json* b) {
        const auto ia = code_order.find(Str(*a, "code_id")), ib = code_order.find(Str(*b, "code_id"));
        const size_t oa = ia == code_order.end() ? g.codes.size() : ia->second;
        const size_t ob = ib == code_order.end() ? g.codes.size() : ib->second;
        return oa < ob;
    });

    std::string csv = "\xEF\xBB\xBF"; // spreadsheets read UTF-8 by it
    const std::vector<std::string> header = {"coding_id", "code",        "code_id",  "source_type", "source_id",
                                             "source",    "participants", GroupFields()[0], GroupFields()[1],
                                             GroupFields()[2], GroupFields()[3], "start", "end", "excerpt", "memo",
                                             "needs_review"};
    const auto row = [&](const std::vector<std::string>& cells) {
        for (size_t i = 0; i < cells.size(); ++i) {
            if (i) csv += ',';
            csv += CsvCell(cells[i]);
        }
        csv += "\r\n";
    };
    row(header);
    std::set<std::string> withheld;
    for (const auto* coding : codings) {
        const auto source_ref = SourceOf(catalogue, *coding);
        const Json* source = project.Get(source_ref.id);
        const auto* code = project.Get(Str(*coding, "code_id"));
        // A source not in the set cannot be checked: its words are withheld.
        const bool quotable = source && project.Quotable(*source);
        if (!quotable) {
            withheld.insert(source_ref.id);
            ++summary.withheld_codings;
        }
        std::vector<std::string> pseudonyms;
        std::vector<std::string> groups(GroupFields().size());
        if (source)
            for (const auto& pid : ParticipantsOfSource(catalogue, *source)) {
                const auto* p = project.Get(pid);
                if (!p) continue;
                pseudonyms.push_back(person ? Str(*p, person->title_field) : Str(*p, "pseudonym"));
                for (size_t i = 0; i < GroupFields().size(); ++i) {
                    const auto& field = GroupFields()[i];
                    std::string value;
                    if (p->contains(field) && (*p)[field].is_string()) value = (*p)[field].get<std::string>();
                    else if (p->contains(field) && (*p)[field].is_array())
                        for (const auto& item : (*p)[field])
                            if (item.is_string()) value += (value.empty() ? "" : ", ") + item.get<std::string>();
                    groups[i] += (pseudonyms.size() == 1 ? "" : "; ") + value;
                }
            }
        std::string participants;
        for (const auto& name : pseudonyms) participants += (participants.empty() ? "" : "; ") + name;
        std::vector<std::string> cells = {Str(*coding, "id"),
                                          code ? Str(*code, "name") : std::string(),
                                          Str(*coding, "code_id"),
                                          source_ref.type,
                                          source_ref.id,
                                          source ? SourceName(catalogue, *source) : std::string(),
                                          participants};
        cells.insert(cells.end(), groups.begin(), groups.end());
        cells.push_back(std::to_string(coding->value("start", int64_t{0})));
        cells.push_back(std::to_string(coding->value("end", int64_t{0})));
        // The memo may quote the passage: withheld with it.
        cells.push_back(quotable ? Str(*coding, "excerpt") : WITHHELD);
        cells.push_back(quotable ? Str(*coding, "memo") : (Str(*coding, "memo").empty() ? "" : WITHHELD));
        cells.push_back(coding->value("needs_review", false) ? "true" : "false");
        row(cells);
        ++summary.codings;
    }
    summary.withheld_sources.assign(withheld.begin(), withheld.end());
    summary.codes = static_cast<int64_t>(g.codes.size());
    out.bytes = std::move(csv);
    return out;
}

ExportedFile ExportVaultProject(storage::Vault& vault, const std::string& project_id, const std::string& format) {
    if (format != "qdpx" && format != "qdc" && format != "csv")
        throw storage::RecordError("format", "is not qdpx, qdc or csv", storage::errc::INVALID_VALUE,
                                   {{"field", "format"}, {"reason", "not qdpx, qdc or csv"}});
    const auto records = ProjectRecords::FromStore(vault.Records(), project_id);
    if (format == "qdc") return ExportQdc(records);
    if (format == "csv") return ExportExcerptsCsv(records);
    storage::BlobStore blobs(vault);
    QdpxOptions options;
    options.exported_by = vault.DeviceId();
    // Decrypted into memory only: it leaves the vault inside the archive.
    options.audio = [&](const Json& recording) -> std::optional<std::string> {
        try {
            return blobs.ReadAll(recording.value("audio_sha256", ""));
        } catch (const std::exception&) {
            return std::nullopt;
        }
    };
    return ExportQdpx(records, options);
}

} // namespace escucha::interpret
