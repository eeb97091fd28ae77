// Chat exports through the real escucha-cli: authors listed, real names
// refused as pseudonyms, a report of what was new, and no name or number in
// anything that leaves the device. The chat is made up for the test.
#include "files.h"
#include "process.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using escucha::test::RunCli;
using escucha::test::TempDir;
using Json = nlohmann::json;

namespace {

const escucha::test::Env ENV = {{"ESCUCHA_PASSPHRASE", "frase de paso larga"}};

const std::string CHAT = "14/3/24, 9:05 p. m. - Tomás Ruiz creó el grupo \"Junta vecinal\"\n"
                         "14/3/24, 9:06 p. m. - Rosa Quiñónez: ¿Llegaron las semillas? 🌽\n"
                         "14/3/24, 9:07 p. m. - Rosa Quiñónez: mi número nuevo es 300 123 4567, o @rosa_q\n"
                         "14/3/24, 9:08 p. m. - +57 312 555 0101: primera línea\n"
                         "segunda línea\n"
                         "14/3/24, 9:09 p. m. - Tomás Ruiz: <Multimedia omitido>\n";

std::string Id(const std::vector<std::string>& args) {
    const auto r = RunCli(args, ENV);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto id = r.out;
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    return id;
}

} // namespace

TEST_CASE("escucha-cli imports a WhatsApp chat under pseudonyms, and again only what is new", "[cli][social]") {
    TempDir dir;
    const auto vault = (dir / "vault").string();
    REQUIRE(RunCli({"--vault", vault, "init", "--author", "ana"}, ENV).exit_code == 0);
    const auto project = Id({"--vault", vault, "add", "project", "name=Maíz"});
    const auto chat = (dir / "Chat de WhatsApp con Junta vecinal.txt").string();
    escucha::test::WriteFile(chat, CHAT);
    const auto items = [&] {
        const auto r = RunCli({"--vault", vault, "list", "social_media_item", "--json"}, ENV);
        REQUIRE(r.exit_code == 0);
        return Json::parse(r.out);
    };

    // Without choices: the authors are listed and nothing is stored.
    const auto bare = RunCli({"--vault", vault, "import-social", "--project", project, chat}, ENV);
    CHECK(bare.exit_code == 2);
    CHECK_THAT(bare.err, Catch::Contains("Rosa Quiñónez (2 messages)") && Catch::Contains("+57 312 555 0101") &&
                             Catch::Contains("Nothing was stored"));
    CHECK(items().empty());

    // A real name as a pseudonym is refused.
    const auto named = RunCli({"--vault", vault, "import-social", "--project", project, chat, "--pseudonym",
                               "Rosa Quiñónez=Rosa Q", "--generate-pseudonyms"},
                              ENV);
    CHECK(named.exit_code == 2);
    CHECK_THAT(named.err, Catch::Contains("Rosa Q") && Catch::Contains("Nothing was stored"));
    CHECK(items().empty());

    // Someone who is not in the chat.
    CHECK(RunCli({"--vault", vault, "import-social", "--project", project, chat, "--pseudonym", "Nadie=Flor"}, ENV)
              .exit_code == 1);

    const auto done = RunCli({"--vault", vault, "import-social", "--project", project, chat, "--pseudonym",
                              "Rosa Quiñónez=Flor", "--pseudonym=Tomás Ruiz=Ceibo", "--generate-pseudonyms"},
                             ENV);
    INFO(done.err);
    REQUIRE(done.exit_code == 0);
    CHECK_THAT(done.out, Catch::Contains("4 new, 0 skipped (already here), 1 refused") &&
                             Catch::Contains("line 1 has a day above 12") &&
                             Catch::Contains("Persona 1: new participant") &&
                             Catch::Contains("1 phone numbers, 1 handles"));
    for (const char* canary : {"Quiñónez", "Tomás", "555 0101", "4567", "rosa_q"}) {
        INFO(canary);
        CHECK(done.out.find(canary) == std::string::npos); // the report names pseudonyms only
    }
    const auto stored = items();
    REQUIRE(stored.size() == 4);
    CHECK(stored.dump().find("mi número nuevo es [número], o [usuario]") != std::string::npos);

    const auto again = RunCli({"--vault", vault, "import-social", "--project", project, chat}, ENV);
    INFO(again.err);
    REQUIRE(again.exit_code == 0); // every author is a participant already
    CHECK_THAT(again.out, Catch::Contains("0 new, 4 skipped (already here)"));

    escucha::test::WriteFile(dir / "Chat de WhatsApp con Junta vecinal (1).txt",
                             CHAT + "15/3/24, 6:00 a. m. - Rosa Quiñónez: buenos días\n");
    const auto later = RunCli({"--vault", vault, "import-social", "--project", project,
                               (dir / "Chat de WhatsApp con Junta vecinal (1).txt").string()},
                              ENV);
    CHECK_THAT(later.out, Catch::Contains("1 new, 4 skipped"));
    CHECK(items().size() == 5);

    // Canary: what leaves the device holds no name, number or handle.
    const auto out = (dir / "export.json").string();
    REQUIRE(RunCli({"--vault", vault, "export", "--format", "json", "--out", out}, ENV).exit_code == 0);
    const auto exported = escucha::test::ReadFile(out);
    CHECK_THAT(exported, Catch::Contains("Flor") && Catch::Contains("[número]"));
    for (const char* canary : {"Quiñónez", "Tomás", "555 0101", "4567", "rosa_q"}) {
        INFO(canary);
        CHECK(exported.find(canary) == std::string::npos);
        const auto search = RunCli({"--vault", vault, "search", canary}, ENV);
        CHECK(search.out.find(canary) == std::string::npos);
    }
    REQUIRE(RunCli({"--vault", vault, "export", "--format", "json", "--out", out + "2", "--with-identities"}, ENV)
                .exit_code == 0);
    CHECK_THAT(escucha::test::ReadFile(out + "2"), Catch::Contains("Quiñónez") && Catch::Contains("4567"));
    // Nothing of the chat is on disk in plaintext inside the vault.
    CHECK(escucha::test::FilesContaining(vault, "semillas").empty());
    CHECK(escucha::test::FilesContaining(vault, "Quiñónez").empty());
}

TEST_CASE("escucha-cli refuses a file that is no chat export, naming it, and stores nothing", "[cli][social]") {
    TempDir dir;
    const auto vault = (dir / "vault").string();
    REQUIRE(RunCli({"--vault", vault, "init", "--author", "ana"}, ENV).exit_code == 0);
    const auto project = Id({"--vault", vault, "add", "project", "name=Maíz"});
    escucha::test::WriteFile(dir / "notas.txt", "lista de compras\nmaíz\n");
    const auto r = RunCli({"--vault", vault, "import-social", "--project", project, (dir / "notas.txt").string(),
                           "--generate-pseudonyms"},
                          ENV);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("notas.txt") && Catch::Contains("Nothing was stored"));
    escucha::test::WriteFile(dir / "roto.zip", std::string("PK\x03\x04", 4) + "cortado");
    const auto z = RunCli(
        {"--vault", vault, "import-social", "--project", project, (dir / "roto.zip").string(), "--generate-pseudonyms"},
        ENV);
    CHECK(z.exit_code == 2);
    CHECK_THAT(z.err, Catch::Contains("roto.zip"));
    const auto list = RunCli({"--vault", vault, "list", "participant", "--json"}, ENV);
    CHECK(Json::parse(list.out).empty());
}
