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

/// Wraps one paragraph (no '\n' in it) into `out`. Each word is measured
/// once and line widths are added up (Dear ImGui 1.86 does not kern), so a
/// long paragraph costs time in proportion to its length.
void WrapParagraph(std::string_view p, float width, const MeasureText& measure, std::string& out) {
    const float space = measure(" ");
    float line = 0;     // width of the current line, trailing spaces excluded
    float trailing = 0; // width of the spaces after the line's last word
    bool line_empty = true;
    size_t pos = 0;
    while (pos < p.size()) {
        size_t word_end = p.find(' ', pos);
        if (word_end == std::string_view::npos) word_end = p.size();
        size_t next = word_end;
        while (next < p.size() && p[next] == ' ') ++next;
        const std::string_view word = p.substr(pos, word_end - pos);
        const float w = measure(word);
        if (!line_empty && line + trailing + w > width) {
            out.append("\r\n");
            line = 0;
            trailing = 0;
            line_empty = true;
        }
        if (line_empty && w > width) {
            // Not even one line holds the word: cut it where it must be cut.
            size_t piece = 0;
            float piece_width = 0;
            for (size_t i = 0; i < word.size();) {
                size_t j = i + 1;
                while (j < word.size() && IsContinuation(word[j])) ++j;
                const float c = measure(word.substr(i, j - i));
                if (piece_width + c > width && i > piece) {
                    out.append(word.substr(piece, i - piece));
                    out.append("\r\n");
                    piece = i;
                    piece_width = 0;
                }
                piece_width += c;
                i = j;
            }
            out.append(word.substr(piece));
            line = piece_width;
        } else {
            out.append(word);
            line += trailing + w;
        }
        out.append(p.substr(word_end, next - word_end));
        trailing = space * static_cast<float>(next - word_end);
        line_empty = false;
        pos = next;
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
    while (prefix > 0 && prefix < before.size() &&
           (IsContinuation(before[prefix]) || (IsSoft(before, prefix) && before[prefix] == '\n')))
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

// [SECTION] Undo

void UndoHistory::Record(const std::string& before, size_t cursor, const std::string& after, double now) {
    // One letter more or less (a UTF-8 character is at most 4 bytes) is typing.
    const size_t a = before.size(), b = after.size();
    const bool typing = (a > b ? a - b : b - a) <= 4;
    const bool merge = typing && m_last_was_typing && !m_undo.empty() && now - m_last_edit < MERGE_WITHIN_S;
    if (!merge) m_undo.push_back({before, cursor});
    m_redo.clear();
    m_last_edit = now;
    m_last_was_typing = typing;
    Trim();
}

bool UndoHistory::Undo(std::string& text, size_t& cursor) {
    if (m_undo.empty()) return false;
    m_redo.push_back({text, cursor});
    text = std::move(m_undo.back().text);
    cursor = std::min(m_undo.back().cursor, text.size());
    m_undo.pop_back();
    m_last_was_typing = false; // what is typed next is a step of its own
    return true;
}

bool UndoHistory::Redo(std::string& text, size_t& cursor) {
    if (m_redo.empty()) return false;
    m_undo.push_back({text, cursor});
    text = std::move(m_redo.back().text);
    cursor = std::min(m_redo.back().cursor, text.size());
    m_redo.pop_back();
    m_last_was_typing = false;
    return true;
}

void UndoHistory::Trim() {
    size_t bytes = 0;
    for (const auto& s : m_undo) bytes += s.text.size();
    size_t drop = 0;
    while (drop + 1 < m_undo.size() && bytes > MAX_BYTES) bytes -= m_undo[drop++].text.size();
    m_undo.erase(m_undo.begin(), m_undo.begin() + static_cast<std::ptrdiff_t>(drop));
}

// [SECTION] The cursor at soft breaks

size_t SettleCursor(std::string_view d, size_t previous, size_t cursor, bool right, bool left) {
    if (cursor > d.size()) return d.size();
    // A soft break "\r\n" sits at [r, r + 2): positions r (the end of the
    // line, after its spaces) and r + 2 (the start of the next) are the same
    // place in the text; r + 1 is no place at all.
    const bool before_soft = cursor < d.size() && d[cursor] == '\r';
    const bool inside_soft = cursor > 0 && d[cursor - 1] == '\r' && cursor < d.size() && d[cursor] == '\n';
    if (inside_soft) {
        const size_t r = cursor - 1;
        if (right) return r + 2; // on to the next line
        // Left from the start of the next line: the character before the break, as in the text.
        if (left && previous >= r + 2 && r > 0) {
            size_t at = r - 1;
            while (at > 0 && IsContinuation(d[at])) --at;
            return at;
        }
        return r; // End, a click, Up or Down: the end of the line
    }
    // Right from the line's last character to its end is the same step as to
    // the start of the next line: go there at once.
    if (before_soft && right && previous < cursor) return cursor + 2;
    return cursor;
}

} // namespace escucha::gui
