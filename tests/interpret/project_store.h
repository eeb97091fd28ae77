// A record store in memory with every record type and one project, for the
// interpretation tests.
#pragma once

#include "escucha/interpret/interpretation_records.h"

#include <string>

namespace escucha::test {

struct ProjectStore {
    storage::Database db{":memory:", true};
    storage::HybridLogicalClock clock;
    storage::RecordStore store{db, interpret::AllRecordTypes(), clock, {"ana", "dev"}};
    std::string project;
    ProjectStore() {
        storage::RegisterSearchFunctions(db);
        store.EnsureSchema();
        project = store.Create("project", {{"name", "Café"}})["id"];
    }
};

} // namespace escucha::test
