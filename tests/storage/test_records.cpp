#include "escucha/storage/records.h"

#include "storage/test_catalogue.h"

#include <catch2/catch.hpp>

using namespace escucha::storage;
using escucha::test::TestCatalogue;

namespace {

/// An unencrypted in-memory database with the record schema: the record
/// logic does not depend on the key (the vault tests cover that).
struct Fixture {
    Catalogue catalogue = TestCatalogue();
    Database db{":memory:", true};
    int64_t wall = 1'750'000'000'000;
    HybridLogicalClock clock{[this] { return wall; }};
    RecordStore store{db, catalogue, clock, {"ana", "device-1"}};
    std::string project;

    Fixture() {
        RegisterSearchFunctions(db);
        store.EnsureSchema();
        project = store.Create("project", {{"name", "Escucha"}})["id"];
    }
    Json Person(const std::string& pseudonym) {
        return store.Create("person", {{"project_id", project}, {"pseudonym", pseudonym}});
    }
    int64_t JournalCount() { return store.PendingJournalCount(); }
};

} // namespace

TEST_CASE("Creating a record stamps it and journals it in the same transaction", "[storage]") {
    Fixture f;
    const auto before = f.JournalCount();
    const auto r = f.Person("Rosa");
    CHECK(IsUuid(r["id"].get<std::string>()));
    CHECK(r["project_id"] == f.project);
    CHECK(r["author"] == "ana");
    CHECK(r["device"] == "device-1");
    CHECK(r["rev"] == 1);
    CHECK(r["deleted"] == false);
    CHECK(HlcTimestamp::Parse(r["updated_at"].get<std::string>()));
    CHECK(f.JournalCount() == before + 1);
    const auto journal = f.store.PendingJournal(100).back();
    CHECK(journal.record_id == r["id"]);
    CHECK(journal.op == "upsert");
    CHECK(Json::parse(journal.body)["pseudonym"] == "Rosa");

    SECTION("a rolled-back transaction leaves neither record nor journal row") {
        const auto journal_before = f.JournalCount();
        struct Abandon {};
        CHECK_THROWS_AS(f.store.Atomically([&] {
            f.Person("Lucía");
            throw Abandon{};
        }),
                        Abandon);
        CHECK(f.JournalCount() == journal_before);
        CHECK(f.store.Count("person") == 1);
    }
}

TEST_CASE("Records that do not fit their type are refused with the field named", "[storage]") {
    Fixture f;
    const auto refused = [&](const Json& fields, const std::string& field, const std::string& words) {
        Json input = fields;
        input["project_id"] = f.project;
        try {
            f.store.Create("person", input);
            FAIL("accepted " << input.dump());
        } catch (const RecordError& e) {
            CHECK(e.Field() == field);
            CHECK_THAT(e.what(), Catch::Contains(words));
        }
    };
    SECTION("missing required field") { refused({{"age", 3}}, "pseudonym", "is required"); }
    SECTION("empty required field") { refused({{"pseudonym", "  "}}, "pseudonym", "may not be empty"); }
    SECTION("unknown field") { refused({{"pseudonym", "x"}, {"surname", "y"}}, "surname", "not a field of person"); }
    SECTION("wrong JSON type") { refused({{"pseudonym", 7}}, "pseudonym", "must be text"); }
    SECTION("not a whole number") { refused({{"pseudonym", "x"}, {"age", 3.5}}, "age", "whole number"); }
    SECTION("not one of the choices") { refused({{"pseudonym", "x"}, {"band", "middle"}}, "band", "young, old"); }
    SECTION("list item of the wrong type") { refused({{"pseudonym", "x"}, {"groups", {"a", 2}}}, "groups", "item 1"); }
    SECTION("invalid UTF-8") { refused({{"pseudonym", std::string("bad \xff byte")}}, "pseudonym", "UTF-8"); }
    SECTION("reference to nothing") {
        refused({{"pseudonym", "x"}, {"referred_by", "01a20bc5-bdf8-70a5-9c34-9e14b2ffea1f"}}, "referred_by",
                "no person with id");
    }
    SECTION("reference to a record of another type") {
        refused({{"pseudonym", "x"}, {"referred_by", f.project}}, "referred_by", "is a project, not a person");
    }
    SECTION("a fraction for a whole number") { refused({{"pseudonym", "x"}, {"age", 10.5}}, "age", "not 10.5"); }
    SECTION("reference that is not an id") {
        refused({{"pseudonym", "x"}, {"referred_by", "Rosa"}}, "referred_by", "not a record id");
    }
    SECTION("no project") {
        CHECK_THROWS_WITH(f.store.Create("person", {{"pseudonym", "x"}}), Catch::Contains("project_id"));
    }
    SECTION("unknown type") {
        CHECK_THROWS_WITH(f.store.Create("alien", Json::object()), Catch::Contains("known types"));
    }
    CHECK(f.store.Count("person") == 0);
}

TEST_CASE("Ids given in upper case are stored in lower case", "[storage]") {
    Fixture f;
    const auto rosa = f.store.Create(
        "person", {{"id", "01A20BC5-0000-7000-8000-00000000000A"}, {"project_id", f.project}, {"pseudonym", "Rosa"}});
    CHECK(rosa["id"] == "01a20bc5-0000-7000-8000-00000000000a");
    std::string upper = f.project;
    for (auto& c : upper) c = static_cast<char>(std::toupper(c));
    const auto luz = f.store.Create(
        "person",
        {{"project_id", upper}, {"pseudonym", "Luz"}, {"referred_by", "01A20BC5-0000-7000-8000-00000000000A"}});
    CHECK(luz["referred_by"] == rosa["id"]);
    CHECK(luz["project_id"] == f.project);
}

