// Chat exports brought in as pseudonymised social-media items. Every chat
// here is made up for the tests; the names and numbers belong to no one.
#include "escucha/capture/listening_records.h"
#include "escucha/capture/operations.h"
#include "escucha/capture/social_import.h"

#include "zip_of.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>

using namespace escucha;
using capture::ParseSocialExport;
using storage::Json;

namespace {

const std::string LRM = "\xE2\x80\x8E";
const std::string NNBSP = "\xE2\x80\xAF";
const std::string NBSP = "\xC2\xA0";

struct Fixture {
    storage::Catalogue catalogue;
    storage::Database db{":memory:", true};
    storage::HybridLogicalClock clock;
    std::optional<storage::RecordStore> store;
    std::string project;

    Fixture() {
        capture::AddListeningTypes(catalogue);
        storage::RegisterSearchFunctions(db);
        store.emplace(db, catalogue, clock, storage::WriterIdentity{"ana", "dev"});
        store->EnsureSchema();
        project = store->Create("project", {{"name", "Maíz"}})["id"];
    }
    capture::SocialImportReport Import(const std::string& text, const std::string& file,
                                       capture::AuthorChoices choices = Generated()) {
        return capture::ImportSocial(*store, project, ParseSocialExport(text, file), choices);
    }
    static capture::AuthorChoices Generated() {
        capture::AuthorChoices c;
        c.generate = true;
        return c;
    }
    /// The items in time order (ids made within one millisecond need not be).
    std::vector<Json> Items() {
        auto items = store->List("social_media_item");
        std::stable_sort(items.begin(), items.end(), [](const Json& a, const Json& b) {
            return a["posted_at"].get<std::string>() < b["posted_at"].get<std::string>();
        });
        return items;
    }
    /// Everything that may leave the device: the outbox and an export without identities.
    std::string Synced() {
        std::string out;
        for (const auto& e : store->PendingJournal(1000000, 0, true)) out += e.body + "\n";
        std::vector<Json> records;
        store->ForEach([&](const Json& r) { records.push_back(r); });
        out += capture::ExportDocument(catalogue, records, {}).dump();
        return out;
    }
};

/// es-419 Android, 12-hour clock with "p. m." (a no-break space inside).
const std::string ANDROID_ES =
    "14/3/24, 9:05 p." + NBSP +
    "m. - Tomás Ruiz creó el grupo \"Junta vecinal\"\n"
    "14/3/24, 9:05 p. m. - Los mensajes y las llamadas están cifrados de extremo a extremo. Nadie fuera de este "
    "chat, ni siquiera WhatsApp, puede leerlos ni escucharlos.\n"
    "14/3/24, 9:06 p. m. - Rosa Quiñónez: ¿Llegaron las semillas? 🌽🇨🇴\n"
    "14/3/24, 9:07 p. m. - Rosa Quiñónez: PTT-20240314-WA0003.opus (archivo adjunto)\n"
    "14/3/24, 9:08 p. m. - Tomás Ruiz: primera línea\n"
    "segunda línea con 👩‍🌾\n"
    "\n"
    "y una tercera\n"
    "14/3/24, 9:09 p. m. - Tomás Ruiz: <Multimedia omitido>\n"
    "14/3/24, 9:10 p. m. - +57 312 555 0101: llámame al 300 123 4567 o escribe a @rosa_q, son 1.500.000 pesos\n"
    "14/3/24, 9:11 p. m. - Tomás Ruiz: Se eliminó este mensaje.\n"
    "15/3/24, 12:01 a. m. - Rosa Quiñónez: ya es medianoche\n";

/// pt-BR iOS: bracketed headers with seconds, direction marks before media.
const std::string IOS_PT = "[02/05/2024, 18:42:01] Dudu Santos: bom dia\n"
                           "[02/05/2024, 18:42:30] Dudu Santos: " +
                           LRM +
                           "<anexado: 00000003-AUDIO-2024-05-02-18-42-01.opus>\n"
                           "[02/05/2024, 18:43:00] Bia Lima: primeira linha\n"
                           "segunda linha\n"
                           "[03/05/2024, 07:00:00] Bia Lima: " +
                           LRM + "imagem ocultada\n";

using test::ZipOf;

std::string CodeOf(const std::function<void()>& work) {
    try {
        work();
    } catch (const storage::RecordError& e) {
        return e.Code() + (e.Params().contains("line") ? " line " + e.Params()["line"].dump() : std::string());
    }
    return "no error";
}

} // namespace

