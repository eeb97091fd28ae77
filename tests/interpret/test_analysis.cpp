#include "escucha/interpret/analysis.h"
#include "escucha/interpret/codebook.h"
#include "escucha/interpret/coding.h"

#include "interpret/project_store.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace escucha;
using storage::Json;

namespace {

struct Vault : test::ProjectStore {
    std::string Code(const std::string& name, const std::string& parent = {}) {
        Json fields = {{"name", name}, {"kind", "need"}};
        if (!parent.empty()) fields["parent_id"] = parent;
        return interpret::CreateCode(store, project, fields)["id"];
    }
    std::string Person(const std::string& pseudonym, Json groups) {
        groups["project_id"] = project;
        groups["pseudonym"] = pseudonym;
        return store.Create("participant", groups)["id"];
    }
    std::string Narrative(const std::string& text, Json tellers) {
        return store.Create("narrative",
                            {{"project_id", project}, {"title", "n"}, {"text", text}, {"teller_ids", tellers}})["id"];
    }
};

size_t Column(const interpret::GroupMatrix& m, const std::string& group) {
    const auto it = std::find(m.groups.begin(), m.groups.end(), group);
    REQUIRE(it != m.groups.end());
    return static_cast<size_t>(it - m.groups.begin());
}

size_t Row(const interpret::GroupMatrix& m, const std::string& code) {
    for (size_t i = 0; i < m.codes.size(); ++i)
        if (m.codes[i].code["id"] == code) return i;
    FAIL("code not in the matrix");
    return 0;
}

} // namespace

TEST_CASE("The code x group matrix counts each coding once in every group of its source's people",
          "[interpret][analysis]") {
    Vault v;
    const auto care = v.Code("Cuidado");
    const auto school = v.Code("Escuela", care);
    const auto wages = v.Code("Salario");
    const auto rosa = v.Person("Rosa", {{"gender", "mujer"}, {"vulnerability_groups", {"migrante", "madre sola"}}});
    const auto luz = v.Person("Luz", {{"gender", "mujer"}, {"vulnerability_groups", {"migrante"}}});
    const auto juan = v.Person("Juan", {{"gender", "hombre"}});
    const auto both = v.Narrative("No hay guardería ni escuela.", {rosa, juan});
    const auto hers = v.Narrative("El jornal no alcanza.", {luz});
    const auto note = v.store.Create("field_note", {{"project_id", v.project}, {"title", "o"}, {"text", "Niños solos."}})["id"];
    interpret::CodePassage(v.store, {both, 7, 16}, {care});
    interpret::CodePassage(v.store, {both, 20, 27}, {school, care});
    interpret::CodePassage(v.store, {hers, 3, 9}, {wages});
    interpret::CodePassage(v.store, {note, 0, 5}, {care});

    const auto by_gender = interpret::CodeGroupMatrix(v.store, v.project, "gender");
    CHECK(by_gender.codings == 5);
    REQUIRE(by_gender.groups == std::vector<std::string>{"hombre", "mujer", interpret::NOT_RECORDED});
    REQUIRE(by_gender.codes.size() == 3);
    // Tree order: Cuidado, its child Escuela, then Salario.
    CHECK(by_gender.codes[0].code["id"] == care);
    CHECK(by_gender.codes[1].code["id"] == school);
    const auto r_care = Row(by_gender, care), r_wages = Row(by_gender, wages);
    // Rosa and Juan told the same narrative: each of its codings counts under both genders.
    CHECK(by_gender.Count(r_care, Column(by_gender, "mujer")) == 2);
    CHECK(by_gender.Count(r_care, Column(by_gender, "hombre")) == 2);
    CHECK(by_gender.Count(r_care, Column(by_gender, interpret::NOT_RECORDED)) == 1); // the field note
    CHECK(by_gender.Count(r_wages, Column(by_gender, "mujer")) == 1);
    CHECK(by_gender.Count(r_wages, Column(by_gender, "hombre")) == 0);
    CHECK(by_gender.row_totals[r_care] == 3); // each coding once in the total
    CHECK(by_gender.column_totals[Column(by_gender, "mujer")] == 4);
    CHECK(by_gender.largest_cell == 2);

    // A list field: a coding counts under each group listed, once.
    const auto by_group = interpret::CodeGroupMatrix(v.store, v.project, "vulnerability_groups");
    CHECK(by_group.Count(Row(by_group, care), Column(by_group, "madre sola")) == 2);
    CHECK(by_group.Count(Row(by_group, care), Column(by_group, "migrante")) == 2);
    CHECK(by_group.Count(Row(by_group, wages), Column(by_group, "migrante")) == 1);
    // Juan has no vulnerability group, but Rosa shares his narrative: it is not "not recorded".
    CHECK(by_group.Count(Row(by_group, care), Column(by_group, interpret::NOT_RECORDED)) == 1);

    // The cells name the codings behind them, which open their excerpts.
    const auto& cell = by_gender.cells[r_wages][Column(by_gender, "mujer")];
    REQUIRE(cell.size() == 1);
    const auto excerpts = interpret::Excerpts(v.store, wages);
    REQUIRE(excerpts.size() == 1);
    CHECK(excerpts[0].coding_id == cell[0]);
    CHECK(excerpts[0].text == "jornal");

    // A merged code leaves the rows; its codings are counted under the code they went into.
    interpret::MergeCodes(v.store, school, care);
    const auto merged = interpret::CodeGroupMatrix(v.store, v.project, "gender");
    CHECK(merged.codes.size() == 2);
    CHECK(merged.codings == 4); // the passage Escuela and Cuidado both coded is now one coding

    CHECK_THROWS_AS(interpret::CodeGroupMatrix(v.store, v.project, "pseudonym"), storage::RecordError);
}
