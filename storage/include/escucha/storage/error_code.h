// Errors that can reach a person, as values: a stable code and named
// parameters. The code is for programs (and for the words each interface
// chooses: the CLI in English, the window app in the person's language); the
// parameters are what those words may name ({"field": "withdrawn_at"},
// {"server": "https://hq.example.org"}). Exceptions and reports keep English
// words beside the code for logs and old callers.
//
// This header is the catalogue: every code that may reach a person is listed
// here with the parameters it always carries. Wordings may use those and no
// others; tests walk the catalogue and fail when an interface lacks words for
// a code or leaves a parameter unfilled. Header only: no library to link.
//
// Thread contract: everything here is immutable after first use; any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace escucha::storage {

using Json = nlohmann::ordered_json;

// [SECTION] Codes

namespace errc {
// The vault (storage/vault.h). Parameters: path = the vault's directory.
inline constexpr char VAULT_NOT_FOUND[] = "vault_not_found";
inline constexpr char VAULT_EXISTS[] = "vault_exists";
inline constexpr char WRONG_PASSPHRASE[] = "wrong_passphrase";
inline constexpr char WEAK_PASSPHRASE[] = "weak_passphrase";
inline constexpr char VAULT_DAMAGED[] = "vault_damaged";
inline constexpr char VAULT_UNREADABLE[] = "vault_unreadable";
inline constexpr char PASSPHRASE_CHANGE_UNFINISHED[] = "passphrase_change_unfinished";
inline constexpr char PASSPHRASE_CHANGED[] = "passphrase_changed";
// Finer kinds of a damaged vault (VaultFailure::Damaged). file = the name of
// a file in the vault's directory ("vault.kdf").
inline constexpr char VAULT_FILE_MISSING[] = "vault_file_missing";
inline constexpr char VAULT_KEY_FILE_DAMAGED[] = "vault_key_file_damaged";
inline constexpr char VAULT_DATABASE_UNREADABLE[] = "vault_database_unreadable"; ///< the passphrase is right
/// Written by a newer Escucha: format = the vault's, known = the newest this one reads.
inline constexpr char VAULT_NEWER_FORMAT[] = "vault_newer_format";

// What Vault::Diagnose() finds. file = a stored file's id (its SHA-256, the
// first 12 hex digits), name = a file's name in the vault's directory.
inline constexpr char DATABASE_DAMAGED[] = "database_damaged";
inline constexpr char RECORDS_INCONSISTENT[] = "records_inconsistent";
inline constexpr char FILE_DAMAGED_SENT[] = "file_damaged_sent";           ///< headquarters holds a sound copy
inline constexpr char FILE_DAMAGED_SET_ASIDE[] = "file_damaged_set_aside"; ///< not sent: kept for recovery
inline constexpr char FILE_STATE_NOT_SAVED[] = "file_state_not_saved";
inline constexpr char UNEXPECTED_FILE[] = "unexpected_file";

// Records (storage/records.h, RecordError). Parameters: field = the field's
// name as the catalogue of record types spells it (a label is the UI's to find).
inline constexpr char INVALID_VALUE[] = "invalid_value"; ///< no finer code: `reason` holds English words
inline constexpr char UNKNOWN_TYPE[] = "unknown_type";
inline constexpr char NOT_AN_OBJECT[] = "not_an_object";
inline constexpr char NOT_TEXT[] = "not_text";
inline constexpr char TEXT_TOO_LONG[] = "text_too_long";
inline constexpr char NOT_UTF8[] = "not_utf8";
inline constexpr char CONTAINS_NUL[] = "contains_nul";
inline constexpr char NOT_A_NUMBER[] = "not_a_number";
inline constexpr char NUMBER_TOO_LARGE[] = "number_too_large";
inline constexpr char NOT_NEGATIVE[] = "not_negative";
inline constexpr char NOT_TRUE_FALSE[] = "not_true_false";
inline constexpr char UNKNOWN_CHOICE[] = "unknown_choice";
inline constexpr char NOT_A_DATE[] = "not_a_date";
inline constexpr char NOT_A_RECORD_ID[] = "not_a_record_id";
inline constexpr char NOT_A_LIST[] = "not_a_list";
inline constexpr char UNKNOWN_FIELD[] = "unknown_field";
inline constexpr char FIELD_REQUIRED[] = "field_required";
inline constexpr char FIELD_FIXED[] = "field_fixed";
inline constexpr char END_BEFORE_START[] = "end_before_start";
inline constexpr char REFERENCE_MISSING[] = "reference_missing";
inline constexpr char REFERENCE_WRONG_TYPE[] = "reference_wrong_type";
inline constexpr char REFERENCE_DELETED[] = "reference_deleted";
inline constexpr char REFERENCE_OTHER_PROJECT[] = "reference_other_project";
inline constexpr char RECORD_EXISTS[] = "record_exists";
inline constexpr char RECORD_NOT_FOUND[] = "record_not_found";
inline constexpr char RECORD_DELETED[] = "record_deleted";
inline constexpr char STILL_REFERENCED[] = "still_referenced";
inline constexpr char PROJECT_NOT_FOUND[] = "project_not_found";
inline constexpr char SAME_PROJECT[] = "same_project";
inline constexpr char NO_PROJECT_YET[] = "no_project_yet";
inline constexpr char PROJECT_UNNAMED[] = "project_unnamed";
inline constexpr char IMPORT_DUPLICATE_ID[] = "import_duplicate_id";
inline constexpr char IMPORT_TOMBSTONE[] = "import_tombstone";
inline constexpr char SEARCH_NO_WORDS[] = "search_no_words";
inline constexpr char REFUSED_CHANGE_NOT_FOUND[] = "refused_change_not_found";
inline constexpr char CONFLICT_NOT_FOUND[] = "conflict_not_found";

// The sync client (sync/sync_client.h). Parameters: server = the address
// enrolled with (or typed), host = its host name.
inline constexpr char NOT_ENROLLED[] = "not_enrolled";
inline constexpr char SERVER_MUST_BE_HTTPS[] = "server_must_be_https";
inline constexpr char BAD_SERVER_ADDRESS[] = "bad_server_address";
inline constexpr char NO_NETWORK[] = "no_network";
inline constexpr char CANNOT_RESOLVE_HOST[] = "cannot_resolve_host";
inline constexpr char CONNECTION_REFUSED[] = "connection_refused";
inline constexpr char CONNECTION_LOST[] = "connection_lost";
inline constexpr char TIMEOUT[] = "timeout";
inline constexpr char TLS_CERTIFICATE[] = "tls_certificate";
inline constexpr char TLS_FAILED[] = "tls_failed";
inline constexpr char TRANSFER_FAILED[] = "transfer_failed";
inline constexpr char CANCELLED[] = "cancelled";
inline constexpr char BAD_ANSWER[] = "bad_answer";
inline constexpr char SERVER_REFUSED[] = "server_refused"; ///< a 4xx whose code this version does not know
inline constexpr char SERVER_ERROR[] = "server_error";     ///< a 5xx whose code this version does not know
inline constexpr char CHANGES_REFUSED[] = "changes_refused";
inline constexpr char FILES_DAMAGED[] = "files_damaged";
inline constexpr char SYNC_STOPPED[] = "sync_stopped"; ///< a failure on this device (disk full, database error)
/// A record pulled from headquarters that this version could not store (kept
/// in the vault's meta as sync.skipped.<id>, with the record's own error).
inline constexpr char RECORD_SKIPPED[] = "record_skipped";
/// A file downloaded from headquarters whose bytes do not hash to its name:
/// nothing of it was kept.
inline constexpr char DOWNLOAD_DAMAGED[] = "download_damaged";

// Headquarters' answers ({"error", "code"}) and refusals of single changes.
inline constexpr char BAD_CODE[] = "bad_code";
inline constexpr char DEVICE_ENROLLED[] = "device_enrolled";
inline constexpr char TOO_MANY_ATTEMPTS[] = "too_many_attempts";
inline constexpr char NO_TOKEN[] = "no_token";
inline constexpr char UNKNOWN_TOKEN[] = "unknown_token";
inline constexpr char BAD_JSON[] = "bad_json";
inline constexpr char JSON_TOO_DEEP[] = "json_too_deep";
inline constexpr char JSON_TOO_LARGE[] = "json_too_large";
inline constexpr char BAD_REQUEST[] = "bad_request";
inline constexpr char BAD_HTTP[] = "bad_http";
inline constexpr char HEADERS_TOO_LARGE[] = "headers_too_large";
inline constexpr char LENGTH_REQUIRED[] = "length_required";
inline constexpr char METHOD_NOT_ALLOWED[] = "method_not_allowed";
inline constexpr char NO_SUCH_ENDPOINT[] = "no_such_endpoint";
inline constexpr char TOO_LARGE[] = "too_large";
inline constexpr char UNSUPPORTED_ENCODING[] = "unsupported_encoding";
inline constexpr char BAD_ENCODING[] = "bad_encoding";
inline constexpr char UNSUPPORTED_MEDIA_TYPE[] = "unsupported_media_type";
inline constexpr char BAD_BLOB_NAME[] = "bad_blob_name";
inline constexpr char NO_BLOB_STORE[] = "no_blob_store";
inline constexpr char BAD_DEVICE_ID[] = "bad_device_id";
inline constexpr char BAD_DEVICE_NAME[] = "bad_device_name";
inline constexpr char TOO_MANY_CHANGES[] = "too_many_changes";
inline constexpr char BAD_CHANGE[] = "bad_change";
inline constexpr char OTHER_PROJECT[] = "other_project";
inline constexpr char BAD_QUERY[] = "bad_query";
inline constexpr char WRONG_OFFSET[] = "wrong_offset";
inline constexpr char HASH_MISMATCH[] = "hash_mismatch";
inline constexpr char BLOB_TOO_LARGE[] = "blob_too_large";
inline constexpr char UPLOAD_IN_PROGRESS[] = "upload_in_progress";
inline constexpr char DISK_FULL[] = "disk_full";
inline constexpr char QUOTA_EXCEEDED[] = "quota_exceeded";
inline constexpr char BUSY[] = "busy";
inline constexpr char INTERNAL[] = "internal";
inline constexpr char CLOCK_AHEAD[] = "clock_ahead";
inline constexpr char NOT_ALLOWED[] = "not_allowed";
inline constexpr char COORDINATOR_ONLY[] = "coordinator_only";
inline constexpr char CREATOR_ONLY[] = "creator_only";
inline constexpr char DELETED_AT_HQ[] = "deleted_at_hq";
inline constexpr char CHANGE_ID_TAKEN[] = "change_id_taken";
/// No whole file of that name that a live record this device may read names
/// (one never sent, still being sent, erased, or not this device's to hear).
inline constexpr char NO_SUCH_BLOB[] = "no_such_blob";

// escucha-hq's own command line (admin commands, serving). option = "--role",
// listen = HOST:PORT as given, name = a project's id or name.
inline constexpr char OPTION_REQUIRED[] = "option_required";
inline constexpr char OPTION_NEEDS_VALUE[] = "option_needs_value";
inline constexpr char UNKNOWN_COMMAND[] = "unknown_command";
inline constexpr char COMMAND_USAGE[] = "command_usage"; ///< usage = the command's form
inline constexpr char CANNOT_CREATE_DIRECTORY[] = "cannot_create_directory";
inline constexpr char HQ_PROJECT_NOT_FOUND[] = "hq_project_not_found";
inline constexpr char HQ_PROJECT_EXISTS[] = "hq_project_exists";
inline constexpr char BAD_ROLE[] = "bad_role";
inline constexpr char BAD_EXPIRY[] = "bad_expiry";
inline constexpr char DEVICE_NOT_FOUND[] = "device_not_found";
inline constexpr char BAD_LISTEN_ADDRESS[] = "bad_listen_address";
inline constexpr char TLS_CERT_AND_KEY[] = "tls_cert_and_key";
inline constexpr char PLAIN_HTTP_LOOPBACK_ONLY[] = "plain_http_loopback_only";
inline constexpr char CANNOT_LISTEN[] = "cannot_listen";
inline constexpr char BAD_PROXY_ADDRESS[] = "bad_proxy_address"; ///< address = what --proxy-from was given
// Headquarters' data at rest (sync/hq_at_rest.h). path = the data directory or
// a key file, mode = a file's permissions in octal ("0644"), file = a file's
// name in the data directory, kind = the option or variable that gives the key.
inline constexpr char HQ_KEY_REQUIRED[] = "hq_key_required";
inline constexpr char HQ_TWO_KEYS[] = "hq_two_keys";
inline constexpr char HQ_NEW_KEY_REQUIRED[] = "hq_new_key_required";
inline constexpr char HQ_KEY_FILE_UNREADABLE[] = "hq_key_file_unreadable";
inline constexpr char HQ_KEY_FILE_NOT_PRIVATE[] = "hq_key_file_not_private";
inline constexpr char HQ_KEY_FILE_OWNER[] = "hq_key_file_owner";
inline constexpr char HQ_KEY_FILE_SIZE[] = "hq_key_file_size";
inline constexpr char HQ_KEY_FILE_EXISTS[] = "hq_key_file_exists";
inline constexpr char HQ_WRONG_KEY[] = "hq_wrong_key";
inline constexpr char HQ_KEY_KIND[] = "hq_key_kind";
inline constexpr char HQ_STORE_UNENCRYPTED[] = "hq_store_unencrypted";
inline constexpr char HQ_ALREADY_ENCRYPTED[] = "hq_already_encrypted";
inline constexpr char HQ_KEY_PARAMS_BROKEN[] = "hq_key_params_broken";
inline constexpr char HQ_STORE_UNREADABLE[] = "hq_store_unreadable";
inline constexpr char HQ_REKEY_UNFINISHED[] = "hq_rekey_unfinished";
inline constexpr char HQ_KEY_CHANGED[] = "hq_key_changed";
inline constexpr char HQ_DIRECTORY_IN_USE[] = "hq_directory_in_use";
inline constexpr char HQ_BACKUP_EXISTS[] = "hq_backup_exists";

// Recordings (capture/audio.h, AudioError). reason = a word for programs
// ("format", "decode", "empty", "too_long", "missing"), id = a recording's id,
// path = a file outside the vault.
inline constexpr char AUDIO_UNREADABLE[] = "audio_unreadable";
inline constexpr char AUDIO_WRITE_FAILED[] = "audio_write_failed";
inline constexpr char AUDIO_IMPORT_STOPPED[] = "audio_import_stopped";
inline constexpr char AUDIO_NOT_HERE[] = "audio_not_here";
inline constexpr char AUDIO_EXPORT_FAILED[] = "audio_export_failed";
// The sound card (the window app's recorder and player). kept = the length
// of what was recorded ("12:34"), reason = the device's own words, for logs.
inline constexpr char AUDIO_NO_INPUT[] = "audio_no_input";
inline constexpr char AUDIO_NO_OUTPUT[] = "audio_no_output";
inline constexpr char AUDIO_DEVICE_FAILED[] = "audio_device_failed";
inline constexpr char AUDIO_INPUT_LOST[] = "audio_input_lost";

// Profiles, sessions and prioritisation (interpret/profiles.h, sessions.h,
// priorities.h). id = a record's id, newer = the id of a later version,
// field = a field's name, value = what was given, min and max = the round's
// score range, given = dots placed, budget = dots per voter, count = how many
// challenges the round has.
inline constexpr char ALREADY_QUOTED[] = "already_quoted";
inline constexpr char NOT_PRESENTED[] = "not_presented";
inline constexpr char EMPTY_FEEDBACK[] = "empty_feedback";
inline constexpr char FEEDBACK_OTHER_PROFILE[] = "feedback_other_profile";
inline constexpr char ALREADY_REFINED[] = "already_refined";
inline constexpr char AT_LEAST_ONE[] = "at_least_one";
inline constexpr char NO_CHALLENGES[] = "no_challenges";
inline constexpr char BAD_SCORE_RANGE[] = "bad_score_range";
inline constexpr char BAD_VOTER_TOKEN[] = "bad_voter_token";
inline constexpr char UNKNOWN_VOTER[] = "unknown_voter";
inline constexpr char ROUND_CLOSED[] = "round_closed";
inline constexpr char CHALLENGE_NOT_IN_ROUND[] = "challenge_not_in_round";
inline constexpr char EMPTY_BALLOT[] = "empty_ballot";
inline constexpr char MARKED_TWICE[] = "marked_twice";
inline constexpr char DOTS_OVER_BUDGET[] = "dots_over_budget";
inline constexpr char SCORE_OUT_OF_RANGE[] = "score_out_of_range";
inline constexpr char RANKS_NOT_PERMUTATION[] = "ranks_not_permutation";

// The codebook and coding (interpret/codebook.h, interpret/coding.h). id = a
// record's id, parent = a code's id, field = a field's name, value = what was
// given; start, end and length count Unicode code points.
inline constexpr char BAD_COLOUR[] = "bad_colour";
inline constexpr char CODE_CYCLE[] = "code_cycle";
inline constexpr char CODE_RETIRED[] = "code_retired";
inline constexpr char SAME_CODE[] = "same_code";
inline constexpr char CODING_ONE_SOURCE[] = "coding_one_source";
inline constexpr char NOT_CODABLE[] = "not_codable";
inline constexpr char OUTSIDE_TEXT[] = "outside_text";
inline constexpr char NO_CODES[] = "no_codes";
// Importing REFI-QDA files (interpret/exchange.h). file = the file's name as
// given, entry = a name inside the archive (or the file's own name), line =
// a line of that entry, limit = a number of bytes or of entries, count = how
// many were found, root/element/attribute = XML names, value = what was given.
inline constexpr char QDA_NOT_ARCHIVE[] = "qda_not_archive";
inline constexpr char QDA_ARCHIVE_DAMAGED[] = "qda_archive_damaged";
inline constexpr char QDA_TOO_LARGE[] = "qda_too_large";
inline constexpr char QDA_BAD_ENTRY_NAME[] = "qda_bad_entry_name";
inline constexpr char QDA_NO_PROJECT[] = "qda_no_project";
inline constexpr char QDA_BAD_XML[] = "qda_bad_xml";
inline constexpr char QDA_DTD_REFUSED[] = "qda_dtd_refused";
inline constexpr char QDA_NOT_REFI[] = "qda_not_refi";
inline constexpr char QDA_BAD_ATTRIBUTE[] = "qda_bad_attribute";
inline constexpr char QDA_EMPTY_CODEBOOK[] = "qda_empty_codebook"; ///< exporting a codebook without codes
// Importing chat exports (capture/social_import.h). file = the file's name as
// given, entry = a name inside its zip, line = a line of the chat's text,
// limit = a number of bytes (or of messages, files or authors), author = an
// author as the export shows them (words for this device only), pseudonym =
// what was given, value = a time zone as given.
inline constexpr char SOCIAL_UNKNOWN_FORMAT[] = "social_unknown_format";
inline constexpr char SOCIAL_ARCHIVE_DAMAGED[] = "social_archive_damaged";
inline constexpr char SOCIAL_TOO_LARGE[] = "social_too_large";
inline constexpr char SOCIAL_NO_CHAT[] = "social_no_chat";
inline constexpr char SOCIAL_NOT_UTF8[] = "social_not_utf8";
inline constexpr char SOCIAL_BAD_LINE[] = "social_bad_line";
inline constexpr char SOCIAL_BAD_DATE[] = "social_bad_date";
inline constexpr char SOCIAL_NO_PSEUDONYM[] = "social_no_pseudonym";
inline constexpr char SOCIAL_PSEUDONYM_IS_NAME[] = "social_pseudonym_is_name";
inline constexpr char SOCIAL_PSEUDONYM_TWICE[] = "social_pseudonym_twice";
inline constexpr char SOCIAL_BAD_TIME_ZONE[] = "social_bad_time_zone";
} // namespace errc