TEST_CASE("A WhatsApp chat from an Android phone in Spanish is read message by message", "[capture][social]") {
    const auto chat = ParseSocialExport(ANDROID_ES, "Chat de WhatsApp con Junta vecinal.txt");
    CHECK(chat.thread == "Junta vecinal");
    CHECK(chat.layout == "android");
    CHECK(chat.language == "es");
    CHECK(chat.twelve_hour);
    CHECK(chat.date_order == capture::DateOrder::DayMonthYear);
    CHECK(chat.date_order_basis == capture::DateOrderBasis::FieldAbove12);
    CHECK(chat.date_order_line == 1);
    CHECK(chat.system_lines == 2);
    CHECK(chat.deleted_messages == 1);
    REQUIRE(chat.messages.size() == 6);
    CHECK(chat.messages[0].author == "Rosa Quiñónez");
    CHECK(chat.messages[0].posted_at == "2024-03-14T21:06");
    CHECK(chat.messages[0].text == "¿Llegaron las semillas? 🌽🇨🇴");
    CHECK(chat.messages[1].attachments == std::vector<std::string>{"PTT-20240314-WA0003.opus"});
    CHECK(chat.messages[1].text.empty());
    CHECK(chat.messages[2].text == "primera línea\nsegunda línea con 👩‍🌾\n\ny una tercera");
    CHECK(chat.messages[2].line == 5);
    CHECK(chat.messages[3].media_omitted);
    CHECK(chat.messages[4].author == "+57 312 555 0101");
    CHECK(chat.messages[5].posted_at == "2024-03-15T00:01"); // 12 a. m. is midnight
}

