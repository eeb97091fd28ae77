// Voice notes and photos that come with a chat export: into the vault,
// encrypted, linked to their message and to its author's consent. The chat
// and the media are made up for the tests: real speech made by espeak-ng and
// encoded by opusenc (as a phone's app would), pictures drawn by ImageMagick.
#include "escucha/capture/audio.h"
#include "escucha/capture/listening_records.h"
#include "escucha/capture/operations.h"
#include "escucha/capture/social_import.h"
#include "escucha/storage/blobs.h"

#include "files.h"
#include "storage/fast_vault.h"
#include "temp_dir.h"
#include "zip_of.h"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace escucha;
using storage::Json;
using test::TempDir;
using test::ZipOf;

namespace {

const std::string CANARY = "CANARIO-7Q2";

void Run(const std::string& command) { REQUIRE(std::system(command.c_str()) == 0); }

struct Fixture {
    TempDir dir;
    storage::Catalogue catalogue = [] {
        storage::Catalogue c;
        capture::AddListeningTypes(c);
        return c;
    }();
    storage::Vault vault = storage::Vault::Create(dir.Path() / "vault", storage::Passphrase("frase de paso larga"),
                                                  catalogue, test::FastVaultOptions());
    storage::RecordStore& store = vault.Records();
    std::string project = store.Create("project", {{"name", "Cafetaleras"}})["id"];

    /// Three seconds of Spanish speech as WhatsApp keeps a voice note: Ogg
    /// Opus, mono, 16 kHz, from another encoder; a canary in its tags.
    std::string VoiceNote() {
        const auto wav = dir / "nota.wav";
        const auto opus = dir / "nota.opus";
        Run("espeak-ng -v es-419 -w '" + wav.string() + "' 'La báscula del patrón marca menos de lo que pesa el café.'");
        Run("sox '" + wav.string() + "' -r 16000 '" + (dir / "nota16.wav").string() + "'");
        Run("opusenc --quiet --bitrate 24 --comment 'title=" + CANARY + "' '" + (dir / "nota16.wav").string() +
            "' '" + opus.string() + "'");
        auto bytes = test::ReadFile(opus);
        std::filesystem::remove(wav);
        std::filesystem::remove(opus);
        std::filesystem::remove(dir / "nota16.wav");
        return bytes;
    }
    /// A 64x48 JPEG with the canary in its comment.
    std::string Photo(const std::string& format = "jpg") {
        const auto file = dir / ("foto." + format);
        Run("convert -size 64x48 gradient:green-yellow -set comment '" + CANARY + "' '" + file.string() + "'");
        auto bytes = test::ReadFile(file);
        std::filesystem::remove(file);
        return bytes;
    }

    capture::SocialImportReport Import(const std::string& bytes, const std::string& file,
                                       const capture::SocialLimits& limits = {}) {
        capture::AuthorChoices choices;
        choices.generate = true;
        const auto parsed = capture::ParseSocialExport(bytes, file, limits);
        const capture::SocialMediaArchive media(bytes, file, limits);
        return capture::ImportSocial(vault, project, parsed, choices, media);
    }
    std::optional<Json> ItemWith(const std::string& attachment) {
        for (const auto& item : store.List("social_media_item"))
            if (item.contains("attachments") && item["attachments"][0] == attachment) return item;
        return std::nullopt;
    }
};

const std::string CHAT = "14/3/24, 9:06 p. m. - Rosa Quiñónez: ¿Llegaron las semillas?\n"
                         "14/3/24, 9:07 p. m. - Rosa Quiñónez: PTT-20240314-WA0003.opus (archivo adjunto)\n"
                         "14/3/24, 9:08 p. m. - Tomás Ruiz: IMG-20240314-WA0004.jpg (archivo adjunto)\n"
                         "Así quedó la báscula\n"
                         "14/3/24, 9:09 p. m. - Tomás Ruiz: VID-20240314-WA0005.mp4 (archivo adjunto)\n"
                         "14/3/24, 9:10 p. m. - Tomás Ruiz: Rosa.vcf (archivo adjunto)\n"
                         "14/3/24, 9:11 p. m. - Rosa Quiñónez: IMG-20240314-WA0006.jpg (archivo adjunto)\n";

} // namespace

