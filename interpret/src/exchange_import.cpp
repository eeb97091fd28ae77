// [SECTION] Reading the file
// [SECTION] Codebook
// [SECTION] Sources and codings
// [SECTION] ImportQda
#include "escucha/interpret/exchange.h"

#include "exchange_zip.h"

#include "escucha/interpret/codebook.h"
#include "escucha/interpret/coding.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <climits>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

namespace escucha::interpret {

using exchange::Lower;
using storage::RecordError;
namespace errc = storage::errc;

std::string NormaliseGuid(const std::string& text) {
    std::string guid = Lower(text);
    while (!guid.empty() && (guid.front() == ' ' || guid.front() == '\t')) guid.erase(0, 1);
    while (!guid.empty() && (guid.back() == ' ' || guid.back() == '\t')) guid.pop_back();
    if (guid.size() == 38 && guid.front() == '{' && guid.back() == '}') guid = guid.substr(1, 36);
    return storage::IsUuid(guid) ? guid : std::string();
}

namespace {

// [SECTION] Reading the file

struct DocFree {
    void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
struct ContextFree {
    void operator()(xmlParserCtxt* ctxt) const { xmlFreeParserCtxt(ctxt); }
};
using XmlDoc = std::unique_ptr<xmlDoc, DocFree>;

/// Where a file's XML comes from, for errors.
struct Origin {
    std::string file;
    std::string entry;
};

/// Parses XML from another program: no network, no DTD, no entities.
XmlDoc ParseXml(const std::string& bytes, const Origin& origin, const ImportLimits& limits) {
    if (bytes.size() > static_cast<size_t>(INT_MAX) || static_cast<int64_t>(bytes.size()) > limits.max_entry_bytes)
        throw RecordError("file", origin.file + ": " + origin.entry + " is too large", errc::QDA_TOO_LARGE,
                          {{"file", origin.file},
                           {"entry", origin.entry},
                           {"limit", std::to_string(limits.max_entry_bytes) + " bytes"}});
    // REFI-QDA needs no DTD: one is refused before the parser sees it.
    if (bytes.find("<!DOCTYPE") != std::string::npos || bytes.find("<!ENTITY") != std::string::npos)
        throw RecordError("file", origin.file + ": " + origin.entry + " declares a DTD", errc::QDA_DTD_REFUSED,
                          {{"file", origin.file}, {"entry", origin.entry}});
    std::unique_ptr<xmlParserCtxt, ContextFree> ctxt(xmlNewParserCtxt());
    if (!ctxt) throw std::bad_alloc();
    XmlDoc doc(xmlCtxtReadMemory(ctxt.get(), bytes.data(), static_cast<int>(bytes.size()), nullptr, nullptr,
                                 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA));
    if (!doc) {
        const xmlError* error = xmlCtxtGetLastError(ctxt.get());
        const int line = error ? error->line : 0;
        throw RecordError("file", origin.file + ": " + origin.entry + " is not well-formed XML", errc::QDA_BAD_XML,
                          {{"file", origin.file}, {"entry", origin.entry}, {"line", line}});
    }
    if (doc->intSubset || doc->extSubset)
        throw RecordError("file", origin.file + ": " + origin.entry + " declares a DTD", errc::QDA_DTD_REFUSED,
                          {{"file", origin.file}, {"entry", origin.entry}});
    return doc;
}

bool Is(const xmlNode* node, const char* name) {
    return node && node->type == XML_ELEMENT_NODE && std::strcmp(reinterpret_cast<const char*>(node->name), name) == 0;
}

/// The element children of `node` named `name` (any namespace: Transana
/// writes another one).
std::vector<const xmlNode*> Children(const xmlNode* node, const char* name) {
    std::vector<const xmlNode*> out;
    if (!node) return out;
    for (const xmlNode* c = node->children; c; c = c->next)
        if (Is(c, name)) out.push_back(c);
    return out;
}

const xmlNode* Child(const xmlNode* node, const char* name) {
    if (!node) return nullptr;
    for (const xmlNode* c = node->children; c; c = c->next)
        if (Is(c, name)) return c;
    return nullptr;
}

std::optional<std::string> Attr(const xmlNode* node, const char* name) {
    xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
    if (!value) return std::nullopt;
    std::string out(reinterpret_cast<const char*>(value));
    xmlFree(value);
    return out;
}

std::string Text(const xmlNode* node) {
    if (!node) return {};
    xmlChar* value = xmlNodeGetContent(node);
    if (!value) return {};
    std::string out(reinterpret_cast<const char*>(value));
    xmlFree(value);
    return out;
}

int64_t CountElements(const xmlNode* node) {
    int64_t n = 0;
    for (const xmlNode* c = node; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE) n += 1 + CountElements(c->children);
    return n;
}

/// The file being imported: its XML root, and its archive when it is one.
struct Input {
    Origin origin;
    const ImportLimits& limits;
    std::unique_ptr<exchange::ZipReader> zip;
    std::map<std::string, exchange::ZipEntry> sources; ///< lower-case name in sources/ -> entry
    std::string xml_bytes;
    XmlDoc doc;

