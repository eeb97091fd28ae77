// Typed records in the vault, described by data.
//
// storage/ knows no record type's meaning: capture/ and interpret/ describe
// their types (fields, kinds, references) in a Catalogue, and RecordStore turns
// that description into typed tables, validation, the change journal (outbox)
// and the full-text index.
//
// Every record carries: id (UUIDv7), type, project_id, created_at, updated_at
// (hybrid logical clock), author, device, rev (monotonic per record) and
// deleted (tombstone).
//
// Thread contract: a RecordStore uses the Database it was given and belongs to
// that connection's thread.
//
// Errors: RecordError for input that does not fit the catalogue (it names the
// record index and the field); SqliteError from the database.
#pragma once

#include "escucha/storage/clock.h"
#include "escucha/storage/error_code.h"
#include "escucha/storage/sqlite.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace escucha::storage {

using Json = nlohmann::ordered_json;

enum class FieldKind {
    Text,     ///< one line of text
    LongText, ///< paragraphs; newlines normalised to \n
    Integer,
    Boolean,
    Choice, ///< one of `choices`
    ChoiceList,
    Date,      ///< ISO 8601 date or date-time
    Reference, ///< the id of a record of `ref_type`
    ReferenceList,
    TextList,
};

[[nodiscard]] const char* FieldKindName(FieldKind kind);

struct FieldSpec {
    std::string name;
    FieldKind kind = FieldKind::Text;
    std::string description;
    bool required = false;
    bool searchable = false; ///< indexed for full-text search
    std::vector<std::string> choices;
    std::string ref_type; ///< for Reference and ReferenceList
    Json default_value;   ///< used when the field is absent on create; null for none
};

/// What a participant's consent withdrawal does to records of a type that
/// name them in `field` (a reference or reference list to participant), or
/// that name in `field` a record the withdrawal erases (Erase only: a coding
/// goes with the narrative it quotes). capture/ applies these rules; storage
/// only keeps them.
struct WithdrawalRule {
    enum class Action {
        Erase,         ///< the record is what the participant gave: tombstoned, its text purged
        FlagForReview, ///< the record drew on them: the reference is removed and `flag_field` set true
    };
    std::string field;
    Action action = Action::Erase;
    std::string flag_field; ///< a Boolean field of the type (FlagForReview)
};

/// What a record type is to the programs that act on records and show them,
/// beyond its fields. The window app, the CLI and capture/'s operations ask
/// the catalogue for the type with a role (Catalogue::WithRole), never for a
/// type by its name. A catalogue holds at most one type of each role.
enum class RecordRole {
    None,
    Scope,   ///< what every other record is filed under (the project); not project_scoped
    Person,  ///< a person listened to (a participant): has an identity link, may withdraw consent
    Consent, ///< a person's consent: names its person by a reference, may be withdrawn
};

struct RecordType {
    std::string name; ///< also the table name
    std::string description;
    std::string module; ///< which module owns it (for documentation)
    std::vector<FieldSpec> fields;
    std::string title_field;    ///< shown in lists and search results
    bool project_scoped = true; ///< false only for the project record itself
    /// False for records that stay on this device unless the project allows
    /// otherwise (see `share_field`).
    bool synced = true;
    /// For records not synced by default: the project field that, when true, syncs them.
    std::string share_field;
    /// Fills generated values on create (e.g. a random code), before validation.
    std::function<void(Json& record)> on_create;
    /// Extra checks across fields; throws RecordError(field, message).
    std::function<void(const Json& record)> validate;
    /// True for records several people edit (profiles, the project): sync
    /// merges them field by field. False: only the device that created the
    /// record edits it (an interview, a consent).
    bool shared_edit = false;
    /// What the type is to the programs (see RecordRole).
    RecordRole role = RecordRole::None;
    /// Where the type's list comes among those a person browses, 1 first;
    /// 0 when it has none of its own (an identity link is reached from its
    /// participant).
    int list_order = 0;
    /// A reference-list field naming the records this one draws on, to be
    /// read beside it while it is written (a profile's narratives); empty for none.
    std::string read_beside = {};
    /// True for records that identify a person (real names, contacts): never
    /// shown in search or lists, never exported or read at headquarters
    /// without an explicit choice (see capture/access.h).
    bool identifying = false;
    /// What a consent withdrawal does to records of this type.
    std::vector<WithdrawalRule> on_withdrawal = {};
    /// Text fields that name a blob (the SHA-256 of a recording): when the
    /// record is deleted or erased, or names another blob, the blob no other
    /// record names is erased with it (BlobStore: its key goes at once).
    std::vector<std::string> blob_fields = {};
    /// Checks that need other records (a coding's passage lies within its
    /// source's text), run on this device's own writes once the references
    /// are known to exist; `get` reads a record by id. Throws RecordError.
    std::function<void(const Json& record, const std::function<std::optional<Json>(const std::string&)>& get)>
        validate_with_store = {};

