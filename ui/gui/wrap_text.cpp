#include "wrap_text.h"

#include <algorithm>

namespace escucha::gui {

namespace {

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

/// Is display[i] part of a soft break?
bool IsSoft(std::string_view d, size_t i) {
    if (d[i] == '\r') return true;
    return d[i] == '\n' && i > 0 && d[i - 1] == '\r';
}

/// Wraps one paragraph (no '\n' in it) into `out`.
void WrapParagraph(std::string_view p, float width, const MeasureText& measure, std::string& out) {
    size_t line_start = 0;
    while (line_start < p.size()) {
        if (measure(p.substr(line_start)) <= width) {
            out.append(p.substr(line_start));
            return;
        }
        // The longest run of whole words that fits; spaces stay at the end of
        // the line they follow and are not measured.
        size_t best = 0; // end of the last word that fits (after its spaces)
        size_t pos = line_start;
        while (pos < p.size()) {
            size_t word_end = p.find(' ', pos);
            if (word_end == std::string_view::npos) word_end = p.size();
            if (measure(p.substr(line_start, word_end - line_start)) > width) break;
            size_t next = word_end;
            while (next < p.size() && p[next] == ' ') ++next;
            best = next;
            pos = next;
            if (word_end == p.size()) break;
        }
        if (best == 0) {
            // Not even one word fits: cut it where it must be cut.
            size_t cut = line_start;
            size_t step = line_start;
            while (step < p.size()) {
                size_t next = step + 1;
                while (next < p.size() && IsContinuation(p[next])) ++next;
                if (measure(p.substr(line_start, next - line_start)) > width && cut > line_start) break;
                cut = next;
                step = next;
            }
            best = cut;
        }
        out.append(p.substr(line_start, best - line_start));
        if (best < p.size()) out.append("\r\n");
        line_start = best;
    }
}

} // namespace

std::string WrapText(std::string_view text, float width, const MeasureText& measure) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    size_t start = 0;
    while (true) {
        const size_t end = text.find('\n', start);
        WrapParagraph(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start),
                      std::max(width, 1.0f), measure, out);
        if (end == std::string_view::npos) break;
        out.push_back('\n');
        start = end + 1;
    }
    return out;
}

std::string UnwrapText(std::string_view display) {
    std::string out;
    out.reserve(display.size());
    for (size_t i = 0; i < display.size(); ++i)
        if (!IsSoft(display, i)) out.push_back(display[i]);
    return out;
}

size_t ToTextPosition(std::string_view display, size_t index) {
    size_t position = 0;
    for (size_t i = 0; i < std::min(index, display.size()); ++i)
        if (!IsSoft(display, i)) ++position;
    return position;
}

size_t ToDisplayPosition(std::string_view display, size_t position) {
    size_t seen = 0;
    size_t i = 0;
    while (i < display.size()) {
        if (IsSoft(display, i)) {
            ++i;
            continue;
        }
        if (seen == position) return i;
        ++seen;
        ++i;
    }
    return display.size();
}

WrappedEdit ApplyWrappedEdit(std::string_view before, std::string_view after, size_t cursor, bool backspace) {
    // The edit is what differs between the common start and the common end.
    size_t prefix = 0;
    const size_t shortest = std::min(before.size(), after.size());
    while (prefix < shortest && before[prefix] == after[prefix]) ++prefix;
    size_t suffix = 0;
    while (suffix < shortest - prefix && before[before.size() - 1 - suffix] == after[after.size() - 1 - suffix])
        ++suffix;
    // Keep the edit off the middle of a UTF-8 character and of a soft break.
    while (prefix > 0 && (IsContinuation(before[prefix]) || (prefix < before.size() && IsSoft(before, prefix) &&
                                                                before[prefix] == '\n')))
        --prefix;

    std::string text = UnwrapText(before);
    const size_t from = ToTextPosition(before, prefix);
    const size_t to = ToTextPosition(before, before.size() - suffix);
    std::string inserted;
    for (char c : after.substr(prefix, after.size() - suffix - prefix))
        if (c != '\r') inserted.push_back(c);

    if (from == to && inserted.empty() && before.size() > after.size()) {
        // Only a soft break was hit: do what the key means in the real text.
        if (backspace && from > 0) {
            size_t start = from - 1;
            while (start > 0 && IsContinuation(text[start])) --start;
            text.erase(start, from - start);
            return {text, start};
        }
        if (!backspace && from < text.size()) {
            size_t end = from + 1;
            while (end < text.size() && IsContinuation(text[end])) ++end;
            text.erase(from, end - from);
        }
        return {text, from};
    }
    text.replace(from, to - from, inserted);
    // The cursor ends after what was typed or pasted; elsewhere (an undo),
    // count the real characters before it.
    size_t at = from + inserted.size();
    if (cursor != prefix + (after.size() - suffix - prefix)) at = std::min(ToTextPosition(after, cursor), text.size());
    return {text, at};
}

} // namespace escucha::gui