// [SECTION] Catalogue

/// One code and the parameters it always carries.
struct ErrorCodeSpec {
    std::string_view code;
    std::string_view
        area; ///< "vault", "check", "record", "sync", "hq", "hq_admin", "audio", "interpret", "capture": where it arises
    std::vector<std::string_view> params;
};

/// Every code that may reach a person, in a fixed order.
[[nodiscard]] inline const std::vector<ErrorCodeSpec>& ErrorCodes() {
    using namespace errc;
    static const std::vector<ErrorCodeSpec> codes = {
        {VAULT_NOT_FOUND, "vault", {"path"}},
        {VAULT_EXISTS, "vault", {"path"}},
        {WRONG_PASSPHRASE, "vault", {"path"}},
        {WEAK_PASSPHRASE, "vault", {"min"}},
        {VAULT_DAMAGED, "vault", {"path"}},
        {VAULT_UNREADABLE, "vault", {"path"}},
        {PASSPHRASE_CHANGE_UNFINISHED, "vault", {"path"}},
        {PASSPHRASE_CHANGED, "vault", {"path"}},
        {VAULT_FILE_MISSING, "vault", {"path", "file"}},
        {VAULT_KEY_FILE_DAMAGED, "vault", {"path", "file"}},
        {VAULT_DATABASE_UNREADABLE, "vault", {"path"}},
        {VAULT_NEWER_FORMAT, "vault", {"path", "format", "known"}},

        {DATABASE_DAMAGED, "check", {}},
        {RECORDS_INCONSISTENT, "check", {}},
        {FILE_DAMAGED_SENT, "check", {"file"}},
        {FILE_DAMAGED_SET_ASIDE, "check", {"file"}},
        {FILE_STATE_NOT_SAVED, "check", {"file"}},
        {UNEXPECTED_FILE, "check", {"name"}},

        {INVALID_VALUE, "record", {"field", "reason"}},
        {UNKNOWN_TYPE, "record", {"type"}},
        {NOT_AN_OBJECT, "record", {}},
        {NOT_TEXT, "record", {"field"}},
        {TEXT_TOO_LONG, "record", {"field"}},
        {NOT_UTF8, "record", {"field"}},
        {CONTAINS_NUL, "record", {"field"}},
        {NOT_A_NUMBER, "record", {"field", "value"}},
        {NUMBER_TOO_LARGE, "record", {"field"}},
        {NOT_NEGATIVE, "record", {"field"}},
        {NOT_TRUE_FALSE, "record", {"field", "value"}},
        {UNKNOWN_CHOICE, "record", {"field", "value"}},
        {NOT_A_DATE, "record", {"field", "value"}},
        {NOT_A_RECORD_ID, "record", {"field", "value"}},
        {NOT_A_LIST, "record", {"field"}},
        {UNKNOWN_FIELD, "record", {"field", "type"}},
        {FIELD_REQUIRED, "record", {"field"}},
        {FIELD_FIXED, "record", {"field"}},
        {END_BEFORE_START, "record", {"field", "start"}},
        {REFERENCE_MISSING, "record", {"field", "id", "ref_type"}},
        {REFERENCE_WRONG_TYPE, "record", {"field", "id", "ref_type", "actual"}},
        {REFERENCE_DELETED, "record", {"field", "id", "ref_type"}},
        {REFERENCE_OTHER_PROJECT, "record", {"field", "id", "ref_type"}},
        {RECORD_EXISTS, "record", {"id"}},
        {RECORD_NOT_FOUND, "record", {"id"}},
        {RECORD_DELETED, "record", {"id"}},
        {STILL_REFERENCED, "record", {"id", "count"}},
        {PROJECT_NOT_FOUND, "record", {"id"}},
        {SAME_PROJECT, "record", {}},
        {NO_PROJECT_YET, "record", {"field"}},
        {PROJECT_UNNAMED, "record", {"field", "count"}},
        {IMPORT_DUPLICATE_ID, "record", {"id"}},
        {IMPORT_TOMBSTONE, "record", {}},
        {SEARCH_NO_WORDS, "record", {}},
        {REFUSED_CHANGE_NOT_FOUND, "record", {"seq"}},
        {CONFLICT_NOT_FOUND, "record", {"seq"}},

        {NOT_ENROLLED, "sync", {}},
        {SERVER_MUST_BE_HTTPS, "sync", {"server"}},
        {BAD_SERVER_ADDRESS, "sync", {"server"}},
        {NO_NETWORK, "sync", {"server"}},
        {CANNOT_RESOLVE_HOST, "sync", {"server", "host"}},
        {CONNECTION_REFUSED, "sync", {"server"}},
        {CONNECTION_LOST, "sync", {"server"}},
        {TIMEOUT, "sync", {"server"}},
        {TLS_CERTIFICATE, "sync", {"server"}},
        {TLS_FAILED, "sync", {"server"}},
        {TRANSFER_FAILED, "sync", {"server"}},
        {CANCELLED, "sync", {}},
        {BAD_ANSWER, "sync", {"server"}},
        {SERVER_REFUSED, "sync", {"server", "status"}},
        {SERVER_ERROR, "sync", {"server", "status"}},
        {CHANGES_REFUSED, "sync", {"count"}},
        {FILES_DAMAGED, "sync", {"count"}},
        {SYNC_STOPPED, "sync", {}},
        {RECORD_SKIPPED, "sync", {"id", "type"}},
        {DOWNLOAD_DAMAGED, "sync", {"server"}},

        {BAD_CODE, "hq", {}},
        {DEVICE_ENROLLED, "hq", {}},
        {TOO_MANY_ATTEMPTS, "hq", {}},
        {NO_TOKEN, "hq", {}},
        {UNKNOWN_TOKEN, "hq", {}},
        {BAD_JSON, "hq", {}},
        {JSON_TOO_DEEP, "hq", {}},
        {JSON_TOO_LARGE, "hq", {}},
        {BAD_REQUEST, "hq", {}},
        {BAD_HTTP, "hq", {}},
        {HEADERS_TOO_LARGE, "hq", {}},
        {LENGTH_REQUIRED, "hq", {}},
        {METHOD_NOT_ALLOWED, "hq", {}},
        {NO_SUCH_ENDPOINT, "hq", {}},
        {TOO_LARGE, "hq", {}},
        {UNSUPPORTED_ENCODING, "hq", {}},
        {BAD_ENCODING, "hq", {}},
        {UNSUPPORTED_MEDIA_TYPE, "hq", {}},
        {BAD_BLOB_NAME, "hq", {}},
        {NO_BLOB_STORE, "hq", {}},
        {BAD_DEVICE_ID, "hq", {}},
        {BAD_DEVICE_NAME, "hq", {}},
        {TOO_MANY_CHANGES, "hq", {"max"}},
        {BAD_CHANGE, "hq", {}},
        {OTHER_PROJECT, "hq", {}},
        {BAD_QUERY, "hq", {}},
        {WRONG_OFFSET, "hq", {}},
        {HASH_MISMATCH, "hq", {}},
        {BLOB_TOO_LARGE, "hq", {}},
        {UPLOAD_IN_PROGRESS, "hq", {}},
        {DISK_FULL, "hq", {}},
        {QUOTA_EXCEEDED, "hq", {}},
        {BUSY, "hq", {}},
        {INTERNAL, "hq", {}},
        {CLOCK_AHEAD, "hq", {"device_time", "hq_time"}},
        {NOT_ALLOWED, "hq", {}},
        {COORDINATOR_ONLY, "hq", {}},
        {CREATOR_ONLY, "hq", {"type"}},
        {DELETED_AT_HQ, "hq", {"type"}},
        {CHANGE_ID_TAKEN, "hq", {}},
        {NO_SUCH_BLOB, "hq", {}},

        {OPTION_REQUIRED, "hq_admin", {"option"}},
        {OPTION_NEEDS_VALUE, "hq_admin", {"option"}},
        {UNKNOWN_COMMAND, "hq_admin", {"command"}},
        {COMMAND_USAGE, "hq_admin", {"usage"}},
        {CANNOT_CREATE_DIRECTORY, "hq_admin", {"path"}},
        {HQ_PROJECT_NOT_FOUND, "hq_admin", {"name"}},
        {HQ_PROJECT_EXISTS, "hq_admin", {"name"}},
        {BAD_ROLE, "hq_admin", {}},
        {BAD_EXPIRY, "hq_admin", {}},
        {DEVICE_NOT_FOUND, "hq_admin", {"id"}},
        {BAD_LISTEN_ADDRESS, "hq_admin", {"listen"}},
        {TLS_CERT_AND_KEY, "hq_admin", {}},
        {PLAIN_HTTP_LOOPBACK_ONLY, "hq_admin", {"host"}},
        {CANNOT_LISTEN, "hq_admin", {"listen"}},
        {BAD_PROXY_ADDRESS, "hq_admin", {"address"}},
        {HQ_KEY_REQUIRED, "hq_admin", {}},
        {HQ_TWO_KEYS, "hq_admin", {}},
        {HQ_NEW_KEY_REQUIRED, "hq_admin", {}},
        {HQ_KEY_FILE_UNREADABLE, "hq_admin", {"path"}},
        {HQ_KEY_FILE_NOT_PRIVATE, "hq_admin", {"path", "mode"}},
        {HQ_KEY_FILE_OWNER, "hq_admin", {"path"}},
        {HQ_KEY_FILE_SIZE, "hq_admin", {"path"}},
        {HQ_KEY_FILE_EXISTS, "hq_admin", {"path"}},
        {HQ_WRONG_KEY, "hq_admin", {"path"}},
        {HQ_KEY_KIND, "hq_admin", {"path", "kind"}},
        {HQ_STORE_UNENCRYPTED, "hq_admin", {"path"}},
        {HQ_ALREADY_ENCRYPTED, "hq_admin", {"path"}},
        {HQ_KEY_PARAMS_BROKEN, "hq_admin", {"path", "file"}},
        {HQ_STORE_UNREADABLE, "hq_admin", {"path"}},
        {HQ_REKEY_UNFINISHED, "hq_admin", {"path"}},
        {HQ_KEY_CHANGED, "hq_admin", {"path"}},
        {HQ_DIRECTORY_IN_USE, "hq_admin", {"path"}},
        {HQ_BACKUP_EXISTS, "hq_admin", {"path"}},

        {AUDIO_UNREADABLE, "audio", {"reason"}},
        {AUDIO_WRITE_FAILED, "audio", {"reason"}},
        {AUDIO_IMPORT_STOPPED, "audio", {}},
        {AUDIO_NOT_HERE, "audio", {"id"}},
        {AUDIO_EXPORT_FAILED, "audio", {"path", "reason"}},
        {AUDIO_NO_INPUT, "audio", {}},
        {AUDIO_NO_OUTPUT, "audio", {}},
        {AUDIO_DEVICE_FAILED, "audio", {"reason"}},
        {AUDIO_INPUT_LOST, "audio", {"kept"}},

        {ALREADY_QUOTED, "interpret", {"id"}},
        {NOT_PRESENTED, "interpret", {"id"}},
        {EMPTY_FEEDBACK, "interpret", {"id"}},
        {FEEDBACK_OTHER_PROFILE, "interpret", {"id"}},
        {ALREADY_REFINED, "interpret", {"id", "newer"}},
        {AT_LEAST_ONE, "interpret", {"field"}},
        {NO_CHALLENGES, "interpret", {}},
        {BAD_SCORE_RANGE, "interpret", {"min", "max"}},
        {BAD_VOTER_TOKEN, "interpret", {}},
        {UNKNOWN_VOTER, "interpret", {}},
        {ROUND_CLOSED, "interpret", {}},
        {CHALLENGE_NOT_IN_ROUND, "interpret", {"id"}},
        {EMPTY_BALLOT, "interpret", {}},
        {MARKED_TWICE, "interpret", {"id"}},
        {DOTS_OVER_BUDGET, "interpret", {"given", "budget"}},
        {SCORE_OUT_OF_RANGE, "interpret", {"field", "value", "min", "max"}},
        {RANKS_NOT_PERMUTATION, "interpret", {"count"}},
        {BAD_COLOUR, "interpret", {"field", "value"}},
        {CODE_CYCLE, "interpret", {"id", "parent"}},
        {CODE_RETIRED, "interpret", {"id"}},
        {SAME_CODE, "interpret", {"id"}},
        {CODING_ONE_SOURCE, "interpret", {}},
        {NOT_CODABLE, "interpret", {"id", "type"}},
        {OUTSIDE_TEXT, "interpret", {"start", "end", "length"}},
        {NO_CODES, "interpret", {}},
        {QDA_NOT_ARCHIVE, "interpret", {"file"}},
        {QDA_ARCHIVE_DAMAGED, "interpret", {"file", "entry"}},
        {QDA_TOO_LARGE, "interpret", {"file", "entry", "limit"}},
        {QDA_BAD_ENTRY_NAME, "interpret", {"file", "entry"}},
        {QDA_NO_PROJECT, "interpret", {"file", "count"}},
        {QDA_BAD_XML, "interpret", {"file", "entry", "line"}},
        {QDA_DTD_REFUSED, "interpret", {"file", "entry"}},
        {QDA_NOT_REFI, "interpret", {"file", "entry", "root"}},
        {QDA_BAD_ATTRIBUTE, "interpret", {"file", "entry", "element", "attribute", "value"}},
        {QDA_EMPTY_CODEBOOK, "interpret", {}},
        {SOCIAL_UNKNOWN_FORMAT, "capture", {"file"}},
        {SOCIAL_ARCHIVE_DAMAGED, "capture", {"file", "entry"}},
        {SOCIAL_TOO_LARGE, "capture", {"file", "limit"}},
        {SOCIAL_NO_CHAT, "capture", {"file"}},
        {SOCIAL_NOT_UTF8, "capture", {"file", "line"}},
        {SOCIAL_BAD_LINE, "capture", {"file", "line"}},
        {SOCIAL_BAD_DATE, "capture", {"file", "line"}},
        {SOCIAL_NO_PSEUDONYM, "capture", {"author"}},
        {SOCIAL_PSEUDONYM_IS_NAME, "capture", {"pseudonym"}},
        {SOCIAL_PSEUDONYM_TWICE, "capture", {"pseudonym"}},
        {SOCIAL_BAD_TIME_ZONE, "capture", {"value"}},
    };
    return codes;
}