    [[nodiscard]] const FieldSpec* Field(const std::string& field) const;
};

/// A record, or a field of it, that does not fit its type: English words
/// (what()), and a code from error_code.h with its parameters for the
/// interfaces to word ("field" is always among them when there is a field).
class RecordError : public std::runtime_error {
public:
    /// Without a code: errc::INVALID_VALUE, the English `message` as parameter "reason".
    RecordError(std::string field, const std::string& message);
    RecordError(std::string field, const std::string& message, std::string code, Json params = Json::object());
    RecordError(std::optional<size_t> index, std::string type, std::string field, const std::string& message,
                std::string code = {}, Json params = Json::object());
    [[nodiscard]] const std::optional<size_t>& Index() const noexcept { return m_index; }
    [[nodiscard]] const std::string& Field() const noexcept { return m_field; }
    [[nodiscard]] const std::string& Type() const noexcept { return m_type; }
    [[nodiscard]] const std::string& Reason() const noexcept { return m_reason; }
    [[nodiscard]] const std::string& Code() const noexcept { return m_code; }
    [[nodiscard]] const Json& Params() const noexcept { return m_params; }
    /// The same error placed at record `index` of an import.
    [[nodiscard]] RecordError At(size_t index, const std::string& type) const;

private:
    std::optional<size_t> m_index;
    std::string m_type;
    std::string m_field;
    std::string m_reason;
    std::string m_code;
    Json m_params;
};

/// The record types a program knows. Filled at start-up by each module.
class Catalogue {
public:
    void Add(RecordType type);
    [[nodiscard]] const RecordType* Find(const std::string& name) const;
    [[nodiscard]] const RecordType& Get(const std::string& name) const; ///< throws RecordError
    /// The type with `role`, when the catalogue has one (never for RecordRole::None).
    [[nodiscard]] const RecordType* WithRole(RecordRole role) const;
    [[nodiscard]] const std::vector<RecordType>& Types() const noexcept { return m_types; }
    [[nodiscard]] std::string Names() const; ///< "a, b, c" for messages

private:
    std::vector<RecordType> m_types;
};

/// Who writes: stamped on every record and journal row.
struct WriterIdentity {
    std::string author;
    std::string device;
};

struct SearchHit {
    std::string type;
    std::string id;
    std::string title;
    std::string snippet;
    double score = 0;
};

struct ListOptions {
    std::optional<std::string> project_id;
    bool include_deleted = false;
    int64_t limit = -1;
    int64_t offset = 0;
    /// Read only these fields (besides the common keys): a list of 100,000
    /// titles need not decrypt and parse every long text.
    std::optional<std::vector<std::string>> only_fields;
    bool newest_first = false; ///< ids are time-ordered (UUIDv7)
};

/// One search match before its title and snippet are read: enough to rank
/// and count 100,000 hits cheaply.
struct SearchRank {
    int64_t docid = 0;
    double score = 0;
};