TEST_CASE("References stay inside a project", "[storage]") {
    Fixture f;
    const auto rosa = f.Person("Rosa");
    const std::string other = f.store.Create("project", {{"name", "Otro"}})["id"];
    CHECK_THROWS_WITH(
        f.store.Create("person", {{"project_id", other}, {"pseudonym", "x"}, {"referred_by", rosa["id"]}}),
        Catch::Contains("belongs to another project"));
}

TEST_CASE("Text is stored with newlines normalised and read back whole", "[storage]") {
    Fixture f;
    const auto s =
        f.store.Create("story", {{"project_id", f.project}, {"title", "Año"}, {"text", "uno\r\ndos\rtres\n"}});
    CHECK(f.store.Get(s["id"])->at("text") == "uno\ndos\ntres\n");
    CHECK(f.store.Get(s["id"])->at("status") == "draft");
}

TEST_CASE("Updating raises rev and the clock, and journals the change", "[storage]") {
    Fixture f;
    const auto r = f.Person("Rosa");
    // Its creation handed to a push: the edit is a change of its own.
    (void)f.store.TakeJournalForPush({f.store.PendingJournal(10).back().seq});
    const auto journal = f.JournalCount();
    f.wall -= 86'400'000; // the device clock jumps back a day
    const auto u = f.store.Update(r["id"], {{"age", 41}, {"groups", {"migrante", "indígena"}}});
    CHECK(u["rev"] == 2);
    CHECK(u["updated_at"].get<std::string>() > r["updated_at"].get<std::string>());
    CHECK(u["created_at"] == r["created_at"]);
    CHECK(f.JournalCount() == journal + 1);
    SECTION("null removes an optional field") {
        const auto v = f.store.Update(r["id"], {{"age", nullptr}});
        CHECK_FALSE(v.contains("age"));
    }
    SECTION("a required field cannot be removed") {
        CHECK_THROWS_WITH(f.store.Update(r["id"], {{"pseudonym", nullptr}}), Catch::Contains("is required"));
        CHECK(f.store.Get(r["id"])->at("rev") == 2);
    }
    SECTION("a record cannot change project") {
        const std::string other = f.store.Create("project", {{"name", "Otro"}})["id"];
        CHECK_THROWS(f.store.Update(r["id"], {{"project_id", other}}));
    }
}

TEST_CASE("Edits of a record not yet handed to a push wait as one change", "[storage]") {
    Fixture f;
    const auto before = f.JournalCount();
    const auto story = f.store.Create("story", {{"project_id", f.project}, {"title", "Río"}, {"text", "uno"}});
    const auto created = f.store.PendingJournal(10).back();
    std::string text = "uno";
    Json last;
    for (int i = 0; i < 50; ++i) {
        text += " palabra" + std::to_string(i);
        last = f.store.Update(story["id"], {{"text", text}});
    }
    CHECK(last["rev"] == 51); // every edit still raises rev
    CHECK(f.JournalCount() == before + 1);
    CHECK(f.store.WaitingRecordCount() == 2); // the project and the story
    auto row = f.store.PendingJournal(10).back();
    CHECK(row.record_id == story["id"]);
    CHECK(row.change_id == created.change_id); // never sent: it keeps its id
    CHECK(row.seq == created.seq);             // the last row: joined where it stands
    CHECK(row.rev == 51);
    CHECK(row.base_rev == 0); // made on nothing headquarters has
    CHECK(Json::parse(row.body)["text"] == text);

    SECTION("an edit after the change was handed to a push is a change of its own") {
        std::vector<int64_t> seqs;
        for (const auto& e : f.store.PendingJournal(10)) seqs.push_back(e.seq);
        auto taken = f.store.TakeJournalForPush(seqs); // a batch: the project's change and the story's
        REQUIRE(taken.size() == seqs.size());
        REQUIRE(taken.size() >= 2);
        CHECK(taken[0].sent);
        CHECK(taken.back().seq == row.seq);
        taken = {taken.back()};
        CHECK(Json::parse(taken[0].body)["text"] == text);
        f.store.Update(story["id"], {{"text", text + " fin"}});
        f.store.Update(story["id"], {{"text", text + " fin."}});
        const auto rows = f.store.PendingJournal(10);
        REQUIRE(rows.size() == static_cast<size_t>(before + 2));
        CHECK(rows[rows.size() - 2].change_id == created.change_id); // the one in flight, untouched
        CHECK(Json::parse(rows[rows.size() - 2].body)["text"] == text);
        CHECK(rows.back().change_id != created.change_id);
        CHECK(rows.back().base_rev == 51); // made on what was pushed
        CHECK(rows.back().rev == 53);
        CHECK_FALSE(rows.back().sent);
        f.store.AcknowledgeJournal(taken[0].seq);
        CHECK(f.JournalCount() == before + 1);
        CHECK(Json::parse(f.store.PendingJournal(10).back().body)["text"] == text + " fin.");
    }
    SECTION("a joined change moves after a record it now refers to") {
        const auto rosa = f.Person("Rosa");
        f.store.Update(story["id"], {{"tellers", {rosa["id"]}}});
        const auto rows = f.store.PendingJournal(10);
        CHECK(rows[rows.size() - 2].record_id == rosa["id"]);
        CHECK(rows.back().record_id == story["id"]);
        CHECK(rows.back().change_id == created.change_id);
    }
    SECTION("a deletion joins the waiting change") {
        f.store.Delete(story["id"]);
        CHECK(f.JournalCount() == before + 1);
        row = f.store.PendingJournal(10).back();
        CHECK(row.op == "delete");
        CHECK(row.rev == 52);
        CHECK(row.base_rev == 0);
        CHECK(row.body.find("palabra") == std::string::npos);
    }
    SECTION("a row acknowledged or joined meanwhile is not handed out") {
        (void)f.Person("Rosa"); // the story's row is no longer the last
        const auto seq = row.seq;
        f.store.Update(story["id"], {{"title", "Río abajo"}}); // joins: the row moves to the end
        CHECK(f.store.TakeJournalForPush({seq}).empty());
        const auto moved = f.store.PendingJournal(10).back();
        CHECK(moved.seq > seq);
        CHECK(f.store.TakeJournalForPush({moved.seq}).size() == 1);
    }
}

