// [SECTION] Arguments and help
// [SECTION] Opening the vault
// [SECTION] Record commands
// [SECTION] Vault commands
// [SECTION] Guided first run
// [SECTION] Dispatch and errors
#include "commands.h"

#include "error_words.h"

#include "terminal.h"

#include "escucha/words/i18n.h"
#include "escucha/words/labels.h"

#include "escucha/capture/audio.h"
#include "escucha/capture/listening_records.h"
#include "escucha/capture/operations.h"
#include "escucha/capture/social_import.h"
#include "escucha/interpret/coding.h"
#include "escucha/interpret/exchange.h"
#include "escucha/interpret/interpretation_records.h"
#include "escucha/interpret/report.h"
#include "escucha/storage/blobs.h"
#include "escucha/storage/fsutil.h"
#include "escucha/storage/json.h"
#include "escucha/storage/vault.h"
#include "escucha/sync/sync_client.h"

#include <csignal>

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace escucha::cli {

namespace fs = std::filesystem;
using storage::Json;
using storage::RecordError;
using storage::Vault;

namespace {

// [SECTION] Arguments and help

constexpr char HELP[] = R"(escucha-cli: the Escucha vault from the command line

Usage: escucha-cli [--vault DIR] COMMAND [ARGUMENTS]

The vault directory is --vault DIR, else $ESCUCHA_VAULT, else
~/.local/share/escucha/vault. The passphrase is read from the terminal
without echo, or from $ESCUCHA_PASSPHRASE for scripts.

Commands:
  init [--author NAME]          create a vault (asks for a new passphrase)
  add TYPE FIELD=VALUE...       add a record; VALUE @FILE reads a file, @- reads
                                standard input; lists are a,b,c or a JSON array
  edit ID FIELD=VALUE...        change fields (FIELD= with nothing removes it)
  delete ID [--force]           delete a record (its content is erased)
  list TYPE [--project ID] [--json]
  show ID                       print one record as JSON
  import FILE.json              store a JSON array of records, all or nothing; the same
                                records imported again store nothing new
  search QUERY [--limit N] [--json]
                                find records by their words, accents and case ignored;
                                every word must match whole, word* matches its prefix
  add participant FIELD=VALUE... --full-name NAME [--contact TEXT]
                                a participant with their identity link (kept on this device)
  withdraw-consent PARTICIPANT_ID [--date YYYY-MM-DD]
                                the participant withdraws consent: what they gave is erased here,
                                and at headquarters and on other devices at their next sync;
                                profiles that drew on it are flagged for review
  export --format json --out PATH [--project ID] [--with-identities]
  export --format qdpx|qdc|csv --project ID --out PATH
                                a REFI-QDA project for QualCoder, NVivo, ATLAS.ti or MAXQDA
                                (qdpx), the codebook alone (qdc), or every excerpt in a table
                                (csv); words whose participants did not consent to being quoted
                                verbatim are left out (qdpx) or withheld (csv), and it says so
  export --format html --out PATH (--profile ID | --session ID | --round ID | --project ID [--group FIELD])
                                a printable report of a profile (quotes withheld without consent),
                                a session, a prioritisation round, or the codes by participant group
                                (gender, age_band, territory, vulnerability_groups); in $LANG or --language
  import-qda --project ID FILE  a codebook and codings from another tool (.qdpx, .qdc): codes
                                are reused when present, codings land on the project's sources
                                with the same text; what cannot be placed is listed, all or nothing
  import-social --project ID FILE [--pseudonym "NAME=PSEUDONYM"]... [--generate-pseudonyms]
                [--time-zone -05:00] [--thread NAME]
                                a WhatsApp chat export (.txt, or .zip read in memory) as social-media
                                items: each author becomes a participant under the pseudonym given
                                ("NAME=-" leaves them out) or one generated, their name only in the
                                identity link; numbers and @handles in the text are masked; only
                                new messages are added; without choices it lists the authors
  passwd                        change the passphrase ($ESCUCHA_NEW_PASSPHRASE for scripts)
  check                         verify every page and every record of the vault
  reindex                       rebuild the full-text index from the records
  status                        records, pending changes for sync
  types [--markdown]            the record types and their fields
  recovery-key                  print the raw key for the sqlcipher shell (docs/recovery.md)
  enrol --server URL --code CODE [--ca-cert HQ.pem] [--adopt | --keep-local]
                                join a headquarters server once; --ca-cert pins its certificate;
                                work recorded before is moved into the project (--adopt) or kept
                                on this device (--keep-local); asked when run in a terminal
  sync [--watch] [--interval SECONDS]
                                send what is waiting and receive what changed; --watch keeps
                                syncing, and resumes as soon as the server is reachable again
  outbox [--retry SEQ | --discard SEQ]
                                changes waiting for headquarters, and those it refused (with why);
                                send a refused change again, or give it up
  adopt [--from PROJECT_ID]     after enrolment: move work recorded before it into the enrolled project
  import-audio (--interview ID | --consent ID) [--title TEXT] [--participant ID] FILE
                                a recording made elsewhere (WAV, Ogg, Opus, FLAC, MP3), kept
                                encrypted as Opus; --participant: whose voice (it goes if they
                                withdraw consent)
  export-audio RECORDING_ID FILE
                                a decrypted copy of a recording (Ogg Opus): it leaves the vault
  recover-audio                 recordings cut short (the app was killed mid-recording), made
                                playable up to their last second
  fetch-audio RECORDING_ID      download a recording's audio from headquarters into the vault
                                (encrypted, checked against its fingerprint); a cut download
                                resumes where it stopped
  attach FILE                   keep a file (a recording, a photo) encrypted in the vault
  blobs                         the files kept in the vault, and whether HQ has them
  conflicts                     fields edited at the same time elsewhere: both versions
  guide                         a guided first run (the default in a terminal)
  help                          this text

Record types: project, participant, identity_link, consent, interview,
transcript_segment, field_note, social_media_item, narrative, profile.

Exit codes: 0 done, 1 wrong command line, 2 invalid input, 3 wrong or missing
passphrase, 4 vault damaged, 5 no vault (or one exists already), 6 other failure.
)";

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The command line after the global options: positional words and --options.
struct Args {
    std::vector<std::string> words;
    std::map<std::string, std::string> options;
    std::vector<std::string> flags;
    std::vector<std::pair<std::string, std::string>> all_options; ///< every value option, repeated ones too

    [[nodiscard]] bool Flag(const std::string& name) const {
        return std::find(flags.begin(), flags.end(), name) != flags.end();
    }
    [[nodiscard]] std::optional<std::string> Option(const std::string& name) const {
        const auto it = options.find(name);
        if (it == options.end()) return std::nullopt;
        return it->second;
    }
};

/// Options that take a value; every other --word is a flag.
const std::vector<std::string> VALUE_OPTIONS = {
    "--vault", "--author",  "--project",  "--limit",       "--format",    "--out",     "--server",
    "--code",  "--ca-cert", "--interval", "--max-backoff", "--full-name", "--contact", "--date",
    "--from",  "--retry",   "--discard",  "--interview",   "--consent",   "--title",   "--participant",
    "--profile", "--session", "--round", "--group", "--language", "--pseudonym", "--time-zone", "--thread"};

Args Parse(const std::vector<std::string>& raw) {
    Args args;
    for (size_t i = 0; i < raw.size(); ++i) {
        const auto& a = raw[i];
        if (a.size() > 2 && a.rfind("--", 0) == 0) {
            const auto eq = a.find('=');
            const std::string name = a.substr(0, eq);
            if (std::find(VALUE_OPTIONS.begin(), VALUE_OPTIONS.end(), name) != VALUE_OPTIONS.end()) {
                if (eq != std::string::npos) {
                    args.options[name] = a.substr(eq + 1);
                    args.all_options.emplace_back(name, args.options[name]);
                } else if (i + 1 < raw.size()) {
                    args.options[name] = raw[++i];
                    args.all_options.emplace_back(name, args.options[name]);
                } else {
                    throw UsageError(name + " needs a value");
                }
            } else {
                args.flags.push_back(a);
            }
        } else {
            args.words.push_back(a);
        }
    }
    return args;
}

void ExpectWords(const Args& args, size_t count, const char* usage) {
    if (args.words.size() != count) throw UsageError(std::string("usage: escucha-cli ") + usage);
}

fs::path VaultDir(const Args& args) {
    if (auto dir = args.Option("--vault")) return *dir;
    if (const char* env = std::getenv("ESCUCHA_VAULT"); env && *env) return env;
    if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".local/share/escucha/vault";
    throw UsageError("no vault directory: give --vault DIR");
}

const storage::Catalogue& Types() { return interpret::AllRecordTypes(); }

std::string ReadAll(std::istream& in) {
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::string ReadFileOrStdin(const std::string& path) {
    if (path == "-") return ReadAll(std::cin);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError("cannot read " + path + ": " + std::strerror(errno));
    return ReadAll(in);
}

Json ParseJsonText(const std::string& text, const std::string& what) {
    try {
        return storage::ParseUntrustedJson<Json>(text);
    } catch (const storage::JsonTooDeep& e) {
        throw RecordError(std::nullopt, "", "", what + " cannot be read: " + e.what());
    } catch (const Json::parse_error& e) {
        std::string message = e.what();
        const auto pos = message.find("] ");
        if (pos != std::string::npos) message = message.substr(pos + 2);
        throw RecordError(std::nullopt, "", "", what + " is not valid JSON: " + message);
    }
}

// [SECTION] Opening the vault

storage::Passphrase AskPassphrase() {
    auto passphrase = ReadPassphrase("ESCUCHA_PASSPHRASE", "Passphrase: ");
    if (!passphrase)
        throw storage::VaultError(storage::VaultFailure::WrongPassphrase,
                                  "no passphrase given: set ESCUCHA_PASSPHRASE or run in a terminal");
    return std::move(*passphrase);
}

storage::Passphrase AskNewPassphrase(const char* env_name) {
    if (const char* value = std::getenv(env_name); value && *value) return storage::Passphrase(value);
    auto first = ReadPassphrase("ESCUCHA_UNUSED_NEVER_SET", "New passphrase (8 characters or more): ");
    if (!first)
        throw storage::VaultError(storage::VaultFailure::WeakPassphrase,
                                  std::string("no passphrase given: set ") + env_name + " or run in a terminal");
    auto second = ReadPassphrase("ESCUCHA_UNUSED_NEVER_SET", "Once more: ");
    if (!second || !(*first == *second)) throw UsageError("the two passphrases differ; nothing was changed");
    return std::move(*first);
}

Vault OpenVault(const Args& args) { return Vault::Open(VaultDir(args), AskPassphrase(), Types()); }

/// Who this device writes as, when --author is not given: the login name.
std::string DefaultAuthor() {
    for (const char* var : {"USER", "LOGNAME"})
        if (const char* v = std::getenv(var); v && *v) return v;
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) return pw->pw_name;
    return "unknown";
}

// [SECTION] Record commands

/// Turns FIELD=VALUE words into a JSON object, by the field's kind.
Json FieldsFromWords(const storage::RecordType& type, const std::vector<std::string>& words, size_t first) {
    Json fields = Json::object();
    for (size_t i = first; i < words.size(); ++i) {
        const auto& word = words[i];
        const auto eq = word.find('=');
        if (eq == std::string::npos || eq == 0)
            throw UsageError("'" + word + "' is not FIELD=VALUE (fields of " + type.name + ": " + [&] {
                std::string s;
                for (const auto& f : type.fields) s += (s.empty() ? "" : ", ") + f.name;
                return s;
            }() + ")");
        const std::string name = word.substr(0, eq);
        std::string value = word.substr(eq + 1);
        if (value.rfind("@@", 0) == 0) value = value.substr(1);
        else if (!value.empty() && value[0] == '@') value = ReadFileOrStdin(value.substr(1));
        if (!storage::IsValidUtf8(value)) throw RecordError(name, "is not valid UTF-8 text");
        if (value.empty()) {
            fields[name] = nullptr;
            continue;
        }
        const auto* spec = type.Field(name);
        if (!spec) {
            fields[name] = value; // the store names the unknown field in its error
            continue;
        }
        switch (spec->kind) {
        case storage::FieldKind::Integer:
            try {
                size_t used = 0;
                const long long n = std::stoll(value, &used);
                if (used != value.size()) throw std::invalid_argument("trailing");
                fields[name] = n;
            } catch (const std::exception&) {
                throw RecordError(name, "'" + value + "' is not a whole number");
            }
            break;
        case storage::FieldKind::Boolean:
            if (value == "true" || value == "yes" || value == "1") fields[name] = true;
            else if (value == "false" || value == "no" || value == "0") fields[name] = false;
            else throw RecordError(name, "'" + value + "' is not true or false");
            break;
        case storage::FieldKind::ChoiceList:
        case storage::FieldKind::ReferenceList:
        case storage::FieldKind::TextList:
            if (value[0] == '[') {
                fields[name] = ParseJsonText(value, "the value of " + name);
            } else {
                Json list = Json::array();
                std::stringstream ss(value);
                std::string item;
                while (std::getline(ss, item, ',')) {
                    const auto b = item.find_first_not_of(' ');
                    const auto e = item.find_last_not_of(' ');
                    if (b != std::string::npos) list.push_back(item.substr(b, e - b + 1));
                }
                fields[name] = list;
            }
            break;
        default: fields[name] = value;
        }
    }
    return fields;
}

/// The project to file a new record under when none is named: the only one.
std::string DefaultProject(Vault& vault, const Args& args) {
    if (auto p = args.Option("--project")) return *p;
    const auto projects = vault.Records().List("project");
    if (projects.size() == 1) return projects[0]["id"];
    if (projects.empty())
        throw RecordError("project_id", "there is no project yet: add one with 'add project name=...'",
                          storage::errc::NO_PROJECT_YET, {{"field", "project_id"}});
    throw RecordError("project_id",
                      "there are " + std::to_string(projects.size()) + " projects: give project_id=ID or --project ID",
                      storage::errc::PROJECT_UNNAMED, {{"field", "project_id"}, {"count", projects.size()}});
}

std::string Title(const Json& record) {
    const auto& type = Types().Get(record["type"]);
    if (!type.title_field.empty() && record.contains(type.title_field)) return record[type.title_field];
    for (const auto& f : type.fields) {
        if ((f.kind == storage::FieldKind::Text || f.kind == storage::FieldKind::LongText) && record.contains(f.name)) {
            std::string text = record[f.name];
            for (auto& c : text)
                if (c == '\n') c = ' ';
            if (text.size() > 70) {
                size_t cut = 70;
                while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
                text = text.substr(0, cut) + "…";
            }
            return text;
        }
    }
    return "";
}

int CmdAdd(const Args& args) {
    if (args.words.size() < 2) throw UsageError("usage: escucha-cli add TYPE FIELD=VALUE...");
    const auto& type = Types().Get(args.words[1]);
    Json fields = FieldsFromWords(type, args.words, 2);
    auto vault = OpenVault(args);
    if (type.project_scoped && !fields.contains("project_id")) fields["project_id"] = DefaultProject(vault, args);
    const auto full_name = args.Option("--full-name");
    const auto contact = args.Option("--contact");
    if (full_name || contact) {
        if (type.role != storage::RecordRole::Person)
            throw UsageError("--full-name and --contact go with 'add participant'");
        if (!full_name) throw UsageError("--contact needs --full-name");
        Json identity = {{"full_name", *full_name}};
        if (contact) identity["contact"] = *contact;
        const std::string project = fields["project_id"];
        const auto made = capture::CreateParticipant(vault.Records(), project, fields, identity);
        std::cout << made.participant["id"].get<std::string>() << "\n";
        std::cerr << "participant " << made.participant.value("code", "") << "; the real name stays on this device\n";
        return EXIT_OK;
    }
    const auto record = vault.Records().Create(type.name, fields);
    std::cout << record["id"].get<std::string>() << "\n";
    return EXIT_OK;
}

int CmdWithdrawConsent(const Args& args) {
    ExpectWords(args, 2, "withdraw-consent PARTICIPANT_ID [--date YYYY-MM-DD]");
    auto vault = OpenVault(args);
    const auto date = args.Option("--date").value_or(storage::FormatIsoMillis(storage::SystemMillis()).substr(0, 10));
    const auto w = capture::WithdrawConsent(vault.Records(), args.words[1], date);
    int64_t erased = 0;
    for (const auto& [type, n] : w.erased) erased += n;
    std::cout << "consent withdrawn for " << w.participant_id << " on " << date << "\n";
    std::cout << "erased " << erased << " record(s)";
    for (const auto& [type, n] : w.erased)
        std::cout << (type == w.erased.begin()->first ? ": " : ", ") << n << " " << type;
    std::cout << "\nflagged for review: " << w.flagged.size() << " record(s)\n";
    if (w.consent_ids.empty()) std::cerr << "note: no consent record was found for this participant\n";
    std::cerr << "note: headquarters and other devices erase the same at their next sync\n";
    return EXIT_OK;
}

int CmdAdopt(const Args& args) {
    ExpectWords(args, 1, "adopt [--from PROJECT_ID]");
    auto vault = OpenVault(args);
    const auto state = sync::ReadSyncState(vault);
    if (!state.enrolled) throw UsageError("adopt moves work into the project this device is enrolled in; enrol first");
    const auto locals = capture::LocalProjects(vault.Records(), state.project_id);
    const auto from = args.Option("--from");
    if (!from) {
        if (locals.empty()) std::cout << "no work outside '" << state.project_name << "' on this device\n";
        for (const auto& l : locals) {
            int64_t n = 0;
            for (const auto& [t, c] : l.records) n += c;
            std::cout << l.project_id << "  '" << l.name << "'  " << n << " record(s)\n";
        }
        if (!locals.empty()) std::cerr << "move one with: escucha-cli adopt --from PROJECT_ID\n";
        return EXIT_OK;
    }
    const auto moved = capture::AdoptLocalProject(vault.Records(), *from, state.project_id);
    int64_t n = 0;
    for (const auto& [t, c] : moved) n += c;
    std::cout << "moved " << n << " record(s) into '" << state.project_name << "'";
    for (const auto& [t, c] : moved) std::cout << (t == moved.begin()->first ? ": " : ", ") << c << " " << t;
    std::cout << "\nthey are sent at the next sync\n";
    return EXIT_OK;
}

int CmdEdit(const Args& args) {
    if (args.words.size() < 3) throw UsageError("usage: escucha-cli edit ID FIELD=VALUE...");
    auto vault = OpenVault(args);
    const auto type_name = vault.Records().TypeOf(args.words[1]);
    if (!type_name)
        throw RecordError("id", "no record with id " + args.words[1] + " in this vault",
                          storage::errc::RECORD_NOT_FOUND, {{"id", args.words[1]}});
    auto& store = vault.Records();
    Json record;
    interpret::FollowedEdit followed;
    store.Atomically([&] {
        record = store.Update(args.words[1], FieldsFromWords(Types().Get(*type_name), args.words, 2));
        // The codings of a text that changed follow the edit, or are flagged.
        if (interpret::CodableField(Types().Get(*type_name))) followed = interpret::FollowEdit(store, args.words[1]);
    });
    std::cout << record["id"].get<std::string>() << " rev " << record["rev"].get<int64_t>() << "\n";
    if (!followed.moved.empty() || !followed.flagged.empty())
        std::cerr << "codings of this text: " << followed.moved.size() << " moved with the edit, "
                  << followed.flagged.size() << " flagged for review\n";
    return EXIT_OK;
}

int CmdDelete(const Args& args) {
    ExpectWords(args, 2, "delete ID [--force]");
    auto vault = OpenVault(args);
    vault.Records().Delete(args.words[1], args.Flag("--force"));
    std::cout << "deleted " << args.words[1] << "\n";
    return EXIT_OK;
}

int CmdList(const Args& args) {
    ExpectWords(args, 2, "list TYPE [--project ID] [--json]");
    const auto& type = Types().Get(args.words[1]);
    auto vault = OpenVault(args);
    storage::ListOptions options;
    options.project_id = args.Option("--project");
    const auto records = vault.Records().List(type.name, options);
    if (args.Flag("--json")) {
        Json out = Json::array();
        for (const auto& r : records) out.push_back(r);
        std::cout << out.dump(2) << "\n";
        return EXIT_OK;
    }
    for (const auto& r : records) std::cout << r["id"].get<std::string>() << "  " << Title(r) << "\n";
    std::cerr << records.size() << " " << type.name << (records.size() == 1 ? "" : " records") << "\n";
    return EXIT_OK;
}

int CmdShow(const Args& args) {
    ExpectWords(args, 2, "show ID");
    auto vault = OpenVault(args);
    const auto record = vault.Records().Get(args.words[1]);
    if (!record)
        throw RecordError("id", "no record with id " + args.words[1] + " in this vault",
                          storage::errc::RECORD_NOT_FOUND, {{"id", args.words[1]}});
    std::cout << record->dump(2) << "\n";
    return EXIT_OK;
}

int CmdImport(const Args& args) {
    ExpectWords(args, 2, "import FILE.json");
    const auto& path = args.words[1];
    Json input = ParseJsonText(ReadFileOrStdin(path), path);
    // An export file holds its records under "records"; a plain file is the array.
    if (input.is_object() && input.contains("records")) input = input["records"];
    auto vault = OpenVault(args);
    // Once per content: running the same import again (after a crash, or not
    // sure it ran) must not store records without ids a second time.
    // A long import shows how far it is on a terminal: it is one
    // transaction, so nothing else says it is still going.
    const bool bar = isatty(STDERR_FILENO) && input.is_array() && input.size() >= 1000;
    int shown = -1;
    const auto outcome = vault.Records().ImportOnce(input, [&](size_t done, size_t total) {
        const int percent = total > 0 ? static_cast<int>(done * 100 / total) : 100;
        if (!bar || percent == shown) return;
        shown = percent;
        std::cerr << "\rimporting " << percent << "% (" << done << " of " << total << " records)" << std::flush;
    });
    if (shown >= 0) std::cerr << "\n";
    if (outcome.already_imported) {
        std::cout << "already imported: nothing new stored (" << path << " was imported on " << outcome.imported_at
                  << ", " << outcome.count << " record" << (outcome.count == 1 ? "" : "s") << ")\n";
        return EXIT_OK;
    }
    std::cout << "imported " << outcome.ids.size() << " record" << (outcome.ids.size() == 1 ? "" : "s") << "\n";
    return EXIT_OK;
}

int CmdSearch(const Args& args) {
    ExpectWords(args, 2, "search QUERY [--limit N] [--json]");
    int limit = 20;
    if (auto l = args.Option("--limit")) {
        try {
            limit = std::stoi(*l);
        } catch (const std::exception&) {
            throw UsageError("--limit takes a number");
        }
        if (limit < 1) throw UsageError("--limit takes a number of 1 or more");
    }
    auto vault = OpenVault(args);
    const bool terminal = ::isatty(STDOUT_FILENO) == 1;
    const auto hits = args.Flag("--json") || !terminal
                          ? vault.Records().Search(args.words[1], limit)
                          : vault.Records().Search(args.words[1], limit, "\x1b[1;4m", "\x1b[0m");
    if (args.Flag("--json")) {
        Json out = Json::array();
        for (const auto& h : hits)
            out.push_back(
                {{"type", h.type}, {"id", h.id}, {"title", h.title}, {"snippet", h.snippet}, {"score", h.score}});
        std::cout << out.dump(2) << "\n";
        return EXIT_OK;
    }
    for (const auto& h : hits) {
        std::string snippet;
        for (char c : h.snippet) snippet += c == '\n' ? std::string(" / ") : std::string(1, c);
        std::string title = h.title;
        if (title.empty())
            if (const auto record = vault.Records().Get(h.id)) title = Title(*record);
        std::cout << h.type << "  " << h.id << "  " << title << "\n    " << snippet << "\n";
    }
    std::cerr << hits.size() << " found\n";
    return EXIT_OK;
}

// [SECTION] Vault commands

int CmdInit(const Args& args) {
    ExpectWords(args, 1, "init [--author NAME]");
    const auto dir = VaultDir(args);
    if (Vault::Exists(dir)) throw storage::VaultError(storage::VaultFailure::AlreadyExists, dir.string());
    storage::VaultOptions options;
    options.author = args.Option("--author").value_or(DefaultAuthor());
    auto passphrase = AskNewPassphrase("ESCUCHA_PASSPHRASE");
    auto vault = Vault::Create(dir, passphrase, Types(), options);
    std::cout << "created vault " << dir.string() << " (device " << vault.DeviceId() << ")\n";
    return EXIT_OK;
}

int CmdPasswd(const Args& args) {
    ExpectWords(args, 1, "passwd");
    auto vault = OpenVault(args);
    vault.ChangePassphrase(AskNewPassphrase("ESCUCHA_NEW_PASSPHRASE"));
    std::cout << "passphrase changed\n";
    return EXIT_OK;
}

int CmdCheck(const Args& args) {
    ExpectWords(args, 1, "check");
    auto vault = OpenVault(args);
    const auto problems = vault.Diagnose();
    if (problems.empty()) {
        std::cout << "ok: the vault is sound\n";
        return EXIT_OK;
    }
    for (const auto& p : problems) std::cout << "problem: " << Worded(p.code, p.params, p.words, true) << "\n";
    return EXIT_DAMAGED;
}

int CmdReindex(const Args& args) {
    ExpectWords(args, 1, "reindex");
    auto vault = OpenVault(args);
    vault.Records().RebuildSearchIndex();
    std::cout << "search index rebuilt\n";
    return EXIT_OK;
}

int CmdStatus(const Args& args) {
    ExpectWords(args, 1, "status");
    auto vault = OpenVault(args);
    std::cout << "vault    " << vault.Dir().string() << "\ndevice   " << vault.DeviceId() << "\nauthor   "
              << vault.Author() << "\n";
    for (const auto& t : Types().Types()) std::cout << t.name << ": " << vault.Records().Count(t.name) << "\n";
    std::cout << "changes waiting to sync: " << vault.Records().PendingJournalCount() << "\n";
    const auto rejected = vault.Records().RejectedJournalCount();
    if (rejected) std::cout << "changes refused by headquarters: " << rejected << " (see 'escucha-cli outbox')\n";
    const auto damaged = storage::BlobStore(vault).ListDamaged().size();
    if (damaged)
        std::cout << "damaged files set aside, not sent: " << damaged
                  << " (see 'escucha-cli blobs' and 'escucha-cli check')\n";
    const auto state = sync::ReadSyncState(vault);
    if (!state.enrolled) {
        std::cout << "sync: not enrolled (escucha-cli enrol --server URL --code CODE)\n";
        return EXIT_OK;
    }
    std::cout << "sync server: " << state.server << " (project " << state.project_name << ", " << state.role << ")\n"
              << "last success: " << (state.last_success.empty() ? "never" : state.last_success) << "\n";
    if (!state.last_error.empty()) {
        // "<time> <words>": the time stays, the words come from the code when it is known.
        const auto space = state.last_error.find(' ');
        const auto when = space == std::string::npos ? std::string() : state.last_error.substr(0, space);
        const auto words = space == std::string::npos ? state.last_error : state.last_error.substr(space + 1);
        std::cout << "last error: " << (when.empty() ? "" : when + " ")
                  << Worded(state.last_error_code, state.last_error_params, words) << "\n";
    }
    const auto conflicts = vault.Records().ListConflicts().size();
    if (conflicts) std::cout << "conflicts to merge: " << conflicts << " (see 'escucha-cli conflicts')\n";
    for (const auto& skipped : sync::SkippedRecords(vault))
        std::cout << "not stored: " << Worded(skipped.error.code, skipped.error.params, skipped.error.words) << " "
                  << Worded(skipped.cause.code, skipped.cause.params, skipped.cause.words) << "\n";
    return EXIT_OK;
}

int CmdEnrol(const Args& args) {
    ExpectWords(args, 1, "enrol --server URL --code CODE [--ca-cert HQ.pem]");
    const auto server = args.Option("--server");
    const auto code = args.Option("--code");
    if (!server || !code) throw UsageError("enrol needs --server URL and --code CODE");
    std::string ca_pem;
    if (auto path = args.Option("--ca-cert")) ca_pem = ReadFileOrStdin(*path);
    auto vault = OpenVault(args);
    if (const auto error = sync::EnrolDevice(vault, *server, *code, ca_pem)) {
        std::cerr << "escucha-cli: enrolment failed: " << Worded(error->code, error->params, error->words) << "\n";
        return EXIT_FAILED;
    }
    const auto state = sync::ReadSyncState(vault);
    std::cout << "enrolled in project '" << state.project_name << "' as " << state.role << "\n";
    // Work recorded before enrolment, in a project headquarters does not know.
    for (const auto& local : capture::LocalProjects(vault.Records(), state.project_id)) {
        int64_t n = 0;
        std::string kinds;
        for (const auto& [type, count] : local.records) {
            n += count;
            kinds += (kinds.empty() ? "" : ", ") + std::to_string(count) + " " + type;
        }
        if (n == 0) continue;
        std::cout << "this device holds " << n << " record(s) in its own project '" << local.name << "' (" << kinds
                  << ")\n";
        bool move = args.Flag("--adopt");
        if (!move && ::isatty(STDIN_FILENO) == 1 && !args.Flag("--keep-local")) {
            std::cout << "move them into '" << state.project_name << "' so they are sent to headquarters? [y/N] "
                      << std::flush;
            std::string answer;
            std::getline(std::cin, answer);
            move = !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y' || answer[0] == 's' || answer[0] == 'S');
        }
        if (move) {
            const auto moved = capture::AdoptLocalProject(vault.Records(), local.project_id, state.project_id);
            int64_t m = 0;
            for (const auto& [type, count] : moved) m += count;
            std::cout << "moved " << m << " record(s) into '" << state.project_name
                      << "'; they are sent at the next sync\n";
        } else {
            std::cout << "kept on this device only, not sent; move them later with: escucha-cli adopt --from "
                      << local.project_id << "\n";
        }
    }
    return EXIT_OK;
}

volatile std::sig_atomic_t g_stop_requested = 0;
/// The command being run stores records: its refusals say nothing was stored.
bool g_storing = false;

void PrintReport(const sync::SyncReport& r) {
    std::cout << storage::FormatIsoMillis(storage::SystemMillis()) << " sent " << r.acknowledged << ", received "
              << r.pulled << ", waiting " << r.pending;
    if (r.conflicts) std::cout << ", merged with conflicts " << r.conflicts;
    if (r.rejected) std::cout << ", refused " << r.rejected;
    if (r.kept_local)
        std::cout << ", kept on this device (work outside the enrolled project; see 'escucha-cli adopt') "
                  << r.kept_local;
    if (r.blobs_uploaded || r.blob_bytes_sent)
        std::cout << ", files uploaded " << r.blobs_uploaded << " (" << r.blob_bytes_sent << " bytes)";
    // A damaged file set aside does not leave the cycle unfinished.
    const bool only_damage = !r.damaged.empty() && r.error.rfind(r.damaged.front(), 0) == 0;
    std::cout << (r.ok ? "" : (only_damage ? "; " : "; not finished: ") + Worded(r.error_code, r.error_params, r.error))
              << std::endl;
}

int CmdSync(const Args& args) {
    ExpectWords(args, 1, "sync [--watch] [--interval SECONDS]");
    auto vault = OpenVault(args);
    sync::SyncClient client(vault);
    if (!args.Flag("--watch")) {
        const auto report = client.SyncOnce();
        PrintReport(report);
        return report.ok ? EXIT_OK : EXIT_FAILED;
    }
    sync::SyncClient::WatchOptions options;
    const auto seconds = [&](const char* name, std::chrono::milliseconds fallback) {
        const auto v = args.Option(name);
        if (!v) return fallback;
        try {
            const double s = std::stod(*v);
            if (s <= 0) throw std::invalid_argument("not positive");
            return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
        } catch (const std::exception&) {
            throw UsageError(std::string(name) + " takes a number of seconds");
        }
    };
    options.interval = seconds("--interval", options.interval);
    options.max_backoff = seconds("--max-backoff", options.max_backoff);
    options.first_backoff = std::min(options.first_backoff, options.max_backoff);
    std::signal(SIGINT, [](int) { g_stop_requested = 1; });
    std::signal(SIGTERM, [](int) { g_stop_requested = 1; });
    // A jthread: however Watch returns, the watcher is stopped and joined
    // (a joinable std::thread left behind would end the program).
    std::jthread watcher([&](std::stop_token stop) {
        while (!g_stop_requested && !stop.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        client.Cancel();
    });
    client.Watch(options, PrintReport);
    return EXIT_OK;
}

int CmdAttach(const Args& args) {
    ExpectWords(args, 2, "attach FILE");
    auto vault = OpenVault(args);
    storage::BlobStore blobs(vault);
    const auto info = blobs.AddFile(args.words[1]);
    std::cout << info.sha256 << "  " << info.size << " bytes\n";
    return EXIT_OK;
}

int CmdImportAudio(const Args& args) {
    ExpectWords(args, 2, "import-audio (--interview ID | --consent ID) [--title TEXT] [--participant ID] FILE");
    auto vault = OpenVault(args);
    auto& store = vault.Records();
    const auto interview = args.Option("--interview");
    const auto consent = args.Option("--consent");
    if (!interview && !consent) throw UsageError("say what was recorded: --interview ID or --consent ID");
    // Of what, in which project, whose voices: the recording says it as what it records does.
    storage::Json fields = capture::RecordingFieldsFor(store, interview ? *interview : *consent);
    if (const auto title = args.Option("--title")) fields["title"] = *title;
    if (const auto participant = args.Option("--participant")) fields["participant_ids"] = {*participant};
    capture::ImportAudioOptions options;
    options.real_time = args.Flag("--real-time");
    int shown = -1;
    const bool bar = isatty(STDERR_FILENO);
    bool started = false;
    options.progress = [&](double done) {
        if (!started && options.real_time)
            std::cerr << "taking the audio in at real time, as a microphone gives it\n" << std::flush;
        started = true;
        const int percent = static_cast<int>(done * 100);
        if (bar && percent != shown) {
            shown = percent;
            std::cerr << "\rimporting " << percent << "%" << std::flush;
        }
        return true;
    };
    const auto recording = capture::ImportAudio(vault, store, fields, args.words[1], options);
    if (bar) std::cerr << "\r";
    std::cout << recording["id"].get<std::string>() << "\n";
    std::cerr << "recording of " << recording["duration_ms"].get<int64_t>() / 1000
              << " s kept encrypted in the vault\n";
    return EXIT_OK;
}

int CmdExportAudio(const Args& args) {
    ExpectWords(args, 3, "export-audio RECORDING_ID FILE");
    auto vault = OpenVault(args);
    capture::ExportAudio(vault, vault.Records(), args.words[1], args.words[2]);
    std::cerr << "warning: " << args.words[2]
              << " is not encrypted: this copy of the recording leaves the vault's protection. "
                 "Delete it when you are done.\n";
    return EXIT_OK;
}

int CmdRecoverAudio(const Args& args) {
    ExpectWords(args, 1, "recover-audio");
    auto vault = OpenVault(args);
    const auto recovered = capture::RecoverRecordings(vault, vault.Records());
    for (const auto& r : recovered)
        std::cout << r["id"].get<std::string>() << "  " << r["duration_ms"].get<int64_t>() / 1000 << " s recovered\n";
    std::cerr << recovered.size() << " recording(s) recovered\n";
    return EXIT_OK;
}

int CmdFetchAudio(const Args& args) {
    ExpectWords(args, 2, "fetch-audio RECORDING_ID");
    auto vault = OpenVault(args);
    const auto& id = args.words[1];
    // The audio is what the record's type names as its blob (a recording's audio_sha256).
    const auto record = vault.Records().Get(id);
    const auto* type = record ? vault.Records().Types().Find((*record)["type"].get<std::string>()) : nullptr;
    if (!record || (*record)["deleted"].get<bool>() || !type || type->blob_fields.empty())
        throw RecordError("id", "no recording " + id + " in this vault", storage::errc::RECORD_NOT_FOUND, {{"id", id}});
    std::string sha;
    for (const auto& field : type->blob_fields)
        if (sha.empty() && record->contains(field) && (*record)[field].is_string()) sha = (*record)[field];
    if (sha.empty())
        throw capture::AudioError("the recording has no audio yet", storage::errc::AUDIO_NOT_HERE, {{"id", id}});
    sync::SyncClient client(vault);
    std::signal(SIGINT, [](int) { g_stop_requested = 1; });
    std::signal(SIGTERM, [](int) { g_stop_requested = 1; });
    // Ctrl-C stops the download with what came kept: the next run resumes there.
    std::jthread watcher([&](std::stop_token stop) {
        while (!g_stop_requested && !stop.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (g_stop_requested) client.Cancel();
    });
    sync::DownloadOptions options;
    const bool bar = isatty(STDERR_FILENO);
    int shown = -1;
    options.progress = [&](int64_t done, int64_t total) {
        const int percent = total > 0 ? static_cast<int>(done * 100 / total) : 0;
        if (bar && percent != shown) {
            shown = percent;
            std::cerr << "\rdownloading " << percent << "% (" << done / 1024 << " of " << total / 1024 << " KiB)"
                      << std::flush;
        }
    };
    const auto report = client.DownloadBlob(sha, options);
    if (bar && shown >= 0) std::cerr << "\n";
    if (!report.ok) {
        std::cerr << "escucha-cli: " << Worded(report.error_code, report.error_params, report.error, true) << "\n";
        return EXIT_FAILED;
    }
    if (report.already_here) std::cerr << "the audio of this recording is on this device already\n";
    else
        std::cerr << "the audio of this recording (" << report.size << " bytes) is kept encrypted in the vault"
                  << (report.resumed_from ? " (" + std::to_string(report.resumed_from) + " bytes kept from before)"
                                          : "")
                  << "\n";
    std::cout << sha << "\n";
    return EXIT_OK;
}

int CmdBlobs(const Args& args) {
    ExpectWords(args, 1, "blobs");
    auto vault = OpenVault(args);
    storage::BlobStore blobs(vault);
    const auto list = blobs.List();
    for (const auto& b : list) {
        std::cout << b.sha256 << "  " << b.size << " bytes  " << b.created_at << "  "
                  << (b.uploaded          ? "at headquarters"
                      : b.damaged.empty() ? "waiting to upload"
                                          : "damaged, set aside")
                  << "\n";
        if (!b.damaged.empty()) std::cout << "    " << b.damaged << "\n";
    }
    std::cerr << list.size() << " file(s)\n";
    return EXIT_OK;
}

int CmdOutbox(const Args& args) {
    ExpectWords(args, 1, "outbox [--retry SEQ | --discard SEQ]");
    auto vault = OpenVault(args);
    const auto seq_of = [](const std::string& text) {
        try {
            size_t used = 0;
            const auto v = std::stoll(text, &used);
            if (used == text.size() && v > 0) return static_cast<int64_t>(v);
        } catch (const std::exception&) {
        }
        throw UsageError("'" + text + "' is not a change number; see 'escucha-cli outbox'");
    };
    if (const auto retry = args.Option("--retry")) {
        vault.Records().RetryJournal(seq_of(*retry));
        std::cout << "change " << *retry << " will be sent again at the next sync\n";
        return EXIT_OK;
    }
    if (const auto discard = args.Option("--discard")) {
        vault.Records().DiscardJournal(seq_of(*discard));
        std::cout << "change " << *discard << " discarded; the record stays as it is on this device\n";
        return EXIT_OK;
    }
    const auto rows = vault.Records().PendingJournal(1'000'000, 0, true);
    int64_t refused = 0;
    for (const auto& e : rows) {
        std::cout << e.seq << "  " << e.op << "  " << e.record_type << "  " << e.record_id << "  rev " << e.rev;
        if (!e.last_error.empty()) {
            std::cout << "\n    refused: " << Worded(e.last_error_code, e.last_error_params, e.last_error);
            ++refused;
        }
        std::cout << "\n";
    }
    std::cerr << rows.size() - refused << " change(s) waiting, " << refused << " refused";
    if (refused)
        std::cerr << "; edit the record to send it as it is now, or use --retry SEQ to send a refused change "
                     "again, --discard SEQ to give it up";
    std::cerr << "\n";
    return EXIT_OK;
}

int CmdConflicts(const Args& args) {
    ExpectWords(args, 1, "conflicts");
    auto vault = OpenVault(args);
    const auto conflicts = vault.Records().ListConflicts();
    for (const auto& c : conflicts)
        std::cout << "#" << c["seq"].get<int64_t>() << "  " << c["record_type"].get<std::string>() << " "
                  << c["record_id"].get<std::string>() << "  field '" << c["field"].get<std::string>() << "'\n"
                  << "    kept:  " << c["kept"].dump() << "\n    other: " << c["other"].dump() << "  (from "
                  << c["other_author"].get<std::string>() << ")\n";
    std::cerr << conflicts.size() << " conflict(s)\n";
    return EXIT_OK;
}

/// What an exchange export left out, said to the person who exported.
void SayLeftOut(const interpret::ExportSummary& summary, const std::string& format) {
    if (!summary.withheld_sources.empty())
        std::cerr << "note: " << summary.withheld_sources.size() << " source(s) with " << summary.withheld_codings
                  << " coding(s) "
                  << (format == "csv" ? "are listed with their excerpt and memo withheld"
                                      : "are left out (a note in the project says so)")
                  << ": their participants' consent does not cover quoting verbatim.\n";
    if (!summary.withheld_audio.empty())
        std::cerr << "note: " << summary.withheld_audio.size()
                  << " recording(s) left out: the consent of the voices in them does not cover quoting verbatim.\n";
    if (!summary.review_codings.empty())
        std::cerr << "note: " << summary.review_codings.size()
                  << " coding(s) left out: their source no longer reads the excerpt there (review them).\n";
    if (!summary.audio_unavailable.empty())
        std::cerr << "note: the audio of " << summary.audio_unavailable.size()
                  << " recording(s) is not in this vault; they are left out.\n";
}

/// export --format qdpx|qdc|csv: through interpret/exchange.h.
int ExportExchange(const Args& args, const std::string& format, const std::string& out) {
    const auto project = args.Option("--project");
    if (!project) throw UsageError("export --format " + format + " needs --project ID");
    auto vault = OpenVault(args);
    auto& store = vault.Records();
    const auto p = store.Get(*project);
    if (!p || (*p)["type"] != "project" || p->value("deleted", false))
        throw RecordError("project", "no project with id " + *project, storage::errc::RECORD_NOT_FOUND,
                          {{"field", "project"}, {"id", *project}});
    const auto file = interpret::ExportVaultProject(vault, *project, format);
    storage::WriteFileAtomically(out, file.bytes);
    const auto& summary = file.summary;
    std::cout << "exported " << summary.codes << " code(s)";
    if (format != "qdc") std::cout << ", " << summary.codings << " coding(s)";
    if (format == "qdpx")
        std::cout << " on " << summary.sources << " source(s), " << summary.cases << " case(s), " << summary.audio
                  << " recording(s)";
    std::cout << " to " << out << "\n";
    SayLeftOut(summary, format);
    if (format != "qdc")
        std::cerr << "note: " << out << " is not encrypted; keep it as safe as the testimony in it.\n";
    return EXIT_OK;
}

/// export --format html: a printable report of a profile, a session, a
/// prioritisation round, or the project's codes by group, in the language
/// of LANG (or --language), through interpret/report.h.
int ExportReport(const Args& args, const std::string& out) {
    if (const auto language = args.Option("--language")) words::SetLanguage(*language);
    auto vault = OpenVault(args);
    auto& store = vault.Records();
    interpret::ReportOptions options;
    options.words = [](const char* english) { return std::string(words::Tr(english)); };
    options.choice_label = [labels = words::NameLabels(Types())](const std::string& name) {
        const auto it = labels.find(name);
        return it == labels.end() ? name : it->second;
    };
    options.language = words::CurrentLanguage();
    std::string html;
    const auto of = [&](const char* type) -> std::optional<std::string> {
        const auto id = args.Option(std::string("--") + type);
        if (!id) return std::nullopt;
        const auto r = store.Get(*id);
        if (!r || r->value("deleted", false))
            throw RecordError(type, std::string("no ") + type + " with id " + *id, storage::errc::RECORD_NOT_FOUND,
                              {{"field", type}, {"id", *id}});
        return *id;
    };
    if (const auto id = of("profile")) html = interpret::ProfileReport(store, *id, options);
    else if (const auto session = of("session")) html = interpret::SessionReport(store, *session, options);
    else if (const auto round = of("round")) html = interpret::RoundReport(store, *round, options);
    else if (const auto project = args.Option("--project"))
        html = interpret::CodeGroupReport(store, *project, args.Option("--group").value_or("gender"), options);
    else throw UsageError("export --format html needs --profile ID, --session ID, --round ID or --project ID");
    storage::WriteFileAtomically(out, html);
    std::cout << "wrote the report to " << out << "\n";
    std::cerr << "note: " << out << " is not encrypted; keep it as safe as the testimony in it.\n";
    return EXIT_OK;
}

int CmdExport(const Args& args) {
    ExpectWords(args, 1,
                "export --format json|qdpx|qdc|csv|html --out PATH [--project ID] [--with-identities] "
                "[--profile ID | --session ID | --round ID] [--group FIELD] [--language es|fr|pt|en]");
    const auto format = args.Option("--format").value_or("json");
    const auto out = args.Option("--out");
    if (!out) throw UsageError("export needs --out PATH");
    if (format == "qdpx" || format == "qdc" || format == "csv") return ExportExchange(args, format, *out);
    if (format == "html") return ExportReport(args, *out);
    if (format != "json") throw UsageError("export --format takes json, qdpx, qdc, csv or html");
    const bool identities = args.Flag("--with-identities");
    auto vault = OpenVault(args);
    std::vector<Json> records;
    vault.Records().ForEach([&](const Json& r) { records.push_back(r); });
    capture::ExportOptions options;
    options.with_identities = identities;
    options.project_id = args.Option("--project");
    options.exported_by = vault.DeviceId();
    const auto doc = capture::ExportDocument(Types(), records, options);
    storage::WriteFileAtomically(*out, doc.dump(2) + "\n");
    std::cout << "exported " << doc["records"].size() << " records to " << *out << "\n";
    std::cerr << "note: " << *out << " is not encrypted; keep it as safe as the testimony in it"
              << (identities ? " (it holds real names)" : "") << ".\n";
    return EXIT_OK;
}

/// Why a selection of an imported file was not stored, in words.
const char* SkipReason(const std::string& reason) {
    static const std::map<std::string, const char*> words = {
        {"source_not_matched", "no source of the project has this text"},
        {"source_ambiguous", "several sources of the project have this text"},
        {"not_text", "not a text source (picture, PDF, audio or video)"},
        {"text_missing", "its text is not in the file"},
        {"not_utf8", "its text is not UTF-8"},
        {"outside_text", "it lies outside the text"},
        {"text_differs", "the project's text differs there"},
        {"unknown_code", "it names a code neither the file nor the project has"},
        {"code_retired", "it names a retired code"},
        {"already_coded", "already coded in the project"},
    };
    const auto it = words.find(reason);
    return it == words.end() ? "not taken" : it->second;
}

int CmdImportQda(const Args& args) {
    ExpectWords(args, 2, "import-qda --project ID FILE");
    const auto project = args.Option("--project");
    if (!project) throw UsageError("import-qda needs --project ID");
    const std::string path = args.words[1];
    const interpret::ImportLimits limits;
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) throw UsageError("cannot read " + path + ": " + ec.message());
    const auto name = fs::path(path).filename().string();
    if (static_cast<int64_t>(size) > limits.max_file_bytes)
        throw RecordError("file", name + " is too large", storage::errc::QDA_TOO_LARGE,
                          {{"file", name}, {"entry", name}, {"limit", std::to_string(limits.max_file_bytes) + " bytes"}});
    const auto bytes = ReadFileOrStdin(path);
    auto vault = OpenVault(args);
    const auto report = interpret::ImportQda(vault.Records(), *project, bytes, name, limits);
    std::cout << "codes: " << report.codes_created.size() << " created, " << report.codes_reused.size()
              << " reused\ncodings stored: " << report.codings_stored.size() << " on " << report.sources_matched
              << " source(s)\n";
    if (!report.skipped.empty()) {
        std::cout << "not stored: " << report.skipped.size() << "\n";
        for (const auto& s : report.skipped) {
            std::cout << "  " << s.source;
            if (!s.selection.empty()) std::cout << "  selection " << s.selection;
            if (s.start >= 0) std::cout << " [" << s.start << ", " << s.end << ")";
            std::cout << ": " << SkipReason(s.reason) << "\n";
        }
    }
    for (const auto& d : report.dropped) std::cout << "not taken: " << d << "\n";
    return EXIT_OK;
}

/// Why messages of a chat export were not stored, in words.
const char* SocialRefusal(const std::string& reason) {
    static const std::map<std::string, const char*> words = {
        {"system_line", "system lines (group events, the encryption notice)"},
        {"deleted_in_chat", "deleted in the chat"},
        {"author_left_out", "by authors left out"},
        {"empty", "empty"},
    };
    const auto it = words.find(reason);
    return it == words.end() ? "not taken" : it->second;
}

const char* MediaNotKept(const std::string& reason) {
    if (reason == "missing") return "not in this file (a .txt export has no media: import the .zip)";
    if (reason == "not_kept") return "videos, documents or contact cards";
    if (reason == "unreadable") return "not audio or a picture this program reads";
    if (reason == "too_large") return "too large";
    if (reason == "ambiguous") return "two files of the same name in the zip";
    return "not kept";
}

int CmdImportSocial(const Args& args) {
    ExpectWords(args, 2,
                "import-social --project ID FILE [--pseudonym \"NAME=PSEUDONYM\"]... [--generate-pseudonyms] "
                "[--time-zone -05:00] [--thread NAME]");
    const auto project = args.Option("--project");
    if (!project) throw UsageError("import-social needs --project ID");
    const std::string path = args.words[1];
    const capture::SocialLimits limits;
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) throw UsageError("cannot read " + path + ": " + ec.message());
    const auto name = fs::path(path).filename().string();
    if (static_cast<int64_t>(size) > limits.max_file_bytes)
        throw RecordError("file", name + " is too large", storage::errc::SOCIAL_TOO_LARGE,
                          {{"file", name}, {"limit", std::to_string(limits.max_file_bytes) + " bytes"}});
    const std::string bytes = ReadFileOrStdin(path);
    const auto parsed = capture::ParseSocialExport(bytes, name, limits);
    const capture::SocialMediaArchive media(bytes, name, limits);
    const auto authors = capture::SocialAuthors(parsed);

    // The names are this person's to see, on this device: on the error stream, never in the report.
    std::cerr << "authors in " << name << " (their names stay on this device):\n";
    for (const auto& [author, count] : authors)
        std::cerr << "  " << author << " (" << count << (count == 1 ? " message" : " messages") << ")\n";

    capture::AuthorChoices choices;
    choices.generate = args.Flag("--generate-pseudonyms");
    choices.time_zone = args.Option("--time-zone");
    choices.thread = args.Option("--thread");
    for (const auto& [option, value] : args.all_options) {
        if (option != "--pseudonym") continue;
        const size_t eq = value.rfind('=');
        if (eq == std::string::npos || eq == 0)
            throw UsageError("--pseudonym takes \"NAME=PSEUDONYM\" (NAME as the chat shows it; \"NAME=-\" leaves "
                             "them out)");
        const std::string author = value.substr(0, eq);
        if (std::none_of(authors.begin(), authors.end(), [&](const auto& a) { return a.first == author; }))
            throw UsageError("'" + author + "' wrote nothing in " + name + "; the authors are listed above");
        choices.pseudonyms[author] = value.substr(eq + 1);
    }

    auto vault = OpenVault(args);
    const auto report = capture::ImportSocial(vault, *project, parsed, choices, media);
    std::cout << "chat: " << report.thread << " (" << parsed.platform << ", " << parsed.layout
              << (parsed.language.empty() ? "" : ", " + parsed.language) << ")\n";
    // WhatsApp writes the phone's local time; the JSON exports give instants (kept in UTC).
    const bool instants = parsed.platform != "whatsapp";
    if (!instants) { // the day/month order is a question for chats written as text only
        const char* order = parsed.date_order == capture::DateOrder::YearMonthDay   ? "year/month/day"
                            : parsed.date_order == capture::DateOrder::MonthDayYear ? "month/day/year"
                                                                                    : "day/month/year";
        std::cout << "dates: " << order;
        switch (parsed.date_order_basis) {
        case capture::DateOrderBasis::YearFirst: std::cout << " (they start with the year)\n"; break;
        case capture::DateOrderBasis::FieldAbove12:
            std::cout << " (line " << parsed.date_order_line << " has a day above 12)\n";
            break;
        case capture::DateOrderBasis::ChangeFrequency:
            std::cout << " (no day above 12; the field that changes more often was taken as the day)\n";
            break;
        case capture::DateOrderBasis::Assumed:
            std::cout << " ASSUMED: no date in the file tells day from month; check a few messages\n";
            break;
        }
    }
    std::cout << "times: "
              << (instants              ? std::string("UTC, from the export's timestamps")
                  : choices.time_zone ? "local, at " + *choices.time_zone
                                      : std::string("local as the export gives them, no time zone"))
              << "\n";
    std::cout << "authors:\n";
    for (const auto& a : report.authors) {
        if (a.left_out) {
            std::cout << "  (one left out: " << a.messages << " messages not stored)\n";
            continue;
        }
        std::cout << "  " << a.pseudonym << ": " << (a.created ? "new participant" : "a participant already here")
                  << ", " << a.messages << (a.messages == 1 ? " message" : " messages") << "\n";
    }
    std::cout << "messages: " << report.added << " new, " << report.skipped << " skipped (already here), "
              << report.refused << " refused\n";
    for (const auto& [reason, count] : report.refused_by_reason)
        std::cout << "  " << count << " " << SocialRefusal(reason) << "\n";
    std::cout << "masked: " << report.masked_numbers << " phone numbers, " << report.masked_handles << " handles, "
              << report.masked_emails << " e-mail addresses (the originals stay on this device)\n";
    std::cout << "attached files: " << report.voice_notes << (report.voice_notes == 1 ? " voice note" : " voice notes")
              << " and " << report.images << (report.images == 1 ? " picture" : " pictures")
              << " kept, encrypted\n";
    for (const auto& [reason, count] : report.media_not_kept)
        std::cout << "  " << count << " not kept: " << MediaNotKept(reason) << "\n";
    return EXIT_OK;
}

int CmdRecoveryKey(const Args& args) {
    ExpectWords(args, 1, "recovery-key");
    auto vault = OpenVault(args);
    const auto key = vault.RawKeyForRecovery();
    std::cout << "PRAGMA key = \"" << std::string_view(reinterpret_cast<const char*>(key.data()), key.size())
              << "\";\nPRAGMA cipher_page_size = 4096;\n";
    std::cerr << "note: anyone with this key can read the vault without the passphrase.\n";
    return EXIT_OK;
}

std::string MarkdownEscape(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '|') out += "\\|";
        else out.push_back(c);
    }
    return out;
}