struct JournalEntry {
    int64_t seq = 0;
    int64_t attempts = 0;
    std::string last_error; ///< why headquarters refused it, in words
    std::string change_id;
    std::string record_type;
    std::string record_id;
    int64_t rev = 0;
    std::string op; ///< "upsert" or "delete"
    std::string hlc;
    std::string body;                        ///< the record as JSON at that rev
    std::string last_error_code;             ///< the refusal's code (error_code.h); empty when HQ gave none
    Json last_error_params = Json::object(); ///< that code's parameters
    /// The rev the record had before the first of the edits this row holds:
    /// what headquarters merges against (docs/decisions/0018).
    int64_t base_rev = 0;
    /// True once the row was handed to a push (TakeJournalForPush): it may
    /// have reached headquarters under its change id, so later edits of the
    /// record go in a row of their own instead of into this one.
    bool sent = false;
    /// The members of the record this row's edits changed since `base_rev`
    /// (a JSON array of names), so a push may send only those
    /// (docs/decisions/0027); null when the row goes whole.
    Json fields = nullptr;
};

struct ImportOutcome {
    std::vector<std::string> ids; ///< created now, in order; empty when already imported
    bool already_imported = false;
    std::string imported_at; ///< when these records were imported (now, or the first time)
    int64_t count = 0;       ///< records stored by that import
    std::string digest;      ///< SHA-256 of the records as canonical JSON
};

class RecordStore {
public:
    RecordStore(Database& db, const Catalogue& catalogue, HybridLogicalClock& clock, WriterIdentity writer);

    /// Creates the typed tables, adding any column a newer catalogue has.
    /// Part of opening a vault; runs inside the caller's transaction.
    void EnsureSchema();

    /// Creates a record from `fields` (which may hold `id` and `project_id`).
    /// Returns the stored record. Throws RecordError.
    Json Create(const std::string& type, const Json& fields);
    /// Whether a live record (other than `except_id`) names blob `sha256` in
    /// one of its type's blob fields (RecordType::blob_fields).
    [[nodiscard]] bool NamesBlob(const std::string& sha256, const std::string& except_id = {});
    /// Changes the given fields (null removes an optional field). Throws RecordError.
    Json Update(const std::string& id, const Json& patch);
    /// Tombstones the record: content fields are erased, the id stays.
    /// Refuses (RecordError) while live records refer to it, unless `force`.
    Json Delete(const std::string& id, bool force = false);
    /// Erases a record because the person it came from asked for it (a
    /// consent withdrawal): tombstones it even while others refer to it,
    /// drops its unsent changes and kept conflict versions (they hold its
    /// text), and records `cause` (the id of the record that justifies it,
    /// e.g. the withdrawn consent) in the tombstone so other devices and
    /// headquarters can check it. Returns the tombstone.
    Json Erase(const std::string& id, const std::string& cause);
    /// Moves every record of project `from` into project `to` (work recorded
    /// before enrolment): each record gets a new revision in `to` and its
    /// earlier, never-accepted changes are dropped; the `from` project is
    /// erased. Returns how many records of each type moved.
    /// Throws RecordError when either project is missing or they are the same.
    std::map<std::string, int64_t> MoveProjectRecords(const std::string& from, const std::string& to);
    /// Adds an audit entry (no content: who, when, what kind of action, which record).
    void Audit(const std::string& action, const std::string& record_type, const std::string& record_id);
    /// Removes text of erased records from the search index's storage
    /// (full-text segments keep deleted words until they are merged).
    void PurgeErasedText();
    /// Runs `work` in one write transaction: everything it writes through
    /// this store is committed together, or nothing is when it throws.
    /// Nested calls (and the store's own writes) join the outer transaction.
    void Atomically(const std::function<void()>& work);

