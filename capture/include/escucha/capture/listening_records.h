// The listening records: what field researchers collect.
//
// Projects, participants (with their identity link kept apart), consent,
// interviews, transcript segments, field notes, social-media items and
// narratives. Described as data for storage::RecordStore.
#pragma once

#include "escucha/storage/records.h"

namespace escucha::capture {

/// Adds the listening record types to `catalogue`.
void AddListeningTypes(storage::Catalogue& catalogue);

/// A random participant code such as "P-7K3MQ2" (no 0/O/1/I to misread).
[[nodiscard]] std::string NewParticipantCode();

} // namespace escucha::capture
