// Two interpreters code the same text offline, through a real escucha-hq:
// every coding of both arrives everywhere, and an edit of the text made on
// one device moves the codings made on the other.
#include "escucha/interpret/codebook.h"
#include "escucha/interpret/coding.h"
#include "sync/sync_fixture.h"

#include <algorithm>

using namespace escucha;
using namespace escucha::test;

namespace {

/// Every live excerpt of `code` on a device, by the excerpt's words.
std::map<std::string, interpret::Excerpt> ExcerptsByWords(storage::Vault& vault, const std::string& code) {
    std::map<std::string, interpret::Excerpt> out;
    for (auto& e : interpret::Excerpts(vault.Records(), code)) out[e.text + "@" + std::to_string(e.start)] = e;
    return out;
}

int64_t Start(const std::string& text, const std::string& words) {
    return interpret::CodePointOffset(text, static_cast<int64_t>(text.find(words)));
}

} // namespace

TEST_CASE("Codings made offline on two devices all arrive, and follow an edit of the text made elsewhere",
          "[sync][coding]") {
    Hq hq;
    Device ana(hq, "researcher");
    Device luis(hq, "interpreter");
    const std::string text = "Ñandú dice: el capataz pesa la arroba 😀 y nos paga con vales.";
    const auto told = ana.Add("narrative", {{"title", "La báscula"}, {"text", text}});
    const std::string id = told["id"];
    const auto scale = interpret::CreateCode(ana.vault.Records(), ana.Project(), {{"name", "Báscula"}})["id"];
    const auto pay = interpret::CreateCode(ana.vault.Records(), ana.Project(), {{"name", "Pago"}})["id"];
    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok);

    // Offline, both code the same text: the same passage with different codes and with the same one.
    const auto arroba = Start(text, "pesa la arroba");
    const auto vales = Start(text, "vales");
    interpret::CodePassage(ana.vault.Records(), {id, arroba, arroba + 14}, {scale}, "Ana");
    interpret::CodePassage(luis.vault.Records(), {id, arroba, arroba + 14}, {pay, scale}, "Luis");
    interpret::CodePassage(luis.vault.Records(), {id, vales, vales + 5}, {pay});
    // And Ana rewrites the start of the text, before either passage, still offline.
    const std::string edited = "Doña Rosalba, del comité, cuenta: el capataz pesa la arroba 😀 y nos paga con vales.";
    ana.vault.Records().Update(id, {{"text", edited}});
    (void)interpret::FollowEdit(ana.vault.Records(), id);

    REQUIRE(ana.Sync().ok);  // her edit and her coding
    REQUIRE(luis.Sync().ok); // his codings go; her edit comes, and his codings follow it
    REQUIRE(ana.Sync().ok);  // his codings: they follow her edit here too, to the same place
    REQUIRE(luis.Sync().ok); // his moves go
    REQUIRE(ana.Sync().ok);  // her moves (the same) go, his come
    REQUIRE(luis.Sync().ok);

    for (auto* device : {&ana, &luis}) {
        INFO((device == &ana ? "ana" : "luis"));
        const auto by_pay = ExcerptsByWords(device->vault, pay);
        // Nothing lost: Ana's and Luis's "Báscula" on the same passage are both there.
        CHECK(interpret::Excerpts(device->vault.Records(), scale).size() == 2);
        CHECK(interpret::Excerpts(device->vault.Records(), pay).size() == 2);
        // Every coding reads its words where it says, in the edited text.
        for (const auto& code : {scale, pay})
            for (const auto& e : interpret::Excerpts(device->vault.Records(), code)) {
                INFO(e.text);
                CHECK_FALSE(e.needs_review);
                CHECK(interpret::CodePointSlice(edited, e.start, e.end) == e.text);
            }
        CHECK(by_pay.count("vales@" + std::to_string(Start(edited, "vales"))) == 1);
    }
    // Both moved the same codings to the same place: nothing for a person to settle.
    CHECK(ana.vault.Records().ListConflicts().empty());
    CHECK(luis.vault.Records().ListConflicts().empty());
    RequireSameAsHq(hq, luis.vault);

    // An edit inside a passage coded elsewhere: flagged there for a person, never silently wrong.
    ana.vault.Records().Update(id, {{"text", "Doña Rosalba cuenta: el capataz pesa mal y nos paga con vales."}});
    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok);
    const auto after = interpret::Excerpts(luis.vault.Records(), scale);
    REQUIRE(after.size() == 2);
    CHECK(std::all_of(after.begin(), after.end(), [](const auto& e) { return e.needs_review; }));
    const auto still = interpret::Excerpts(luis.vault.Records(), pay);
    CHECK(std::count_if(still.begin(), still.end(), [](const auto& e) { return !e.needs_review; }) == 1); // "vales"
}