    /// Told how many records of an import are stored so far, of how many.
    using ImportProgress = std::function<void(size_t done, size_t total)>;
    /// Imports an array of records atomically: all or nothing.
    /// Returns the ids created, in order. Throws RecordError naming the index.
    /// `progress`, when given, is called as records are stored (every few
    /// hundred, and at the end); it must not touch this store.
    std::vector<std::string> Import(const Json& records, const ImportProgress& progress = {});
    /// As Import, once per content: the vault remembers (in the same
    /// transaction) the SHA-256 of the records as canonical JSON, and the
    /// same records imported again store nothing (records without an id
    /// would otherwise be stored twice).
    ImportOutcome ImportOnce(const Json& records, const ImportProgress& progress = {});

    [[nodiscard]] std::optional<Json> Get(const std::string& id);
    [[nodiscard]] std::optional<std::string> TypeOf(const std::string& id);
    [[nodiscard]] std::vector<Json> List(const std::string& type, const ListOptions& options = {});
    [[nodiscard]] int64_t Count(const std::string& type, bool include_deleted = false);
    /// Calls `visit` for every record of every type, in type then id order.
    void ForEach(const std::function<void(const Json&)>& visit, bool include_deleted = false);
    /// Ids of live records whose reference fields name `id`.
    [[nodiscard]] std::vector<std::string> ReferencesTo(const std::string& id);

    /// Full-text search, accent- and case-insensitive, best first. Every word
    /// must match whole; a trailing * matches a prefix. Matches in the snippet
    /// are wrapped in `open` and `close`.
    /// Throws RecordError("query", ...) for a query with no words.
    [[nodiscard]] std::vector<SearchHit> Search(const std::string& query, int limit = 20, const std::string& open = "[",
                                                const std::string& close = "]");
    /// The first step of Search: matches ranked best first, without reading
    /// titles or text. Throws RecordError("query", ...) like Search.
    [[nodiscard]] std::vector<SearchRank> RankSearch(const std::string& query, int64_t limit);
    /// The second step: title and snippet of the given matches (those shown),
    /// in the same order. A docid no longer in the index is left out.
    [[nodiscard]] std::vector<SearchHit> SearchDetails(const std::string& query, const std::vector<SearchRank>& ranks,
                                                       const std::string& open = "[", const std::string& close = "]");

    /// Journal rows waiting to be sent (refused ones left out). Edits of a
    /// record made before its change was handed to a push share one row
    /// (docs/decisions/0018): fifty autosaves of one narrative wait as one change.
    [[nodiscard]] int64_t PendingJournalCount();
    /// Records with changes waiting to be sent (several autosaves of one record count once).
    [[nodiscard]] int64_t WaitingRecordCount();
    /// Journal rows in order, from `after_seq` on; those headquarters refused
    /// only with `include_refused` (they are not sent again by themselves).
    [[nodiscard]] std::vector<JournalEntry> PendingJournal(int64_t limit, int64_t after_seq = 0,
                                                           bool include_refused = false);
    /// Hands the rows `seqs` to a push: in one write transaction, each still
    /// waiting is marked sent and returned as it is at that moment (body
    /// included), in the order given. A row no longer there (acknowledged,
    /// or an unsent row an edit moved to the end of the journal) is left out.
    /// From then on an edit of the record makes a new row instead of joining
    /// this one, whose change id headquarters may already hold.
    [[nodiscard]] std::vector<JournalEntry> TakeJournalForPush(const std::vector<int64_t>& seqs);
    /// A person sends a refused change again, as it is (under a new change id).
    /// Editing the record instead supersedes the refused change.
    void RetryJournal(int64_t seq);
    /// A person gives up a refused change: it is dropped (an audit entry says so);
    /// the record stays as it is on this device.
    void DiscardJournal(int64_t seq);
    /// Headquarters acknowledged a durable commit: the row leaves the outbox.
    void AcknowledgeJournal(int64_t seq);
    /// Headquarters could not rebuild row `seq` from the members sent (it
    /// does not hold the revision they were changed from): the row goes whole.
    void SendJournalWhole(int64_t seq);
    /// Headquarters refused the row: it stays, with the reason (and its code
    /// and parameters, when HQ gave them), for a person to see.
    void RejectJournal(int64_t seq, const std::string& reason, const std::string& code = {},
                       const Json& params = Json::object());
    [[nodiscard]] int64_t RejectedJournalCount();
    /// Every journal row headquarters has not acknowledged: those waiting
    /// to be sent, those handed to a push not yet answered, and refused ones.
    [[nodiscard]] int64_t UnacknowledgedJournalCount();
    /// Records with changes headquarters has not acknowledged: true when one
    /// was refused (it is then not sent again by itself), false when they
    /// wait to be sent. At most `limit` records.
    [[nodiscard]] std::unordered_map<std::string, bool> UnsentRecords(int64_t limit = 200000);
    /// The refused rows, oldest first, without their bodies (to show them).
    [[nodiscard]] std::vector<JournalEntry> RejectedJournal(int64_t limit);

