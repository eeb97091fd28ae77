#include "escucha/interpret/report.h"

#include "escucha/interpret/profiles.h"
#include "escucha/interpret/sessions.h"
#include "live_record.h"

#include <algorithm>
#include <charconv>
#include <map>

namespace escucha::interpret {

namespace {

// [SECTION] Words and numbers

/// `english` in the report's language.
std::string W(const ReportOptions& o, const char* english) { return o.words ? o.words(english) : english; }

/// `words` with each {name} replaced by its value (already escaped HTML).
std::string Fill(std::string words, const std::map<std::string, std::string>& values) {
    for (const auto& [name, value] : values) {
        const std::string key = "{" + name + "}";
        for (size_t at = words.find(key); at != std::string::npos; at = words.find(key, at + value.size()))
            words.replace(at, key.size(), value);
    }
    return words;
}

/// A choice value as a person reads it.
std::string Choice(const ReportOptions& o, const std::string& value) {
    if (o.choice_label) return o.choice_label(value);
    std::string out = value;
    std::replace(out.begin(), out.end(), '_', ' ');
    return out;
}

/// `value` with `decimals` digits after the point, whatever the locale (SVG
/// needs a point).
std::string Number(double value, int decimals = 0) {
    char buffer[64];
    const auto r = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, decimals);
    return std::string(buffer, r.ptr);
}

std::string Number(int64_t value) { return std::to_string(value); }

/// The first `limit` code points of `text`, with an ellipsis when cut.
std::string Shorten(const std::string& text, size_t limit) {
    size_t points = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
        if (points++ == limit) return text.substr(0, i) + "…";
    }
    return text;
}

/// Escaped text with its newlines as line breaks.
std::string Lines(const std::string& text) {
    std::string out;
    for (const char c : HtmlEscape(text)) {
        if (c == '\n') out += "<br>";
        else out.push_back(c);
    }
    return out;
}

