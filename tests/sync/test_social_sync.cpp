// A chat imported on one device, through a real escucha-hq: the team and
// headquarters get the pseudonymised items and participants, never the
// real name or number of anyone in it. The chat is made up; the canary name
// and number belong to no one.
#include "escucha/capture/audio.h"
#include "escucha/capture/operations.h"
#include "escucha/capture/social_import.h"
#include "escucha/storage/blobs.h"
#include "capture/zip_of.h"
#include "sync/sync_fixture.h"

#include <algorithm>
#include <cstdlib>
#include <set>

using namespace escucha;
using namespace escucha::test;

namespace {

const std::string CANARY_NAME = "Wilmerio Canarioso";
const std::string CANARY_NUMBER = "+57 310 777 4242";

const std::string CHAT = "14/3/24, 9:05 p. m. - Rosa Quiñónez creó el grupo \"Junta vecinal\"\n"
                         "14/3/24, 9:06 p. m. - " +
                         CANARY_NAME +
                         ": ¿Llegaron las semillas? 🌽\n"
                         "14/3/24, 9:07 p. m. - Rosa Quiñónez: Sí, llámame al 310 777 4243 o a @wilmerio_c\n"
                         "14/3/24, 9:08 p. m. - " +
                         CANARY_NUMBER +
                         ": Yo soy el del camión\n"
                         "14/3/24, 9:09 p. m. - " +
                         CANARY_NAME + ": PTT-20240314-WA0003.opus (archivo adjunto)\n";

/// Every record a device holds, as one text.
std::string AllOf(storage::Vault& vault) {
    std::string out;
    vault.Records().ForEach([&](const Json& r) { out += r.dump() + "\n"; }, true);
    return out;
}

} // namespace

TEST_CASE("An imported chat reaches headquarters and the team pseudonymised; names, numbers and masked originals "
          "stay on the device that imported it",
          "[sync][social]") {
    Hq hq;
    Device ana(hq, "researcher");
    Device luis(hq, "interpreter");
    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok);

    capture::AuthorChoices choices;
    choices.generate = true;
    const auto parsed = capture::ParseSocialExport(CHAT, "Chat de WhatsApp con " + CANARY_NAME + ".txt");
    const auto report = capture::ImportSocial(ana.vault.Records(), ana.Project(), parsed, choices);
    REQUIRE(report.added == 4);
    REQUIRE(report.authors.size() == 3);
    CHECK(report.masked_numbers == 1);
    CHECK(report.masked_handles == 1);
    // On Ana's device, the names and the originals are there, where only she sees them.
    REQUIRE(ana.vault.Records().List(capture::IDENTITY_LINK).size() == 3);
    REQUIRE(ana.vault.Records().List(capture::MASKED_ORIGINALS).size() == 1);

    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok);

    std::set<std::string> item_ids(report.item_ids.begin(), report.item_ids.end());
    std::set<std::string> participant_ids;
    for (const auto& a : report.authors) participant_ids.insert(a.participant_id);

    // Headquarters holds the items and the participants, and nothing identifying of them.
    const auto at_hq = hq.Records();
    std::string hq_text;
    std::set<std::string> hq_items, hq_participants;
    for (const auto& [id, r] : at_hq) {
        hq_text += r.dump() + "\n";
        const std::string type = r.value("type", "");
        INFO(type);
        CHECK(type != capture::IDENTITY_LINK);
        CHECK(type != capture::MASKED_ORIGINALS);
        if (type == "social_media_item") hq_items.insert(id);
        if (type == "participant") hq_participants.insert(id);
    }
    CHECK(hq_items == item_ids);
    for (const auto& id : participant_ids) CHECK(hq_participants.count(id) == 1);

    // The interpreter's device: the same items, under pseudonyms; no link, no original.
    const auto luis_items = luis.vault.Records().List("social_media_item");
    CHECK(luis_items.size() == 4);
    for (const auto& item : luis_items) {
        CHECK(participant_ids.count(item["participant_id"]) == 1);
        CHECK(item["thread"].get<std::string>().find("Persona") == 0); // a chat named after the canary
    }
    const auto luis_participants = luis.vault.Records().List("participant");
    for (const auto& id : participant_ids)
        CHECK(std::count_if(luis_participants.begin(), luis_participants.end(),
                            [&](const Json& p) { return p["id"] == id; }) == 1);
    CHECK(luis.vault.Records().List(capture::IDENTITY_LINK).empty());
    CHECK(luis.vault.Records().List(capture::MASKED_ORIGINALS).empty());
    const std::string masked = [&] {
        for (const auto& item : luis_items)
            if (item.value("text", "").find("llámame") != std::string::npos) return item["text"].get<std::string>();
        return std::string();
    }();
    CHECK(masked == "Sí, llámame al [número] o a [usuario]");

    // The canary, in any spelling, is nowhere but on Ana's device.
    const std::string luis_text = AllOf(luis.vault);
    for (const std::string canary :
         {"Wilmerio", "Canarioso", "777 4242", "7774242", "777 4243", "wilmerio_c", "Quiñónez"}) {
        INFO(canary);
        CHECK(hq_text.find(canary) == std::string::npos);
        CHECK(luis_text.find(canary) == std::string::npos);
    }
    // Ana's device still holds them.
    const std::string ana_text = AllOf(ana.vault);
    CHECK(ana_text.find(CANARY_NAME) != std::string::npos);
    CHECK(ana_text.find("310 777 4243") != std::string::npos);
}