TEST_CASE("A change keeps which members its edits changed, so a push can send only those", "[storage]") {
    Fixture f;
    const auto story = f.store.Create("story", {{"project_id", f.project}, {"title", "Río"}, {"text", "uno"}});
    const std::string id = story["id"];
    const auto push_all = [&] {
        std::vector<int64_t> seqs;
        for (const auto& e : f.store.PendingJournal(100)) seqs.push_back(e.seq);
        for (const auto& e : f.store.TakeJournalForPush(seqs)) f.store.AcknowledgeJournal(e.seq);
    };
    // Made here and never pushed: whole, however often edited.
    f.store.Update(id, {{"title", "Río arriba"}});
    CHECK(f.store.PendingJournal(10).back().fields.is_null());
    push_all();
    REQUIRE(f.JournalCount() == 0);

    f.store.Update(id, {{"title", "Río abajo"}});
    auto row = f.store.PendingJournal(10).back();
    CHECK(row.base_rev == 2);
    CHECK(row.fields == Json::array({"rev", "title", "updated_at"}));
    // Joined edits: the members of all of them.
    f.store.Update(id, {{"text", "uno dos"}});
    row = f.store.PendingJournal(10).back();
    CHECK(row.fields == Json::array({"rev", "text", "title", "updated_at"}));
    CHECK(row.base_rev == 2);

    SECTION("handed to a push, the row keeps them; a later edit starts its own") {
        const auto taken = f.store.TakeJournalForPush({row.seq});
        REQUIRE(taken.size() == 1);
        CHECK(taken[0].fields == row.fields);
        f.store.Update(id, {{"text", "uno dos tres"}});
        const auto rows = f.store.PendingJournal(10);
        REQUIRE(rows.size() == 2);
        CHECK(rows.back().fields == Json::array({"rev", "text", "updated_at"}));
        CHECK(rows.back().base_rev == 4);
    }
    SECTION("headquarters asks for the whole record: the row goes whole, and stays so when joined") {
        f.store.SendJournalWhole(row.seq);
        CHECK(f.store.PendingJournal(10).back().fields.is_null());
        f.store.Update(id, {{"title", "otra"}});
        CHECK(f.store.PendingJournal(10).back().fields.is_null());
    }
    SECTION("a member emptied is among them") {
        f.store.Update(id, {{"told_on", "2026-11-30"}});
        push_all();
        f.store.Update(id, {{"told_on", nullptr}});
        const auto emptied = f.store.PendingJournal(10).back();
        CHECK(emptied.fields == Json::array({"rev", "told_on", "updated_at"}));
        CHECK_FALSE(Json::parse(emptied.body).contains("told_on"));
    }
    SECTION("a deletion goes whole") {
        f.store.Delete(id);
        CHECK(f.store.PendingJournal(10).back().fields.is_null());
    }
    SECTION("a record moved to another project goes whole: headquarters has never seen it there") {
        const std::string other = f.store.Create("project", {{"name", "Otro"}})["id"];
        push_all();
        (void)f.store.MoveProjectRecords(f.project, other);
        const auto rows = f.store.PendingJournal(10);
        const auto moved = std::find_if(rows.begin(), rows.end(), [&](const auto& e) { return e.record_id == id; });
        REQUIRE(moved != rows.end());
        CHECK(moved->fields.is_null());
    }
    SECTION("an edit that replaces a refused change goes whole") {
        f.store.RejectJournal(row.seq, "no", "bad_change");
        f.store.Update(id, {{"title", "Río de nuevo"}});
        const auto rows = f.store.PendingJournal(10);
        REQUIRE(rows.size() == 1);
        CHECK(rows.back().fields.is_null());
    }
}

TEST_CASE("Deleting leaves a tombstone without content", "[storage]") {
    Fixture f;
    const auto rosa = f.Person("Rosa");
    const auto story = f.store.Create(
        "story",
        {{"project_id", f.project}, {"title", "La finca"}, {"text", "testimonio delicado"}, {"tellers", {rosa["id"]}}});
    SECTION("refused while referenced") {
        CHECK_THROWS_WITH(f.store.Delete(rosa["id"]), Catch::Contains("still refer"));
        CHECK_FALSE(f.store.Get(rosa["id"])->at("deleted").get<bool>());
    }
    SECTION("erases content, search entry, and journals a delete") {
        const auto t = f.store.Delete(story["id"]);
        CHECK(t["deleted"] == true);
        CHECK(t["rev"] == 2);
        const auto stored = *f.store.Get(story["id"]);
        CHECK_FALSE(stored.contains("text"));
        CHECK_FALSE(stored.contains("title"));
        CHECK(f.store.Search("delicado").empty());
        CHECK(f.store.PendingJournal(100).back().op == "delete");
        CHECK(f.store.List("story").empty());
        CHECK(f.store
                  .List("story",
                        [] {
                            ListOptions o;
                            o.include_deleted = true;
                            return o;
                        }())
                  .size() == 1);
        CHECK(f.store.CheckConsistency().empty());
    }
}