    /// Keeps a version of a field that lost a concurrent edit elsewhere, for a
    /// person to merge. `conflict` holds seq, record_type, record_id, field,
    /// kept, other, other_author, other_device, other_hlc. Idempotent on seq.
    void AddConflict(const Json& conflict);
    /// Conflicts not yet resolved, oldest first.
    [[nodiscard]] std::vector<Json> ListConflicts();
    void ResolveConflict(int64_t seq);

    /// Stores a record as it came from headquarters: no journal row, and only
    /// when it is newer (higher rev) than what the device has. Moves the clock
    /// past its timestamp. Returns false when the local copy was as new.
    /// References are not checked: a pulled record may refer to one the
    /// device is not allowed to see. Such references are remembered, so
    /// CheckConsistency and later edits take them as valid.
    bool ApplyRemote(const Json& record);

    /// Problems found by comparing records, references, index and journal.
    [[nodiscard]] std::vector<std::string> CheckConsistency();

    /// The newest vault format (PRAGMA user_version) EnsureSchema writes and
    /// this code reads. A vault of a later format was written by a newer
    /// Escucha, whose writes this code would get wrong (decision 24: an
    /// index that reads its text from the rows): it is not opened.
    static constexpr int64_t SCHEMA_VERSION = 10;

    /// Rebuilds the full-text index from the records.
    void RebuildSearchIndex();
    /// Brings the search index up to date with the edits that only marked
    /// their record's entry (docs/decisions/0023), in one transaction. Search
    /// and RankSearch do it first, so they never miss what was typed; the
    /// vault does it when it opens, at an idle checkpoint and when it closes.
    /// Cheap when nothing waits (one read of a small table).
    void SettleSearchIndex();
    /// Records whose search entry waits for SettleSearchIndex.
    [[nodiscard]] int64_t UnsettledSearchCount();