int CmdTypes(const Args& args) {
    const bool markdown = args.Flag("--markdown");
    if (!markdown) {
        for (const auto& t : Types().Types()) {
            std::cout << t.name << ": " << t.description << "\n";
            for (const auto& f : t.fields) {
                std::cout << "  " << f.name << " (" << storage::FieldKindName(f.kind);
                if (!f.ref_type.empty()) std::cout << " to " << f.ref_type;
                std::cout << (f.required ? ", required" : "") << ")";
                for (size_t i = 0; i < f.choices.size(); ++i) std::cout << (i ? ", " : ": ") << f.choices[i];
                std::cout << "\n";
            }
        }
        return EXIT_OK;
    }
    std::cout << "# Record types\n\n"
                 "Generated by `escucha-cli types --markdown`; a test keeps this file in step with the code.\n\n"
                 "Every record also has: `id` (UUIDv7, generated when absent), `type`, `project_id` (the project it "
                 "belongs to; for a project, its own id), `created_at`, `updated_at` (hybrid logical clock), "
                 "`author`, `device`, `rev` (raised by every change) and `deleted` (a tombstone: content erased, id "
                 "kept). On import, `id`, `type`, `project_id`, `created_at` and `author` are taken from the input; "
                 "errors name the record by its index in the file, counting from 0; "
                 "`updated_at`, `device`, `rev` and `deleted` are this vault's to set.\n\n"
                 "Dates are ISO 8601 (`2026-03-14` or `2026-03-14T09:30:00Z`). Lists are JSON arrays. Text is "
                 "UTF-8; newlines are stored as `\\n`.\n";
    for (const auto& t : Types().Types()) {
        std::cout << "\n## " << t.name << "\n\n" << t.description << " (module `" << t.module << "`";
        if (!t.synced) std::cout << "; stays on the device unless the project's `" << t.share_field << "` is true";
        std::cout << ")\n\n| field | kind | required | search | meaning |\n|---|---|---|---|---|\n";
        for (const auto& f : t.fields) {
            std::string kind = storage::FieldKindName(f.kind);
            if (!f.ref_type.empty()) kind += " to " + f.ref_type;
            if (!f.choices.empty()) {
                kind += ": ";
                for (size_t i = 0; i < f.choices.size(); ++i) kind += (i ? ", `" : "`") + f.choices[i] + "`";
            }
            std::string meaning = f.description;
            if (!f.default_value.is_null()) meaning += " Default: `" + f.default_value.dump() + "`.";
            std::cout << "| `" << f.name << "` | " << MarkdownEscape(kind) << " | " << (f.required ? "yes" : "")
                      << " | " << (f.searchable || f.name == t.title_field ? "yes" : "") << " | "
                      << MarkdownEscape(meaning) << " |\n";
        }
    }
    return EXIT_OK;
}