TEST_CASE("iOS, Portuguese, French and English exports give the same messages", "[capture][social]") {
    SECTION("pt iOS: seconds, direction marks, media, and the day told by which field changes") {
        const auto chat = ParseSocialExport(IOS_PT, "_chat.txt");
        CHECK(chat.layout == "ios");
        CHECK(chat.language == "pt");
        CHECK(chat.date_order == capture::DateOrder::DayMonthYear);
        CHECK(chat.date_order_basis == capture::DateOrderBasis::ChangeFrequency);
        REQUIRE(chat.messages.size() == 4);
        CHECK(chat.messages[0].posted_at == "2024-05-02T18:42:01");
        CHECK(chat.messages[1].attachments == std::vector<std::string>{"00000003-AUDIO-2024-05-02-18-42-01.opus"});
        CHECK(chat.messages[2].text == "primeira linha\nsegunda linha");
        CHECK(chat.messages[3].media_omitted);
        CHECK(chat.messages[3].posted_at == "2024-05-03T07:00:00");
        CHECK(chat.thread.empty() == false);
    }
    SECTION("fr Android and iOS, 24-hour clock; a group event with the group as author") {
        const auto android = ParseSocialExport("07/06/2024 08:15 - Mireille Dubois: <Médias omis>\n"
                                               "07/06/2024 08:16 - Mireille Dubois: On se voit à 14h ?\n",
                                               "Discussion WhatsApp avec Cité.txt");
        CHECK(android.language == "fr");
        CHECK(android.thread == "Cité");
        CHECK(android.date_order_basis == capture::DateOrderBasis::Assumed);
        CHECK(android.date_order == capture::DateOrder::DayMonthYear);
        REQUIRE(android.messages.size() == 2);
        CHECK(android.messages[0].media_omitted);
        CHECK(android.messages[1].posted_at == "2024-06-07T08:16");
        const auto ios =
            ParseSocialExport("[07/06/2024 08:16:30] Groupe Cité: " + LRM +
                                  "Mireille a ajouté Joël\n"
                                  "[07/06/2024 08:17:00] Mireille Dubois: " +
                                  LRM + "<pièce jointe : 00000012-PHOTO-2024-06-07-08-17-00.jpg>\nLa récolte\n",
                              "WhatsApp Chat - Groupe Cité.zip");
        CHECK(ios.system_lines == 1);
        REQUIRE(ios.messages.size() == 1);
        CHECK(ios.messages[0].attachments == std::vector<std::string>{"00000012-PHOTO-2024-06-07-08-17-00.jpg"});
        CHECK(ios.messages[0].text == "La récolte");
    }
    SECTION("en Android with a narrow no-break space before PM; a day above 12 says month first") {
        const auto chat = ParseSocialExport("3/12/24, 2:05" + NNBSP +
                                                "PM - Sam Lee: <Media omitted>\n"
                                                "3/13/24, 11:58" +
                                                NNBSP + "AM - Sam Lee: see you\n",
                                            "WhatsApp Chat with Sam Lee.txt");
        CHECK(chat.date_order == capture::DateOrder::MonthDayYear);
        CHECK(chat.date_order_line == 2);
        REQUIRE(chat.messages.size() == 2);
        CHECK(chat.messages[0].posted_at == "2024-03-12T14:05");
        CHECK(chat.messages[1].posted_at == "2024-03-13T11:58");
    }
    SECTION("en iOS where nothing tells the order: month first is assumed, and said") {
        const auto chat =
            ParseSocialExport("[3/12/24, 2:05:33" + NNBSP + "PM] Sam Lee: " + LRM + "image omitted\n", "_chat.txt");
        CHECK(chat.date_order_basis == capture::DateOrderBasis::Assumed);
        CHECK(chat.date_order == capture::DateOrder::MonthDayYear);
        CHECK(chat.messages.at(0).posted_at == "2024-03-12T14:05:33");
    }
    SECTION("years first, and a.m. written with dots") {
        const auto chat = ParseSocialExport("2023-12-20, 5:46 p.m. - Ana: hola\n", "chat.txt");
        CHECK(chat.date_order_basis == capture::DateOrderBasis::YearFirst);
        CHECK(chat.messages.at(0).posted_at == "2023-12-20T17:46");
    }
}

TEST_CASE("Bad chat exports are refused, naming the file and line, and nothing is stored", "[capture][social]") {
    Fixture f;
    const auto code = [&](const std::string& text, const std::string& name = "chat.txt") {
        return CodeOf([&] { (void)f.Import(text, name); });
    };
    CHECK(code("hola\nqué tal\n") == "social_unknown_format");
    CHECK(code("{\"messages\": []}") == "social_unknown_format");
    CHECK(code("") == "social_unknown_format");
    CHECK(code("Exportado por Ana\n14/3/24, 9:06 p. m. - Rosa: hola\n") == "social_bad_line line 1");
    CHECK(code("[14/3/24, 21:06:00] Rosa: hola\n[14/3/24, 21:07:00 Rosa: roto\n") == "social_bad_line line 2");
    CHECK(code("14/3/24, 9:06 p. m. - Rosa: hola\n32/3/24, 9:06 p. m. - Rosa: hola\n") == "social_bad_date line 2");
    CHECK(code("14/3/24, 25:06 - Rosa: hola\n") == "social_bad_date line 1");
    CHECK(code("14/3/24, 9:06 - Rosa: hola\n3/14/24, 9:07 - Rosa: hola\n") == "social_bad_date line 2");
    CHECK(code("14/3/24, 9:06 - Rosa: hola\n14/3/24, 9:07 - Rosa: \xC3\x28\n") == "social_not_utf8 line 2");
    SECTION("a huge line") {
        capture::SocialLimits limits;
        limits.max_line_bytes = 100;
        CHECK(CodeOf([&] {
                  (void)ParseSocialExport("14/3/24, 9:06 - Rosa: " + std::string(200, 'a') + "\n", "chat.txt", limits);
              }) == "social_too_large");
    }
    CHECK(f.store->Count("social_media_item") == 0);
    CHECK(f.store->Count("participant") == 0);
}