std::string Str(const Json& record, const char* field) {
    const auto it = record.find(field);
    return it != record.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// [SECTION] Page

constexpr const char* STYLE = R"(
:root{color-scheme:light}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;font-size:18px;line-height:1.5;color:#111;background:#fff;margin:0}
main{max-width:60rem;margin:0 auto;padding:2rem}
h1{font-size:2.1rem;line-height:1.2;margin:0 0 .3rem}
h2{font-size:1.45rem;margin:2rem 0 .6rem;padding-bottom:.2rem;border-bottom:3px solid #1f4e79}
h3{font-size:1.15rem;margin:1.2rem 0 .4rem}
.meta{color:#333;margin:0 0 1rem}
.flag{border:3px solid #a4001d;color:#a4001d;padding:.5rem 1rem;font-weight:600}
ol.quotes{padding-left:1.5rem}
ol.quotes>li{margin:0 0 1.4rem}
blockquote{margin:.3rem 0;padding:.6rem 1rem;border-left:8px solid #1f4e79;background:#eef4f9;font-size:1.2rem}
blockquote.withheld{border-left-color:#777;background:#f1f1f1;font-size:1rem;font-style:italic}
.trail,.note{font-size:.9rem;color:#333;margin:.2rem 0}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #888;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#e8e8e8}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
dl{margin:.3rem 0}dt{font-weight:600}dd{margin:0 0 .4rem 1.2rem}
figure{margin:1rem 0}figcaption{font-size:.95rem;color:#333}
svg{max-width:100%;height:auto}
footer{margin-top:3rem;font-size:.8rem;color:#555}
@media print{body{font-size:11pt}main{max-width:none;padding:0}h2{break-after:avoid}
blockquote,figure,tr,li,dl{break-inside:avoid}@page{size:A4;margin:15mm}}
)";

/// The whole page around `body`.
std::string Page(const ReportOptions& o, const std::string& title, const std::string& body) {
    std::string out =
        "<!DOCTYPE html>\n<html lang=\"" + HtmlEscape(o.language) + "\">\n<head>\n<meta charset=\"utf-8\">\n";
    // Nothing is fetched, even if a hostile text slipped through.
    out += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out += "<title>" + HtmlEscape(title) + "</title>\n<style>" + std::string(STYLE) +
           "</style>\n</head>\n<body>\n<main>\n";
    out += body;
    out += "<footer>" + HtmlEscape(W(o, "Made with Escucha.")) + "</footer>\n</main>\n</body>\n</html>\n";
    return out;
}

std::string Heading(int level, const std::string& text) {
    const auto tag = "h" + std::to_string(level);
    return "<" + tag + ">" + HtmlEscape(text) + "</" + tag + ">\n";
}

/// A section of paragraphs when `text` is not empty.
std::string TextSection(const ReportOptions& o, const char* title, const std::string& text) {
    if (text.empty()) return {};
    return Heading(2, W(o, title)) + "<p>" + Lines(text) + "</p>\n";
}

/// A section with a list when `list` holds something.
std::string ListSection(const ReportOptions& o, const char* title, const Json& list) {
    if (!list.is_array() || list.empty()) return {};
    std::string out = Heading(2, W(o, title)) + "<ul>\n";
    for (const auto& item : list)
        if (item.is_string()) out += "<li>" + Lines(item.get<std::string>()) + "</li>\n";
    return out + "</ul>\n";
}

// [SECTION] Charts

/// Bars for each label (rows), one per series, with their values.
struct Bars {
    std::string title;
    std::vector<std::string> labels;
    std::vector<std::string> series;         ///< more than one: a legend
    std::vector<std::string> colours;        ///< one per series
    std::vector<std::vector<double>> values; ///< [label][series]
    int decimals = 0;
};

/// Colours told apart with colour blindness (Okabe and Ito).
const std::vector<std::string>& Palette() {
    static const std::vector<std::string> colours = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                                     "#56B4E9", "#D55E00", "#F0E442", "#000000"};
    return colours;
}

std::string BarsSvg(const Bars& bars) {
    // Each row's label above its bars, so a long statement is never cut at the page's edge.
    constexpr double WIDTH = 760, LABEL_HEIGHT = 20, AREA = 680, BAR = 20, GAP = 12, TOP_PAD = 8;
    double largest = 0;
    for (const auto& row : bars.values)
        for (const double v : row) largest = std::max(largest, v);
    const size_t series = std::max<size_t>(1, bars.series.size());
    const double legend = bars.series.size() > 1 ? 28.0 * static_cast<double>((bars.series.size() + 3) / 4) : 0;
    const double row_height = LABEL_HEIGHT + static_cast<double>(series) * BAR + GAP;
    const double height = TOP_PAD + legend + row_height * static_cast<double>(bars.labels.size()) + TOP_PAD;
    std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + Number(WIDTH) + " " +
                      Number(height, 0) + "\" width=\"" + Number(WIDTH) + "\" height=\"" + Number(height, 0) +
                      "\" role=\"img\" aria-label=\"" + HtmlEscape(bars.title) + "\">\n<title>" +
                      HtmlEscape(bars.title) + "</title>\n";
    if (bars.series.size() > 1) {
        for (size_t s = 0; s < bars.series.size(); ++s) {
            const double x = 10 + 185.0 * static_cast<double>(s % 4);
            const double y = TOP_PAD + 28.0 * static_cast<double>(s / 4);
            out += "<rect x=\"" + Number(x, 0) + "\" y=\"" + Number(y, 0) + "\" width=\"16\" height=\"16\" fill=\"" +
                   HtmlEscape(bars.colours[s]) + "\"/><text x=\"" + Number(x + 22, 0) + "\" y=\"" + Number(y + 13, 0) +
                   "\">" + HtmlEscape(Shorten(bars.series[s], 22)) + "</text>\n";
        }
    }
    for (size_t i = 0; i < bars.labels.size(); ++i) {
        const double top = TOP_PAD + legend + row_height * static_cast<double>(i);
        out += "<g><title>" + HtmlEscape(bars.labels[i]) + "</title>\n<text x=\"0\" y=\"" +
               Number(top + LABEL_HEIGHT - 6, 1) + "\">" + HtmlEscape(Shorten(bars.labels[i], 90)) + "</text>\n";
        for (size_t s = 0; s < series; ++s) {
            const double value = s < bars.values[i].size() ? bars.values[i][s] : 0;
            const double width = largest > 0 ? AREA * value / largest : 0;
            const double y = top + LABEL_HEIGHT + BAR * static_cast<double>(s);
            out += "<rect x=\"0\" y=\"" + Number(y, 1) + "\" width=\"" + Number(width, 1) +
                   "\" height=\"" + Number(BAR - 3, 0) + "\" fill=\"" +
                   HtmlEscape(s < bars.colours.size() ? bars.colours[s] : Palette()[0]) + "\"/>";
            out += "<text x=\"" + Number(width + 6, 1) + "\" y=\"" + Number(y + BAR - 7, 1) + "\">" +
                   Number(value, bars.decimals) + "</text>\n";
        }
        out += "</g>\n";
    }
    return out + "</svg>\n";
}

// [SECTION] Quotes

std::string WithheldText(const ReportOptions& o, const Quote& q) {
    switch (q.withheld) {
    case Withheld::No: return {};
    case Withheld::NoConsent: {
        std::string names;
        for (const auto& n : q.not_consenting) {
            if (!names.empty()) names += ", ";
            names += HtmlEscape(n.empty() ? W(o, "a participant") : n);
        }
        return Fill(HtmlEscape(W(o, "Quote withheld: the consent of {names} does not cover quoting word for word.")),
                    {{"names", names}});
    }
    case Withheld::NoParticipant:
        return HtmlEscape(W(o, "Quote withheld: no participant’s consent covers quoting this source word for word."));
    case Withheld::SourceGone: return HtmlEscape(W(o, "Quote withheld: the excerpt or its source is no longer here."));
    }
    return {};
}

std::string Joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        if (item.empty()) continue;
        if (!out.empty()) out += ", ";
        out += HtmlEscape(item);
    }
    return out;
}

std::string TrailText(const ReportOptions& o, const QuoteTrail& t) {
    std::vector<std::string> parts;
    if (!t.code_name.empty()) parts.push_back(HtmlEscape(W(o, "Code")) + ": " + HtmlEscape(t.code_name));
    if (!t.source_type.empty()) {
        std::string source = HtmlEscape(W(o, "Source")) + ": " + HtmlEscape(Choice(o, t.source_type));
        // A title that is itself a quotation keeps its own marks.
        const bool quoted = t.source_title.rfind("“", 0) == 0 || t.source_title.rfind("\"", 0) == 0 ||
                            t.source_title.rfind("«", 0) == 0;
        if (!t.source_title.empty())
            source += quoted ? " " + HtmlEscape(t.source_title) : " “" + HtmlEscape(t.source_title) + "”";
        parts.push_back(source);
    }
    if (const auto interviews = Joined(t.interview_titles); !interviews.empty())
        parts.push_back(HtmlEscape(W(o, "Interview")) + ": " + interviews);
    if (const auto people = Joined(t.pseudonyms); !people.empty())
        parts.push_back(HtmlEscape(W(o, "Participants")) + ": " + people);
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : " · ") + p;
    return out;
}

} // namespace

// [SECTION] Escaping

std::string HtmlEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        case '\0': break; // never valid in HTML
        default: out.push_back(c);
        }
    }
    return out;
}

