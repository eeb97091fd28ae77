// Facebook, Instagram and Telegram exports brought in as pseudonymised
// social-media items, like WhatsApp chats. Every export here is made up for
// the tests; the names and numbers belong to no one.
#include "escucha/capture/listening_records.h"
#include "escucha/capture/operations.h"
#include "escucha/capture/social_import.h"

#include "zip_of.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

using namespace escucha;
using capture::ParseSocialExport;
using storage::Json;

namespace {

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
    capture::SocialImportReport Import(const std::string& bytes, const std::string& file) {
        capture::AuthorChoices choices;
        choices.generate = true;
        return capture::ImportSocial(*store, project, ParseSocialExport(bytes, file), choices);
    }
    /// Items by time, then text.
    std::vector<Json> Items() {
        auto items = store->List("social_media_item");
        std::stable_sort(items.begin(), items.end(), [](const Json& a, const Json& b) {
            return a["posted_at"].get<std::string>() + a.value("text", "") <
                   b["posted_at"].get<std::string>() + b.value("text", "");
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

/// `doc` as Facebook and Instagram write it: every byte of UTF-8 above
/// ASCII escaped as a Latin-1 character, "ñ" as "\u00c3\u00b1".
std::string AsMeta(const Json& doc) {
    static constexpr char HEX[] = "0123456789abcdef";
    std::string out;
    for (const char c : doc.dump(1)) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x80) {
            out.push_back(c);
            continue;
        }
        out += "\\u00";
        out.push_back(HEX[b >> 4]);
        out.push_back(HEX[b & 15]);
    }
    return out;
}

using test::ZipOf;

std::string CodeOf(const std::function<void()>& work) {
    try {
        work();
    } catch (const storage::RecordError& e) {
        return e.Code() + (e.Params().contains("file") ? " in " + e.Params()["file"].get<std::string>() : "");
    }
    return "no error";
}

const std::string OWNER = "María Fernández";

/// A Facebook "Download your information" zip: the owner's profile, a post,
/// a comment, a group post and a Messenger group chat (newest first, as the
/// export writes it).
std::string FacebookZip() {
    const Json profile = {{"profile_v2", {{"name", {{"full_name", OWNER}}}}}};
    const Json posts = Json::array(
        {{{"timestamp", 1710450000},
          {"title", OWNER + " updated her status."},
          {"data", Json::array({{{"post", "Mañana hay minga en la vereda “El Roble” 🌽"}}, {{"update_timestamp", 1}}})},
          {"attachments",
           Json::array({{{"data", Json::array({{{"media",
                                                 {{"uri", "your_facebook_activity/posts/media/Roble_1/roble.jpg"},
                                                  {"creation_timestamp", 1710450000}}}}})}}})}}});
    const Json comments = {
        {"comments_v2", Json::array({{{"timestamp", 1710450300},
                                      {"title", OWNER + " commented on a post."},
                                      {"data", Json::array({{{"comment",
                                                              {{"timestamp", 1710450300},
                                                               {"comment", "Llamen al 312 555 0199 para el transporte"},
                                                               {"author", OWNER}}}}})}}})}};
    const Json groups = {{"group_posts_v2", Json::array({{{"timestamp", 1710460000},
                                                          {"title", OWNER + " posted in Cafeteros del Sur."},
                                                          {"data", Json::array({{{"post", "¿Quién vende abono?"}}})}}})}};
    const Json messenger = {
        {"participants", Json::array({{{"name", OWNER}}, {{"name", "Julián Ortiz"}}, {{"name", "Rosa Quiñónez"}}})},
        {"title", "Junta vecinal"},
        {"thread_type", "RegularGroup"},
        {"thread_path", "inbox/juntavecinal_123"},
        {"is_still_participant", true},
        {"messages",
         Json::array({
             {{"sender_name", "Rosa Quiñónez"}, {"timestamp_ms", 1710500000000}, {"content", "Llegó la lluvia 🌧️"},
              {"type", "Generic"}},
             {{"sender_name", "Julián Ortiz"}, {"timestamp_ms", 1710450480000}, {"type", "Call"}, {"call_duration", 0}},
             {{"sender_name", "Julián Ortiz"},
              {"timestamp_ms", 1710450420000},
              {"photos", Json::array({{{"uri", "messages/inbox/juntavecinal_123/photos/semillas.jpg"},
                                       {"creation_timestamp", 1710450419}}})},
              {"type", "Generic"}},
             {{"sender_name", "Julián Ortiz"}, {"timestamp_ms", 1710450400000}, {"content", "no"},
              {"is_unsent", true}, {"type", "Generic"}},
             {{"sender_name", "Rosa Quiñónez"}, {"timestamp_ms", 1710450362000},
              {"content", "¿Llegaron las semillas? escríbanme a @rosa_q"}, {"type", "Generic"}},
         })}};
    return ZipOf({
        {"personal_information/profile_information/profile_information.json", AsMeta(profile)},
        {"your_facebook_activity/posts/your_posts_1.json", AsMeta(posts)},
        {"your_facebook_activity/posts/media/Roble_1/roble.jpg", "jpeg"},
        {"your_facebook_activity/comments_and_reactions/comments.json", AsMeta(comments)},
        {"your_facebook_activity/groups/group_posts_and_comments.json", AsMeta(groups)},
        {"your_facebook_activity/messages/inbox/juntavecinal_123/message_1.json", AsMeta(messenger)},
        {"your_facebook_activity/messages/inbox/juntavecinal_123/photos/semillas.jpg", "jpeg"},
    });
}

/// A Telegram desktop export of one group chat, written by Telegram as UTF-8.
const std::string TELEGRAM_CHAT = R"json({
 "name": "Cooperativa La Esperanza",
 "type": "private_supergroup",
 "id": 1234567,
 "messages": [
  {"id": 40, "type": "service", "date": "2024-03-14T21:00:00", "date_unixtime": "1710450000",
   "actor": "Tomás Ruiz", "actor_id": "user100002", "action": "invite_members", "members": ["Ana Díaz"], "text": ""},
  {"id": 41, "type": "message", "date": "2024-03-14T16:05:10", "date_unixtime": "1710450310",
   "from": "Rosa Quiñónez", "from_id": "user100001", "text": "¿Mañana? 🌽",
   "text_entities": [{"type": "plain", "text": "¿Mañana? 🌽"}]},
  {"id": 42, "type": "message", "date": "2024-03-14T16:06:02", "date_unixtime": "1710450362",
   "from": "Tomás Ruiz", "from_id": "user100002", "reply_to_message_id": 41,
   "file": "voice_messages/audio_1.ogg", "media_type": "voice_message", "mime_type": "audio/ogg",
   "duration_seconds": 7, "text": ""},
  {"id": 43, "type": "message", "date": "2024-03-14T16:07:00", "date_unixtime": "1710450420",
   "from": "Rosa Quiñónez", "from_id": "user100001",
   "text": ["Ver ", {"type": "link", "text": "https://example.org/precios"}, " o llamar a ",
            {"type": "phone", "text": "+57 312 555 0101"}, " ", {"type": "mention", "text": "@tomas_r"}],
   "text_entities": [{"type": "plain", "text": "Ver "}]},
  {"id": 44, "type": "message", "date": "2024-03-14T16:08:00", "date_unixtime": "1710450480",
   "from": "Tomás Ruiz", "from_id": "user100002",
   "photo": "(File not included. Change data exporting settings to download.)", "width": 1280, "height": 960,
   "text": "", "reply_to_message_id": 43},
  {"id": 45, "type": "message", "date": "2024-03-14T16:09:00",
   "from": "Rosa Quiñónez", "from_id": "user100001", "text": "sin hora universal"}
 ]
})json";

} // namespace

