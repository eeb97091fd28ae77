// The codebook: a project's hierarchical codes (need, aspiration,
// perception, problem, value, other), each with a colour and a description.
//
// Each operation is one function over a RecordStore and one transaction. A
// code is never erased: a retired or merged code stays for the history of
// the codings that used it, hidden from new coding.
//
// Errors: storage::RecordError with a code from error_code.h (CODE_CYCLE,
// SAME_CODE, BAD_COLOUR, and the store's own codes: RECORD_NOT_FOUND,
// REFERENCE_WRONG_TYPE, ...); storage::SqliteError from the database.
#pragma once

#include "escucha/interpret/coding.h"
#include "escucha/storage/records.h"

#include <cstdint>
#include <string>
#include <vector>

namespace escucha::interpret {

/// Creates a code in `project_id` from `fields` (name, kind, colour,
/// description, parent_id). Returns the stored code.
Json CreateCode(storage::RecordStore& store, const std::string& project_id, const Json& fields);

/// Gives code `id` a new name.
Json RenameCode(storage::RecordStore& store, const std::string& id, const std::string& name);

/// Puts code `id` under `parent_id` (empty: at the top). Refuses
/// (CODE_CYCLE) a parent that is the code itself or one of its descendants.
Json MoveCode(storage::RecordStore& store, const std::string& id, const std::string& parent_id);

struct MergedCodes {
    std::vector<std::string> moved;    ///< codings of `from` that now name `into`
    std::vector<std::string> dropped;  ///< codings of `from` whose passage `into` already coded: deleted
    std::vector<std::string> children; ///< codes that were under `from`, now under `into` (or `from`'s parent)
};

/// Merges code `from` into `into`: every coding of `from` now names `into`,
/// except where `into` already codes the same passage (that coding is
/// deleted, its memo added to the one kept); the codes under `from` move
/// under `into`; `from` is retired and names `into` as where it went.
/// Refuses (SAME_CODE) a merge of a code into itself.
MergedCodes MergeCodes(storage::RecordStore& store, const std::string& from, const std::string& into);

/// Retires code `id`: kept for the codings that use it, no longer offered
/// for new coding (CodePassage refuses it).
Json RetireCode(storage::RecordStore& store, const std::string& id);

struct CodebookEntry {
    Json code;
    int depth = 0; ///< 0 for a top-level code
};

/// The codes of `project_id` in tree order: each code followed by those
/// under it, siblings by name (case-insensitive for ASCII letters). Retired
/// codes only with `include_retired`; a code under a code left out (or
/// under one not on this device) is shown at the top.
[[nodiscard]] std::vector<CodebookEntry> ListCodebook(storage::RecordStore& store, const std::string& project_id,
                                                      bool include_retired = true);

} // namespace escucha::interpret