// [SECTION] Guided first run

int CmdGuide(const Args& args) {
    const auto dir = VaultDir(args);
    std::cout << "Escucha: guided first run\nVault: " << dir.string() << "\n\n";
    std::optional<Vault> vault;
    if (!Vault::Exists(dir)) {
        std::cout << "There is no vault here yet. Everything you record is kept in it, encrypted.\n"
                     "Choose a passphrase of 8 characters or more. Without it nobody, you included,\n"
                     "can read the vault: write it down somewhere safe.\n";
        storage::VaultOptions options;
        options.author = args.Option("--author").value_or(DefaultAuthor());
        vault.emplace(Vault::Create(dir, AskNewPassphrase("ESCUCHA_PASSPHRASE"), Types(), options));
        std::cout << "Vault created.\n";
    } else {
        vault.emplace(Vault::Open(dir, AskPassphrase(), Types()));
        std::cout << "Vault unlocked.\n";
    }
    auto& records = vault->Records();
    auto projects = records.List("project");
    if (projects.empty()) {
        const auto name = ReadLine("Name of your first project (e.g. Escucha cafetaleras Nariño): ");
        if (!name || name->empty()) {
            std::cout << "\nNo project created. Add one later: escucha-cli add project name=\"...\"\n";
            return EXIT_OK;
        }
        projects.push_back(records.Create("project", {{"name", *name}}));
        std::cout << "Project created.\n";
    }
    const std::string project = projects.front()["id"];
    while (true) {
        std::cout << "\nWhat now?\n  1  add a participant\n  2  write a field note\n  3  write a narrative\n"
                     "  4  search\n  5  see the vault's status\n  q  quit\n";
        const auto choice = ReadLine("> ");
        if (!choice || *choice == "q" || *choice == "Q") break;
        try {
            if (*choice == "1") {
                const auto pseudonym = ReadLine("Pseudonym chosen by the participant: ");
                if (!pseudonym || pseudonym->empty()) continue;
                const auto r = records.Create("participant", {{"project_id", project}, {"pseudonym", *pseudonym}});
                std::cout << "Saved participant " << r["code"].get<std::string>() << " (" << r["id"].get<std::string>()
                          << ")\n";
            } else if (*choice == "2" || *choice == "3") {
                const bool narrative = *choice == "3";
                const auto title = ReadLine("Title: ");
                if (!title) break;
                std::cout << "Text (end with a line holding only a dot):\n";
                std::string text;
                while (auto line = ReadLine("")) {
                    if (*line == ".") break;
                    text += *line + "\n";
                }
                Json fields = {{"project_id", project}, {"title", *title}, {"text", text}};
                const auto r = records.Create(narrative ? "narrative" : "field_note", fields);
                std::cout << "Saved " << r["type"].get<std::string>() << " " << r["id"].get<std::string>() << "\n";
            } else if (*choice == "4") {
                const auto query = ReadLine("Search for: ");
                if (!query) break;
                for (const auto& h : records.Search(*query, 10))
                    std::cout << "  " << h.type << "  " << h.title << "\n    " << h.snippet << "\n";
            } else if (*choice == "5") {
                for (const auto& t : Types().Types())
                    std::cout << "  " << t.name << ": " << records.Count(t.name) << "\n";
            }
        } catch (const RecordError& e) {
            std::cout << "Not saved: " << Worded(e.Code(), e.Params(), e.what(), true) << "\n";
        }
    }
    std::cout << "\nEverything is saved. Run 'escucha-cli help' to see every command.\n";
    return EXIT_OK;
}

