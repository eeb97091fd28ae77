// Reading records that an operation needs to exist, for the interpretation
// operations' sources.
#pragma once

#include "escucha/storage/records.h"

#include <algorithm>
#include <string>
#include <vector>

namespace escucha::interpret::detail {

/// The live record `id` of type `type`, or RecordError naming `field`
/// (RECORD_NOT_FOUND, RECORD_DELETED, REFERENCE_WRONG_TYPE).
inline storage::Json LiveOfType(storage::RecordStore& store, const std::string& id, const char* type,
                                const char* field) {
    namespace errc = storage::errc;
    auto record = store.Get(id);
    if (!record)
        throw storage::RecordError(field, "no record with id " + id, errc::RECORD_NOT_FOUND,
                                   {{"field", field}, {"id", id}});
    if (record->value("deleted", false))
        throw storage::RecordError(field, "the record " + id + " has been deleted", errc::RECORD_DELETED,
                                   {{"field", field}, {"id", id}});
    if ((*record)["type"] != type)
        throw storage::RecordError(field, id + " is a " + (*record)["type"].get<std::string>() + ", not a " + type,
                                   errc::REFERENCE_WRONG_TYPE,
                                   {{"field", field}, {"id", id}, {"ref_type", type}, {"actual", (*record)["type"]}});
    return *record;
}

/// The live records of `type` whose field `field` names `id`, found through
/// the store's reference index, in id (creation) order.
inline std::vector<storage::Json> LiveReferring(storage::RecordStore& store, const std::string& id, const char* type,
                                                const char* field) {
    std::vector<storage::Json> out;
    for (const auto& ref : store.ReferencesTo(id)) {
        auto record = store.Get(ref);
        if (record && (*record)["type"] == type && !record->value("deleted", false) &&
            record->value(field, std::string()) == id)
            out.push_back(std::move(*record));
    }
    std::sort(out.begin(), out.end(), [](const storage::Json& a, const storage::Json& b) { return a["id"] < b["id"]; });
    return out;
}

} // namespace escucha::interpret::detail
