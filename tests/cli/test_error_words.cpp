// The CLI's words for errors: the shared words of ui/words, in English or in
// the language LANG asks for, and the real escucha-cli speaking Spanish and
// French on failing commands.
#include "cli/process.h"
#include "error_words.h"
#include "files.h"
#include "temp_dir.h"

#include "escucha/storage/error_code.h"
#include "escucha/words/error_words.h"
#include "escucha/words/i18n.h"

#include <catch2/catch.hpp>

using namespace escucha;
using namespace escucha::test;

namespace {

struct RestoreLanguage {
    std::string before = words::CurrentLanguage();
    ~RestoreLanguage() { words::SetLanguage(before); }
};

const Env PASS = {{"ESCUCHA_PASSPHRASE", "frase de paso de prueba"}};

/// The environment of a person whose system speaks `lang` (other locale variables unset).
Env Speaking(const std::string& lang, Env env = PASS) {
    env["LANG"] = lang;
    env["LANGUAGE"] = "";
    env["LC_ALL"] = "";
    env["LC_MESSAGES"] = "";
    return env;
}

struct Failures {
    ProcessResult wrong_passphrase, bad_field, unknown_record;
};

/// Three failing commands on a real vault, run in `lang`.
Failures FailIn(const std::string& lang) {
    TempDir dir;
    const auto vault = (dir / "vault").string();
    REQUIRE(RunCli({"--vault", vault, "init"}, Speaking("C")).exit_code == 0);
    auto project = RunCli({"--vault", vault, "add", "project", "name=Uno"}, Speaking("C"));
    REQUIRE(project.exit_code == 0);
    project.out.erase(project.out.find_last_not_of('\n') + 1);
    Failures f;
    f.wrong_passphrase =
        RunCli({"--vault", vault, "list", "project"}, Speaking(lang, {{"ESCUCHA_PASSPHRASE", "no es esta"}}));
    f.bad_field = RunCli(
        {"--vault", vault, "add", "participant", "project_id=" + project.out, "pseudonym=Rosa", "age_band=mucha"},
        Speaking(lang));
    f.unknown_record = RunCli({"--vault", vault, "show", "01a20bc5-0000-7000-8000-0000000000ff"}, Speaking(lang));
    CHECK(f.wrong_passphrase.exit_code == 3);
    CHECK(f.bad_field.exit_code == 2);
    CHECK(f.unknown_record.exit_code != 0);
    for (const auto* r : {&f.wrong_passphrase, &f.bad_field, &f.unknown_record}) {
        INFO(r->err);
        // No English words of the exception, no path of the vault.
        CHECK_THAT(r->err, !Catch::Contains("passphrase does not open") && !Catch::Contains(vault) &&
                               !Catch::Contains("is not one of") && !Catch::Contains("no record"));
    }
    return f;
}

} // namespace

TEST_CASE("The CLI words every error code, in English unless the system asks for es, fr or pt", "[cli][errors]") {
    RestoreLanguage restore;
    for (const auto& language : words::Languages()) {
        INFO("language " << language.code);
        words::SetLanguage(language.code);
        for (const auto& spec : storage::ErrorCodes()) {
            INFO("code " << spec.code);
            REQUIRE(words::ErrorWordsTemplate(spec.code));
            storage::Json params = storage::Json::object();
            for (const auto& name : spec.params) params[std::string(name)] = "<" + std::string(name) + ">";
            const auto worded = cli::Worded(spec.code, params, "English words");
            // In English a damaged file's or a local failure's own words tell more than its code.
            const bool own_words = std::string(language.code) == "en" && (spec.code == storage::errc::FILES_DAMAGED ||
                                                                          spec.code == storage::errc::SYNC_STOPPED);
            if (own_words) {
                CHECK(worded == "English words");
                continue;
            }
            CHECK(worded != "English words");
            CHECK(worded.find('{') == std::string::npos);
            CHECK(worded.find("…") == std::string::npos); // a parameter the code does not carry
            if (const char* hint = cli::ErrorHint(spec.code)) {
                CHECK(worded.find(words::Tr(hint)) != std::string::npos);
                if (std::string(language.code) != "en") CHECK(std::string(words::Tr(hint)) != hint);
            }
        }
        // A code this version does not know, and an error without a code, keep their own words.
        CHECK(cli::Worded("a_code_from_a_newer_hq", storage::Json::object(), "newer words") == "newer words");
        CHECK(cli::Worded("", storage::Json::object(), "plain words") == "plain words");
    }
    words::SetLanguage("en");
    // In English an exception's own words, more detailed, are kept when asked for.
    CHECK(cli::Worded(storage::errc::RECORD_NOT_FOUND, {{"id", "x"}}, "no record x", true) == "no record x");
    const auto https = cli::Worded(storage::errc::SERVER_MUST_BE_HTTPS, {{"server", "http://example.org"}}, "");
    CHECK_THAT(https, Catch::Contains("https://") && Catch::Contains("127.0.0.1"));
}