// [SECTION] Dispatch and errors

int Dispatch(const std::vector<std::string>& raw) {
    const Args args = Parse(raw);
    if (args.Flag("--help") || args.Flag("-h")) {
        std::cout << HELP;
        return EXIT_OK;
    }
    if (args.words.empty()) {
        if (StdinIsTerminal()) return CmdGuide(args);
        std::cout << HELP;
        return EXIT_USAGE;
    }
    const std::string& command = args.words[0];
    static const std::map<std::string, std::function<int(const Args&)>> COMMANDS = {
        {"init", CmdInit},
        {"add", CmdAdd},
        {"edit", CmdEdit},
        {"delete", CmdDelete},
        {"list", CmdList},
        {"show", CmdShow},
        {"import", CmdImport},
        {"search", CmdSearch},
        {"export", CmdExport},
        {"import-qda", CmdImportQda},
        {"import-social", CmdImportSocial},
        {"passwd", CmdPasswd},
        {"check", CmdCheck},
        {"status", CmdStatus},
        {"types", CmdTypes},
        {"guide", CmdGuide},
        {"recovery-key", CmdRecoveryKey},
        {"reindex", CmdReindex},
        {"enrol", CmdEnrol},
        {"sync", CmdSync},
        {"outbox", CmdOutbox},
        {"conflicts", CmdConflicts},
        {"attach", CmdAttach},
        {"import-audio", CmdImportAudio},
        {"export-audio", CmdExportAudio},
        {"recover-audio", CmdRecoverAudio},
        {"fetch-audio", CmdFetchAudio},
        {"blobs", CmdBlobs},
        {"withdraw-consent", CmdWithdrawConsent},
        {"adopt", CmdAdopt},
    };
    if (command == "help") {
        std::cout << HELP;
        return EXIT_OK;
    }
    const auto it = COMMANDS.find(command);
    if (it == COMMANDS.end()) throw UsageError("unknown command '" + command + "'; see 'escucha-cli help'");
    static const std::set<std::string> STORING = {"init",   "add",   "edit",         "delete",    "import",
                                                  "attach", "guide", "import-audio", "import-qda",
                                                  "import-social"};
    g_storing = STORING.count(command) > 0;
    return it->second(args);
}

} // namespace