TEST_CASE("Import is all or nothing and names the failing record and field", "[storage]") {
    Fixture f;
    const std::string p = "01a20bc5-0000-7000-8000-000000000001";
    const std::string rosa = "01a20bc5-0000-7000-8000-000000000002";
    Json records = Json::array({
        {{"type", "project"}, {"id", p}, {"name", "Importado"}},
        // A forward reference: the teller comes later in the file.
        {{"type", "story"}, {"project_id", p}, {"title", "t"}, {"text", "x"}, {"tellers", {rosa}}},
        {{"type", "person"}, {"id", rosa}, {"project_id", p}, {"pseudonym", "Rosa"}},
    });
    SECTION("a good file is stored whole") {
        CHECK(f.store.Import(records).size() == 3);
        CHECK(f.store.Count("person") == 1);
        CHECK(f.store.CheckConsistency().empty());
    }
    SECTION("a bad record stores nothing") {
        const auto journal = f.JournalCount();
        records.push_back({{"type", "person"}, {"project_id", p}, {"pseudonym", "Luz"}, {"band", "medio"}});
        try {
            f.store.Import(records);
            FAIL("accepted");
        } catch (const RecordError& e) {
            CHECK(e.Index() == 3u);
            CHECK(e.Field() == "band");
            CHECK_THAT(e.what(), Catch::StartsWith("record 3 (person), field 'band'"));
        }
        CHECK(f.store.Count("person") == 0);
        CHECK(f.store.Count("project") == 1);
        CHECK(f.JournalCount() == journal);
    }
    SECTION("an unknown reference is named") {
        records[1]["tellers"] = {"01a20bc5-0000-7000-8000-0000000000ff"};
        CHECK_THROWS_WITH(f.store.Import(records), Catch::StartsWith("record 1 (story), field 'tellers'"));
        CHECK(f.store.Count("story") == 0);
    }
    SECTION("unknown type, missing type, duplicate id, not an array") {
        records.push_back({{"type", "alien"}});
        CHECK_THROWS_WITH(f.store.Import(records),
                          Catch::Contains("record 3") && Catch::Contains("unknown record type"));
        records.back() = {{"name", "x"}};
        CHECK_THROWS_WITH(f.store.Import(records), Catch::Contains("record 3, field 'type': is required"));
        records.back() = records[2];
        CHECK_THROWS_WITH(f.store.Import(records), Catch::Contains("appears twice"));
        CHECK_THROWS_WITH(f.store.Import(Json::object()), Catch::Contains("JSON array"));
        CHECK(f.store.Count("project") == 1);
    }
    SECTION("an id already in the vault is refused") {
        f.store.Import(records);
        CHECK_THROWS_WITH(f.store.Import(Json::array({records[2]})), Catch::Contains("already exists"));
    }
    SECTION("a long import says how far it is, and its records wait in the journal without a copy of their text") {
        for (int i = 0; i < 1200; ++i)
            records.push_back({{"type", "story"},
                               {"project_id", p},
                               {"title", "t" + std::to_string(i)},
                               {"text", "texto largo " + std::to_string(i)},
                               {"tellers", {rosa}}});
        std::vector<std::pair<size_t, size_t>> calls;
        const auto ids = f.store.Import(records, [&](size_t done, size_t total) { calls.emplace_back(done, total); });
        REQUIRE(ids.size() == records.size());
        REQUIRE(calls.size() >= 3);
        CHECK(calls.front() == std::make_pair(size_t{500}, records.size()));
        CHECK(calls.back() == std::make_pair(records.size(), records.size()));
        for (size_t i = 1; i < calls.size(); ++i) CHECK(calls[i].first > calls[i - 1].first);
        CHECK(f.store.CheckConsistency().empty());
        CHECK(f.store.Search("largo").size() == 20);
        // The journal names each record; the text is read from the record when sent.
        CHECK(f.db.QueryInt("SELECT count(*) FROM journal WHERE instr(body, 'texto largo') > 0") == 0);
        const auto rows = f.store.PendingJournal(100000);
        CHECK(Json::parse(rows.back().body)["text"] == "texto largo 1199");
        // One import, one clock reading kept for the other connections.
        CHECK(f.db.QueryText("SELECT value FROM meta WHERE key = 'hlc'") ==
              f.store.Get(ids.back())->at("updated_at").get<std::string>());
    }
    SECTION("a reference looked up once is still refused in another project") {
        const std::string other = f.store.Create("project", {{"name", "Otro"}})["id"];
        records.push_back({{"type", "story"}, {"project_id", other}, {"title", "t"}, {"text", "x"}, {"tellers", {rosa}}});
        CHECK_THROWS_WITH(f.store.Import(records), Catch::Contains("record 3 (story), field 'tellers'") &&
                                                       Catch::Contains("another project"));
        CHECK(f.store.Count("story") == 0);
    }
}