TEST_CASE("Facebook and Instagram text, UTF-8 read as Latin-1, is repaired exactly", "[capture][social][formats]") {
    const auto meta = [](const std::string& utf8) {
        // What the export writes once its escapes are read: each byte as one character.
        std::string out;
        for (const char c : utf8) {
            const auto b = static_cast<unsigned char>(c);
            if (b < 0x80) {
                out.push_back(c);
            } else {
                out.push_back(static_cast<char>(0xC0 | (b >> 6)));
                out.push_back(static_cast<char>(0x80 | (b & 0x3F)));
            }
        }
        return out;
    };
    CHECK(meta("ñ") == "Ã±");
    for (const std::string s : {"Mañana", "árbol", "“El Roble”", "🌽 y 👩‍🌾", "¿Quién? ¡Sí!", "ação", "élevé"}) {
        INFO(s);
        CHECK(capture::RepairMojibake(meta(s)) == s);
    }
    // Strings that are not mojibake come back as they were.
    for (const std::string s : {"año", "Ã la orden", "café ☕", "plain ASCII", "", "Â", "ÃƒÂ±"}) {
        INFO(s);
        CHECK(capture::RepairMojibake(s) == s);
    }
    // Mojibake of mojibake is undone once, as the export did it once.
    CHECK(capture::RepairMojibake(meta(meta("ñ"))) == meta("ñ"));
}