TEST_CASE("A voice note and a photo in a WhatsApp zip become an encrypted recording and image of their message",
          "[capture][social][audio]") {
    Fixture f;
    const std::string voice = f.VoiceNote();
    const std::string photo = f.Photo();
    const auto zip = ZipOf({{"WhatsApp Chat with Cosecha.txt", CHAT},
                            {"PTT-20240314-WA0003.opus", voice},
                            {"IMG-20240314-WA0004.jpg", photo},
                            {"VID-20240314-WA0005.mp4", std::string("\0\0\0\x18" "ftypmp42 ", 13) + CANARY},
                            {"Rosa.vcf", "BEGIN:VCARD\nTEL:+57 312 555 0101\nEND:VCARD\n"}});
    const auto report = f.Import(zip, "WhatsApp Chat with Cosecha.zip");
    CHECK(report.added == 6);
    CHECK(report.voice_notes == 1);
    CHECK(report.images == 1);
    // The video and the contact card are not kept; the second photo is not in the zip.
    CHECK(report.media_not_kept == std::map<std::string, int64_t>{{"not_kept", 2}, {"missing", 1}});

    const auto note_item = f.ItemWith("PTT-20240314-WA0003.opus");
    const auto photo_item = f.ItemWith("IMG-20240314-WA0004.jpg");
    REQUIRE(note_item);
    REQUIRE(photo_item);
    const auto recordings = f.store.List("recording");
    REQUIRE(recordings.size() == 1);
    const auto& rec = recordings[0];
    CHECK(rec["social_item_id"] == (*note_item)["id"]);
    CHECK(rec["participant_ids"] == Json::array({(*note_item)["participant_id"]}));
    CHECK(rec["status"] == "complete");
    CHECK(rec["source"] == "imported");
    CHECK(rec["started_at"] == (*note_item)["posted_at"]);
    // It plays: as long as the speech, decoded from the encrypted blob.
    storage::BlobStore blobs(f.vault);
    capture::Decoder decoder(blobs.Open(rec["audio_sha256"]));
    CHECK(decoder.DurationMs() > 2000);
    CHECK(std::abs(decoder.DurationMs() - rec["duration_ms"].get<int64_t>()) <= 30);

    const auto images = f.store.List("image");
    REQUIRE(images.size() == 1);
    const auto& image = images[0];
    CHECK(image["social_item_id"] == (*photo_item)["id"]);
    CHECK(image["participant_ids"] == Json::array({(*photo_item)["participant_id"]}));
    CHECK(image["media_type"] == "image/jpeg");
    CHECK(image["width"] == 64);
    CHECK(image["height"] == 48);
    CHECK(blobs.ReadAll(image["image_sha256"]) == photo); // the picture as it came, shown on request
    const auto pictures = capture::PicturesOf(f.store, (*photo_item)["id"]);
    REQUIRE(pictures.size() == 1);
    CHECK(pictures[0]["id"] == image["id"]);
    CHECK(capture::PicturesOf(f.store, (*note_item)["id"]).empty());
    // Its voice notes come with the export; an interview is recorded onto.
    CHECK_FALSE(capture::RecordedOnto("social_media_item"));
    CHECK(capture::RecordedOnto("interview"));

    // Nothing of the media in plaintext anywhere in the vault.
    const auto vault_dir = f.dir.Path() / "vault";
    auto needles = test::PlainMediaMarks();
    needles.insert(needles.end(), {CANARY, "BEGIN:VCARD", "ftypmp42"});
    CHECK(test::FilesContainingAny(vault_dir, needles) == "");

    SECTION("importing the zip again adds nothing") {
        const auto again = f.Import(zip, "WhatsApp Chat with Cosecha.zip");
        CHECK(again.added == 0);
        CHECK(again.skipped == 6);
        CHECK(again.voice_notes == 0);
        CHECK(again.images == 0);
        CHECK(f.store.Count("recording") == 1);
        CHECK(f.store.Count("image") == 1);
    }
    SECTION("a later export with the missing photo adds it to the message already here") {
        const std::string png = f.Photo("png");
        const auto later = ZipOf({{"WhatsApp Chat with Cosecha.txt", CHAT}, {"IMG-20240314-WA0006.jpg", png}});
        const auto again = f.Import(later, "WhatsApp Chat with Cosecha.zip");
        CHECK(again.added == 0);
        CHECK(again.images == 1);
        CHECK(f.store.Count("image") == 2);
        // Its kind comes from its bytes, not from its name.
        bool found = false;
        for (const auto& i : f.store.List("image"))
            if (i["title"] == "IMG-20240314-WA0006.jpg") {
                found = true;
                CHECK(i["media_type"] == "image/png");
                CHECK(i["social_item_id"] == f.ItemWith("IMG-20240314-WA0006.jpg")->at("id"));
            }
        CHECK(found);
    }
    SECTION("the author's withdrawal takes their voice note with their messages") {
        const std::string rosa = (*note_item)["participant_id"];
        const auto sha = rec["audio_sha256"].get<std::string>();
        const auto w = capture::WithdrawConsent(f.store, rosa, "2024-04-01");
        CHECK(w.erased.at("recording") == 1);
        CHECK(f.store.Count("recording") == 0);
        CHECK_FALSE(blobs.Find(sha));
        CHECK(f.store.Count("image") == 1); // Tomás's photo stays
    }
}