/// The catalogue's entry for `code`, or nullptr for a code this version does not know.
[[nodiscard]] inline const ErrorCodeSpec* FindErrorCode(std::string_view code) {
    for (const auto& spec : ErrorCodes())
        if (spec.code == code) return &spec;
    return nullptr;
}

// [SECTION] Values and words

/// An error as a value: what the interfaces word.
struct ErrorValue {
    std::string code;             ///< from the catalogue; empty: no error
    Json params = Json::object(); ///< the parameters the code carries
    std::string words;            ///< English, for logs and older callers
};

/// `words` with each "{name}" replaced by params[name] (text as it is,
/// numbers written out). A name params lacks is replaced by `missing`.
[[nodiscard]] inline std::string FillParams(std::string_view words, const Json& params,
                                            std::string_view missing = "…") {
    std::string out;
    out.reserve(words.size());
    for (size_t i = 0; i < words.size(); ++i) {
        const size_t close = words[i] == '{' ? words.find('}', i) : std::string_view::npos;
        if (close == std::string_view::npos) {
            out.push_back(words[i]);
            continue;
        }
        const std::string name(words.substr(i + 1, close - i - 1));
        if (params.is_object() && params.contains(name)) {
            const auto& v = params[name];
            out += v.is_string() ? v.get<std::string>() : v.dump();
        } else {
            out += missing;
        }
        i = close;
    }
    return out;
}

} // namespace escucha::storage
