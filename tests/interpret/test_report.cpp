#include "escucha/interpret/codebook.h"
#include "escucha/interpret/coding.h"
#include "escucha/interpret/priorities.h"
#include "escucha/interpret/profiles.h"
#include "escucha/interpret/report.h"
#include "escucha/interpret/sessions.h"

#include "interpret/project_store.h"

#include <catch2/catch.hpp>

#include <cctype>
#include <regex>
#include <set>

using namespace escucha;
using storage::Json;

namespace {

const std::string HOSTILE = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>&";
const std::string CANARY = "CANARIO-4417";

size_t Occurrences(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

/// What a report must never hold: markup from a record, or anything that
/// would be fetched from elsewhere.
void CheckSafeAndSelfContained(const std::string& html) {
    INFO(html);
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("<img") == std::string::npos);
    CHECK(html.find("<link") == std::string::npos);
    CHECK(html.find("@import") == std::string::npos);
    CHECK(html.find("url(") == std::string::npos);
    // Every tag is one the report writes, and none has an event handler or a source.
    static const std::set<std::string> tags = {
        "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "main", "footer", "h1", "h2", "h3",
        "p", "ul", "ol", "li", "blockquote", "br", "table", "thead", "tbody", "tr", "th", "td",
        "dl", "dt", "dd", "figure", "figcaption", "svg", "rect", "text", "g"};
    static const std::regex handler(R"(\s(on[a-z]+|src|href)\s*=)", std::regex::icase);
    for (size_t at = html.find('<'); at != std::string::npos; at = html.find('<', at + 1)) {
        size_t from = at + 1 + (html.compare(at + 1, 1, "/") == 0 ? 1 : 0);
        size_t to = from;
        while (to < html.size() && (std::isalnum(static_cast<unsigned char>(html[to])) || html[to] == '!')) ++to;
        const auto tag = html.substr(from, to - from);
        INFO("tag " << tag);
        CHECK(tags.count(tag) == 1);
        const auto end = html.find('>', at);
        CHECK_FALSE(std::regex_search(html.substr(at, end - at), handler));
    }
    CHECK(html.find("https://") == std::string::npos);
    // The only address is the SVG namespace, which is a name, not a fetch.
    CHECK(Occurrences(html, "http://") == Occurrences(html, "http://www.w3.org/2000/svg"));
    CHECK(html.find("default-src 'none'") != std::string::npos);
    CHECK(html.find(CANARY) == std::string::npos);
}

/// A project with hostile names everywhere, and one passage whose teller
/// did not consent to quoting.
struct Material : test::ProjectStore {
    std::string rosa, luz, code, shown, hidden, profile, session, round;
    interpret::NewRound voting;
    Material() {
        const auto person = [&](const std::string& name, const Json& scopes, const std::string& territory) {
            const std::string id = store.Create(
                "participant", {{"project_id", project}, {"pseudonym", name}, {"territory", territory}})["id"];
            store.Create("consent", {{"project_id", project},
                                     {"participant_id", id},
                                     {"script_version", "v1"},
                                     {"language", "es"},
                                     {"mode", "written"},
                                     {"scopes", scopes}});
            return id;
        };
        rosa = person("Rosa " + HOSTILE, {"quote_verbatim"}, "Norte " + HOSTILE);
        luz = person("Luz", {"show_in_sessions"}, "Sur");
        code = interpret::CreateCode(store, project, {{"name", "Pago " + HOSTILE}, {"kind", "problem"}})["id"];
        const std::string interview = store.Create(
            "interview", {{"project_id", project}, {"kind", "informal"}, {"title", "Charla " + HOSTILE}})["id"];
        const std::string told = "Nos pagan <menos> & tarde";
        const std::string n1 = store.Create("narrative", {{"project_id", project},
                                                          {"title", "Relato " + HOSTILE},
                                                          {"text", told},
                                                          {"teller_ids", {rosa}},
                                                          {"source_interview_ids", {interview}}})["id"];
        const std::string n2 = store.Create(
            "narrative",
            {{"project_id", project}, {"title", "Otro"}, {"text", CANARY + " secreto"}, {"teller_ids", {luz}}})["id"];
        shown = interpret::CodePassage(store, {n1, 0, 25}, {code}).at(0)["id"];
        hidden = interpret::CodePassage(store, {n2, 0, 20}, {code}).at(0)["id"];
        profile = store.Create("profile", {{"project_id", project},
                                           {"kind", "collective"},
                                           {"name", "Perfil " + HOSTILE},
                                           {"context", "Contexto\n" + HOSTILE},
                                           {"needs", {"Báscula " + HOSTILE}},
                                           {"participant_ids", {rosa, luz}}})["id"];
        (void)interpret::AddQuote(store, profile, shown, "Nota " + HOSTILE);
        (void)interpret::AddQuote(store, profile, hidden, "Sin consentimiento");
        session = interpret::CreateSession(store, project,
                                           {{"kind", "collective_interpretation"},
                                            {"title", "Sesión " + HOSTILE},
                                            {"held_on", "2026-04-02"},
                                            {"place_label", "Sede " + HOSTILE},
                                            {"facilitators", {"Ana " + HOSTILE}},
                                            {"community_count", 14},
                                            {"civil_society_count", 2},
                                            {"profile_ids", {profile}}})["id"];
        (void)interpret::RecordFeedback(store, session,
                                        {{profile, {{"recognised", "partly"}, {"missing", "Falta " + HOSTILE}}}});
        std::vector<std::string> challenges;
        for (const auto& s : {"Báscula " + HOSTILE, std::string("Guardería")})
            challenges.push_back(
                interpret::CreateChallenge(store, project, {{"kind", "challenge"}, {"statement", s}})["id"]);
        voting = interpret::CreateRound(
            store, project, {{"title", "Ronda " + HOSTILE}, {"method", "dot_voting"}, {"challenge_ids", challenges}},
            2);
        round = voting.round["id"];
        interpret::Mark first;
        first.challenge_id = challenges[0];
        first.dots = 3;
        first.argument = "Porque " + HOSTILE;
        interpret::Mark second;
        second.challenge_id = challenges[1];
        second.dots = 1;
        (void)interpret::CastVote(store, round, voting.tokens[0], {first});
        (void)interpret::CastVote(store, round, voting.tokens[1], {second});
        (void)interpret::CloseRound(store, round, "Decidido " + HOSTILE);
    }
};

} // namespace