TEST_CASE("Search ignores accents and case, ranks, and shows a snippet", "[storage]") {
    Fixture f;
    const auto add = [&](const std::string& title, const std::string& text) {
        return f.store.Create("story", {{"project_id", f.project}, {"title", title}, {"text", text}})["id"]
            .get<std::string>();
    };
    const auto a = add("Cosecha", "La PARTICIPACIÓN de las mujeres en la cooperativa creció este año.");
    const auto b = add("Participación sindical", "Hablamos del sindicato y de la participación.");
    add("Otra cosa", "Nada que ver con el tema.");
    const auto fr = add("Pêcheurs", "Les pêcheurs de la côte ont créé une coopérative.");

    const auto hits = f.store.Search("participacion");
    REQUIRE(hits.size() == 2);
    CHECK(hits[0].id == b); // in the title and the text
    CHECK(hits[1].id == a);
    CHECK_THAT(hits[1].snippet, Catch::Contains("[PARTICIPACIÓN]"));
    CHECK(f.store.Search("PECHEURS cooperative").at(0).id == fr);
    CHECK(f.store.Search("coop*").size() == 2);
    CHECK(f.store.Search("mujeres sindicato").empty()); // every word must match
    CHECK(f.store.Search("\"unbalanced OR NOT (").empty());
    CHECK_THROWS_WITH(f.store.Search("  ;; "), Catch::Contains("no words"));

    SECTION("edits are searchable at once; the old words are gone") {
        f.store.Update(a, {{"text", "Ahora habla de migración."}});
        CHECK(f.store.Search("migracion").at(0).id == a);
        CHECK(f.store.Search("participacion").size() == 1);
    }
    SECTION("a rebuilt index finds the same") {
        f.store.RebuildSearchIndex();
        CHECK(f.store.Search("participacion").size() == 2);
    }
}

TEST_CASE("The search index reads the text from the records' rows and keeps no copy of it", "[storage]") {
    Fixture f;
    const std::string sentence = "Las recolectoras cuentan cómo se pesa el café en la finca de arriba.";
    const std::string id =
        f.store.Create("story", {{"project_id", f.project}, {"title", "Pesaje"}, {"text", sentence}})["id"];
    const std::string piece = "cuentan cómo se pesa";
    // Outside the record's own row and the change waiting to go, no table holds the text.
    const auto copies_elsewhere = [&] {
        int64_t copies = 0;
        const auto quote = [](const std::string& name) { return "\"" + name + "\""; };
        auto tables = f.db.Prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('story', "
                                   "'journal') AND sql NOT LIKE 'CREATE VIRTUAL%'");
        while (tables.Step()) {
            const std::string table = tables.Text(0);
            auto columns = f.db.Prepare("PRAGMA table_info(" + quote(table) + ")");
            while (columns.Step()) {
                auto count = f.db.Prepare("SELECT count(*) FROM " + quote(table) + " WHERE instr(CAST(" +
                                          quote(columns.Text(1)) + " AS BLOB), CAST(? AS BLOB)) > 0");
                count.Bind(1, piece);
                REQUIRE(count.Step());
                copies += count.Int(0);
            }
        }
        return copies;
    };
    CHECK(copies_elsewhere() == 0);
    CHECK(f.db.QueryInt("SELECT count(*) FROM sqlite_master WHERE name = 'search_index_content'") == 0);
    const auto hits = f.store.Search("recolectoras", 10, "[", "]");
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].id == id);
    CHECK(hits[0].title == "Pesaje");
    CHECK_THAT(hits[0].snippet, Catch::Contains("[recolectoras]"));

    SECTION("a list's items are found word by word, and its edits keep the index whole") {
        const std::string rosa = f.store.Create("person", {{"project_id", f.project},
                                                           {"pseudonym", "Rosa"},
                                                           {"groups", {"mujeres cafeteras", "sindicato \"La Unión\""}}})["id"];
        CHECK(f.store.Search("cafeteras").at(0).id == rosa);
        CHECK(f.store.Search("union").at(0).id == rosa);
        // Items whose JSON has escapes: what is put in the index is what the view reads back.
        f.store.Update(rosa, {{"groups",
                               {"sindicato \"La Unión\"", "barra \\ invertida", "línea\nnueva", "tab\tulado",
                                std::string("ctl\x01x"), "", "fin\\\"raro\\n"}}});
        CHECK(f.store.CheckConsistency().empty());
        CHECK(f.store.Search("invertida").at(0).id == rosa);
        CHECK(f.store.Search("nueva").at(0).id == rosa);
        CHECK(f.store.Search("ulado").at(0).id == rosa);
        f.store.Update(rosa, {{"groups", {"cooperativa"}}});
        CHECK(f.store.Search("cooperativa").at(0).id == rosa);
        CHECK(f.store.Search("cafeteras").empty());
        f.store.Update(rosa, {{"groups", Json::array()}});
        CHECK(f.store.Search("cooperativa").empty());
        CHECK(f.store.Search("rosa").at(0).id == rosa);
        CHECK(f.store.CheckConsistency().empty());
    }
    SECTION("an older vault's index, which kept a copy, is made again from the rows when it opens") {
        f.db.Exec("DROP TABLE search_index; DROP VIEW search_content; "
                  "CREATE VIRTUAL TABLE search_index USING fts4(title, body, tokenize=unicode61 \"remove_diacritics=1\"); "
                  "INSERT INTO search_index (docid, title, body) SELECT docid, 'Viejo', 'palabra vieja' FROM search_doc; "
                  "PRAGMA user_version = 8;");
        f.store.EnsureSchema();
        CHECK(f.db.QueryInt("PRAGMA user_version") == RecordStore::SCHEMA_VERSION);
        CHECK(f.db.QueryInt("SELECT count(*) FROM sqlite_master WHERE name = 'search_index_content'") == 0);
        CHECK(f.store.Search("recolectoras").at(0).id == id);
        CHECK(f.store.Search("vieja").empty());
        CHECK(copies_elsewhere() == 0);
        CHECK(f.store.CheckConsistency().empty());
    }
    SECTION("a view that does not match the catalogue is made again, and the index with it") {
        f.db.Exec("DROP VIEW search_content; "
                  "CREATE VIEW search_content AS SELECT NULL AS rowid, NULL AS title, NULL AS body WHERE 0");
        f.store.EnsureSchema();
        CHECK(f.store.Search("recolectoras").at(0).id == id);
        CHECK(f.store.CheckConsistency().empty());
    }
}