// [SECTION] Profile

std::string ProfileReport(storage::RecordStore& store, const std::string& profile_id, const ReportOptions& o) {
    const auto profile = detail::LiveOfType(store, profile_id, PROFILE_TYPE, "profile_id");
    const std::string name = Str(profile, "name");
    std::string body = Heading(1, name);
    body += "<p class=\"meta\">" + HtmlEscape(Choice(o, Str(profile, "kind"))) + " · " + HtmlEscape(W(o, "Version")) +
            " " + Number(profile.value("version", int64_t{1})) + " · " + HtmlEscape(Choice(o, Str(profile, "status"))) +
            "</p>\n";
    if (profile.value("needs_review", false))
        body += "<p class=\"flag\">" +
                HtmlEscape(W(o, "To review: a participant it draws on withdrew consent, and what came from them must "
                                "be taken out.")) +
                "</p>\n";
    if (const auto previous = Str(profile, "previous_version_id"); !previous.empty()) {
        std::string line = HtmlEscape(W(o, "Refines an earlier version of this profile."));
        if (const auto feedback = store.Get(Str(profile, "feedback_id"));
            feedback && !feedback->value("deleted", false))
            if (const auto session = store.Get(Str(*feedback, "session_id"));
                session && !session->value("deleted", false))
                line += " " + Fill(HtmlEscape(W(o, "Asked for in the session “{session}”.")),
                                   {{"session", HtmlEscape(Str(*session, "title"))}});
        body += "<p class=\"meta\">" + line + "</p>\n";
    }
    body += TextSection(o, "Who the profile is about", Str(profile, "group_definition"));
    body += TextSection(o, "Context", Str(profile, "context"));
    body += TextSection(o, "Narrative summary", Str(profile, "narrative_summary"));
    body += ListSection(o, "Needs", profile.value("needs", Json::array()));
    body += ListSection(o, "Aspirations", profile.value("aspirations", Json::array()));
    body += ListSection(o, "Perceptions", profile.value("perceptions", Json::array()));
    body += ListSection(o, "Problems", profile.value("problems", Json::array()));

    const auto quotes = QuotesOf(store, profile_id, o.with_trail);
    if (!quotes.empty()) {
        body += Heading(2, W(o, "Quotes")) + "<ol class=\"quotes\">\n";
        for (const auto& q : quotes) {
            body += "<li>";
            if (q.withheld == Withheld::No) {
                body += "<blockquote>" + Lines(q.text) + "</blockquote>\n";
                if (q.needs_review)
                    body += "<p class=\"note\">" +
                            HtmlEscape(W(o, "The source was edited after this passage was coded: check the quote.")) +
                            "</p>\n";
            } else {
                body += "<blockquote class=\"withheld\">" + WithheldText(o, q) + "</blockquote>\n";
            }
            if (!q.note.empty())
                body += "<p class=\"note\">" + HtmlEscape(W(o, "Why this quote")) + ": " + Lines(q.note) + "</p>\n";
            if (o.with_trail)
                if (const auto trail = TrailText(o, q.trail); !trail.empty())
                    body += "<p class=\"trail\">" + trail + "</p>\n";
            body += "</li>\n";
        }
        body += "</ol>\n";
    }
    return Page(o, W(o, "Profile") + ": " + name, body);
}

