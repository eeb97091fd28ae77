#include "escucha/interpret/codebook.h"
#include "escucha/interpret/interpretation_records.h"

#include "interpret/project_store.h"

#include <catch2/catch.hpp>

using namespace escucha;
using storage::Json;

namespace {

struct Book : test::ProjectStore {
    std::string Code(const std::string& name, const std::string& parent = {}) {
        Json fields = {{"name", name}, {"kind", "problem"}, {"colour", "#A0c0FF"}};
        if (!parent.empty()) fields["parent_id"] = parent;
        return interpret::CreateCode(store, project, fields)["id"];
    }
};

template <typename F>
std::string ErrorCode(F&& work) {
    try {
        work();
    } catch (const storage::RecordError& e) {
        return e.Code();
    }
    return {};
}

std::vector<std::string> Names(const std::vector<interpret::CodebookEntry>& book) {
    std::vector<std::string> out;
    for (const auto& e : book) out.push_back(std::string(e.depth * 2, ' ') + e.code["name"].get<std::string>());
    return out;
}

} // namespace

TEST_CASE("Codes form a tree: created, renamed, moved without cycles and listed in tree order",
          "[interpret][codebook]") {
    Book b;
    const auto work = b.Code("Trabajo");
    const auto pay = b.Code("salario", work);
    const auto late = b.Code("Pagos tardíos", pay);
    const auto land = b.Code("Tierra");
    CHECK(b.store.Get(work).value()["kind"] == "problem");
    CHECK(interpret::CreateCode(b.store, b.project, {{"name", "Sin tipo"}})["kind"] == "other");
    CHECK(ErrorCode([&] {
              interpret::CreateCode(b.store, b.project, {{"name", "X"}, {"colour", "red"}});
          }) == storage::errc::BAD_COLOUR);
    CHECK(ErrorCode([&] {
              interpret::CreateCode(b.store, b.project, {{"name", "X"}, {"kind", "wish"}});
          }) == storage::errc::UNKNOWN_CHOICE);

    interpret::RenameCode(b.store, pay, "Salario");
    CHECK(ErrorCode([&] { interpret::MoveCode(b.store, work, late); }) == storage::errc::CODE_CYCLE);
    CHECK(ErrorCode([&] { interpret::MoveCode(b.store, work, work); }) == storage::errc::CODE_CYCLE);
    CHECK(ErrorCode([&] { interpret::MoveCode(b.store, work, b.project); }) == storage::errc::REFERENCE_WRONG_TYPE);
    interpret::MoveCode(b.store, late, land);
    CHECK(Names(interpret::ListCodebook(b.store, b.project)) ==
          std::vector<std::string>{"Sin tipo", "Tierra", "  Pagos tardíos", "Trabajo", "  Salario"});
    interpret::MoveCode(b.store, late, "");
    interpret::RetireCode(b.store, land);
    CHECK(Names(interpret::ListCodebook(b.store, b.project, false)) ==
          std::vector<std::string>{"Pagos tardíos", "Sin tipo", "Trabajo", "  Salario"});
}

TEST_CASE("Merging codes moves their codings without duplicates and keeps the old code retired",
          "[interpret][codebook]") {
    Book b;
    const auto from = b.Code("Guardería");
    const auto into = b.Code("Cuidado");
    const auto child = b.Code("Jardín infantil", from);
    const std::string n = b.store.Create(
        "narrative", {{"project_id", b.project}, {"title", "T"}, {"text", "No hay guardería ni escuela."}})["id"];
    const std::string both = interpret::CodePassage(b.store, {n, 7, 16}, {from}, "falta")[0]["id"];
    const std::string kept = interpret::CodePassage(b.store, {n, 7, 16}, {into}, "cuidado")[0]["id"];
    const std::string only = interpret::CodePassage(b.store, {n, 20, 26}, {from})[0]["id"];

    CHECK(ErrorCode([&] { interpret::MergeCodes(b.store, from, from); }) == storage::errc::SAME_CODE);
    const auto merged = interpret::MergeCodes(b.store, from, into);
    CHECK(merged.moved == std::vector<std::string>{only});
    CHECK(merged.dropped == std::vector<std::string>{both});
    CHECK(merged.children == std::vector<std::string>{child});
    CHECK(b.store.Get(only).value()["code_id"] == into);
    CHECK(b.store.Get(both).value()["deleted"] == true);
    CHECK(b.store.Get(kept).value()["memo"] == "cuidado\n\nfalta");
    CHECK(b.store.Get(child).value()["parent_id"] == into);
    const auto old = b.store.Get(from).value();
    CHECK(old["retired"] == true);
    CHECK(old["merged_into"] == into);
    CHECK(interpret::Excerpts(b.store, into).size() == 2);
    CHECK(interpret::Excerpts(b.store, from).empty());

    // Merging a code into one under it: the codes under it go where it was.
    const auto top = b.Code("Arriba");
    const auto mid = b.Code("Medio", top);
    const auto low = b.Code("Abajo", mid);
    const auto side = b.Code("Lado", top);
    interpret::MergeCodes(b.store, top, low);
    CHECK_FALSE(b.store.Get(mid).value().contains("parent_id"));
    CHECK_FALSE(b.store.Get(side).value().contains("parent_id"));
    CHECK(b.store.Get(low).value()["parent_id"] == mid);
}

TEST_CASE("A merge that drops a duplicate coding moves what quoted it to the coding kept", "[interpret][codebook]") {
    Book b;
    const auto from = b.Code("Guardería");
    const auto into = b.Code("Cuidado");
    const std::string n = b.store.Create(
        "narrative", {{"project_id", b.project}, {"title", "T"}, {"text", "No hay guardería ni escuela."}})["id"];
    const std::string dropped = interpret::CodePassage(b.store, {n, 7, 16}, {from})[0]["id"];
    const std::string kept = interpret::CodePassage(b.store, {n, 7, 16}, {into})[0]["id"];
    const std::string profile =
        b.store.Create("profile", {{"project_id", b.project}, {"kind", "collective"}, {"name", "Madres"}})["id"];
    const std::string quote = b.store.Create("quote", {{"project_id", b.project}, {"profile_id", profile}, {"coding_id", dropped}})["id"];
    const std::string challenge = b.store.Create("challenge", {{"project_id", b.project},
                                                               {"kind", "challenge"},
                                                               {"statement", "Sin guardería"},
                                                               {"coding_ids", {dropped, kept}}})["id"];
    const auto merged = interpret::MergeCodes(b.store, from, into);
    CHECK(merged.dropped == std::vector<std::string>{dropped});
    CHECK(b.store.Get(quote)->at("coding_id") == kept);
    CHECK(b.store.Get(challenge)->at("coding_ids") == Json::array({kept})); // once, not twice
    CHECK(b.store.Get(dropped)->at("deleted") == true);
}
