#include "escucha/words/error_words.h"

#include "escucha/words/i18n.h"

#include <unordered_map>

namespace escucha::words {

const char* ErrorWordsTemplate(std::string_view code) {
    // Every code of the catalogue; tests/gui/test_error_words.cpp checks that
    // none is missing and that each language words each one.
    static const std::unordered_map<std::string_view, const char*> words = {
        {"vault_not_found", N_("There is no vault in {path} yet.")},
        {"vault_exists", N_("A vault already exists in {path}.")},
        {"wrong_passphrase", N_("Wrong passphrase: it does not open this vault.")},
        {"weak_passphrase", N_("The passphrase is too short: use at least {min} characters.")},
        {"vault_damaged", N_("The vault in {path} is damaged. Ask for help to recover it from a backup.")},
        {"vault_unreadable", N_("The vault in {path} cannot be read or written.")},
        {"passphrase_change_unfinished",
         N_("A passphrase change did not finish: the previous passphrase still opens the vault.")},
        {"passphrase_changed", N_("The vault was re-encrypted under a new passphrase: open it with the new one.")},
        {"vault_file_missing", N_("The vault in {path} is damaged: its file {file} is missing.")},
        {"vault_key_file_damaged",
         N_("The vault in {path} is damaged: its file {file} was edited or is damaged, so no passphrase can open it. "
            "Put back the {file} of a backup of this vault.")},
        {"vault_database_unreadable",
         N_("The passphrase is right, but the vault in {path} cannot be read: it is damaged.")},
        {"vault_newer_format",
         N_("The vault in {path} was written by a newer version of Escucha (its format {format}; this version "
            "reads up to {known}). Update Escucha to open it; nothing in it was changed.")},
        {"database_damaged", N_("The vault’s database is damaged.")},
        {"records_inconsistent", N_("Some of the vault’s records or indexes do not agree with each other.")},
        {"file_damaged_sent", N_("The file {file} is damaged; headquarters holds a sound copy.")},
        {"file_damaged_set_aside",
         N_("The file {file} is damaged and was not sent to headquarters; it is set aside and "
            "kept as it is for recovery.")},
        {"file_state_not_saved", N_("The state of the file {file} could not be saved; the next check tries again.")},
        {"unexpected_file", N_("A file that does not belong there is in the vault’s folder: {name}.")},
        {"invalid_value", N_("This value is not accepted (“{field}”): {reason}")},
        {"unknown_type", N_("There is no record type “{type}”.")},
        {"not_an_object", N_("The record is not in the expected form.")},
        {"not_text", N_("“{field}” must be text.")},
        {"text_too_long", N_("“{field}” is too long (more than 4 MiB).")},
        {"not_utf8", N_("“{field}” is not valid text (UTF-8).")},
        {"contains_nul", N_("“{field}” contains an invisible NUL character; remove it.")},
        {"not_a_number", N_("“{field}” must be a whole number, not “{value}”.")},
        {"number_too_large", N_("“{field}” is too large.")},
        {"not_negative", N_("“{field}” may not be negative.")},
        {"not_true_false", N_("“{field}” must be yes or no, not “{value}”.")},
        {"unknown_choice", N_("“{field}”: “{value}” is not one of the choices.")},
        {"not_a_date", N_("“{field}”: “{value}” is not a date; write it as YYYY-MM-DD, e.g. 2026-03-14.")},
        {"not_a_record_id", N_("“{field}”: “{value}” is not a record id.")},
        {"not_a_list", N_("“{field}” must be a list.")},
        {"unknown_field", N_("{type} has no field “{field}”.")},
        {"field_required", N_("Fill in “{field}”.")},
        {"field_fixed", N_("“{field}” cannot be changed.")},
        {"end_before_start", N_("“{field}” comes before {start}: check both dates.")},
        {"reference_missing", N_("“{field}”: the {ref_type} it names is not on this device.")},
        {"reference_wrong_type", N_("“{field}” names a record of the wrong kind.")},
        {"reference_deleted", N_("“{field}” names a {ref_type} that has been deleted.")},
        {"reference_other_project", N_("“{field}” names a {ref_type} of another project.")},
        {"record_exists", N_("This record exists already.")},
        {"record_not_found", N_("This record is not on this device.")},
        {"record_deleted", N_("This record has been deleted.")},
        {"still_referenced", N_("{count} record(s) still refer to this one; change or delete them first.")},
        {"project_not_found", N_("That project is not on this device.")},
        {"same_project", N_("The records are in that project already.")},
        {"no_project_yet", N_("There is no project on this device yet: add one first (add project name=NAME).")},
        {"project_unnamed", N_("This device has {count} projects: say which one, with project_id=ID or --project ID.")},
        {"import_duplicate_id", N_("The id {id} appears twice in this file.")},
        {"import_tombstone", N_("A deleted record cannot be imported.")},
        {"search_no_words", N_("Type words to search for.")},
        {"refused_change_not_found", N_("There is no refused change number {seq}.")},
        {"conflict_not_found", N_("There is no conflict number {seq}.")},
        {"not_enrolled", N_("This device is not enrolled with headquarters yet.")},
        {"server_must_be_https", N_("The server address must start with https://; plain http:// is allowed only for a "
                                    "server on this machine (localhost, 127.0.0.1 or [::1]).")},
        {"bad_server_address", N_("The server address {server} cannot be used; check it.")},
        {"no_network", N_("No connection to headquarters ({server}). Sync tries again when the network is back.")},
        {"cannot_resolve_host",
         N_("Headquarters ({host}) cannot be found: check the address, or the network connection.")},
        {"connection_refused", N_("Headquarters ({server}) refused the connection: is it running at that address?")},
        {"connection_lost", N_("The connection to headquarters was lost; sync tries again.")},
        {"timeout", N_("Headquarters did not answer in time; sync tries again.")},
        {"tls_certificate", N_("The certificate of headquarters ({server}) is not the one this device trusts. Ask the "
                               "project’s coordinator before going on.")},
        {"tls_failed", N_("A secure connection to headquarters could not be made.")},
        {"transfer_failed", N_("Sync with headquarters failed; it tries again.")},
        {"cancelled", N_("Cancelled.")},
        {"bad_answer", N_("The answer of headquarters was not understood; it may run another version.")},
        {"server_refused", N_("Headquarters refused the request (HTTP {status}).")},
        {"server_error", N_("Headquarters had a problem (HTTP {status}); sync tries again later.")},
        {"changes_refused", N_("Headquarters refused {count} change(s); they are kept on this device.")},
        {"files_damaged", N_("{count} damaged file(s) set aside and not sent; everything else was synced.")},
        {"sync_stopped", N_("Sync stopped because of a problem on this device.")},
        {"record_skipped", N_("This version could not store a {type} from headquarters ({id}); a newer version will.")},
        {"download_damaged", N_("The file received from headquarters ({server}) does not match its fingerprint; "
                                "nothing of it was kept. Try again.")},
        {"bad_code",
         N_("This enrolment code is unknown, expired or used already. Ask the project’s coordinator for a new one.")},
        {"device_enrolled", N_("This device is enrolled already under another code.")},
        {"too_many_attempts",
         N_("Too many wrong enrolment codes from this address; wait a few minutes and check the code.")},
        {"no_token", N_("Headquarters does not know this device; enrol it again.")},
        {"unknown_token", N_("Headquarters does not know this device any more; enrol it again with a new code.")},
        {"bad_json", N_("Headquarters could not read what this device sent.")},
        {"json_too_deep", N_("Headquarters could not read what this device sent.")},
        {"json_too_large", N_("What this device sent was too large for headquarters.")},
        {"bad_request", N_("Headquarters could not read what this device sent.")},
        {"bad_http", N_("Headquarters could not read what this device sent.")},
        {"headers_too_large", N_("Headquarters could not read what this device sent.")},
        {"length_required", N_("Headquarters could not read what this device sent.")},
        {"method_not_allowed", N_("Headquarters does not take this request; it may run another version.")},
        {"no_such_endpoint", N_("Headquarters does not take this request; check the address.")},
        {"too_large", N_("What this device sent was too large for headquarters.")},
        {"unsupported_encoding", N_("Headquarters could not read what this device sent.")},
        {"bad_encoding", N_("Headquarters could not read what this device sent.")},
        {"unsupported_media_type", N_("Headquarters could not read what this device sent.")},
        {"bad_blob_name", N_("Headquarters refused a file.")},
        {"no_blob_store", N_("This headquarters keeps no recordings or photos.")},
        {"bad_device_id", N_("Headquarters refused this device’s id.")},
        {"bad_device_name", N_("This device’s name is too long for headquarters.")},
        {"too_many_changes", N_("At most {max} changes may be sent at once.")},
        {"bad_change", N_("Headquarters refused a change that is not well formed.")},
        {"other_project", N_("This device may send changes only to its own project.")},
        {"bad_query", N_("Headquarters could not read what this device sent.")},
        {"wrong_offset", N_("Headquarters holds a different part of this file; the upload resumes from there.")},
        {"hash_mismatch", N_("A file arrived damaged at headquarters; it is sent again.")},
        {"blob_too_large", N_("The file is larger than headquarters accepts.")},
        {"upload_in_progress", N_("Another device is uploading this file; headquarters takes it from there.")},
        {"disk_full", N_("Headquarters is short of disk space; tell the project’s coordinator.")},
        {"quota_exceeded",
         N_("Headquarters holds as much as it may for this device or project; tell the project’s coordinator.")},
        {"busy", N_("Headquarters is busy; sync tries again shortly.")},
        {"internal", N_("Headquarters had a problem; sync tries again later.")},
        {"clock_ahead", N_("This device’s clock says {device_time}, more than a day ahead of headquarters ({hq_time}). "
                           "Set the date and time, then edit the record again.")},
        {"not_allowed", N_("This device may not change that record.")},
        {"coordinator_only", N_("Only a coordinator can change the project itself.")},
        {"creator_only", N_("Only the device that created this record can edit it.")},
        {"deleted_at_hq", N_("This record was deleted at headquarters; the change was not applied.")},
        {"change_id_taken", N_("Headquarters mixed this change up with another; send it again.")},
        {"no_such_blob", N_("Headquarters does not have this recording for this device: it was not sent yet, "
                            "was erased, or this device may not hear it.")},
        {"option_required", N_("{option} is required; see “escucha-hq --help”.")},
        {"option_needs_value", N_("{option} needs a value.")},
        {"unknown_command", N_("There is no command “{command}”; see “escucha-hq --help”.")},
        {"command_usage", N_("Usage: {usage}")},
        {"cannot_create_directory", N_("The folder {path} cannot be created.")},
        {"hq_project_not_found",
         N_("There is no project “{name}”; “escucha-hq --data DIR admin projects” lists them.")},
        {"hq_project_exists", N_("A project named “{name}” exists already.")},
        {"bad_role", N_("--role is researcher, interpreter or coordinator.")},
        {"bad_expiry", N_("--expires takes a number of days from 1 to 365.")},
        {"device_not_found", N_("There is no device {id}.")},
        {"bad_listen_address", N_("--listen takes HOST:PORT with a port number, not “{listen}”.")},
        {"tls_cert_and_key", N_("--tls-cert and --tls-key go together.")},
        {"plain_http_loopback_only", N_("Plain HTTP is only for this machine (127.0.0.1, localhost, ::1); give "
                                        "--tls-cert and --tls-key to listen on {host}.")},
        {"cannot_listen", N_("Cannot listen on {listen}: the port is in use, or the address is not this machine’s.")},
        {"bad_proxy_address", N_("--proxy-from takes the IP addresses of balancers, separated by commas, not "
                                 "“{address}”.")},
        {"hq_key_required",
         N_("escucha-hq needs its key: --key-file FILE (make one with “escucha-hq new-key FILE”) or a passphrase in "
            "the ESCUCHA_HQ_PASSPHRASE environment variable.")},
        {"hq_two_keys", N_("Give escucha-hq one key: --key-file or ESCUCHA_HQ_PASSPHRASE, not both.")},
        {"hq_new_key_required",
         N_("admin rekey needs the new key: --new-key-file FILE or a passphrase in the ESCUCHA_HQ_NEW_PASSPHRASE "
            "environment variable.")},
        {"hq_key_file_unreadable", N_("The key file {path} cannot be read, or it is not a file.")},
        {"hq_key_file_not_private",
         N_("The key file {path} may be read by others (mode {mode}); it was not used. Make it yours alone: "
            "chmod 600 {path}")},
        {"hq_key_file_owner",
         N_("The key file {path} belongs to another user; it was not used. It must belong to the user that runs "
            "escucha-hq.")},
        {"hq_key_file_size",
         N_("The key file {path} must hold from 32 bytes to 4 KiB; make one with “escucha-hq new-key FILE”.")},
        {"hq_key_file_exists", N_("{path} exists already: a key file is never overwritten.")},
        {"hq_wrong_key", N_("This key does not open the headquarters data in {path}; nothing was changed.")},
        {"hq_key_kind", N_("The headquarters data in {path} is locked with a different kind of key: give {kind}.")},
        {"hq_store_unencrypted",
         N_("The headquarters data in {path} was written by an earlier version and is not encrypted. Encrypt it "
            "first, with escucha-hq stopped: escucha-hq --data {path} --key-file FILE admin encrypt")},
        {"hq_already_encrypted", N_("The headquarters data in {path} is encrypted already.")},
        {"hq_key_params_broken",
         N_("The headquarters data in {path} is damaged: its file {file} is missing or was edited, so no key opens "
            "it. Put back the {file} of a backup of this folder.")},
        {"hq_store_unreadable",
         N_("The key is right, but the headquarters data in {path} cannot be read: it is damaged.")},
        {"hq_rekey_unfinished", N_("A change of key did not finish: the previous key still opens the data in {path}.")},
        {"hq_key_changed", N_("The headquarters data in {path} was re-encrypted under a new key: use the new one.")},
        {"hq_directory_in_use",
         N_("Another escucha-hq is using {path} already: only one may serve a data directory, and a change of key "
            "waits until it stops.")},
        {"hq_backup_exists",
         N_("{path} exists already: a backup goes into a new folder, so that no earlier backup is overwritten.")},
        {"audio_unreadable", N_("This file cannot be read as audio (WAV, Ogg, Opus, FLAC or MP3), or it is damaged.")},
        {"audio_write_failed",
         N_("The recording cannot be written: the device may be full. What was recorded so far is kept.")},
        {"audio_import_stopped", N_("The import was stopped; nothing of it was kept.")},
        {"audio_not_here", N_("The audio of this recording is not on this device.")},
        {"audio_export_failed",
         N_("The recording cannot be written to {path}: the file exists already, or the folder cannot be written to.")},
        {"audio_no_input", N_("No microphone was found. Plug one in, or allow Escucha to use it, and try again. "
                              "Nothing was recorded.")},
        {"audio_no_output", N_("No speaker or headphones were found to play the recording. The transcript can still "
                               "be read and written.")},
        {"audio_device_failed", N_("The sound device could not be used. Try again, or plug it in again.")},
        {"audio_input_lost", N_("The microphone stopped working, so the recording stopped. What it heard until then "
                                "is kept ({kept}).")},
        {"already_quoted", N_("That excerpt is already a quote of this profile.")},
        {"not_presented", N_("That profile was not presented in this session: add it to the profiles presented "
                             "first.")},
        {"empty_feedback", N_("The feedback on a profile is empty: answer at least one question.")},
        {"feedback_other_profile", N_("That feedback is about another profile.")},
        {"already_refined", N_("This version of the profile was refined already: refine the newest version.")},
        {"at_least_one", N_("“{field}” must be 1 or more.")},
        {"no_challenges", N_("A round prioritises at least one challenge or opportunity.")},
        {"bad_score_range", N_("The highest score ({max}) must be above the lowest ({min}).")},
        {"bad_voter_token", N_("A voter is named by an anonymous token such as V-7K3M9Q, never by a name.")},
        {"unknown_voter", N_("That voter token was not handed out for this round.")},
        {"round_closed", N_("The round is closed: no more votes are taken.")},
        {"challenge_not_in_round", N_("That challenge or opportunity is not prioritised in this round.")},
        {"empty_ballot", N_("The ballot is empty: mark at least one challenge or opportunity.")},
        {"marked_twice", N_("The same challenge or opportunity is marked twice in one ballot.")},
        {"dots_over_budget", N_("{given} dots were placed, but each voter has {budget}.")},
        {"score_out_of_range", N_("“{field}” is {value}: scores go from {min} to {max}.")},
        {"ranks_not_permutation", N_("A ranking places each of the {count} challenges once, from 1 to {count}.")},
        {"bad_colour", N_("“{field}” must be a colour written #RRGGBB (for example #1F77B4), not “{value}”.")},
        {"code_cycle", N_("A code cannot go under itself or under one of the codes below it.")},
        {"code_retired", N_("That code is retired: choose another one to code new passages.")},
        {"same_code", N_("A code cannot be merged into itself: choose another code.")},
        {"coding_one_source", N_("A coding names exactly one source: a narrative, transcript segment, field note or "
                                 "social-media item.")},
        {"not_codable", N_("That record has no text to code.")},
        {"outside_text", N_("The passage from {start} to {end} lies outside the text, which has {length} "
                            "characters.")},
        {"no_codes", N_("Choose at least one code for the passage.")},
        {"qda_not_archive", N_("{file} is neither a REFI-QDA project (.qdpx) nor a codebook (.qdc).")},
        {"qda_archive_damaged", N_("{file} is damaged: its part {entry} cannot be read.")},
        {"qda_too_large", N_("{file} is refused: {entry} goes beyond the limit of {limit}.")},
        {"qda_bad_entry_name", N_("{file} is refused: it holds a file named “{entry}”, which points outside the "
                                  "archive.")},
        {"qda_no_project", N_("{file} is refused: a REFI-QDA project holds one .qde file at its top, and this one "
                              "holds {count}.")},
        {"qda_bad_xml", N_("{file} is damaged: {entry} is not well-formed XML (line {line}).")},
        {"qda_dtd_refused", N_("{file} is refused: {entry} declares a DTD or entities, which REFI-QDA files do not "
                               "need.")},
        {"qda_not_refi", N_("{file} is not REFI-QDA: {entry} holds “{root}” where a Project or a CodeBook was "
                            "expected.")},
        {"qda_bad_attribute", N_("{file} is refused: in {entry}, {element} has {attribute}=“{value}”, which is not "
                                 "valid.")},
        {"qda_empty_codebook", N_("The project has no codes yet: there is no codebook to export.")},
        {"social_unknown_format", N_("{file} is not a chat export this program reads (a WhatsApp chat as .txt or "
                                     ".zip).")},
        {"social_archive_damaged", N_("{file} is damaged or cut short: {entry} cannot be read.")},
        {"social_too_large", N_("{file} is refused: it goes beyond the limit of {limit}.")},
        {"social_no_chat", N_("{file} holds no chat: a WhatsApp export has a .txt file inside.")},
        {"social_not_utf8", N_("{file} is refused: line {line} is not UTF-8 text.")},
        {"social_bad_line", N_("{file} is refused: line {line} should start a message (a date, a time and an "
                               "author) and does not.")},
        {"social_bad_date", N_("{file} is refused: the date or time on line {line} cannot be.")},
        {"social_no_pseudonym", N_("Choose a pseudonym for “{author}”, or have pseudonyms generated.")},
        {"social_pseudonym_is_name", N_("The pseudonym “{pseudonym}” gives away a real name or a phone number of the "
                                        "chat: choose another.")},
        {"social_pseudonym_twice", N_("The pseudonym “{pseudonym}” is someone else’s already: choose another.")},
        {"social_bad_time_zone", N_("“{value}” is not a time zone offset such as -05:00.")},
    };
    const auto it = words.find(code);
    return it == words.end() ? nullptr : it->second;
}

std::string WordError(std::string_view code, const Json& params, const ParamNames& names) {
    Json shown = params.is_object() ? params : Json::object();
    const auto rename = [&](std::initializer_list<const char*> keys, const auto& name) {
        if (!name) return;
        for (const char* key : keys)
            if (shown.contains(key) && shown[key].is_string()) shown[key] = name(shown[key].get<std::string>());
    };
    rename({"field", "start"}, names.field);
    rename({"type", "ref_type", "actual"}, names.type);
    const char* words = ErrorWordsTemplate(code);
    if (!words) {
        shown["code"] = std::string(code);
        words = N_("Something went wrong ({code}).");
    }
    return storage::FillParams(Tr(words), shown);
}

} // namespace escucha::words
