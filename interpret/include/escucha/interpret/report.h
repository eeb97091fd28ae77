// HTML reports of a profile, a session and a prioritisation round, and the
// chart of code frequencies by participant group.
//
// A report is one self-contained HTML page: its CSS and its charts (SVG)
// are inline, it names no font, script, image or address to fetch, and its
// Content-Security-Policy forbids fetching any. It prints on A4 and reads on
// a projector. Every text that comes from a record (names, statements,
// arguments, pseudonyms) is HTML-escaped: records come from devices and
// are not trusted.
//
// Consent gates every report as it gates QuotesOf: a quote whose
// participants' consent does not cover quoting verbatim says it is withheld
// and why, and its words are in no report.
//
// Errors: storage::RecordError (RECORD_NOT_FOUND, RECORD_DELETED,
// REFERENCE_WRONG_TYPE for an id of the wrong kind; INVALID_VALUE for a
// group field results are not grouped by); storage::SqliteError.
#pragma once

#include "escucha/interpret/analysis.h"
#include "escucha/interpret/priorities.h"
#include "escucha/storage/records.h"

#include <functional>
#include <string>
#include <string_view>

namespace escucha::interpret {

/// How a report is worded. Without `words`, English; the window app and the
/// CLI pass their translation (words::Tr). Without `choice_label`, a choice
/// is shown as recorded with spaces for underscores ("dot voting").
struct ReportOptions {
    std::function<std::string(const char* english)> words;
    std::function<std::string(const std::string& choice)> choice_label;
    std::string language = "en"; ///< the page's lang attribute
    bool with_trail = true;      ///< each quote says where it comes from
};

/// `text` with &, <, >, " and ' replaced by character references: safe in
/// HTML text and in quoted attribute values, and in SVG.
[[nodiscard]] std::string HtmlEscape(std::string_view text);

/// A profile: kind, version and where it comes from, context, summary,
/// needs, aspirations, perceptions, problems and its quotes (withheld ones
/// say so), each with its trail when `options.with_trail`.
[[nodiscard]] std::string ProfileReport(storage::RecordStore& store, const std::string& profile_id,
                                        const ReportOptions& options = {});

/// A session: kind, date, place, facilitators, the composition by kind of
/// stakeholder (anonymous counts), the profiles presented and the feedback
/// on each.
[[nodiscard]] std::string SessionReport(storage::RecordStore& store, const std::string& session_id,
                                        const ReportOptions& options = {});

/// A prioritisation round: method, the result as a bar chart (SVG) and a
/// table with the numbers behind it, how ties were settled, the arguments
/// given for each challenge and the decision.
[[nodiscard]] std::string RoundReport(storage::RecordStore& store, const std::string& round_id,
                                      const ReportOptions& options = {});

/// The result of a round as an SVG bar chart (one bar per challenge, best
/// first), for a report or a page of its own.
[[nodiscard]] std::string TallyChartSvg(const Tally& tally, const ReportOptions& options = {});

/// Code frequencies by the values of a participant group field as an SVG
/// chart: for each code, one bar per group.
[[nodiscard]] std::string CodeGroupChartSvg(const GroupMatrix& matrix, const ReportOptions& options = {});

/// A page with the code x group chart and table of `project_id` by
/// `group_field` (see GroupFields()).
[[nodiscard]] std::string CodeGroupReport(storage::RecordStore& store, const std::string& project_id,
                                          const std::string& group_field, const ReportOptions& options = {});

} // namespace escucha::interpret