int Run(const std::vector<std::string>& args) {
    ChooseLanguage();
    try {
        return Dispatch(args);
    } catch (const UsageError& e) {
        std::cerr << "escucha-cli: " << e.what() << "\n";
        return EXIT_USAGE;
    } catch (const RecordError& e) {
        // Said only by commands that store: a search or a list stores nothing anyway.
        std::cerr << "escucha-cli: " << Worded(e.Code(), e.Params(), e.what(), true) << "\n"
                  << (g_storing ? std::string(words::Tr("Nothing was stored.")) + "\n" : "");
        return EXIT_INVALID;
    } catch (const capture::AudioError& e) {
        std::cerr << "escucha-cli: " << Worded(e.Code(), e.Params(), e.what(), true) << "\n"
                  << (g_storing ? std::string(words::Tr("Nothing was stored.")) + "\n" : "");
        return EXIT_INVALID;
    } catch (const storage::VaultError& e) {
        std::cerr << "escucha-cli: " << Worded(e.Code(), e.Params(), e.what(), true) << "\n";
        switch (e.Failure()) {
        case storage::VaultFailure::WrongPassphrase:
        case storage::VaultFailure::WeakPassphrase:
        case storage::VaultFailure::PassphraseChangeInterrupted: return EXIT_PASSPHRASE;
        case storage::VaultFailure::Damaged: return EXIT_DAMAGED;
        case storage::VaultFailure::NotFound:
        case storage::VaultFailure::AlreadyExists: return EXIT_NO_VAULT;
        case storage::VaultFailure::Unreadable: return EXIT_FAILED;
        }
        return EXIT_FAILED;
    } catch (const storage::SqliteError& e) {
        if (e.IsDamage()) {
            std::cerr << "escucha-cli: "
                      << Worded(storage::errc::DATABASE_DAMAGED, Json::object(),
                                std::string("the vault is damaged: ") + e.what() + "; see docs/recovery.md", true)
                      << "\n";
            return EXIT_DAMAGED;
        }
        std::cerr << "escucha-cli: database error: " << e.what() << "\n";
        return EXIT_FAILED;
    } catch (const std::exception& e) {
        std::cerr << "escucha-cli: " << e.what() << "\n";
        return EXIT_FAILED;
    }
}

} // namespace escucha::cli
