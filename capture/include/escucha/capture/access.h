// Who may see what: the one place that decides.
//
// Headquarters asks it before a device reads a record (pull) or changes one
// (push); the CLI and the window app ask it before they list, search or
// export. It reads only the catalogue's description of a type (synced,
// shared_edit, identifying) and the reader's standing, never type names.
#pragma once

#include "escucha/storage/records.h"

#include <string>

namespace escucha::capture {

/// The standing of whoever asks, relative to a record.
enum class Reader {
    OwnDevice,       ///< the device that created the record
    Coordinator,     ///< another device, enrolled as a coordinator
    Interpreter,     ///< another device, enrolled as an interpreter
    FieldResearcher, ///< another device, enrolled as a field researcher
};

/// Whether headquarters shows a record of `type` to `reader`. Records that
/// identify a person (real names, contacts) reach no other device, whatever
/// its role: they stay with the device that wrote them and, at headquarters,
/// come out only in an export that asks for them.
[[nodiscard]] bool MaySee(const storage::RecordType* type, Reader reader);

/// Whether a program lists, searches or exports a record of `type` without
/// the person asking for identities explicitly.
[[nodiscard]] bool ShownByDefault(const storage::RecordType& type);

} // namespace escucha::capture