TEST_CASE("HTML escaping covers text and attribute values", "[interpret][report]") {
    CHECK(interpret::HtmlEscape("a<b>&\"c'd") == "a&lt;b&gt;&amp;&quot;c&#39;d");
    CHECK(interpret::HtmlEscape("añoranza 😀") == "añoranza 😀");
    CHECK(interpret::HtmlEscape(std::string("x\0y", 3)) == "xy");
}

TEST_CASE("A profile's report shows consented quotes, says which are withheld, and escapes every name",
          "[interpret][report][consent]") {
    Material m;
    const auto html = interpret::ProfileReport(m.store, m.profile);
    CheckSafeAndSelfContained(html);
    CHECK(html.find("Perfil &lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img") != std::string::npos);
    CHECK(html.find("<blockquote>Nos pagan &lt;menos&gt; &amp; tarde</blockquote>") != std::string::npos);
    CHECK(html.find("Quote withheld: the consent of Luz does not cover quoting word for word.") != std::string::npos);
    CHECK(html.find("Contexto<br>") != std::string::npos);
    CHECK(html.find("Charla &lt;script&gt;") != std::string::npos); // the trail names the interview
    CHECK(html.find("Sin consentimiento") != std::string::npos);
    const auto without_trail = interpret::ProfileReport(m.store, m.profile, {{}, {}, "es", false});
    CHECK(without_trail.find("Charla") == std::string::npos);
    CHECK(without_trail.find("<html lang=\"es\">") != std::string::npos);

    // The words of the report can be another language's.
    interpret::ReportOptions spanish;
    spanish.words = [](const char* english) {
        return std::string(english) == "Quotes" ? std::string("Citas") : std::string(english);
    };
    spanish.choice_label = [](const std::string& c) { return c == "collective" ? "Colectivo" : c; };
    const auto translated = interpret::ProfileReport(m.store, m.profile, spanish);
    CHECK(translated.find("<h2>Citas</h2>") != std::string::npos);
    CHECK(translated.find("Colectivo") != std::string::npos);

    CHECK_THROWS_AS(interpret::ProfileReport(m.store, m.session), storage::RecordError);
}

TEST_CASE("A session's report shows its anonymous composition and the feedback on each profile",
          "[interpret][report]") {
    Material m;
    const auto html = interpret::SessionReport(m.store, m.session);
    CheckSafeAndSelfContained(html);
    CHECK(html.find("<svg") != std::string::npos);
    CHECK(html.find("<td class=\"n\">14</td>") != std::string::npos);
    CHECK(html.find("<th class=\"n\">16</th>") != std::string::npos); // the total
    CHECK(html.find("Falta &lt;script&gt;") != std::string::npos);
    CHECK(html.find("partly") != std::string::npos);
    CHECK(html.find("Ana &lt;script&gt;") != std::string::npos);
    CHECK(html.find("Sede &lt;script&gt;") != std::string::npos);
    CHECK(html.find("Rosa") == std::string::npos); // counts, never names of those listened to
}

TEST_CASE("A round's report charts the result as SVG with the numbers and arguments behind it", "[interpret][report]") {
    Material m;
    const auto html = interpret::RoundReport(m.store, m.round);
    CheckSafeAndSelfContained(html);
    CHECK(Occurrences(html, "<svg") == 1);
    CHECK(Occurrences(html, "<rect") == 2);                   // one bar per challenge
    CHECK(html.find("width=\"680.0\"") != std::string::npos); // the first bar is the longest
    CHECK(html.find("width=\"226.7\"") != std::string::npos); // 1 dot of 3
    CHECK(html.find("1. Báscula &lt;script&gt;") != std::string::npos);
    CHECK(html.find("Porque &lt;script&gt;") != std::string::npos);
    CHECK(html.find("Decidido &lt;script&gt;") != std::string::npos);
    CHECK(html.find("2 of 2 voters cast a ballot.") != std::string::npos);
    CHECK(html.find("share a place") == std::string::npos); // no tie
    for (const auto& token : m.voting.tokens) CHECK(html.find(token) == std::string::npos);
}

TEST_CASE("Code frequencies by group as an SVG chart and a table", "[interpret][report]") {
    Material m;
    const auto html = interpret::CodeGroupReport(m.store, m.project, "territory");
    CheckSafeAndSelfContained(html);
    CHECK(html.find("Norte &lt;script&gt;") != std::string::npos);
    CHECK(html.find(">Sur</") != std::string::npos);
    CHECK(html.find("Pago &lt;script&gt;") != std::string::npos);
    CHECK(html.find("2 codings counted.") != std::string::npos);
    CHECK(Occurrences(html, "<rect") == 2 + 2); // legend squares and one bar per group
    CHECK_THROWS_AS(interpret::CodeGroupReport(m.store, m.project, "pseudonym"), storage::RecordError);
}