TEST_CASE("Attached files that are not what they say are counted, and their messages kept", "[capture][social]") {
    Fixture f;
    const std::string photo = f.Photo();
    const std::string chat = "14/3/24, 9:07 p. m. - Rosa Quiñónez: PTT-20240314-WA0003.opus (archivo adjunto)\n"
                             "14/3/24, 9:08 p. m. - Rosa Quiñónez: IMG-20240314-WA0004.jpg (archivo adjunto)\n"
                             "14/3/24, 9:09 p. m. - Rosa Quiñónez: IMG-20240314-WA0005.jpg (archivo adjunto)\n"
                             "14/3/24, 9:10 p. m. - Rosa Quiñónez: IMG-20240314-WA0006.jpg (archivo adjunto)\n";
    capture::SocialLimits limits;
    limits.max_media_bytes = 100;
    const auto zip = ZipOf({{"WhatsApp Chat with Cosecha.txt", chat},
                            {"PTT-20240314-WA0003.opus", "OggS not really audio " + CANARY},
                            {"IMG-20240314-WA0004.jpg", "<html>" + CANARY + "</html>"},
                            {"a/IMG-20240314-WA0005.jpg", "\xFF\xD8\xFF tiny"},
                            {"b/IMG-20240314-WA0005.jpg", "\xFF\xD8\xFF tiny"},
                            {"IMG-20240314-WA0006.jpg", photo}});
    const auto report = f.Import(zip, "WhatsApp Chat with Cosecha.zip", limits);
    CHECK(report.added == 4);
    CHECK(report.voice_notes == 0);
    CHECK(report.images == 0);
    CHECK(report.media_not_kept ==
          std::map<std::string, int64_t>{{"unreadable", 2}, {"ambiguous", 1}, {"too_large", 1}});
    CHECK(f.store.Count("recording") == 0);
    CHECK(f.store.Count("image") == 0);
    CHECK(storage::BlobStore(f.vault).List().empty());
    CHECK(storage::BlobStore(f.vault).Parts().empty());
    CHECK(test::FilesContaining(f.dir.Path() / "vault", CANARY).empty());
}

TEST_CASE("An import that fails after its media were sealed leaves no record and no file of them",
          "[capture][social][audio]") {
    Fixture f;
    const auto zip = ZipOf({{"WhatsApp Chat with Cosecha.txt", CHAT},
                            {"PTT-20240314-WA0003.opus", f.VoiceNote()},
                            {"IMG-20240314-WA0004.jpg", f.Photo()}});
    capture::AuthorChoices choices;
    choices.generate = true;
    const auto parsed = capture::ParseSocialExport(zip, "chat.zip");
    const capture::SocialMediaArchive media(zip, "chat.zip");
    const auto blob_files = [&] {
        int n = 0;
        std::error_code ec;
        for (auto it = std::filesystem::directory_iterator(f.dir.Path() / "vault" / "blobs", ec);
             !ec && it != std::filesystem::directory_iterator(); ++it)
            ++n;
        return n;
    };
    const int before = blob_files();
    // The last progress call comes after every message and file, inside the transaction.
    CHECK_THROWS_WITH(capture::ImportSocial(f.vault, f.project, parsed, choices, media,
                                            [](int64_t done, int64_t total) {
                                                if (done == total) throw std::runtime_error("stopped");
                                            }),
                      "stopped");
    CHECK(f.store.Count("social_media_item") == 0);
    CHECK(f.store.Count("recording") == 0);
    CHECK(f.store.Count("image") == 0);
    CHECK(storage::BlobStore(f.vault).List().empty());
    CHECK(blob_files() == before);
}

TEST_CASE("A kept picture decodes for showing; one claiming to be huge is refused before decoding",
          "[capture][social]") {
    Fixture f;
    const auto photo = capture::DecodePicture(f.Photo());
    REQUIRE(photo.outcome == capture::DecodedPicture::Outcome::Shown);
    CHECK(photo.width == 64);
    CHECK(photo.height == 48);
    CHECK(photo.rgba.size() == 64u * 48u * 4u);
    // A PNG header that claims 10,000 x 10,000 pixels in a few bytes.
    std::string huge = f.Photo("png");
    REQUIRE(huge.size() > 24);
    for (int i : {16, 20}) { // IHDR width and height, big-endian
        huge[static_cast<size_t>(i)] = 0;
        huge[static_cast<size_t>(i) + 1] = 0;
        huge[static_cast<size_t>(i) + 2] = 0x27;
        huge[static_cast<size_t>(i) + 3] = 0x10;
    }
    CHECK(capture::DecodePicture(huge).outcome == capture::DecodedPicture::Outcome::TooLarge);
    CHECK(capture::DecodePicture(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16) + std::string(16, '\0')).outcome ==
          capture::DecodedPicture::Outcome::KindNotShown);
    CHECK(capture::DecodePicture("\xFF\xD8\xFF garbage").outcome == capture::DecodedPicture::Outcome::Unreadable);
    CHECK(capture::DecodePicture("").outcome == capture::DecodedPicture::Outcome::Unreadable);
}
