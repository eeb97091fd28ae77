#include "escucha/interpret/codebook.h"
#include "escucha/interpret/coding.h"
#include "escucha/interpret/interpretation_records.h"

#include "interpret/project_store.h"

#include <catch2/catch.hpp>

using namespace escucha;
using storage::Json;

namespace {

struct Vault : test::ProjectStore {
    std::string Code(const std::string& name) {
        return interpret::CreateCode(store, project, {{"name", name}, {"kind", "need"}})["id"];
    }
};

/// The code of the RecordError `work` throws, or "" when it throws none.
template <typename F>
std::string ErrorCode(F&& work) {
    try {
        work();
    } catch (const storage::RecordError& e) {
        return e.Code();
    }
    return {};
}

} // namespace

TEST_CASE("Code point offsets count characters, not bytes", "[interpret][coding]") {
    using namespace interpret;
    const std::string accents = "Añoranza: café";              // ñ and é take two bytes
    const std::string emoji = "a😀b";                           // four bytes
    const std::string combining = "cafe\xCC\x81 y m\xC3\xA1s"; // e + U+0301 is two code points
    CHECK(CodePointLength(accents) == 14);
    CHECK(CodePointLength(emoji) == 3);
    CHECK(CodePointLength(combining) == 11);
    CHECK(ByteOffset(accents, 3) == 4);
    CHECK(ByteOffset(emoji, 2) == 5);
    CHECK(ByteOffset(emoji, 3) == 6);
    CHECK(ByteOffset(emoji, 4) == -1);
    CHECK(ByteOffset(emoji, -1) == -1);
    CHECK(CodePointOffset(emoji, 5) == 2);
    CHECK(CodePointOffset(emoji, 2) == -1); // inside the emoji
    CHECK(CodePointOffset(emoji, 7) == -1);
    CHECK(CodePointSlice(accents, 10, 14) == "café");
    CHECK(CodePointSlice(emoji, 1, 2) == "😀");
    CHECK(CodePointSlice(combining, 0, 5) == "cafe\xCC\x81");
    CHECK(CodePointSlice(combining, 4, 5) == "\xCC\x81");
    CHECK(CodePointSlice(emoji, 3, 3).empty());
    CHECK(ErrorCode([&] { (void)CodePointSlice(emoji, 2, 4); }) == storage::errc::OUTSIDE_TEXT);
    CHECK(ErrorCode([&] { (void)CodePointSlice(emoji, 2, 1); }) == storage::errc::OUTSIDE_TEXT);
    CHECK(NormaliseNewlines("uno\r\ndos\rtres\n") == "uno\ndos\ntres\n");
}

TEST_CASE("A passage is coded in code points of the text with normalised newlines", "[interpret][coding]") {
    Vault v;
    const auto need = v.Code("Tierra");
    const auto value = v.Code("Familia");
    // CRLF input: the store keeps \n, and offsets count one character per newline.
    const std::string n = v.store.Create(
        "narrative",
        {{"project_id", v.project}, {"title", "Cosecha"}, {"text", "Señora 😀\r\nMi tierra es mía.\r\nY basta."}})["id"];
    const auto codings = interpret::CodePassage(v.store, {n, 9, 26}, {need, value}, "Dice tierra propia");
    REQUIRE(codings.size() == 2);
    CHECK(codings[0]["excerpt"] == "Mi tierra es mía.");
    CHECK(codings[1]["code_id"] == value);
    CHECK(codings[0]["memo"] == "Dice tierra propia");
    CHECK(codings[0]["narrative_id"] == n);

    const auto refused = [&](interpret::Passage p, std::vector<std::string> codes) {
        return ErrorCode([&] { (void)interpret::CodePassage(v.store, p, codes); });
    };
    const auto before = v.store.Count(interpret::CODING_TYPE);
    CHECK(refused({n, 30, 36}, {need}) == storage::errc::OUTSIDE_TEXT); // 35 code points
    CHECK(refused({n, 3, 2}, {need}) == storage::errc::OUTSIDE_TEXT);
    CHECK(refused({n, 0, 35}, {need}).empty());
    CHECK(refused({n, 0, 1}, {}) == storage::errc::NO_CODES);
    CHECK(refused({n, 0, 1}, {need, n}) == storage::errc::REFERENCE_WRONG_TYPE);
    CHECK(refused({"0190a0c4-0000-7000-8000-000000000000", 0, 1}, {need}) == storage::errc::RECORD_NOT_FOUND);
    CHECK(refused({need, 0, 1}, {need}) == storage::errc::NOT_CODABLE);
    interpret::RetireCode(v.store, value);
    CHECK(refused({n, 0, 1}, {need, value}) == storage::errc::CODE_RETIRED);
    CHECK(v.store.Count(interpret::CODING_TYPE) == before + 1); // nothing stored by the refused ones

    // A coding names exactly one source.
    CHECK(ErrorCode([&] {
              v.store.Create(interpret::CODING_TYPE,
                             {{"project_id", v.project}, {"code_id", need}, {"start", 0}, {"end", 1}});
          }) == storage::errc::CODING_ONE_SOURCE);
}