TEST_CASE("A WhatsApp zip is read from memory; a cut or empty one is refused", "[capture][social]") {
    Fixture f;
    const std::string voice = "OggS not really audio";
    const auto zip = ZipOf({{"_chat.txt", IOS_PT}, {"00000003-AUDIO-2024-05-02-18-42-01.opus", voice}});
    const auto chat = ParseSocialExport(zip, "WhatsApp Chat - Feira.zip");
    CHECK(chat.thread == "Feira");
    CHECK(chat.layout == "ios");
    CHECK(chat.messages.size() == 4);
    CHECK(chat.media_files == std::vector<std::string>{"00000003-AUDIO-2024-05-02-18-42-01.opus"});

    const auto android = ZipOf({{"IMG-20240314-WA0001.jpg", "x"}, {"WhatsApp Chat with Junta.txt", ANDROID_ES}});
    CHECK(ParseSocialExport(android, "WhatsApp Chat with Junta.zip").messages.size() == 6);

    CHECK(CodeOf([&] { (void)f.Import(zip.substr(0, zip.size() - 30), "cut.zip"); }) == "social_archive_damaged");
    CHECK(CodeOf([&] { (void)f.Import(zip.substr(0, zip.size() / 2), "cut.zip"); }) == "social_archive_damaged");
    CHECK(CodeOf([&] { (void)f.Import(ZipOf({{"photo.jpg", "x"}}), "media.zip"); }) == "social_no_chat");
    SECTION("a chat larger than allowed, whatever the zip declares") {
        capture::SocialLimits limits;
        limits.max_chat_bytes = 64;
        CHECK(CodeOf([&] { (void)ParseSocialExport(zip, "big.zip", limits); }) == "social_too_large");
    }
    CHECK(f.store->Count("social_media_item") == 0);
    CHECK(f.store->Count("participant") == 0);
}

