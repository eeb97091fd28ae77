// Exchange with other qualitative analysis tools: REFI-QDA projects (.qdpx),
// codebooks (.qdc) and a CSV of excerpts, out and in.
//
// Exports read a project's records as a set (ProjectRecords): from a
// device's RecordStore, or from the JSON bodies headquarters keeps. They
// return the file's bytes; the caller writes them (atomically) where a
// person asked. Every export is consent-gated: a source whose participants'
// consent does not cover quoting verbatim (capture::ConsentCovers with
// SCOPE_QUOTE_VERBATIM) is never written verbatim. The .qdpx leaves it out
// with its codings and says so in a project note; the CSV keeps its rows
// with the excerpt and memo withheld. See docs/decisions/0013-refi-qda.md.
//
// ImportQda reads a .qdpx, .qdc or bare .qde made elsewhere (QualCoder,
// NVivo, ATLAS.ti, MAXQDA, Taguette) into a project: the codebook, and
// codings on the project's text sources that match (by GUID = record id, or
// by equal text). One transaction: all or nothing. The file is hostile
// input: bounded sizes and counts, no DTD and no network in the XML parser,
// entry names never used as paths.
//
// Thread contract: ProjectRecords is immutable once built; exports may run
// on any thread. ImportQda runs on the store's thread.
//
// Errors: storage::RecordError with a code from error_code.h (QDA_* for a
// file that cannot be read as REFI-QDA, naming the file and what is wrong;
// the store's own codes); storage::SqliteError from the database.
#pragma once

#include "escucha/storage/records.h"
#include "escucha/storage/vault.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace escucha::interpret {

using storage::Json;

// [SECTION] A project's records

/// The live records of one project, indexed for export. Identity links and
/// other identifying records are left out when it is built: no export reads them.
class ProjectRecords {
public:
    /// From a set of records (any projects, tombstones included: those of
    /// other projects and tombstones are left out).
    ProjectRecords(const storage::Catalogue& catalogue, const std::vector<Json>& records, std::string project_id);
    /// Every record of `project_id` a device's store holds.
    [[nodiscard]] static ProjectRecords FromStore(storage::RecordStore& store, const std::string& project_id);
    ProjectRecords(const ProjectRecords&) = delete; // its indexes point into its records
    ProjectRecords& operator=(const ProjectRecords&) = delete;
    ProjectRecords(ProjectRecords&&) noexcept = default;
    ProjectRecords& operator=(ProjectRecords&&) noexcept = default;

    [[nodiscard]] const storage::Catalogue& Types() const noexcept { return *m_catalogue; }
    [[nodiscard]] const std::string& ProjectId() const noexcept { return m_project_id; }
    /// The project record itself; null when the set does not hold it.
    [[nodiscard]] const Json* Project() const;
    [[nodiscard]] const Json* Get(const std::string& id) const;
    /// The live records of `type`, in id (creation) order.
    [[nodiscard]] const std::vector<const Json*>& OfType(const std::string& type) const;
    /// Whether the text of `source` may be written verbatim: every participant
    /// it names has a consent covering quote_verbatim. A source naming no
    /// participant (a researcher's field note) may.
    [[nodiscard]] bool Quotable(const Json& source) const;
    /// The same for a recording (the voices it holds: its participant_ids).
    [[nodiscard]] bool AudioQuotable(const Json& recording) const;

private:
    const storage::Catalogue* m_catalogue;
    std::string m_project_id;
    std::vector<Json> m_records;
    std::unordered_map<std::string, size_t> m_by_id;
    std::map<std::string, std::vector<const Json*>> m_by_type;
    std::unordered_map<std::string, std::vector<Json>> m_consents; ///< by participant id
    void Index();
    bool AllConsent(const std::vector<std::string>& participant_ids) const;
};

// [SECTION] Export

/// What an export wrote, and what it left out.
struct ExportSummary {
    int64_t codes = 0;
    int64_t sources = 0; ///< text sources written
    int64_t codings = 0; ///< codings written (qdpx: Coding elements; csv: rows)
    int64_t cases = 0;
    int64_t notes = 0;
    int64_t audio = 0;                         ///< recordings written with their audio
    std::vector<std::string> withheld_sources; ///< left out (qdpx) or withheld (csv): no consent to quote verbatim
    int64_t withheld_codings = 0;              ///< their codings
    std::vector<std::string> withheld_audio;   ///< recordings left out for the same reason
    std::vector<std::string> review_codings;   ///< left out of the qdpx: the source no longer reads the excerpt there
    std::vector<std::string> audio_unavailable; ///< recordings whose audio this program could not read
};