TEST_CASE("Records moved to another project keep one search entry each, and the index stays whole",
          "[storage]") {
    Fixture f;
    const std::string other = f.store.Create("project", {{"name", "Otra"}})["id"];
    const std::string id = f.store.Create("story", {{"project_id", f.project}, {"title", "Mudanza"},
                                                    {"text", "Las jornaleras cambian de finca."}})["id"];
    const auto moved = f.store.MoveProjectRecords(f.project, other);
    CHECK(moved.at("story") == 1);
    CHECK(f.store.Get(id).value()["project_id"] == other);
    ListOptions in_other;
    in_other.project_id = other;
    CHECK(f.store.List("story", in_other).size() == 1);
    CHECK(f.store.Search("jornaleras").size() == 1);
    CHECK(f.db.QueryInt("SELECT count(*) FROM search_index_docsize") ==
          f.db.QueryInt("SELECT count(*) FROM search_doc"));
    CHECK(f.store.CheckConsistency().empty());
}

TEST_CASE("A run of edits takes the search entry out once and marks it, and a search puts it back first",
          "[storage]") {
    Fixture f;
    const std::string id = f.store.Create("story", {{"project_id", f.project}, {"title", "Cosecha"},
                                                    {"text", "La participación de las mujeres."}})["id"];
    CHECK(f.store.UnsettledSearchCount() == 0); // a new record is indexed at once
    // What the index holds, table by table.
    const auto index_state = [&] {
        return f.db.QueryText("SELECT (SELECT count(*) FROM search_index_segdir) || ' ' || "
                              "(SELECT count(*) FROM search_index_docsize) || ' ' || "
                              "(SELECT hex(value) FROM search_index_stat) || ' ' || "
                              "(SELECT count(*) FROM search_doc)")
            .value_or("");
    };
    const auto before = index_state();
    f.store.Update(id, {{"text", "Ahora habla de migración."}});
    // The first edit took the entry out (its words were read from the row before it changed) ...
    const auto marked = index_state();
    CHECK(marked != before);
    // ... and the edits after it leave the index alone.
    f.store.Update(id, {{"text", "Ahora habla de migración y de trabajo."}});
    CHECK(index_state() == marked);
    CHECK(f.store.UnsettledSearchCount() == 1); // one mark, whatever the number of edits

    SECTION("a search finds what was typed, and not the words replaced") {
        CHECK(f.store.Search("trabajo").at(0).id == id);
        CHECK(f.store.UnsettledSearchCount() == 0);
        CHECK(index_state() != marked);
        CHECK(f.store.Search("participacion").empty());
        CHECK(f.store.CheckConsistency().empty());
    }
    SECTION("the first step of a search alone writes the entry too") {
        CHECK(f.store.RankSearch("migracion", 10).size() == 1);
        CHECK(f.store.UnsettledSearchCount() == 0);
    }
    SECTION("an edit of fields the index does not hold adds no mark") {
        f.store.SettleSearchIndex();
        f.store.Update(id, {{"status", "done"}});
        CHECK(f.store.UnsettledSearchCount() == 0);
    }
    SECTION("a consistency check and a rebuild write it") {
        CHECK(f.store.CheckConsistency().empty());
        CHECK(f.store.UnsettledSearchCount() == 0);
        f.store.Update(id, {{"text", "Otra vez la cosecha."}});
        f.store.RebuildSearchIndex();
        CHECK(f.store.UnsettledSearchCount() == 0);
        CHECK(f.store.Search("vez").size() == 1);
        CHECK(f.store.Search("trabajo").empty());
    }
    SECTION("a version from headquarters is indexed at once and takes the mark away") {
        auto remote = *f.store.Get(id);
        remote["rev"] = 10;
        remote["text"] = "Versión de la sede sobre la pesca.";
        remote["device"] = "device-2";
        REQUIRE(f.store.ApplyRemote(remote));
        CHECK(f.store.UnsettledSearchCount() == 0);
        CHECK(index_state() != marked);
        CHECK(f.store.Search("pesca").at(0).id == id);
    }
}

TEST_CASE("Erasing a record whose entry waits leaves no mark and none of its words in the index", "[storage]") {
    Fixture f;
    const std::string id = f.store.Create("story", {{"project_id", f.project}, {"title", "Testimonio"},
                                                    {"text", "palabrasviejas del relato"}})["id"];
    f.store.Update(id, {{"text", "palabrasnuevas del relato"}});
    REQUIRE(f.store.UnsettledSearchCount() == 1);
    const auto words_in_index = [&](const std::string& word) {
        auto stmt = f.db.Prepare("SELECT (SELECT count(*) FROM search_index_segments WHERE instr(block, ?1) > 0) + "
                                 "(SELECT count(*) FROM search_index_segdir WHERE instr(root, ?1) > 0)");
        stmt.Bind(1, word);
        REQUIRE(stmt.Step());
        return stmt.Int(0);
    };
    SECTION("erased") { f.store.Erase(id, ""); }
    SECTION("deleted") { f.store.Delete(id); }
    f.store.PurgeErasedText();
    CHECK(f.store.UnsettledSearchCount() == 0);
    CHECK(words_in_index("palabrasviejas") == 0);
    CHECK(words_in_index("palabrasnuevas") == 0);
    CHECK(f.store.Search("palabrasviejas").empty());
    CHECK(f.store.Search("relato").empty());
    CHECK(f.db.QueryInt("SELECT count(*) FROM search_doc WHERE record_id = " + QuoteSql(id)) == 0);
}

