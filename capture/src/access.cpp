#include "escucha/capture/access.h"

namespace escucha::capture {

bool MaySee(const storage::RecordType* type, Reader reader) {
    if (!type) return false;
    if (reader == Reader::OwnDevice) return true;
    if (type->identifying) return false;
    // Not synced by default (and not identifying): a coordinator's business only.
    if (!type->synced) return reader == Reader::Coordinator;
    switch (reader) {
    case Reader::Coordinator:
    case Reader::Interpreter: return true;
    case Reader::FieldResearcher:
        // A researcher sees what the team edits together (the project,
        // profiles), not other researchers' interviews and participants.
        return type->shared_edit;
    case Reader::OwnDevice: break;
    }
    return true;
}

bool ShownByDefault(const storage::RecordType& type) { return !type.identifying; }

} // namespace escucha::capture