TEST_CASE("escucha-cli speaks the language of LANG on failing commands", "[cli][errors]") {
    SECTION("Spanish") {
        const auto f = FailIn("es_CO.UTF-8");
        CHECK_THAT(f.wrong_passphrase.err, Catch::Contains("Frase de paso incorrecta: no abre esta bóveda."));
        CHECK_THAT(f.bad_field.err, Catch::Contains("«age_band»: «mucha» no es una de las opciones.") &&
                                        Catch::Contains("No se guardó nada."));
        CHECK_THAT(f.unknown_record.err, Catch::Contains("Este registro no está en este dispositivo."));
    }
    SECTION("Spanish from es_ES too") {
        CHECK_THAT(FailIn("es_ES.UTF-8").unknown_record.err, Catch::Contains("no está en este dispositivo"));
    }
    SECTION("French") {
        const auto f = FailIn("fr_HT.UTF-8");
        CHECK_THAT(f.wrong_passphrase.err, Catch::Contains("Phrase secrète erronée : elle n’ouvre pas ce coffre."));
        CHECK_THAT(f.bad_field.err, Catch::Contains("« age_band » : « mucha » ne fait pas partie des choix."));
        CHECK_THAT(f.unknown_record.err, Catch::Contains("Cette fiche n’est pas sur cet appareil."));
    }
    SECTION("Portuguese from LANGUAGE, which comes before LANG") {
        TempDir dir;
        const auto vault = (dir / "vault").string();
        REQUIRE(RunCli({"--vault", vault, "init"}, Speaking("C")).exit_code == 0);
        auto env = Speaking("es_ES.UTF-8", {{"ESCUCHA_PASSPHRASE", "no es esta"}});
        env["LANGUAGE"] = "pt_BR:es";
        const auto r = RunCli({"--vault", vault, "list", "project"}, env);
        CHECK_THAT(r.err, Catch::Contains("Frase secreta errada: ela não abre este cofre."));
    }
    SECTION("Spanish, a note with no project to file it under, then with two") {
        TempDir dir;
        const auto vault = (dir / "vault").string();
        const auto env = Speaking("es_CO.UTF-8", {{"ESCUCHA_PASSPHRASE", "una frase larga de prueba"}});
        REQUIRE(RunCli({"--vault", vault, "init"}, env).exit_code == 0);
        const auto none = RunCli({"--vault", vault, "add", "field_note", "text=nota"}, env);
        CHECK(none.exit_code != 0);
        CHECK_THAT(none.err, Catch::Contains("Todavía no hay ningún proyecto en este dispositivo") &&
                                 Catch::Contains("No se guardó nada."));
        REQUIRE(RunCli({"--vault", vault, "add", "project", "name=Uno"}, env).exit_code == 0);
        REQUIRE(RunCli({"--vault", vault, "add", "project", "name=Dos"}, env).exit_code == 0);
        const auto two = RunCli({"--vault", vault, "add", "field_note", "text=nota"}, env);
        CHECK(two.exit_code != 0);
        CHECK_THAT(two.err, Catch::Contains("Este dispositivo tiene 2 proyectos: di cuál"));
    }
    SECTION("English when LANG asks for a language Escucha does not speak") {
        TempDir dir;
        const auto vault = (dir / "vault").string();
        REQUIRE(RunCli({"--vault", vault, "init"}, Speaking("C")).exit_code == 0);
        const auto r = RunCli({"--vault", vault, "list", "project"},
                              Speaking("de_DE.UTF-8", {{"ESCUCHA_PASSPHRASE", "no es esta"}}));
        CHECK_THAT(r.err, Catch::Contains("wrong passphrase"));
    }
}

TEST_CASE("A damaged vault and escucha-hq's command line are worded in the language of LANG", "[cli][errors]") {
    TempDir dir;
    const auto vault = (dir / "vault").string();
    REQUIRE(RunCli({"--vault", vault, "init"}, Speaking("C")).exit_code == 0);
    SECTION("check names a file that does not belong in the vault's folder") {
        WriteFile(dir / "vault" / "notas.txt", "x");
        const auto r = RunCli({"--vault", vault, "check"}, Speaking("pt_BR.UTF-8"));
        CHECK(r.exit_code != 0);
        CHECK_THAT(r.out, Catch::Contains("Na pasta do cofre há um arquivo que não deveria estar ali: notas.txt.") &&
                              !Catch::Contains("unexpected file"));
        const auto english = RunCli({"--vault", vault, "check"}, Speaking("C"));
        CHECK_THAT(english.out, Catch::Contains("unexpected file in the vault directory: notas.txt"));
    }
    SECTION("a vault without its key file says which file is missing") {
        std::filesystem::remove(dir / "vault" / "vault.kdf");
        const auto r = RunCli({"--vault", vault, "list", "project"}, Speaking("es_CO.UTF-8"));
        CHECK(r.exit_code == 4);
        CHECK_THAT(r.err, Catch::Contains("está dañada: le falta su archivo vault.kdf.") &&
                              Catch::Contains("Consulta docs/recovery.md.") && !Catch::Contains("is missing"));
    }
    SECTION("escucha-hq admin") {
        const auto data = (dir / "hq").string();
        const auto key = (dir / "hq.key").string();
        REQUIRE(RunProgram({HqPath(), "new-key", key}).exit_code == 0);
        const auto none =
            RunProgram({HqPath(), "--data", data, "--key-file", key, "admin", "devices", "--project", "Nadie"},
                       Speaking("es_CO.UTF-8"));
        CHECK(none.exit_code == 1);
        CHECK_THAT(none.err, Catch::Contains("No hay ningún proyecto «Nadie»"));
        const auto role = RunProgram({HqPath(), "--data", data, "--key-file", key, "admin", "create-project"},
                                     Speaking("fr_FR.UTF-8"));
        CHECK_THAT(role.err, Catch::Contains("Utilisation : escucha-hq --data DIR admin create-project NAME"));
        const auto plain = RunProgram({HqPath(), "--data", data, "--listen", "0.0.0.0:0"}, Speaking("pt_BR.UTF-8"));
        CHECK(plain.exit_code == 1);
        CHECK_THAT(plain.err,
                   Catch::Contains("HTTP sem criptografia é só para esta máquina") && Catch::Contains("--tls-cert"));
        const auto english =
            RunProgram({HqPath(), "--data", data, "--key-file", key, "admin", "revoke", "nada"}, Speaking("C"));
        CHECK_THAT(english.err, Catch::Contains("There is no device nada."));
    }
}