TEST_CASE("Local-only records are journalled only when the project shares them", "[storage]") {
    Fixture f;
    const auto rosa = f.Person("Rosa");
    auto journal = f.JournalCount();
    f.store.Create("secret", {{"project_id", f.project}, {"person_id", rosa["id"]}, {"real_name", "Rosa Pérez"}});
    CHECK(f.JournalCount() == journal);
    CHECK(f.store.Search("perez").empty());
    f.store.Update(f.project, {{"share_identities", true}});
    journal = f.JournalCount();
    f.store.Create("secret", {{"project_id", f.project}, {"person_id", rosa["id"]}, {"real_name", "Luz"}});
    CHECK(f.JournalCount() == journal + 1);
}

TEST_CASE("A newer catalogue adds its new fields to an older vault", "[storage]") {
    Fixture f;
    const auto rosa = f.Person("Rosa");
    Catalogue newer = TestCatalogue();
    auto* person = const_cast<RecordType*>(newer.Find("person"));
    person->fields.push_back({"nickname", FieldKind::Text, "Nickname.", false, false, {}, {}, nullptr});
    RecordStore store(f.db, newer, f.clock, {"ana", "device-1"});
    store.EnsureSchema();
    const auto u = store.Update(rosa["id"], {{"nickname", "Rosi"}});
    CHECK(store.Get(rosa["id"])->at("nickname") == "Rosi");
    CHECK(store.Get(rosa["id"])->at("pseudonym") == "Rosa");
}

namespace {

/// A story as headquarters sends it: written elsewhere, naming a teller this
/// device may not see.
Json StoryFromHq(const std::string& project, const std::string& teller) {
    return {{"type", "story"},
            {"id", "01a20bc5-0000-7000-8000-0000000000b1"},
            {"project_id", project},
            {"title", "Compartida"},
            {"text", "perfil"},
            {"tellers", {teller}},
            {"created_at", "2025-06-15T10:00:00.000Z"},
            {"updated_at", "2025-06-15T10:00:00.000Z/0000"},
            {"author", "otra"},
            {"device", "device-2"},
            {"rev", 1},
            {"deleted", false}};
}

} // namespace

TEST_CASE("A reference to a record this device may not see is valid; one added here must exist", "[storage]") {
    Fixture f;
    const std::string unseen = "01a20bc5-0000-7000-8000-0000000000a1";
    const auto story = StoryFromHq(f.project, unseen);
    REQUIRE(f.store.ApplyRemote(story));
    CHECK(f.store.CheckConsistency().empty());
    SECTION("an edit that keeps the reference is accepted") {
        const auto u = f.store.Update(story["id"], {{"title", "Compartida y revisada"}});
        CHECK(u["rev"] == 2);
        CHECK(u["tellers"] == Json::array({unseen}));
        CHECK(f.store.CheckConsistency().empty());
    }
    SECTION("a reference added here is checked") {
        const auto rosa = f.Person("Rosa");
        const auto u = f.store.Update(story["id"], {{"tellers", {unseen, rosa["id"]}}});
        CHECK(u["tellers"].size() == 2);
        CHECK_THROWS_WITH(f.store.Update(story["id"], {{"tellers", {unseen, "01a20bc5-0000-7000-8000-0000000000ff"}}}),
                          Catch::Contains("no person with id 01a20bc5-0000-7000-8000-0000000000ff"));
        CHECK_THROWS_WITH(
            f.store.Create("story", {{"project_id", f.project}, {"title", "t"}, {"text", "x"}, {"tellers", {unseen}}}),
            Catch::Contains("no person with id " + unseen));
    }
    SECTION("a reference that is truly missing is still a problem") {
        f.db.Exec("DELETE FROM unseen_reference");
        const auto problems = f.store.CheckConsistency();
        REQUIRE(problems.size() == 1);
        CHECK_THAT(problems[0], Catch::Contains("no person with id " + unseen));
    }
    SECTION("a vault that received the record before this was remembered learns it when opened") {
        f.db.Exec("DELETE FROM unseen_reference; PRAGMA user_version = 3");
        f.db.Exec(
            "CREATE TABLE blob_old AS SELECT sha256, file, size, created_at, uploaded FROM blob; DROP TABLE blob; "
            "ALTER TABLE blob_old RENAME TO blob");
        RecordStore reopened(f.db, f.catalogue, f.clock, {"ana", "device-1"});
        reopened.EnsureSchema();
        CHECK(reopened.CheckConsistency().empty());
        CHECK(reopened.Update(story["id"], {{"title", "otra vez"}})["rev"] == 2);
    }
}

TEST_CASE("A record from a device whose clock says 2099 is kept, and does not move this clock to 2099", "[storage]") {
    Fixture f;
    auto story = StoryFromHq(f.project, f.Person("Rosa")["id"]);
    story["updated_at"] = "2099-12-31T23:59:59.000Z/0000";
    REQUIRE(f.store.ApplyRemote(story));
    CHECK(f.store.Get(story["id"])->at("updated_at") == "2099-12-31T23:59:59.000Z/0000");
    const auto note = f.Person("Luz");
    const auto created = *ParseIsoMillis(note["created_at"].get<std::string>());
    CHECK(created <= f.wall + MAX_REMOTE_LEAD_MS);
    CHECK(note["updated_at"].get<std::string>() < "2026");
    CHECK(note["id"].get<std::string>() < NewUuidV7(f.wall + MAX_REMOTE_LEAD_MS + 1));
    // An edit of the far-future record still raises its rev.
    CHECK(f.store.Update(story["id"], {{"title", "otra"}})["rev"] == 2);
}