TEST_CASE("A chat's voice note and photo reach the team through headquarters, sealed; they go with their author's "
          "withdrawal",
          "[sync][social]") {
    Hq hq;
    Device ana(hq, "researcher");
    Device luis(hq, "interpreter");
    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok);

    // A voice note as a phone's app encodes it, and a photo.
    TempDir media_dir;
    const auto run = [](const std::string& command) { REQUIRE(std::system(command.c_str()) == 0); };
    run("sox -n -r 16000 -b 16 -c 1 '" + (media_dir / "nota.wav").string() + "' synth 2 sine 300:900");
    run("opusenc --quiet '" + (media_dir / "nota.wav").string() + "' '" + (media_dir / "nota.opus").string() + "'");
    run("convert -size 40x30 gradient:red-blue '" + (media_dir / "foto.jpg").string() + "'");
    const std::string voice = ReadFile(media_dir / "nota.opus");
    const std::string photo = ReadFile(media_dir / "foto.jpg");
    const std::string chat = "14/3/24, 9:07 p. m. - Rosa Quiñónez: PTT-20240314-WA0003.opus (archivo adjunto)\n"
                             "14/3/24, 9:08 p. m. - Tomás Ruiz: IMG-20240314-WA0004.jpg (archivo adjunto)\n";
    const auto zip = ZipOf(
        {{"WhatsApp Chat with Cosecha.txt", chat}, {"PTT-20240314-WA0003.opus", voice}, {"IMG-20240314-WA0004.jpg", photo}});

    capture::AuthorChoices choices;
    choices.generate = true;
    const capture::SocialMediaArchive media(zip, "WhatsApp Chat with Cosecha.zip");
    const auto report = capture::ImportSocial(ana.vault, ana.Project(),
                                              capture::ParseSocialExport(zip, "WhatsApp Chat with Cosecha.zip"),
                                              choices, media);
    REQUIRE(report.voice_notes == 1);
    REQUIRE(report.images == 1);
    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok);

    // The interpreter gets the records, and the files from headquarters on request.
    const auto recordings = luis.vault.Records().List("recording");
    const auto images = luis.vault.Records().List("image");
    REQUIRE(recordings.size() == 1);
    REQUIRE(images.size() == 1);
    CHECK(luis.vault.Records().Get(recordings[0]["social_item_id"]));
    CHECK(luis.vault.Records().Get(images[0]["social_item_id"]));
    const std::string voice_sha = recordings[0]["audio_sha256"];
    const std::string photo_sha = images[0]["image_sha256"];
    CHECK(HqBlobBytes(hq, hq.project, photo_sha) == photo);
    {
        sync::SyncClient client(luis.vault);
        REQUIRE(client.DownloadBlob(photo_sha).ok);
        REQUIRE(client.DownloadBlob(voice_sha).ok);
    }
    storage::BlobStore luis_blobs(luis.vault);
    CHECK(luis_blobs.ReadAll(photo_sha) == photo);
    capture::Decoder decoder(luis_blobs.Open(voice_sha));
    CHECK(decoder.DurationMs() > 1500);
    // Sealed at headquarters: neither file is there as it came.
    CHECK(FilesContaining(hq.dir / "hq", "OpusHead").empty());
    CHECK(FilesContaining(hq.dir / "hq", photo.substr(0, 64)).empty());

    // Rosa withdraws: her voice note goes from every device; Tomás's photo stays.
    const std::string rosa = recordings[0]["participant_ids"][0];
    (void)capture::WithdrawConsent(ana.vault.Records(), rosa, "2024-04-01");
    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok);
    CHECK(luis.vault.Records().List("recording").empty());
    CHECK_FALSE(luis_blobs.Find(voice_sha));
    CHECK(luis.vault.Records().List("image").size() == 1);
}