TEST_CASE("Authors become participants under pseudonyms; names and numbers stay on the device", "[capture][social]") {
    Fixture f;
    capture::AuthorChoices choices;
    choices.pseudonyms = {{"Rosa Quiñónez", "Flor"}, {"Tomás Ruiz", "Ceibo"}};
    choices.generate = true;
    const auto report = f.Import(ANDROID_ES, "Chat de WhatsApp con Junta vecinal.txt", choices);
    CHECK(report.added == 6);
    CHECK(report.skipped == 0);
    CHECK(report.refused == 3);
    CHECK(report.refused_by_reason.at("system_line") == 2);
    CHECK(report.refused_by_reason.at("deleted_in_chat") == 1);
    REQUIRE(report.authors.size() == 3);
    CHECK(report.authors[0].pseudonym == "Flor");
    CHECK(report.authors[2].pseudonym == "Persona 1");
    CHECK(report.masked_numbers == 1);
    CHECK(report.masked_handles == 1);

    const auto items = f.Items();
    REQUIRE(items.size() == 6);
    CHECK(items[0]["platform"] == "whatsapp");
    CHECK(items[0]["thread"] == "Junta vecinal");
    CHECK(items[0]["posted_at"] == "2024-03-14T21:06"); // local time, no offset invented
    CHECK(items[0]["participant_id"] == report.authors[0].participant_id);
    CHECK(items[1]["attachments"] == Json::array({"PTT-20240314-WA0003.opus"}));
    CHECK(items[3]["media_omitted"] == true);
    CHECK(items[4]["text"] == "llámame al [número] o escribe a [usuario], son 1.500.000 pesos");

    // The originals are kept apart, on this device only.
    const auto masked = f.store->List(capture::MASKED_ORIGINALS);
    REQUIRE(masked.size() == 1);
    CHECK(masked[0]["item_id"] == items[4]["id"]);
    CHECK(masked[0]["originals"] == Json::array({"300 123 4567", "@rosa_q"}));
    const auto link = capture::IdentityOf(*f.store, report.authors[2].participant_id);
    REQUIRE(link);
    CHECK((*link)["full_name"] == "+57 312 555 0101");
    CHECK((*link)["contact"] == "+57 312 555 0101");
    CHECK(f.store->Get(report.authors[0].participant_id)->value("pseudonym", "") == "Flor");

    // Canary: no real name, number or handle in anything that leaves the device or is searched.
    const auto synced = f.Synced();
    for (const char* canary : {"Quiñónez", "Tomás", "312 555 0101", "4567", "rosa_q"}) {
        INFO(canary);
        CHECK(synced.find(canary) == std::string::npos);
        CHECK(f.store->Search(canary).empty());
    }
    CHECK(!f.store->Search("semillas").empty());
    CHECK(f.store->Search("4567").empty());

    SECTION("a pseudonym that gives a name away is refused, and nothing is stored") {
        Fixture g;
        capture::AuthorChoices bad;
        bad.generate = true;
        bad.pseudonyms = {{"Tomás Ruiz", "tomas"}};
        CHECK(CodeOf([&] { (void)g.Import(ANDROID_ES, "chat.txt", bad); }) == "social_pseudonym_is_name");
        bad.pseudonyms = {{"Tomás Ruiz", "Rosa"}}; // another author's name
        CHECK(CodeOf([&] { (void)g.Import(ANDROID_ES, "chat.txt", bad); }) == "social_pseudonym_is_name");
        bad.pseudonyms = {{"Tomás Ruiz", "Ceibo"}, {"Rosa Quiñónez", "Ceibo"}};
        CHECK(CodeOf([&] { (void)g.Import(ANDROID_ES, "chat.txt", bad); }) == "social_pseudonym_twice");
        CHECK(CodeOf([&] { (void)g.Import(ANDROID_ES, "chat.txt", {}); }) == "social_no_pseudonym");
        CHECK(g.store->Count("participant") == 0);
        CHECK(g.store->Count("social_media_item") == 0);
    }
    SECTION("an author left out: their messages are refused, nothing of them stored") {
        Fixture g;
        capture::AuthorChoices leave;
        leave.generate = true;
        leave.pseudonyms = {{"Rosa Quiñónez", "-"}};
        const auto r = g.Import(ANDROID_ES, "chat.txt", leave);
        CHECK(r.refused_by_reason.at("author_left_out") == 3);
        CHECK(r.added == 3);
        CHECK(g.store->Count("participant") == 2);
    }
    SECTION("withdrawal erases the author's items and what was masked in them") {
        (void)capture::WithdrawConsent(*f.store, report.authors[2].participant_id, "2026-01-10");
        CHECK(f.store->List(capture::MASKED_ORIGINALS).empty());
        CHECK(f.Items().size() == 5);
    }
}

TEST_CASE("Importing again adds only new messages", "[capture][social]") {
    Fixture f;
    const std::string name = "Chat de WhatsApp con Junta vecinal.txt";
    const auto first = f.Import(ANDROID_ES, name);
    CHECK(first.added == 6);
    const auto again = f.Import(ANDROID_ES, name);
    CHECK(again.added == 0);
    CHECK(again.skipped == 6);
    CHECK(again.authors.at(0).created == false);
    CHECK(f.store->Count("participant") == 3);

    // A later export of the same chat (a second download): two messages more.
    const auto later = f.Import(ANDROID_ES + "15/3/24, 6:00 a. m. - Rosa Quiñónez: buenos días\n"
                                             "15/3/24, 6:00 a. m. - Rosa Quiñónez: buenos días\n",
                                "Chat de WhatsApp con Junta vecinal (1).txt");
    CHECK(later.added == 2); // the same words twice in a row are two messages
    CHECK(later.skipped == 6);
    CHECK(f.Items().size() == 8);
    CHECK(f.store->Count("participant") == 3);
}