TEST_CASE("A Facebook export's posts, comments, group posts and Messenger chats become items",
          "[capture][social][formats]") {
    Fixture f;
    const auto zip = FacebookZip();
    const auto parsed = ParseSocialExport(zip, "facebook-maria-2024.zip");
    CHECK(parsed.platform == "facebook");
    CHECK(parsed.layout == "json");
    CHECK(parsed.system_lines == 1);     // the call
    CHECK(parsed.deleted_messages == 1); // the unsent message
    REQUIRE(parsed.messages.size() == 6);
    const auto authors = capture::SocialAuthors(parsed);
    REQUIRE(authors.size() == 3);
    CHECK(authors[0] == std::pair<std::string, int64_t>{OWNER, 3}); // post, comment, group post
    CHECK(std::count(parsed.media_files.begin(), parsed.media_files.end(), "semillas.jpg") == 1);

    const auto report = capture::ImportSocial(*f.store, f.project, parsed, [] {
        capture::AuthorChoices c;
        c.generate = true;
        return c;
    }());
    CHECK(report.added == 6);
    CHECK(report.refused_by_reason.at("system_line") == 1);
    CHECK(report.refused_by_reason.at("deleted_in_chat") == 1);
    CHECK(report.masked_numbers == 1);
    CHECK(report.masked_handles == 1);

    const auto items = f.Items();
    REQUIRE(items.size() == 6);
    CHECK(items[0]["platform"] == "facebook");
    CHECK(items[0]["thread"] == "Facebook: posts");
    CHECK(items[0]["posted_at"] == "2024-03-14T21:00:00Z");
    CHECK(items[0]["text"] == "Mañana hay minga en la vereda “El Roble” 🌽");
    CHECK(items[0]["attachments"] == Json::array({"roble.jpg"}));
    CHECK(items[1]["thread"] == "Facebook: comments");
    CHECK(items[1]["text"] == "Llamen al [número] para el transporte");
    CHECK(items[1]["participant_id"] == items[0]["participant_id"]);
    CHECK(items[2]["thread"] == "Junta vecinal");
    CHECK(items[2]["text"] == "¿Llegaron las semillas? escríbanme a [usuario]");
    CHECK(items[3]["attachments"] == Json::array({"semillas.jpg"}));
    CHECK(items[4]["thread"] == "Cafeteros del Sur");
    CHECK(items[4]["text"] == "¿Quién vende abono?");
    CHECK(items[5]["text"] == "Llegó la lluvia 🌧️");

    // Names stay in identity links; nothing that leaves the device holds them.
    const auto synced = f.Synced();
    for (const auto& secret : {OWNER, std::string("Quiñónez"), std::string("Julián"), std::string("555 0199"),
                                     std::string("rosa_q"), std::string("Mar\\u00c3")}) {
        INFO(secret);
        CHECK(synced.find(secret) == std::string::npos);
    }
    const auto link = capture::IdentityOf(*f.store, report.authors[0].participant_id);
    REQUIRE(link);
    CHECK((*link)["full_name"] == OWNER);

    // The same export again: nothing new.
    const auto again = f.Import(zip, "facebook-maria-2024.zip");
    CHECK(again.added == 0);
    CHECK(again.skipped == 6);
    CHECK(std::all_of(again.authors.begin(), again.authors.end(), [](const auto& a) { return !a.created; }));
    CHECK(f.store->List("social_media_item").size() == 6);
}

