#include "escucha/interpret/coding.h"

#include <algorithm>
#include <unordered_map>

namespace escucha::interpret {

using storage::RecordError;
namespace errc = storage::errc;

namespace {

/// True for the bytes that continue a UTF-8 character.
bool IsContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

/// The live record `id`, or RecordError(RECORD_NOT_FOUND / RECORD_DELETED).
Json LiveRecord(storage::RecordStore& store, const std::string& id, const char* field) {
    auto record = store.Get(id);
    if (!record)
        throw RecordError(field, "no record with id " + id, errc::RECORD_NOT_FOUND, {{"field", field}, {"id", id}});
    if (record->value("deleted", false))
        throw RecordError(field, "the record " + id + " has been deleted", errc::RECORD_DELETED,
                          {{"field", field}, {"id", id}});
    return *record;
}

/// A live code, or RecordError naming `field`.
Json LiveCode(storage::RecordStore& store, const std::string& id, const char* field) {
    auto code = LiveRecord(store, id, field);
    if (code["type"] != CODE_TYPE)
        throw RecordError(field, id + " is a " + code["type"].get<std::string>() + ", not a code",
                          errc::REFERENCE_WRONG_TYPE,
                          {{"field", field}, {"id", id}, {"ref_type", CODE_TYPE}, {"actual", code["type"]}});
    return code;
}

/// The codable text of a live source record, with its type.
struct SourceText {
    Json record;
    std::string text;
};

SourceText ReadSource(storage::RecordStore& store, const std::string& source_id) {
    auto record = LiveRecord(store, source_id, "source_id");
    const auto& type = store.Types().Get(record["type"].get<std::string>());
    const auto* field = CodableField(type);
    if (!field)
        throw RecordError("source_id", "a " + type.name + " has no text to code", errc::NOT_CODABLE,
                          {{"id", source_id}, {"type", type.name}});
    std::string text = record.value(field->name, std::string());
    return {std::move(record), std::move(text)};
}

/// Byte offsets of every occurrence of `needle` in `text`.
std::vector<size_t> Occurrences(std::string_view text, std::string_view needle) {
    std::vector<size_t> out;
    if (needle.empty()) return out;
    for (size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) out.push_back(at);
    return out;
}

} // namespace

// [SECTION] Text offsets

int64_t CodePointLength(std::string_view text) {
    int64_t n = 0;
    for (const char c : text) n += IsContinuation(static_cast<unsigned char>(c)) ? 0 : 1;
    return n;
}

int64_t ByteOffset(std::string_view text, int64_t index) {
    if (index < 0) return -1;
    int64_t seen = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        if (IsContinuation(static_cast<unsigned char>(text[i]))) continue;
        if (seen == index) return static_cast<int64_t>(i);
        ++seen;
    }
    return seen == index ? static_cast<int64_t>(text.size()) : -1;
}

int64_t CodePointOffset(std::string_view text, int64_t offset) {
    if (offset < 0 || offset > static_cast<int64_t>(text.size())) return -1;
    if (offset < static_cast<int64_t>(text.size()) && IsContinuation(static_cast<unsigned char>(text[offset])))
        return -1;
    return CodePointLength(text.substr(0, static_cast<size_t>(offset)));
}

std::string CodePointSlice(std::string_view text, int64_t start, int64_t end) {
    const int64_t from = ByteOffset(text, start);
    const int64_t to = start <= end ? ByteOffset(text, end) : -1;
    if (from < 0 || to < 0)
        throw RecordError("end", "the passage lies outside the text", errc::OUTSIDE_TEXT,
                          {{"start", start}, {"end", end}, {"length", CodePointLength(text)}});
    return std::string(text.substr(static_cast<size_t>(from), static_cast<size_t>(to - from)));
}

// [SECTION] Sources

const storage::FieldSpec* CodableField(const storage::RecordType& type) {
    const auto* field = type.Field("text");
    return field && field->kind == storage::FieldKind::LongText ? field : nullptr;
}

std::string SourceField(const std::string& source_type) { return source_type + "_id"; }

SourceRef SourceOf(const storage::Catalogue& catalogue, const Json& coding) {
    for (const auto& type : catalogue.Types()) {
        if (!CodableField(type)) continue;
        const auto field = SourceField(type.name);
        if (coding.contains(field) && coding[field].is_string()) return {coding[field].get<std::string>(), type.name};
    }
    return {};
}

// [SECTION] Operations

std::vector<Json> CodePassage(storage::RecordStore& store, const Passage& passage,
                              const std::vector<std::string>& code_ids, const std::string& memo) {
    if (code_ids.empty()) throw RecordError("code_id", "choose at least one code", errc::NO_CODES, {});
    std::vector<Json> created;
    store.Atomically([&] {
        const auto source = ReadSource(store, passage.source_id);
        const auto excerpt = CodePointSlice(source.text, passage.start, passage.end);
        for (const auto& code_id : code_ids) {
            const auto code = LiveCode(store, code_id, "code_id");
            if (code.value("retired", false))
                throw RecordError("code_id", "the code " + code_id + " is retired", errc::CODE_RETIRED,
                                  {{"field", "code_id"}, {"id", code_id}});
            Json fields = {{"project_id", source.record["project_id"]},
                           {"code_id", code_id},
                           {SourceField(source.record["type"].get<std::string>()), passage.source_id},
                           {"start", passage.start},
                           {"end", passage.end}};
            if (!excerpt.empty()) fields["excerpt"] = excerpt;
            if (!memo.empty()) fields["memo"] = memo;
            created.push_back(store.Create(CODING_TYPE, fields));
        }
    });
    return created;
}