TEST_CASE("A chat across a daylight-saving change keeps its local times as written", "[capture][social]") {
    Fixture f;
    // US time changes: 2 AM does not exist on 3/10/24, and 1 AM comes twice on 11/3/24.
    const std::string chat = "3/10/24, 1:59 AM - Sam Lee: before the change\n"
                             "3/10/24, 3:01 AM - Sam Lee: after the change\n"
                             "11/3/24, 1:30 AM - Sam Lee: ok\n"
                             "11/3/24, 1:30 AM - Sam Lee: ok\n"
                             "11/13/24, 9:00 AM - Sam Lee: later\n";
    const auto report = f.Import(chat, "WhatsApp Chat with Sam Lee.txt");
    CHECK(report.added == 5);
    const auto items = f.Items();
    REQUIRE(items.size() == 5);
    CHECK(items[0]["posted_at"] == "2024-03-10T01:59");
    CHECK(items[1]["posted_at"] == "2024-03-10T03:01");
    CHECK(items[2]["posted_at"] == "2024-11-03T01:30");
    CHECK(items[3]["posted_at"] == "2024-11-03T01:30");
    CHECK(items[0]["thread"] == "Participant 1"); // a chat of two is named after the other person
    CHECK(f.Import(chat, "WhatsApp Chat with Sam Lee.txt").skipped == 5);

    SECTION("a fixed offset is added only when the person gives one") {
        Fixture g;
        auto choices = Fixture::Generated();
        choices.time_zone = "-05:00";
        (void)g.Import(chat, "chat.txt", choices);
        CHECK(g.Items()[0]["posted_at"] == "2024-03-10T01:59-05:00");
        choices.time_zone = "America/Bogota";
        CHECK(CodeOf([&] { (void)g.Import(chat, "chat.txt", choices); }) == "social_bad_time_zone");
    }
}

TEST_CASE("Masking finds numbers, handles and addresses, and leaves amounts and dates", "[capture][social]") {
    const auto m = capture::MaskContacts("Llama al +57 (601) 555-0101 o al 3001234567; @ana.p y @⁨Rosa M.⁩ "
                                         "saben; ana@example.org; 12.03.2024, 2024-03-12, $1.500.000, 14:05",
                                         "es");
    CHECK(m.text == "Llama al [número] o al [número]; [usuario] y [usuario] saben; [correo]; 12.03.2024, "
                    "2024-03-12, $1.500.000, 14:05");
    CHECK(m.originals ==
          std::vector<std::string>{"+57 (601) 555-0101", "3001234567", "@ana.p", "@⁨Rosa M.⁩", "ana@example.org"});
    CHECK(capture::MaskContacts("call 555 0101 123", "en").text == "call [number]");
    CHECK(capture::MaskContacts("@x", "fr").text == "[utilisateur]");

    CHECK(capture::PseudonymRevealsName("Rosa", "Rosa Quiñónez"));
    CHECK(capture::PseudonymRevealsName("quinonez", "Rosa Quiñónez"));
    CHECK(capture::PseudonymRevealsName("312 555 0101", "+57 312 555 0101"));
    CHECK_FALSE(capture::PseudonymRevealsName("Flor", "Rosa Quiñónez"));
    CHECK_FALSE(capture::PseudonymRevealsName("Persona 1", "+57 312 555 0101"));
    CHECK_FALSE(capture::PseudonymRevealsName("Flor del Campo", "María del Carmen"));

    CHECK(capture::ThreadFromFileName("/tmp/x/WhatsApp Chat with Junta (2).zip") == "Junta");
    CHECK(capture::ThreadFromFileName("Conversa do WhatsApp com Feira.txt") == "Feira");
    CHECK(capture::ThreadFromFileName("_chat.txt").empty());
}

TEST_CASE("A long import says how far it has gone", "[capture][social]") {
    Fixture f;
    std::string chat;
    for (int i = 0; i < 1000; ++i) chat += "12/3/24, 14:05 - Rosa: mensaje " + std::to_string(i) + "\n";
    std::vector<std::pair<int64_t, int64_t>> seen;
    const auto report = capture::ImportSocial(*f.store, f.project, ParseSocialExport(chat, "Chat de WhatsApp con Rosa.txt"),
                                              Fixture::Generated(),
                                              [&](int64_t done, int64_t total) { seen.emplace_back(done, total); });
    CHECK(report.added == 1000);
    REQUIRE(seen.size() >= 4);
    CHECK(seen.front() == std::pair<int64_t, int64_t>{0, 1000});
    CHECK(seen.back() == std::pair<int64_t, int64_t>{1000, 1000});
    CHECK(std::is_sorted(seen.begin(), seen.end()));
}