TEST_CASE("Instagram direct messages and posts are told from Facebook's", "[capture][social][formats]") {
    const Json dm = {{"participants", Json::array({{{"name", "Lucía Gómez"}}, {{"name", "Pedro Salas"}}})},
                     {"title", "Lucía Gómez"},
                     {"is_still_participant", true},
                     {"thread_path", "inbox/luciagomez_456"},
                     {"magic_words", Json::array()},
                     {"messages", Json::array({
                                      {{"sender_name", "Pedro Salas"},
                                       {"timestamp_ms", 1710450420000},
                                       {"content", "¡Qué bien! 😀"},
                                       {"share", {{"link", "https://www.instagram.com/p/abc/"}}}},
                                      {{"sender_name", "Lucía Gómez"},
                                       {"timestamp_ms", 1710450362000},
                                       {"content", "Ya cosechamos el café ☕"}},
                                  })}};
    Fixture f;
    const auto parsed = ParseSocialExport(AsMeta(dm), "message_1.json");
    CHECK(parsed.platform == "instagram");
    CHECK(parsed.thread == "Lucía Gómez");
    REQUIRE(parsed.messages.size() == 2);
    CHECK(parsed.messages[0].author == "Lucía Gómez"); // oldest first
    CHECK(parsed.messages[0].text == "Ya cosechamos el café ☕");
    CHECK(parsed.messages[1].text == "¡Qué bien! 😀\nhttps://www.instagram.com/p/abc/");
    CHECK(parsed.messages[1].posted_at == "2024-03-14T21:07:00Z");

    const auto report = f.Import(AsMeta(dm), "message_1.json");
    CHECK(report.added == 2);
    // A chat of two is named after the other person: stored under her pseudonym.
    CHECK(report.thread == "Persona 1");

    // The same messages inside a zip whose paths say Instagram, with posts.
    const Json posts = Json::array({{{"media", Json::array({{{"uri", "media/posts/202403/cafetal.jpg"},
                                                            {"creation_timestamp", 1710460000},
                                                            {"title", "Cosecha 2024 🌱"}}})}}});
    Json plain_dm = dm;
    plain_dm.erase("magic_words");
    const auto zip = ZipOf({{"your_instagram_activity/messages/inbox/luciagomez_456/message_1.json", AsMeta(plain_dm)},
                            {"your_instagram_activity/content/posts_1.json", AsMeta(posts)}});
    const auto from_zip = ParseSocialExport(zip, "export.zip");
    CHECK(from_zip.platform == "instagram");
    REQUIRE(from_zip.messages.size() == 3);
    CHECK(from_zip.messages[2].text == "Cosecha 2024 🌱");
    CHECK(from_zip.messages[2].thread == "Instagram: posts");
    CHECK(from_zip.messages[2].attachments == std::vector<std::string>{"cafetal.jpg"});
}

TEST_CASE("A Telegram chat: entity arrays joined, replies linked, service messages left out",
          "[capture][social][formats]") {
    Fixture f;
    const auto parsed = ParseSocialExport(TELEGRAM_CHAT, "result.json");
    CHECK(parsed.platform == "telegram");
    CHECK(parsed.thread == "Cooperativa La Esperanza");
    CHECK(parsed.system_lines == 1);
    REQUIRE(parsed.messages.size() == 5);
    // The local time without an offset sorts before the UTC ones of the same day: it is kept as given.
    const auto local = std::find_if(parsed.messages.begin(), parsed.messages.end(),
                                    [](const auto& m) { return m.text == "sin hora universal"; });
    REQUIRE(local != parsed.messages.end());
    CHECK(local->posted_at == "2024-03-14T16:09:00");

    const auto report = f.Import(TELEGRAM_CHAT, "result.json");
    CHECK(report.added == 5);
    CHECK(report.refused_by_reason.at("system_line") == 1);
    CHECK(report.masked_numbers == 1);
    CHECK(report.masked_handles == 1);
    std::map<std::string, Json> by_time;
    for (const auto& item : f.Items()) by_time[item["posted_at"]] = item;
    const auto& first = by_time.at("2024-03-14T21:05:10Z");
    CHECK(first["text"] == "¿Mañana? 🌽");
    const auto& voice = by_time.at("2024-03-14T21:06:02Z");
    CHECK(voice["reply_to_id"] == first["id"]);
    CHECK(voice["attachments"] == Json::array({"audio_1.ogg"}));
    const auto& link = by_time.at("2024-03-14T21:07:00Z");
    CHECK(link["text"] == "Ver https://example.org/precios o llamar a [número] [usuario]");
    const auto& photo = by_time.at("2024-03-14T21:08:00Z");
    CHECK(photo["media_omitted"] == true);
    CHECK(photo["reply_to_id"] == link["id"]);
    CHECK(by_time.count("2024-03-14T16:09:00") == 1);
    const auto synced = f.Synced();
    for (const std::string secret : {"Quiñónez", "Tomás", "Ana Díaz", "555 0101", "tomas_r"}) {
        INFO(secret);
        CHECK(synced.find(secret) == std::string::npos);
    }

    // Again, and as part of a full export whose other chat is new: only that chat's message is added.
    const auto again = f.Import(TELEGRAM_CHAT, "result.json");
    CHECK(again.added == 0);
    CHECK(again.skipped == 5);
    const std::string full = R"({"about": "export", "chats": {"about": "", "list": [)" + TELEGRAM_CHAT +
                             R"(, {"name": "Tomás Ruiz", "type": "personal_chat", "id": 100002, "messages": [
        {"id": 7, "type": "message", "date": "2024-03-16T08:00:00", "date_unixtime": "1710594000",
         "from": "Tomás Ruiz", "from_id": "user100002", "text": "Buenos días"}]}]}})";
    const auto whole = f.Import(full, "result.json");
    CHECK(whole.added == 1);
    CHECK(whole.skipped == 5);
    const auto items = f.Items();
    const auto& last = items.back();
    CHECK(last["text"] == "Buenos días");
    CHECK(last["thread"] != "Tomás Ruiz"); // the chat of two is named after its other person's pseudonym
    CHECK(last["thread"].get<std::string>().find("Tomás") == std::string::npos);
}

