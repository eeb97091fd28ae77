// The interpretation records: what interpreters build from the material.
#pragma once

#include "escucha/storage/records.h"

namespace escucha::interpret {

/// Adds the interpretation record types (profiles) to `catalogue`.
/// Needs the listening types (participant, narrative) already added.
void AddInterpretationTypes(storage::Catalogue& catalogue);

/// Every record type Escucha knows, listening and interpretation, built once.
[[nodiscard]] const storage::Catalogue& AllRecordTypes();

} // namespace escucha::interpret