TEST_CASE("Importing the same records once more stores nothing; a refused import is not remembered", "[storage]") {
    Fixture f;
    Json records = Json::array({
        {{"type", "person"}, {"project_id", f.project}, {"pseudonym", "Rosa"}},
        {{"type", "story"}, {"project_id", f.project}, {"title", "t"}, {"text", "x"}, {"status", "medio"}},
    });
    CHECK_THROWS_WITH(f.store.ImportOnce(records), Catch::Contains("record 1 (story), field 'status'"));
    CHECK(f.store.Count("person") == 0);
    records[1]["status"] = "done";
    const auto first = f.store.ImportOnce(records);
    CHECK_FALSE(first.already_imported);
    CHECK(first.ids.size() == 2);
    const auto journal = f.JournalCount();
    const auto again = f.store.ImportOnce(records);
    CHECK(again.already_imported);
    CHECK(again.ids.empty());
    CHECK(again.count == 2);
    CHECK(again.imported_at == first.imported_at);
    CHECK(f.store.Count("person") == 1);
    CHECK(f.JournalCount() == journal);
    // Import, without the memory, stays what it was.
    CHECK(f.store.Import(records).size() == 2);
    CHECK(f.store.Count("person") == 2);
}

namespace {
/// The RecordError `work` throws (fails the test when it throws none).
RecordError ErrorOf(const std::function<void()>& work) {
    try {
        work();
    } catch (const RecordError& e) {
        return e;
    }
    FAIL("no RecordError");
    return RecordError("", "");
}
} // namespace

TEST_CASE("Refused records carry a code and parameters besides the words, and the field", "[storage][errors]") {
    Fixture f;
    const auto rosa = f.Person("Rosa");
    SECTION("a required field") {
        const auto e = ErrorOf([&] { (void)f.store.Create("person", {{"project_id", f.project}}); });
        CHECK(e.Field() == "pseudonym");
        CHECK(e.Code() == errc::FIELD_REQUIRED);
        CHECK(e.Params() == Json{{"field", "pseudonym"}});
        CHECK_THAT(e.what(), Catch::Contains("is required"));
    }
    SECTION("a date that is not one") {
        const auto e = ErrorOf([&] {
            (void)f.store.Create("story",
                                 {{"project_id", f.project}, {"title", "t"}, {"text", "x"}, {"told_on", "ayer"}});
        });
        CHECK(e.Code() == errc::NOT_A_DATE);
        CHECK(e.Params()["field"] == "told_on");
        CHECK(e.Params()["value"] == "ayer");
    }
    SECTION("a choice that is not one, inside a list or not") {
        const auto e = ErrorOf([&] { (void)f.store.Update(rosa["id"], {{"band", "middle"}}); });
        CHECK(e.Code() == errc::UNKNOWN_CHOICE);
        CHECK(e.Params()["value"] == "middle");
    }
    SECTION("a reference to a record that is not here") {
        const auto missing = NewUuidV7();
        const auto e = ErrorOf([&] { (void)f.store.Update(rosa["id"], {{"referred_by", missing}}); });
        CHECK(e.Code() == errc::REFERENCE_MISSING);
        CHECK(e.Params() == Json{{"id", missing}, {"ref_type", "person"}, {"field", "referred_by"}});
    }
    SECTION("an import keeps the code and places it") {
        const auto e = ErrorOf([&] {
            (void)f.store.Import(Json::array({{{"type", "person"}, {"project_id", f.project}}}));
        });
        CHECK(e.Index() == 0u);
        CHECK(e.Code() == errc::FIELD_REQUIRED);
        CHECK(e.Params()["field"] == "pseudonym");
    }
    SECTION("a check written without a code is invalid_value with its words as the reason") {
        const RecordError e("end", "comes before start");
        CHECK(e.Code() == errc::INVALID_VALUE);
        CHECK(e.Params() == Json{{"reason", "comes before start"}, {"field", "end"}});
    }
    SECTION("every code used is in the catalogue with the parameters it carries") {
        for (const auto& e :
             {ErrorOf([&] {
                  (void)f.store.Create("person", {{"project_id", f.project}});
              }),
              ErrorOf([&] {
                  (void)f.store.Update(rosa["id"], {{"age", "old"}});
              }),
              ErrorOf([&] { (void)f.store.Delete(NewUuidV7()); }), ErrorOf([&] { (void)f.store.Search("  "); })}) {
            const auto* spec = FindErrorCode(e.Code());
            REQUIRE(spec);
            for (const auto& name : spec->params) CHECK(e.Params().contains(std::string(name)));
        }
    }
}

TEST_CASE("A refused change keeps headquarters' code and parameters until it is sent again", "[storage][errors]") {
    Fixture f;
    (void)f.Person("Rosa");
    const auto rows = f.store.PendingJournal(10);
    REQUIRE(rows.size() == 2);
    f.store.RejectJournal(rows[1].seq, "this device's clock says 2099", errc::CLOCK_AHEAD,
                          {{"device_time", "2099-01-01T00:00:00.000Z"}, {"hq_time", "2026-01-01T00:00:00.000Z"}});
    f.store.RejectJournal(rows[0].seq, "old words only");
    const auto refused = f.store.RejectedJournal(10);
    REQUIRE(refused.size() == 2);
    CHECK(refused[0].last_error == "old words only");
    CHECK(refused[0].last_error_code.empty());
    CHECK(refused[0].last_error_params == Json::object());
    CHECK(refused[1].last_error_code == errc::CLOCK_AHEAD);
    CHECK(refused[1].last_error_params["device_time"] == "2099-01-01T00:00:00.000Z");
    const auto listed = f.store.PendingJournal(10, 0, true);
    CHECK(listed[1].last_error_code == errc::CLOCK_AHEAD);
    f.store.RetryJournal(rows[1].seq);
    const auto again = f.store.PendingJournal(10);
    REQUIRE(again.size() == 1);
    CHECK(again[0].last_error_code.empty());
    CHECK(again[0].last_error_params == Json::object());
}