// [SECTION] Session

std::string SessionReport(storage::RecordStore& store, const std::string& session_id, const ReportOptions& o) {
    const auto session = detail::LiveOfType(store, session_id, SESSION_TYPE, "session_id");
    const std::string title = Str(session, "title");
    std::string body = Heading(1, title);
    std::string meta = HtmlEscape(Choice(o, Str(session, "kind"))) + " · " + HtmlEscape(Str(session, "held_on"));
    if (const auto place = Str(session, "place_label"); !place.empty()) meta += " · " + HtmlEscape(place);
    body += "<p class=\"meta\">" + meta + "</p>\n";
    std::vector<std::string> facilitators;
    for (const auto& f : session.value("facilitators", Json::array()))
        if (f.is_string()) facilitators.push_back(f.get<std::string>());
    if (!facilitators.empty())
        body += "<p>" + HtmlEscape(W(o, "Facilitated by")) + ": " + Joined(facilitators) + "</p>\n";
    if (session.value("needs_review", false))
        body += "<p class=\"flag\">" +
                HtmlEscape(W(o, "To review: a narrative shown came from a participant who withdrew consent.")) +
                "</p>\n";

    // Who took part: counts only.
    static const std::map<std::string, const char*> kinds = {
        {"community_count", "Community"},           {"public_sector_count", "Public sector"},
        {"private_sector_count", "Private sector"}, {"social_actors_count", "Social actors"},
        {"civil_society_count", "Civil society"},   {"education_count", "Education"},
    };
    body += Heading(2, W(o, "Who took part"));
    Bars bars;
    bars.title = W(o, "Who took part");
    bars.colours = {Palette()[0]};
    int64_t total = 0;
    std::string rows;
    for (const auto& [field, _] : SessionCompositionFields()) {
        const auto count = session.value(field, int64_t{0});
        total += count;
        const std::string label = W(o, kinds.at(field));
        bars.labels.push_back(label);
        bars.values.push_back({static_cast<double>(count)});
        rows += "<tr><td>" + HtmlEscape(label) + "</td><td class=\"n\">" + Number(count) + "</td></tr>\n";
    }
    body += "<figure>" + BarsSvg(bars) + "</figure>\n";
    body += "<table><thead><tr><th>" + HtmlEscape(W(o, "Kind of stakeholder")) + "</th><th class=\"n\">" +
            HtmlEscape(W(o, "People")) + "</th></tr></thead><tbody>\n" + rows + "<tr><th>" + HtmlEscape(W(o, "Total")) +
            "</th><th class=\"n\">" + Number(total) + "</th></tr></tbody></table>\n";

    // The profiles presented, each with what was said about it.
    const auto feedback = FeedbackOf(store, session_id);
    body += Heading(2, W(o, "Profiles presented"));
    for (const auto& pid : session.value("profile_ids", Json::array())) {
        const auto profile = store.Get(pid.get<std::string>());
        if (!profile || profile->value("deleted", false)) continue;
        body += Heading(3, Str(*profile, "name") + " (" + W(o, "version") + " " +
                               Number(profile->value("version", int64_t{1})) + ")");
        bool any = false;
        for (const auto& f : feedback) {
            if (Str(f, "profile_id") != pid) continue;
            any = true;
            static const std::vector<std::pair<const char*, const char*>> questions = {
                {"recognised", "Recognised?"},          {"exists", "Exists in the territory?"},
                {"missing", "What is missing"},         {"superfluous", "What is superfluous"},
                {"refinement", "Refinement asked for"},
            };
            body += "<dl>\n";
            for (const auto& [field, question] : questions) {
                const auto answer = Str(f, field);
                if (answer.empty()) continue;
                const bool choice = std::string(field) == "recognised" || std::string(field) == "exists";
                body += "<dt>" + HtmlEscape(W(o, question)) + "</dt><dd>" +
                        (choice ? HtmlEscape(Choice(o, answer)) : Lines(answer)) + "</dd>\n";
            }
            body += "</dl>\n";
        }
        if (!any) body += "<p class=\"note\">" + HtmlEscape(W(o, "No feedback recorded.")) + "</p>\n";
    }
    body += TextSection(o, "Notes", Str(session, "notes"));
    return Page(o, W(o, "Session") + ": " + title, body);
}

