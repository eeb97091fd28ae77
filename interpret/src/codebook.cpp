#include "escucha/interpret/codebook.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

namespace escucha::interpret {

using storage::RecordError;
namespace errc = storage::errc;

namespace {

/// A live code, or RecordError naming `field`.
Json LiveCode(storage::RecordStore& store, const std::string& id, const char* field) {
    auto code = store.Get(id);
    if (!code)
        throw RecordError(field, "no record with id " + id, errc::RECORD_NOT_FOUND, {{"field", field}, {"id", id}});
    if (code->value("deleted", false))
        throw RecordError(field, "the record " + id + " has been deleted", errc::RECORD_DELETED,
                          {{"field", field}, {"id", id}});
    if ((*code)["type"] != CODE_TYPE)
        throw RecordError(field, id + " is a " + (*code)["type"].get<std::string>() + ", not a code",
                          errc::REFERENCE_WRONG_TYPE,
                          {{"field", field}, {"id", id}, {"ref_type", CODE_TYPE}, {"actual", (*code)["type"]}});
    return *code;
}

/// Whether `ancestor` is `id` or one of the codes above it.
bool IsAtOrAbove(storage::RecordStore& store, const std::string& ancestor, std::string id) {
    std::set<std::string> seen; // a cycle received from elsewhere must not hang us
    while (!id.empty() && seen.insert(id).second) {
        if (id == ancestor) return true;
        const auto code = store.Get(id);
        if (!code || !code->contains("parent_id")) return false;
        id = (*code)["parent_id"].get<std::string>();
    }
    return false;
}

/// The live codings of `code_id`.
std::vector<Json> CodingsOfCode(storage::RecordStore& store, const std::string& code_id) {
    std::vector<Json> out;
    for (const auto& id : store.ReferencesTo(code_id)) {
        auto record = store.Get(id);
        if (record && (*record)["type"] == CODING_TYPE && !record->value("deleted", false) &&
            (*record)["code_id"] == code_id)
            out.push_back(std::move(*record));
    }
    return out;
}

std::string Folded(const std::string& text) {
    std::string out = text;
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

} // namespace

Json CreateCode(storage::RecordStore& store, const std::string& project_id, const Json& fields) {
    Json record = fields;
    record["project_id"] = project_id;
    record.erase("retired");
    record.erase("merged_into");
    Json created;
    store.Atomically([&] {
        if (record.contains("parent_id") && record["parent_id"].is_string())
            (void)LiveCode(store, record["parent_id"].get<std::string>(), "parent_id");
        created = store.Create(CODE_TYPE, record);
    });
    return created;
}

Json RenameCode(storage::RecordStore& store, const std::string& id, const std::string& name) {
    Json updated;
    store.Atomically([&] {
        (void)LiveCode(store, id, "id");
        updated = store.Update(id, {{"name", name}});
    });
    return updated;
}

Json MoveCode(storage::RecordStore& store, const std::string& id, const std::string& parent_id) {
    Json updated;
    store.Atomically([&] {
        (void)LiveCode(store, id, "id");
        if (parent_id.empty()) {
            updated = store.Update(id, {{"parent_id", nullptr}});
            return;
        }
        (void)LiveCode(store, parent_id, "parent_id");
        if (IsAtOrAbove(store, id, parent_id))
            throw RecordError("parent_id", "a code cannot go under itself or a code under it", errc::CODE_CYCLE,
                              {{"id", id}, {"parent", parent_id}});
        updated = store.Update(id, {{"parent_id", parent_id}});
    });
    return updated;
}

MergedCodes MergeCodes(storage::RecordStore& store, const std::string& from, const std::string& into) {
    MergedCodes outcome;
    store.Atomically([&] {
        const auto from_code = LiveCode(store, from, "from");
        (void)LiveCode(store, into, "into");
        if (from == into)
            throw RecordError("into", "a code cannot be merged into itself", errc::SAME_CODE, {{"id", from}});
        const auto& catalogue = store.Types();
        // The passages `into` already codes: source, start, end -> its coding.
        using Key = std::tuple<std::string, int64_t, int64_t>;
        std::map<Key, Json> kept;
        for (auto& coding : CodingsOfCode(store, into)) {
            Key key{SourceOf(catalogue, coding).id, coding["start"].get<int64_t>(), coding["end"].get<int64_t>()};
            kept.emplace(std::move(key), std::move(coding));
        }
        for (const auto& coding : CodingsOfCode(store, from)) {
            const auto& id = coding["id"].get_ref<const std::string&>();
            Key key{SourceOf(catalogue, coding).id, coding["start"].get<int64_t>(), coding["end"].get<int64_t>()};
            const auto it = kept.find(key);
            if (it == kept.end()) {
                kept.emplace(std::move(key), store.Update(id, {{"code_id", into}}));
                outcome.moved.push_back(id);
                continue;
            }
            // The same passage: one coding is kept, with both memos.
            const std::string memo = coding.value("memo", std::string());
            std::string kept_memo = it->second.value("memo", std::string());
            if (!memo.empty() && kept_memo.find(memo) == std::string::npos) {
                kept_memo = kept_memo.empty() ? memo : kept_memo + "\n\n" + memo;
                it->second = store.Update(it->second["id"].get<std::string>(), {{"memo", kept_memo}});
            }
            // What named the dropped coding (a profile's quote, a challenge's evidence) names the kept one.
            const std::string kept_id = it->second["id"].get<std::string>();
            for (const auto& referrer_id : store.ReferencesTo(id)) {
                const auto referrer = store.Get(referrer_id);
                if (!referrer || referrer->value("deleted", false)) continue;
                const auto* type = store.Types().Find(referrer->value("type", std::string()));
                if (!type) continue;
                Json patch = Json::object();
                for (const auto& f : type->fields) {
                    if (f.ref_type != CODING_TYPE || !referrer->contains(f.name)) continue;
                    const Json& value = (*referrer)[f.name];
                    if (f.kind == storage::FieldKind::Reference && value == id) patch[f.name] = kept_id;
                    if (f.kind == storage::FieldKind::ReferenceList && value.is_array()) {
                        Json list = Json::array();
                        bool changed = false;
                        for (const auto& item : value) {
                            const Json now = item == id ? Json(kept_id) : item;
                            changed = changed || now != item;
                            if (std::find(list.begin(), list.end(), now) == list.end()) list.push_back(now);
                        }
                        if (changed) patch[f.name] = list;
                    }
                }
                if (!patch.empty()) store.Update(referrer_id, patch);
            }
            store.Delete(id);
            outcome.dropped.push_back(id);
        }
        // The codes under `from` follow it, unless `into` is among them (or
        // under them): then they go where `from` was.
        const bool into_below = IsAtOrAbove(store, from, into);
        const Json new_parent = into_below ? from_code.value("parent_id", Json()) : Json(into);
        for (const auto& child_id : store.ReferencesTo(from)) {
            const auto child = store.Get(child_id);
            if (!child || (*child)["type"] != CODE_TYPE || child->value("parent_id", std::string()) != from) continue;
            store.Update(child_id, {{"parent_id", child_id == new_parent ? Json() : new_parent}});
            outcome.children.push_back(child_id);
        }
        store.Update(from, {{"retired", true}, {"merged_into", into}, {"parent_id", nullptr}});
    });
    return outcome;
}

Json RetireCode(storage::RecordStore& store, const std::string& id) {
    Json updated;
    store.Atomically([&] {
        (void)LiveCode(store, id, "id");
        updated = store.Update(id, {{"retired", true}});
    });
    return updated;
}

std::vector<CodebookEntry> ListCodebook(storage::RecordStore& store, const std::string& project_id,
                                        bool include_retired) {
    storage::ListOptions options;
    options.project_id = project_id;
    options.only_fields = std::vector<std::string>{"name", "parent_id", "kind", "colour", "retired", "merged_into"};
    auto codes = store.List(CODE_TYPE, options);
    if (!include_retired)
        codes.erase(std::remove_if(codes.begin(), codes.end(), [](const Json& c) { return c.value("retired", false); }),
                    codes.end());
    std::unordered_map<std::string, size_t> index;
    for (size_t i = 0; i < codes.size(); ++i) index.emplace(codes[i]["id"].get<std::string>(), i);
    std::map<std::string, std::vector<size_t>> children; // parent id ("" for the top) -> codes
    for (size_t i = 0; i < codes.size(); ++i) {
        std::string parent = codes[i].value("parent_id", std::string());
        if (!index.count(parent)) parent.clear();
        children[parent].push_back(i);
    }
    for (auto& [parent, list] : children)
        std::stable_sort(list.begin(), list.end(), [&](size_t a, size_t b) {
            return Folded(codes[a].value("name", std::string())) < Folded(codes[b].value("name", std::string()));
        });
    std::vector<CodebookEntry> out;
    std::set<size_t> placed;
    const std::function<void(const std::string&, int)> walk = [&](const std::string& parent, int depth) {
        const auto it = children.find(parent);
        if (it == children.end()) return;
        for (const size_t i : it->second) {
            if (!placed.insert(i).second) continue;
            out.push_back({codes[i], depth});
            walk(codes[i]["id"].get<std::string>(), depth + 1);
        }
    };
    walk("", 0);
    // Codes in a cycle (two devices moved codes under each other): shown at the top.
    for (size_t i = 0; i < codes.size(); ++i)
        if (!placed.count(i)) {
            placed.insert(i);
            out.push_back({codes[i], 0});
            walk(codes[i]["id"].get<std::string>(), 1);
        }
    return out;
}

} // namespace escucha::interpret