TEST_CASE("A time zone given for local times leaves the UTC times of a JSON export alone",
          "[capture][social][formats]") {
    Fixture f;
    capture::AuthorChoices choices;
    choices.generate = true;
    choices.time_zone = "-05:00";
    (void)capture::ImportSocial(*f.store, f.project, ParseSocialExport(TELEGRAM_CHAT, "result.json"), choices);
    std::set<std::string> times;
    for (const auto& item : f.Items()) times.insert(item["posted_at"]);
    CHECK(times.count("2024-03-14T21:05:10Z") == 1);
    CHECK(times.count("2024-03-14T16:09:00-05:00") == 1);
}

TEST_CASE("Unknown, damaged and oversized JSON is refused naming the file, and nothing is stored",
          "[capture][social][formats]") {
    Fixture f;
    CHECK(CodeOf([&] { (void)f.Import(R"({"hello": "world", "messages": 3})", "notas.json"); }) ==
          "social_unknown_format in notas.json");
    CHECK(CodeOf([&] { (void)f.Import("[]", "vacío.json"); }) == "social_unknown_format in vacío.json");
    CHECK(CodeOf([&] { (void)f.Import(TELEGRAM_CHAT.substr(0, 400), "result.json"); }) ==
          "social_archive_damaged in result.json");
    // Nesting deeper than the limit, and more values than the limit.
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
    CHECK(CodeOf([&] { (void)f.Import(deep, "hondo.json"); }) == "social_too_large in hondo.json");
    capture::SocialLimits small;
    small.max_json_values = 50;
    std::string many = R"({"name": "x", "type": "personal_chat", "messages": [)";
    for (int i = 0; i < 100; ++i) many += std::string(i ? "," : "") + "1";
    many += "]}";
    CHECK(CodeOf([&] { (void)ParseSocialExport(many, "muchos.json", small); }) == "social_too_large in muchos.json");
    // A time that cannot be.
    const std::string bad_time = R"({"name": "x", "type": "personal_chat", "messages": [
        {"id": 1, "type": "message", "date": "ayer", "from": "A", "text": "hola"}]})";
    CHECK(CodeOf([&] { (void)f.Import(bad_time, "result.json"); }) == "social_archive_damaged in result.json");
    // A zip of JSON files none of which is an export's.
    CHECK(CodeOf([&] { (void)f.Import(ZipOf({{"messages/inbox/x/message_1.json", "{}"}}), "fb.zip"); }) ==
          "social_no_chat in fb.zip");
    CHECK(CodeOf([&] {
              (void)f.Import(ZipOf({{"messages/inbox/x/message_1.json", "{\"messages\": ["}}), "fb.zip");
          }) == "social_archive_damaged in fb.zip");
    CHECK(f.store->List("social_media_item").empty());
    CHECK(f.store->List("participant").empty());

    // An iOS WhatsApp chat opens with "[" too, and is still read as one.
    const auto ios = ParseSocialExport("[14/3/24, 21:08:12] Tomás: hola\n", "_chat.txt");
    CHECK(ios.platform == "whatsapp");
}