// [SECTION] Prioritisation round

std::string TallyChartSvg(const Tally& tally, const ReportOptions& o) {
    Bars bars;
    bars.title = W(o, "Result of the round");
    bars.colours = {Palette()[0]};
    bars.decimals = tally.method == "impact_feasibility" ? 1 : 0;
    for (const auto& row : tally.rows) {
        bars.labels.push_back(Number(row.place) + ". " + row.statement);
        bars.values.push_back({row.score});
    }
    return BarsSvg(bars);
}

std::string RoundReport(storage::RecordStore& store, const std::string& round_id, const ReportOptions& o) {
    const auto round = detail::LiveOfType(store, round_id, ROUND_TYPE, "round_id");
    const auto tally = TallyRound(store, round_id);
    const std::string title = Str(round, "title");
    std::string body = Heading(1, title);
    std::string meta = HtmlEscape(Choice(o, tally.method));
    if (const auto held = Str(round, "held_on"); !held.empty()) meta += " · " + HtmlEscape(held);
    meta += " · " + HtmlEscape(Choice(o, Str(round, "status")));
    body += "<p class=\"meta\">" + meta + "</p>\n";

    // How the numbers were reached.
    const auto n = Number(static_cast<int64_t>(tally.rows.size()));
    std::string how;
    if (tally.method == "dot_voting")
        how = Fill(HtmlEscape(W(o, "Dot voting: each voter placed up to {dots} dots; a challenge’s score is the dots "
                                   "it received.")),
                   {{"dots", Number(round.value("dots_per_voter", DEFAULT_DOTS_PER_VOTER))}});
    else if (tally.method == "impact_feasibility")
        how = Fill(HtmlEscape(W(o, "Impact × feasibility: each voter scored both from {min} to {max}; a challenge’s "
                                   "score is the mean of impact × feasibility over the voters who scored it.")),
                   {{"min", Number(round.value("score_min", DEFAULT_SCORE_MIN))},
                    {"max", Number(round.value("score_max", DEFAULT_SCORE_MAX))}});
    else if (tally.method == "ranking")
        how = Fill(HtmlEscape(W(o, "Ranking: each voter ranked all {n}; a first place gives {n} points, a last place "
                                   "1, and a challenge’s score is the sum of its points.")),
                   {{"n", n}});
    how += " " + Fill(HtmlEscape(W(o, "{ballots} of {voters} voters cast a ballot.")),
                      {{"ballots", Number(tally.ballots)}, {"voters", Number(tally.voters_invited)}});
    if (tally.superseded > 0)
        how +=
            " " + Fill(HtmlEscape(W(o, "{count} earlier ballots were replaced by a later ballot of the same voter.")),
                       {{"count", Number(tally.superseded)}});
    if (tally.ties)
        how += " " + HtmlEscape(W(o, "Challenges with the same score share a place, and are listed in the order the "
                                     "round lists them."));

    body += Heading(2, W(o, "Result"));
    body += "<figure>" + TallyChartSvg(tally, o) + "<figcaption>" + how + "</figcaption></figure>\n";
    body += "<table><thead><tr><th class=\"n\">" + HtmlEscape(W(o, "Place")) + "</th><th>" +
            HtmlEscape(W(o, "Challenge or opportunity")) + "</th>";
    if (tally.method == "dot_voting") body += "<th class=\"n\">" + HtmlEscape(W(o, "Dots")) + "</th>";
    if (tally.method == "impact_feasibility")
        body += "<th class=\"n\">" + HtmlEscape(W(o, "Mean impact")) + "</th><th class=\"n\">" +
                HtmlEscape(W(o, "Mean feasibility")) + "</th><th class=\"n\">" +
                HtmlEscape(W(o, "Mean impact × feasibility")) + "</th>";
    if (tally.method == "ranking")
        body += "<th class=\"n\">" + HtmlEscape(W(o, "Points")) + "</th><th class=\"n\">" +
                HtmlEscape(W(o, "Mean rank")) + "</th>";
    body += "<th class=\"n\">" + HtmlEscape(W(o, "Voters")) + "</th></tr></thead><tbody>\n";
    for (const auto& row : tally.rows) {
        body += "<tr><td class=\"n\">" + Number(row.place) + (row.tied ? "=" : "") + "</td><td>" +
                HtmlEscape(row.statement) + (row.kind.empty() ? "" : " (" + HtmlEscape(Choice(o, row.kind)) + ")") +
                "</td>";
        if (tally.method == "dot_voting") body += "<td class=\"n\">" + Number(row.dots) + "</td>";
        if (tally.method == "impact_feasibility")
            body += "<td class=\"n\">" + Number(row.mean_impact, 1) + "</td><td class=\"n\">" +
                    Number(row.mean_feasibility, 1) + "</td><td class=\"n\">" + Number(row.score, 1) + "</td>";
        if (tally.method == "ranking")
            body +=
                "<td class=\"n\">" + Number(row.borda) + "</td><td class=\"n\">" + Number(row.mean_rank, 1) + "</td>";
        body += "<td class=\"n\">" + Number(row.voters) + "</td></tr>\n";
    }
    body += "</tbody></table>\n";

    bool any_argument = false;
    for (const auto& row : tally.rows) any_argument = any_argument || !row.arguments.empty();
    if (any_argument) {
        body += Heading(2, W(o, "Arguments"));
        for (const auto& row : tally.rows) {
            if (row.arguments.empty()) continue;
            body += Heading(3, row.statement) + "<ul>\n";
            for (const auto& a : row.arguments) body += "<li>" + Lines(a) + "</li>\n";
            body += "</ul>\n";
        }
    }
    body += TextSection(o, "Decision", Str(round, "decision"));
    return Page(o, W(o, "Prioritisation round") + ": " + title, body);
}