TEST_CASE("A coding follows an edit before it and is flagged by an edit inside it", "[interpret][coding]") {
    Vault v;
    const auto code = v.Code("Salario");
    const std::string f = v.store.Create(
        "field_note",
        {{"project_id", v.project}, {"title", "Finca"}, {"text", "Pagan por arroba. Nadie pesa bien."}})["id"];
    const std::string before = interpret::CodePassage(v.store, {f, 18, 34}, {code})[0]["id"];
    const std::string inside = interpret::CodePassage(v.store, {f, 0, 16}, {code})[0]["id"];

    v.store.Update(f, {{"text", "Dicen: 🌾 pagan por arroba. Nadie pesa bien."}});
    auto outcome = interpret::FollowEdit(v.store, f);
    CHECK(outcome.moved == std::vector<std::string>{before});
    CHECK(outcome.flagged == std::vector<std::string>{inside});
    const auto moved = *v.store.Get(before);
    CHECK(moved["start"] == 27);
    CHECK(moved["end"] == 43);
    CHECK(interpret::CodePointSlice(v.store.Get(f).value()["text"].get<std::string>(), 27, 43) == "Nadie pesa bien.");
    CHECK(v.store.Get(inside).value()["needs_review"] == true);
    CHECK_FALSE(moved.contains("needs_review"));

    // Run again: nothing moves; the flagged one stays flagged.
    outcome = interpret::FollowEdit(v.store, f);
    CHECK(outcome.unchanged == std::vector<std::string>{before});
    CHECK(outcome.flagged == std::vector<std::string>{inside});

    // An excerpt found twice is ambiguous: flagged, never guessed.
    v.store.Update(f, {{"text", "Nadie pesa bien. Nadie pesa bien."}});
    outcome = interpret::FollowEdit(v.store, f);
    CHECK(outcome.flagged.size() == 2);

    // Excerpts notice an edit FollowEdit has not seen.
    const std::string n =
        v.store.Create("narrative", {{"project_id", v.project}, {"title", "T"}, {"text", "uno dos"}})["id"];
    interpret::CodePassage(v.store, {n, 4, 7}, {code});
    v.store.Update(n, {{"text", "uno tres"}});
    bool seen = false;
    for (const auto& e : interpret::Excerpts(v.store, code))
        if (e.source_id == n) {
            seen = true;
            CHECK(e.needs_review);
        }
    CHECK(seen);
}

TEST_CASE("Excerpts of a code come with their source and its participants' groups", "[interpret][coding]") {
    Vault v;
    const auto code = v.Code("Cuidado de hijos");
    const auto other = v.Code("Otro");
    const std::string rosa =
        v.store.Create("participant", {{"project_id", v.project},
                                       {"pseudonym", "Rosa"},
                                       {"age_band", "25_34"},
                                       {"gender", "mujer"},
                                       {"territory", "Cauca"},
                                       {"vulnerability_groups", {"migrante", "madre sola"}}})["id"];
    const std::string luz = v.store.Create("participant", {{"project_id", v.project}, {"pseudonym", "Luz"}})["id"];
    const std::string n = v.store.Create("narrative", {{"project_id", v.project},
                                                       {"title", "Cosecha"},
                                                       {"text", "No hay guardería."},
                                                       {"teller_ids", {rosa, luz}}})["id"];
    const std::string note = v.store.Create(
        "field_note", {{"project_id", v.project}, {"title", "Obs"}, {"text", "Niños en el surco."}})["id"];
    interpret::CodePassage(v.store, {n, 7, 16}, {code, other});
    interpret::CodePassage(v.store, {note, 0, 5}, {code}, "observado");

    const auto excerpts = interpret::Excerpts(v.store, code);
    REQUIRE(excerpts.size() == 2);
    CHECK(excerpts[0].source_id == n);
    CHECK(excerpts[0].source_type == "narrative");
    CHECK(excerpts[0].text == "guardería");
    CHECK_FALSE(excerpts[0].needs_review);
    REQUIRE(excerpts[0].participants.size() == 2);
    CHECK(excerpts[0].participants[0].pseudonym == "Rosa");
    CHECK(excerpts[0].participants[0].groups["age_band"] == "25_34");
    CHECK(excerpts[0].participants[0].groups["territory"] == "Cauca");
    CHECK(excerpts[0].participants[0].groups["gender"] == "mujer");
    CHECK(excerpts[0].participants[0].groups["vulnerability_groups"] == Json::array({"migrante", "madre sola"}));
    CHECK(excerpts[0].participants[1].groups.empty());
    CHECK(excerpts[1].source_type == "field_note");
    CHECK(excerpts[1].memo == "observado");
    CHECK(excerpts[1].participants.empty());
    CHECK(interpret::Excerpts(v.store, other).size() == 1);
}