struct ExportedFile {
    std::string bytes;
    ExportSummary summary;
};

struct QdpxOptions {
    /// The decrypted audio (Ogg Opus) of a recording record, to put in the
    /// archive (in memory only); nullopt when it is not available. Without
    /// it, recordings are left out.
    std::function<std::optional<std::string>(const Json& recording)> audio;
    /// Who exports (a device id, or "headquarters"), for the project's origin.
    std::string exported_by;
    /// Deflate level for the archive: -1 libzip's default.
    int compression_level = -1;
};

/// A REFI-QDA project (.qdpx: project.qde and sources/) of the project:
/// users, codebook, cases with variables, text sources, selections and
/// codings, memo notes, recordings with their transcripts' sync points.
[[nodiscard]] ExportedFile ExportQdpx(const ProjectRecords& project, const QdpxOptions& options = {});

/// The codebook alone (.qdc, REFI-QDA Codebook).
[[nodiscard]] ExportedFile ExportQdc(const ProjectRecords& project);

/// The word a CSV of excerpts writes instead of words that may not be quoted.
inline constexpr const char* WITHHELD = "[withheld]";

/// A CSV (RFC 4180, UTF-8 with a byte-order mark for spreadsheets) of every
/// coding: code, source, participants, their groups, start, end, excerpt,
/// memo. A cell that a spreadsheet would take for a formula is prefixed with '.
[[nodiscard]] ExportedFile ExportExcerptsCsv(const ProjectRecords& project);

/// The project `project_id` of a device's vault as `format` ("qdpx", "qdc"
/// or "csv"): the records read from the vault, and for a .qdpx each
/// recording's audio decrypted into memory from the vault's blobs. What
/// escucha-cli and the window app export. Throws RecordError
/// (INVALID_VALUE) for another format.
[[nodiscard]] ExportedFile ExportVaultProject(storage::Vault& vault, const std::string& project_id,
                                              const std::string& format);

/// One CSV cell as RFC 4180 writes it (quoted when it must be).
[[nodiscard]] std::string CsvCell(const std::string& text);

// [SECTION] Import

/// Limits on a file to import: beyond them it is refused (QDA_TOO_LARGE).
struct ImportLimits {
    int64_t max_file_bytes = int64_t{1} << 30;     ///< the archive itself
    int64_t max_entries = 100000;                  ///< entries in the archive
    int64_t max_entry_bytes = int64_t{256} << 20;  ///< one entry, uncompressed
    int64_t max_total_bytes = int64_t{1} << 30;    ///< every entry read, uncompressed
    int64_t max_elements = 2000000;                ///< codes, sources, selections, codings together
};

/// A selection (or a whole source) that was not stored, and why.
struct SkippedSelection {
    std::string source;    ///< the source's name in the file (or its GUID)
    std::string selection; ///< the selection's GUID; empty for a whole source
    int64_t start = -1;
    int64_t end = -1;
    /// source_not_matched, source_ambiguous, not_text, text_missing,
    /// outside_text, text_differs, unknown_code, code_retired, already_coded
    std::string reason;
};

struct ImportReport {
    std::string format; ///< "qdpx", "qdc" or "qde"
    std::vector<std::string> codes_created;
    std::vector<std::string> codes_reused;
    std::vector<std::string> codings_stored;
    int64_t sources_matched = 0;
    std::vector<SkippedSelection> skipped;
    std::vector<std::string> dropped; ///< what REFI-QDA holds that Escucha does not take (cases, sets, graphs...)
};

/// Imports `bytes` (a .qdpx, .qdc or .qde, told apart by content; `file_name`
/// names it in errors) into `project_id`: codes (those present by GUID, or
/// by the same name under the same parent, are reused), and codings on the
/// project's text sources matched by GUID or by equal text (newlines
/// normalised, byte-order mark removed). A selection outside the matched
/// text, or whose words differ there, is skipped and reported. One
/// transaction. Throws RecordError (QDA_*) for a file it refuses: nothing is stored.
ImportReport ImportQda(storage::RecordStore& store, const std::string& project_id, const std::string& bytes,
                       const std::string& file_name, const ImportLimits& limits = {});

/// A GUID as Escucha writes ids: lower case, without braces; empty when
/// `text` is not a GUID.
[[nodiscard]] std::string NormaliseGuid(const std::string& text);

} // namespace escucha::interpret