    [[nodiscard]] const Catalogue& Types() const noexcept { return m_catalogue; }

private:
    /// Throws RecordError for a reference to a record that is not here, is
    /// deleted, of another type or another project. References `before` (the
    /// stored record, for an edit) already held are not checked again; with
    /// `allow_unseen`, references received from headquarters to records this
    /// device may not see are valid.
    void CheckReferences(const RecordType& type, const Json& record, const Json* before = nullptr,
                         bool allow_unseen = false);
    /// Remembers the references of a record from headquarters that name
    /// records not on this device.
    void NoteUnseenReferences(const RecordType& type, const Json& record);
    bool IsUnseenReference(const std::string& record_id, const std::string& ref_id);
    /// Inside a write transaction: moves the clock past the last time any
    /// connection to this vault stamped.
    void CatchUpClock();
    /// The tombstone that follows `existing`: content gone, id and project kept.
    Json Tombstone(const RecordType& type, const Json& existing);
    /// Drops the copies of a record's text outside its row: unsent changes, kept conflict versions.
    void ForgetText(const std::string& id);
    /// Import's work, inside the caller's transaction.
    std::vector<std::string> ImportInTransaction(const Json& records, const ImportProgress& progress);
    /// Stores the clock's last reading for the other connections (CatchUpClock).
    void SaveClock();
    /// Writes `record` and its journal row. `before`, the record as stored,
    /// lets only what changed be written.
    void Write(const RecordType& type, const Json& record, const char* op, const Json* before = nullptr);
    /// The UPDATE of the columns that differ from `before`; false when no row has that id.
    bool UpdateRow(const RecordType& type, const Json& record, const Json& before);
    /// Before `record` is written: erases the blobs its previous version named and no live record still does.
    void ReleaseBlobs(const RecordType& type, const Json& record);
    // The search index keeps no copy of the text: it reads it from the
    // records' own rows through the view search_content
    // (docs/decisions/0024). So its words are taken out while the row still
    // holds them, and put in once the row holds the new ones.
    /// Before `record` replaces `before` in its row: takes the entry out if its words change. False when they do not.
    bool UnindexBefore(const RecordType& type, const Json& record, const Json* before);
    /// After the row is written: marks the entry of a local edit, or puts it in.
    void IndexAfter(const RecordType& type, const Json& record, const Json* before);
    /// Puts the entry of `record` (whose words are not in the index) in, from its row; none when it has no text.
    void PutEntry(const RecordType& type, const Json& record);
    /// The view's SQL for the catalogue; EnsureSchema makes it again when it differs.
    std::string SearchContentSql() const;
    /// RebuildSearchIndex's work, inside the caller's transaction.
    void RebuildSearchEntries();
    bool IsJournalled(const RecordType& type, const Json& record);
    Json ReadRow(const RecordType& type, Statement& stmt) const;
    std::string SelectColumns(const RecordType& type) const;
    Json ReadRow(const RecordType& type, Statement& stmt, const std::vector<const FieldSpec*>& fields) const;
    static std::string SelectColumns(const std::vector<const FieldSpec*>& fields);
    static std::vector<const FieldSpec*> AllFields(const RecordType& type);

    /// A prepared statement from the cache, reset when the lease ends so no
    /// read transaction stays open behind the caller's back.
    class Lease {
    public:
        explicit Lease(Statement& stmt) : m_stmt(stmt) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease();
        Statement& operator*() { return m_stmt; }

    private:
        Statement& m_stmt;
    };
    /// Statements are prepared once per SQL text and kept: writes run them
    /// thousands of times in an import.
    Lease Cached(const std::string& sql);

    Database& m_db;
    std::unordered_map<std::string, std::unique_ptr<Statement>> m_cache;
    const Catalogue& m_catalogue;
    HybridLogicalClock& m_clock;
    WriterIdentity m_writer;
    /// The write transaction this store opened, and how many scopes share it.
    class Scope;
    std::optional<Transaction> m_txn;
    int m_depth = 0;
    bool m_deferring = false; ///< inside Import: references are checked at the end
    /// Inside Import: references found valid, by type and id, with their
    /// project; a reference named by thousands of records is looked up once.
    std::unordered_map<std::string, std::string> m_valid_refs;
    bool m_remote = false;    ///< inside ApplyRemote: nothing goes to the journal
};

/// Checks `input` against `type` and returns it in canonical form: known
/// fields only, values normalised, defaults filled when `creating`. The common
/// keys id/type/project_id are kept; others are this vault's to set.
/// Throws RecordError naming the field. References are not looked up.
[[nodiscard]] Json NormaliseRecord(const RecordType& type, const Json& input, bool creating);

/// `text` with CRLF and lone CR turned into \n, as the store keeps long texts.
[[nodiscard]] std::string NormaliseNewlines(std::string_view text);

/// True when `text` is well-formed UTF-8.
[[nodiscard]] bool IsValidUtf8(std::string_view text);

/// Registers the ranking function the search uses on a connection.
void RegisterSearchFunctions(Database& db);

} // namespace escucha::storage