// [SECTION] Code frequencies by group

std::string CodeGroupChartSvg(const GroupMatrix& m, const ReportOptions& o) {
    Bars bars;
    bars.title = W(o, "Codes by group");
    for (size_t c = 0; c < m.groups.size(); ++c) {
        bars.series.push_back(m.groups[c] == NOT_RECORDED ? W(o, "Not recorded") : Choice(o, m.groups[c]));
        bars.colours.push_back(Palette()[c % Palette().size()]);
    }
    for (size_t r = 0; r < m.codes.size(); ++r) {
        bars.labels.push_back(Str(m.codes[r].code, "name"));
        std::vector<double> row;
        for (size_t c = 0; c < m.groups.size(); ++c) row.push_back(static_cast<double>(m.Count(r, c)));
        bars.values.push_back(std::move(row));
    }
    return BarsSvg(bars);
}

std::string CodeGroupReport(storage::RecordStore& store, const std::string& project_id, const std::string& group_field,
                            const ReportOptions& o) {
    const auto m = CodeGroupMatrix(store, project_id, group_field);
    const std::string title = W(o, "Codes by group") + ": " + Choice(o, group_field);
    std::string body = Heading(1, title);
    body += "<p class=\"meta\">" +
            Fill(HtmlEscape(W(o, "{codings} codings counted. A coding counts once in each group its source’s "
                                 "participants are in.")),
                 {{"codings", Number(m.codings)}}) +
            "</p>\n";
    body += "<figure>" + CodeGroupChartSvg(m, o) + "</figure>\n";
    body += "<table><thead><tr><th>" + HtmlEscape(W(o, "Code")) + "</th>";
    for (const auto& g : m.groups)
        body += "<th class=\"n\">" + HtmlEscape(g == NOT_RECORDED ? W(o, "Not recorded") : Choice(o, g)) + "</th>";
    body += "<th class=\"n\">" + HtmlEscape(W(o, "Total")) + "</th></tr></thead><tbody>\n";
    for (size_t r = 0; r < m.codes.size(); ++r) {
        body += "<tr><td>";
        for (int d = 0; d < m.codes[r].depth; ++d) body += "&#160;&#160;";
        body += HtmlEscape(Str(m.codes[r].code, "name")) + "</td>";
        for (size_t c = 0; c < m.groups.size(); ++c) body += "<td class=\"n\">" + Number(m.Count(r, c)) + "</td>";
        body += "<td class=\"n\">" + Number(m.row_totals[r]) + "</td></tr>\n";
    }
    body += "</tbody></table>\n";
    return Page(o, title, body);
}

} // namespace escucha::interpret