std::vector<Json> CodingsOf(storage::RecordStore& store, const std::string& source_id) {
    std::vector<Json> out;
    for (const auto& id : store.ReferencesTo(source_id)) {
        auto record = store.Get(id);
        if (record && (*record)["type"] == CODING_TYPE && !record->value("deleted", false))
            out.push_back(std::move(*record));
    }
    return out;
}

FollowedEdit FollowEdit(storage::RecordStore& store, const std::string& source_id) {
    FollowedEdit outcome;
    store.Atomically([&] {
        const auto source = ReadSource(store, source_id);
        const int64_t length = CodePointLength(source.text);
        for (const auto& coding : CodingsOf(store, source_id)) {
            const auto& id = coding["id"].get_ref<const std::string&>();
            const std::string excerpt = coding.value("excerpt", std::string());
            const int64_t start = coding["start"].get<int64_t>();
            const int64_t end = coding["end"].get<int64_t>();
            if (end <= length && CodePointSlice(source.text, start, end) == excerpt) {
                outcome.unchanged.push_back(id);
                continue;
            }
            const auto found = Occurrences(source.text, excerpt);
            if (found.size() == 1) {
                const int64_t new_start = CodePointOffset(source.text, static_cast<int64_t>(found.front()));
                store.Update(id, {{"start", new_start}, {"end", new_start + (end - start)}});
                outcome.moved.push_back(id);
            } else {
                if (!coding.value("needs_review", false)) store.Update(id, {{"needs_review", true}});
                outcome.flagged.push_back(id);
            }
        }
    });
    return outcome;
}

std::vector<std::string> ParticipantsOfSource(const storage::Catalogue& catalogue, const Json& source) {
    std::vector<std::string> ids;
    const auto* person = catalogue.WithRole(storage::RecordRole::Person);
    const auto type_name = source.value("type", std::string());
    const auto* type = catalogue.Find(type_name);
    if (!person || !type) return ids;
    const auto add = [&](const Json& value) {
        if (!value.is_string()) return;
        auto id = value.get<std::string>();
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
    };
    for (const auto& f : type->fields) {
        if (f.ref_type != person->name || !source.contains(f.name)) continue;
        if (f.kind == storage::FieldKind::Reference) add(source[f.name]);
        else if (f.kind == storage::FieldKind::ReferenceList && source[f.name].is_array())
            for (const auto& item : source[f.name]) add(item);
    }
    return ids;
}

const std::vector<std::string>& GroupFields() {
    static const std::vector<std::string> fields = {"vulnerability_groups", "age_band", "territory", "gender"};
    return fields;
}

std::vector<Excerpt> Excerpts(storage::RecordStore& store, const std::string& code_id) {
    const auto& catalogue = store.Types();
    const auto* person = catalogue.WithRole(storage::RecordRole::Person);
    std::unordered_map<std::string, std::optional<Json>> records; // sources and people, read once each
    const auto read = [&](const std::string& id) -> const std::optional<Json>& {
        auto it = records.find(id);
        if (it == records.end()) it = records.emplace(id, store.Get(id)).first;
        return it->second;
    };
    std::vector<Excerpt> out;
    for (const auto& id : store.ReferencesTo(code_id)) {
        const auto coding = store.Get(id);
        if (!coding || (*coding)["type"] != CODING_TYPE || coding->value("deleted", false)) continue;
        if ((*coding)["code_id"] != code_id) continue;
        Excerpt e;
        e.coding_id = id;
        e.code_id = code_id;
        const auto source_ref = SourceOf(catalogue, *coding);
        e.source_id = source_ref.id;
        e.source_type = source_ref.type;
        e.start = (*coding)["start"].get<int64_t>();
        e.end = (*coding)["end"].get<int64_t>();
        e.text = coding->value("excerpt", std::string());
        e.memo = coding->value("memo", std::string());
        e.needs_review = coding->value("needs_review", false);
        const auto& source = read(e.source_id);
        if (source && !source->value("deleted", false)) {
            const auto& type = catalogue.Get(e.source_type);
            const auto* text_field = CodableField(type);
            const std::string text = text_field ? source->value(text_field->name, std::string()) : std::string();
            if (!e.needs_review) {
                const int64_t from = ByteOffset(text, e.start);
                const int64_t to = ByteOffset(text, e.end);
                e.needs_review = from < 0 || to < 0 || text.compare(from, to - from, e.text) != 0;
            }
            for (const auto& pid : ParticipantsOfSource(catalogue, *source)) {
                const auto& p = read(pid);
                if (!p || p->value("deleted", false)) continue;
                ExcerptParticipant participant;
                participant.id = pid;
                if (!person->title_field.empty()) participant.pseudonym = p->value(person->title_field, std::string());
                for (const auto& g : GroupFields())
                    if (p->contains(g)) participant.groups[g] = (*p)[g];
                e.participants.push_back(std::move(participant));
            }
        } else {
            e.needs_review = true;
        }
        out.push_back(std::move(e));
    }
    return out;
}

} // namespace escucha::interpret