    [[noreturn]] void BadAttribute(const xmlNode* node, const char* attribute, const std::string& value) const {
        throw RecordError("file",
                          origin.file + ": in " + origin.entry + ", " + reinterpret_cast<const char*>(node->name) +
                              " has " + attribute + "=\"" + value + "\"",
                          errc::QDA_BAD_ATTRIBUTE,
                          {{"file", origin.file},
                           {"entry", origin.entry},
                           {"element", reinterpret_cast<const char*>(node->name)},
                           {"attribute", attribute},
                           {"value", value.substr(0, 80)}});
    }
    /// A required GUID attribute, normalised.
    std::string Guid(const xmlNode* node, const char* attribute) const {
        const auto value = Attr(node, attribute);
        auto guid = value ? NormaliseGuid(*value) : std::string();
        if (guid.empty()) BadAttribute(node, attribute, value.value_or(""));
        return guid;
    }
    /// A required integer attribute.
    int64_t Integer(const xmlNode* node, const char* attribute) const {
        const auto value = Attr(node, attribute).value_or("");
        int64_t n = 0;
        size_t i = 0;
        const bool negative = !value.empty() && value[0] == '-';
        if (negative || (!value.empty() && value[0] == '+')) i = 1;
        if (i >= value.size() || value.size() - i > 15) BadAttribute(node, attribute, value);
        for (; i < value.size(); ++i) {
            if (value[i] < '0' || value[i] > '9') BadAttribute(node, attribute, value);
            n = n * 10 + (value[i] - '0');
        }
        return negative ? -n : n;
    }
    /// The text of `sources/NAME` for an internal:// path; nullopt when the
    /// path is not internal or the archive lacks it.
    std::optional<std::string> Internal(const std::string& path) {
        static constexpr std::string_view PREFIX = "internal://";
        if (!zip || Lower(path.substr(0, PREFIX.size())) != PREFIX) return std::nullopt;
        const auto it = sources.find(Lower(path.substr(PREFIX.size())));
        if (it == sources.end()) return std::nullopt;
        return zip->Read(it->second);
    }
};

/// Text from another tool as Escucha keeps it: no byte-order mark, \n newlines.
std::string CleanText(std::string text) {
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
    return NormaliseNewlines(text);
}

/// Byte offsets of each code point, and the size at the end.
std::vector<size_t> Starts(std::string_view text) {
    std::vector<size_t> starts;
    starts.reserve(text.size() + 1);
    for (size_t i = 0; i < text.size(); ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts.push_back(i);
    starts.push_back(text.size());
    return starts;
}

// [SECTION] Codebook

struct Importer {
    storage::RecordStore& store;
    std::string project_id;
    Input& in;
    ImportReport& report;
    std::unordered_map<std::string, std::string> codes; ///< GUID in the file -> code id here
    std::map<std::string, std::string> kinds;           ///< GUID in the file -> kind, from Sets named after kinds

    [[nodiscard]] storage::ListOptions InProject() const {
        storage::ListOptions options;
        options.project_id = project_id;
        return options;
    }

    std::string FindCode(const std::string& name, const std::string& parent_id) {
        for (const auto& c : store.List(CODE_TYPE, InProject()))
            if (c.value("name", "") == name && c.value("parent_id", "") == parent_id) return c["id"];
        return {};
    }

    void ReadKinds(const xmlNode* sets) {
        static const std::set<std::string> KINDS = {"need", "aspiration", "perception", "problem", "value", "other"};
        for (const auto* set : Children(sets, "Set")) {
            const auto name = Lower(Attr(set, "name").value_or(""));
            if (!KINDS.count(name)) {
                report.dropped.push_back("set " + Attr(set, "name").value_or(""));
                continue;
            }
            for (const auto* member : Children(set, "MemberCode")) {
                const auto value = Attr(member, "targetGUID") ? Attr(member, "targetGUID") : Attr(member, "guid");
                const auto guid = NormaliseGuid(value.value_or(""));
                if (!guid.empty()) kinds[guid] = name;
            }
        }
    }

    void ImportCode(const xmlNode* node, const std::string& parent_id) {
        const auto guid = in.Guid(node, "guid");
        const auto name = Attr(node, "name").value_or("");
        if (name.empty()) in.BadAttribute(node, "name", name);
        std::string id;
        if (const auto existing = store.Get(guid); existing && (*existing)["type"] == CODE_TYPE &&
                                                   existing->value("project_id", "") == project_id &&
                                                   !existing->value("deleted", false)) {
            id = guid;
        } else {
            id = FindCode(name, parent_id);
        }
        if (!id.empty()) {
            report.codes_reused.push_back(id);
        } else {
            Json fields = {{"name", name}, {"kind", kinds.count(guid) ? kinds[guid] : "other"}};
            if (!store.Get(guid)) fields["id"] = guid;
            if (!parent_id.empty()) fields["parent_id"] = parent_id;
            auto colour = Attr(node, "color").value_or("");
            if (colour.size() == 4 && colour[0] == '#')
                colour = std::string("#") + colour[1] + colour[1] + colour[2] + colour[2] + colour[3] + colour[3];
            if (colour.size() == 7 && colour[0] == '#' &&
                colour.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string::npos)
                fields["colour"] = Lower(colour);
            else if (!colour.empty())
                report.dropped.push_back("colour " + colour.substr(0, 20) + " of code " + name);
            const auto description = CleanText(Text(Child(node, "Description")));
            if (!description.empty()) fields["description"] = description;
            id = CreateCode(store, project_id, fields)["id"];
            report.codes_created.push_back(id);
        }
        codes[guid] = id;
        for (const auto* child : Children(node, "Code")) ImportCode(child, id);
    }

    void ImportCodebook(const xmlNode* codebook) {
        ReadKinds(Child(codebook, "Sets"));
        for (const auto* codes_node : Children(codebook, "Codes"))
            for (const auto* code : Children(codes_node, "Code")) ImportCode(code, "");
    }

    // [SECTION] Sources and codings

    std::unordered_map<std::string, std::string> notes;              ///< note GUID -> its text
    std::unordered_map<std::string, std::vector<std::string>> links; ///< selection GUID -> note GUIDs linked to it

    void ReadNotes(const xmlNode* project) {
        for (const auto* note : Children(Child(project, "Notes"), "Note")) {
            const auto guid = in.Guid(note, "guid");
            std::string text = Text(Child(note, "PlainTextContent"));
            if (text.empty())
                if (const auto path = Attr(note, "plainTextPath"))
                    if (auto internal = in.Internal(*path); internal && exchange::IsUtf8(*internal))
                        text = std::move(*internal);
            notes[guid] = CleanText(text);
        }
        // NVivo joins annotations to selections by links from a note.
        for (const auto* link : Children(Child(project, "Links"), "Link")) {
            const auto origin = NormaliseGuid(Attr(link, "originGUID").value_or(""));
            const auto target = NormaliseGuid(Attr(link, "targetGUID").value_or(""));
            if (!origin.empty() && !target.empty() && notes.count(origin)) links[target].push_back(origin);
        }
    }

    /// The project's sources with codable text, read when a source is first
    /// matched by its text.
    std::optional<std::unordered_map<std::string, std::vector<std::string>>> by_text;

    const std::vector<std::string>* SourcesWithText(const std::string& text) {
        if (!by_text) {
            by_text.emplace();
            for (const auto& type : store.Types().Types()) {
                const auto* field = CodableField(type);
                if (!field) continue;
                for (const auto& r : store.List(type.name, InProject()))
                    (*by_text)[NormaliseNewlines(r.value(field->name, std::string()))].push_back(r["id"]);
            }
        }
        const auto it = by_text->find(text);
        return it == by_text->end() ? nullptr : &it->second;
    }

    void Skip(const std::string& source, const std::string& selection, int64_t start, int64_t end,
              const char* reason) {
        report.skipped.push_back({source, selection, start, end, reason});
    }

    /// Reports every coded selection of a source not taken (at any depth:
    /// a transcript's), and its codings of the whole source, with `reason`.
    void SkipSource(const xmlNode* source, const std::string& name, const char* reason) {
        if (!Children(source, "Coding").empty()) Skip(name, "", -1, -1, reason);
        std::function<void(const xmlNode*)> walk = [&](const xmlNode* node) {
            for (const xmlNode* c = node->children; c; c = c->next) {
                if (c->type != XML_ELEMENT_NODE) continue;
                const std::string_view element = reinterpret_cast<const char*>(c->name);
                if (element.ends_with("Selection") && Child(c, "Coding"))
                    Skip(name, NormaliseGuid(Attr(c, "guid").value_or("")), -1, -1, reason);
                walk(c);
            }
        };
        walk(source);
    }

    /// The code a CodeRef names here, following merges; empty when unknown.
    std::string CodeFor(const std::string& guid, bool& retired) {
        retired = false;
        std::string id;
        if (const auto it = codes.find(guid); it != codes.end()) id = it->second;
        else if (const auto c = store.Get(guid); c && (*c)["type"] == CODE_TYPE && !c->value("deleted", false) &&
                                                c->value("project_id", "") == project_id)
            id = guid;
        for (int hops = 0; !id.empty() && hops < 64; ++hops) {
            const auto c = store.Get(id);
            if (!c || c->value("deleted", false)) return {};
            if (!c->value("retired", false)) return id;
            if (!c->contains("merged_into")) break;
            id = (*c)["merged_into"].get<std::string>();
        }
        retired = !id.empty();
        return {};
    }

    struct Matched {
        std::string id;
        std::string type;
        std::string text;
        std::vector<size_t> starts;
        std::set<std::tuple<std::string, int64_t, int64_t>> coded; ///< code, start, end already here
    };

    /// Stores the codings of one selection [start, end) of `file_text`
    /// (whose code point starts are `file_starts`) on `matched`.
    void ImportSelection(const xmlNode* holder, const std::string& selection_guid, const std::string& source_name,
                         int64_t start, int64_t end, const std::vector<size_t>& file_starts,
                         const std::string& file_text, Matched& matched) {
        const auto file_length = static_cast<int64_t>(file_starts.size()) - 1;
        const auto length = static_cast<int64_t>(matched.starts.size()) - 1;
        if (start < 0 || start > end || end > file_length || end > length) {
            Skip(source_name, selection_guid, start, end, "outside_text");
            return;
        }
        const std::string_view excerpt =
            std::string_view(file_text).substr(file_starts[start], file_starts[end] - file_starts[start]);
        if (std::string_view(matched.text).substr(matched.starts[start], matched.starts[end] - matched.starts[start]) !=
            excerpt) {
            Skip(source_name, selection_guid, start, end, "text_differs");
            return;
        }
        // The memo: the selection's description, and the notes it or its codings refer to.
        std::vector<std::string> memo_parts;
        const auto add_memo = [&](const std::string& text) {
            if (!text.empty() && std::find(memo_parts.begin(), memo_parts.end(), text) == memo_parts.end())
                memo_parts.push_back(text);
        };
        if (Is(holder, "PlainTextSelection")) add_memo(CleanText(Text(Child(holder, "Description"))));
        const auto add_refs = [&](const xmlNode* node) {
            for (const auto* ref : Children(node, "NoteRef")) {
                const auto it = notes.find(NormaliseGuid(Attr(ref, "targetGUID").value_or("")));
                if (it != notes.end()) add_memo(it->second);
            }
        };
        add_refs(holder);
        if (const auto it = links.find(selection_guid); it != links.end())
            for (const auto& note : it->second) add_memo(notes[note]);
        for (const auto* coding : Children(holder, "Coding")) {
            const auto coding_guid = NormaliseGuid(Attr(coding, "guid").value_or(""));
            const auto* ref = Child(coding, "CodeRef");
            if (!ref) in.BadAttribute(coding, "CodeRef", "");
            bool retired = false;
            const auto code_id = CodeFor(in.Guid(ref, "targetGUID"), retired);
            if (code_id.empty()) {
                Skip(source_name, selection_guid, start, end, retired ? "code_retired" : "unknown_code");
                continue;
            }
            if (!coding_guid.empty() && store.Get(coding_guid)) {
                Skip(source_name, selection_guid, start, end, "already_coded");
                continue;
            }
            if (!matched.coded.insert({code_id, start, end}).second) {
                Skip(source_name, selection_guid, start, end, "already_coded");
                continue;
            }
            auto parts = memo_parts;
            std::string memo;
            for (const auto* r : Children(coding, "NoteRef")) {
                const auto it = notes.find(NormaliseGuid(Attr(r, "targetGUID").value_or("")));
                if (it != notes.end() && std::find(parts.begin(), parts.end(), it->second) == parts.end())
                    parts.push_back(it->second);
            }
            for (const auto& p : parts) memo += (memo.empty() ? "" : "\n\n") + p;
            Json fields = {{"project_id", project_id},
                           {"code_id", code_id},
                           {SourceField(matched.type), matched.id},
                           {"start", start},
                           {"end", end}};
            if (!coding_guid.empty()) fields["id"] = coding_guid;
            if (!excerpt.empty()) fields["excerpt"] = std::string(excerpt);
            if (!memo.empty()) fields["memo"] = memo;
            report.codings_stored.push_back(store.Create(CODING_TYPE, fields)["id"]);
        }
    }

    void ImportTextSource(const xmlNode* source) {
        const auto guid = in.Guid(source, "guid");
        const auto name = Attr(source, "name").value_or(guid);
        std::optional<std::string> file_text;
        if (const auto* content = Child(source, "PlainTextContent")) file_text = Text(content);
        else if (const auto path = Attr(source, "plainTextPath")) file_text = in.Internal(*path);
        if (!file_text) return SkipSource(source, name, "text_missing");
        if (!exchange::IsUtf8(*file_text)) return SkipSource(source, name, "not_utf8");
        const auto text = CleanText(std::move(*file_text));

        Matched matched;
        if (const auto r = store.Get(guid); r && !r->value("deleted", false) &&
                                           r->value("project_id", "") == project_id) {
            const auto* field = CodableField(store.Types().Get((*r)["type"].get<std::string>()));
            if (field) {
                matched.id = guid;
                matched.type = (*r)["type"];
                matched.text = NormaliseNewlines(r->value(field->name, std::string()));
            }
        }
        if (matched.id.empty()) {
            const auto* ids = SourcesWithText(text);
            if (!ids) return SkipSource(source, name, "source_not_matched");
            if (ids->size() > 1) return SkipSource(source, name, "source_ambiguous");
            const auto r = store.Get(ids->front());
            const auto* field = CodableField(store.Types().Get((*r)["type"].get<std::string>()));
            matched.id = ids->front();
            matched.type = (*r)["type"];
            matched.text = NormaliseNewlines(r->value(field->name, std::string()));
        }
        ++report.sources_matched;
        matched.starts = Starts(matched.text);
        for (const auto& c : CodingsOf(store, matched.id))
            matched.coded.insert({c.value("code_id", ""), c.value("start", int64_t{0}), c.value("end", int64_t{0})});
        const auto file_starts = Starts(text);
        for (const auto* sel : Children(source, "PlainTextSelection"))
            ImportSelection(sel, in.Guid(sel, "guid"), name, in.Integer(sel, "startPosition"),
                            in.Integer(sel, "endPosition"), file_starts, text, matched);
        // Codings of the whole source.
        if (!Children(source, "Coding").empty())
            ImportSelection(source, guid, name, 0, static_cast<int64_t>(file_starts.size()) - 1, file_starts, text,
                            matched);
    }

    void ImportSources(const xmlNode* project) {
        ReadNotes(project);
        int64_t other = 0;
        for (const xmlNode* s = Child(project, "Sources") ? Child(project, "Sources")->children : nullptr; s;
             s = s->next) {
            if (s->type != XML_ELEMENT_NODE) continue;
            if (Is(s, "TextSource")) ImportTextSource(s);
            else {
                ++other;
                SkipSource(s, Attr(s, "name").value_or(Attr(s, "guid").value_or("")), "not_text");
            }
        }
        if (other) report.dropped.push_back(std::to_string(other) + " picture, PDF, audio or video source(s)");
        const auto count = [&](const char* group, const char* element, const char* what) {
            const auto n = Children(Child(project, group), element).size();
            if (n) report.dropped.push_back(std::to_string(n) + " " + what);
        };
        count("Cases", "Case", "case(s)");
        count("Variables", "Variable", "variable(s)");
        count("Graphs", "Graph", "graph(s)");
    }
};

} // namespace

// [SECTION] ImportQda

ImportReport ImportQda(storage::RecordStore& store, const std::string& project_id, const std::string& bytes,
                       const std::string& file_name, const ImportLimits& limits) {
    xmlInitParser();
    ImportReport report;
    Input in{{file_name, file_name}, limits, nullptr, {}, {}, nullptr};
    const bool zip = bytes.rfind("PK\x03\x04", 0) == 0 || bytes.rfind("PK\x05\x06", 0) == 0;
    if (zip) {
        in.zip = std::make_unique<exchange::ZipReader>(bytes, file_name, limits);
        std::vector<const exchange::ZipEntry*> projects;
        for (const auto& e : in.zip->Entries()) {
            const auto lower = Lower(e.name);
            if (lower.find('/') == std::string::npos && lower.size() > 4 && lower.ends_with(".qde"))
                projects.push_back(&e);
            else if (lower.rfind("sources/", 0) == 0)
                in.sources.emplace(lower.substr(8), e);
        }
        if (projects.size() != 1)
            throw RecordError("file", file_name + " holds " + std::to_string(projects.size()) + " .qde files",
                              errc::QDA_NO_PROJECT, {{"file", file_name}, {"count", projects.size()}});
        in.origin.entry = projects.front()->name;
        in.xml_bytes = in.zip->Read(*projects.front());
    } else {
        size_t first = bytes.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
        while (first < bytes.size() && std::isspace(static_cast<unsigned char>(bytes[first]))) ++first;
        if (first >= bytes.size() || bytes[first] != '<')
            throw RecordError("file", file_name + " is not REFI-QDA", errc::QDA_NOT_ARCHIVE, {{"file", file_name}});
        in.xml_bytes = bytes;
    }
    in.doc = ParseXml(in.xml_bytes, in.origin, limits);
    const xmlNode* root = xmlDocGetRootElement(in.doc.get());
    const std::string root_name = root ? reinterpret_cast<const char*>(root->name) : "";
    const bool is_project = root_name == "Project", is_codebook = root_name == "CodeBook";
    if (!is_project && !(is_codebook && !zip))
        throw RecordError("file", file_name + ": " + in.origin.entry + " holds " + root_name, errc::QDA_NOT_REFI,
                          {{"file", file_name}, {"entry", in.origin.entry}, {"root", root_name}});
    if (const auto elements = CountElements(root); elements > limits.max_elements)
        throw RecordError("file", file_name + ": " + in.origin.entry + " has too many elements", errc::QDA_TOO_LARGE,
                          {{"file", file_name},
                           {"entry", in.origin.entry},
                           {"limit", std::to_string(limits.max_elements) + " elements"}});
    report.format = zip ? "qdpx" : is_codebook ? "qdc" : "qde";

    store.Atomically([&] {
        const auto project = store.Get(project_id);
        if (!project || (*project)["type"] != "project" || project->value("deleted", false))
            throw RecordError("project_id", "no project with id " + project_id, errc::RECORD_NOT_FOUND,
                              {{"field", "project_id"}, {"id", project_id}});
        Importer importer{store, project_id, in, report, {}, {}, {}, {}, {}};
        if (is_codebook) {
            importer.ImportCodebook(root);
            return;
        }
        // A project's kinds come from its Sets, beside its CodeBook.
        importer.ReadKinds(Child(root, "Sets"));
        if (const auto* codebook = Child(root, "CodeBook"))
            for (const auto* codes : Children(codebook, "Codes"))
                for (const auto* code : Children(codes, "Code")) importer.ImportCode(code, "");
        importer.ImportSources(root);
    });
    return report;
}

} // namespace escucha::interpret
