// Word wrap while editing: the real text survives every edit of its display.
#include "feature_coding.h"
#include "wrap_text.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace escucha::gui;

namespace {

/// Every byte one unit wide, except UTF-8 continuation bytes.
float Width(std::string_view s) {
    float w = 0;
    for (char c : s)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) w += 1;
    return w;
}

/// Types `keys` at text position `at` through the display, as the editor would.
WrappedEdit Type(const std::string& text, size_t at, const std::string& keys, float width) {
    const auto before = WrapText(text, width, Width);
    const size_t d = ToDisplayPosition(before, at);
    std::string after = before;
    after.insert(d, keys);
    return ApplyWrappedEdit(before, after, d + keys.size(), false);
}

} // namespace

TEST_CASE("Long text wraps at spaces and unwraps to itself", "[gui][wrap]") {
    const std::string text = "Las recolectoras cobran por arroba\ny nadie ve la báscula del capataz.";
    const auto display = WrapText(text, 12, Width);
    CHECK(display == "Las \r\nrecolectoras \r\ncobran por \r\narroba\ny nadie ve \r\nla báscula \r\ndel capataz.");
    CHECK(UnwrapText(display) == text);
    SECTION("a word wider than a line is cut at a character boundary") {
        const auto cut = WrapText("ññññññññ", 3, Width);
        CHECK(cut == "ñññ\r\nñññ\r\nññ");
        CHECK(UnwrapText(cut) == "ññññññññ");
    }
    SECTION("text that fits is left as it is") { CHECK(WrapText("corto\n\nfin", 40, Width) == "corto\n\nfin"); }
    SECTION("positions map both ways") {
        const size_t p = text.find("cobran");
        const size_t d = ToDisplayPosition(display, p);
        CHECK(display.substr(d, 6) == "cobran");
        CHECK(ToTextPosition(display, d) == p);
        // At a soft break the cursor goes to the start of the next line.
        const size_t r = text.find("recolectoras");
        CHECK(display.substr(ToDisplayPosition(display, r), 4) == "reco");
    }
}

TEST_CASE("Edits of the wrapped display change the real text as typed", "[gui][wrap]") {
    const std::string text = "abc def ghi";
    const float width = 4;
    const auto before = WrapText(text, width, Width); // "abc \r\ndef \r\nghi"
    REQUIRE(before == "abc \r\ndef \r\nghi");

    SECTION("typing in the middle, at a line's end, and a new line") {
        auto e = Type(text, 1, "X", width);
        CHECK(e.text == "aXbc def ghi");
        CHECK(e.cursor == 2);
        e = Type(text, 4, "ZZ", width); // after "abc ", where the soft break is
        CHECK(e.text == "abc ZZdef ghi");
        CHECK(e.cursor == 6);
        e = Type(text, 3, "\n", width);
        CHECK(e.text == "abc\n def ghi");
    }
    SECTION("Backspace at the start of a wrapped line removes the space before it") {
        std::string after = before;
        after.erase(5, 1); // the '\n' of the first soft break goes
        const auto e = ApplyWrappedEdit(before, after, 5, true);
        CHECK(e.text == "abcdef ghi");
        CHECK(e.cursor == 3);
    }
    SECTION("Delete at the end of a line removes the first letter of the next") {
        std::string after = before;
        after.erase(4, 1); // the '\r'
        const auto e = ApplyWrappedEdit(before, after, 4, false);
        CHECK(e.text == "abc ef ghi");
        CHECK(e.cursor == 4);
    }
    SECTION("deleting a selection across soft breaks") {
        std::string after = before;
        after.erase(2, 7); // "c \r\ndef": from 'c' through 'f'
        const auto e = ApplyWrappedEdit(before, after, 2, false);
        CHECK(e.text == "ab ghi");
    }
    SECTION("pasting text with Windows line ends keeps plain newlines") {
        std::string after = before;
        after.insert(0, "uno\r\ndos ");
        const auto e = ApplyWrappedEdit(before, after, 9, false);
        CHECK(e.text == "uno\ndos abc def ghi");
    }
    SECTION("accented letters are never split") {
        const std::string t = "añé ñu";
        const auto d = WrapText(t, 3, Width);
        std::string after = d;
        const size_t at = ToDisplayPosition(d, t.find("é"));
        after.erase(at, 2); // Delete removes the whole é
        CHECK(ApplyWrappedEdit(d, after, at, false).text == "añ ñu");
    }
}

TEST_CASE("The cursor crosses a soft break in one press, and never rests inside it", "[gui][wrap]") {
    const std::string d = WrapText("abc def ghi", 4, Width); // "abc \r\ndef \r\nghi"
    REQUIRE(d == "abc \r\ndef \r\nghi");
    SECTION("Right from the last letter of a line goes to the start of the next") {
        // ImGui moves one position: from after "abc" (3) to before the '\r' (4).
        CHECK(SettleCursor(d, 3, 4, true, false) == 6);
        // From the end of the line (where End or a click left it), into the break: on to the next line.
        CHECK(SettleCursor(d, 4, 5, true, false) == 6);
        // Further right is a plain move.
        CHECK(SettleCursor(d, 6, 7, true, false) == 7);
    }
    SECTION("Left from the start of a line goes before the last character of the one above") {
        CHECK(SettleCursor(d, 6, 5, false, true) == 3);
        CHECK(SettleCursor(d, 4, 3, false, true) == 3);
    }
    SECTION("End, a click, Up or Down inside a break rest at the end of the line") {
        CHECK(SettleCursor(d, 0, 5, false, false) == 4);
        CHECK(SettleCursor(d, 12, 5, false, false) == 4);
        CHECK(SettleCursor(d, 0, 4, false, false) == 4);
    }
    SECTION("a word cut over two lines keeps its letters whole") {
        const std::string cut = WrapText("ññññ", 2, Width); // "ññ\r\nññ"
        REQUIRE(cut == "ññ\r\nññ");
        CHECK(SettleCursor(cut, 2, 4, true, false) == 6);
        CHECK(SettleCursor(cut, 6, 5, false, true) == 2);
    }
    SECTION("every position of a text is reached by Right, one press per character") {
        const std::string text = "Las recolectoras cobran por arroba y nadie ve la báscula.";
        const auto wrapped = WrapText(text, 10, Width);
        size_t at = 0, presses = 0;
        std::vector<size_t> seen{ToTextPosition(wrapped, at)};
        while (at < wrapped.size()) {
            size_t next = at + 1;
            while (next < wrapped.size() && (static_cast<unsigned char>(wrapped[next]) & 0xC0) == 0x80) ++next;
            at = SettleCursor(wrapped, at, next, true, false);
            seen.push_back(ToTextPosition(wrapped, at));
            ++presses;
        }
        // As many presses as characters, each one a step forward in the text.
        size_t characters = 0;
        for (char c : text) characters += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
        CHECK(presses == characters);
        for (size_t i = 1; i < seen.size(); ++i) CHECK(seen[i] > seen[i - 1]);
    }
}

TEST_CASE("Undo and redo in long text work on the real text", "[gui][wrap]") {
    UndoHistory h;
    std::string text = "Cosecha";
    size_t cursor = 7;
    CHECK_FALSE(h.Undo(text, cursor));
    // Letters typed close together are one step.
    const auto type = [&](const std::string& letters, double t) {
        for (char c : letters) {
            const std::string after = text + c;
            h.Record(text, text.size(), after, t);
            text = after;
            t += 0.2;
        }
    };
    type(" de", 10.0);
    type(" café", 20.0); // after a pause: a step of its own
    CHECK(text == "Cosecha de café");
    REQUIRE(h.Undo(text, cursor));
    CHECK(text == "Cosecha de");
    CHECK(cursor == 10);
    REQUIRE(h.Undo(text, cursor));
    CHECK(text == "Cosecha");
    CHECK_FALSE(h.Undo(text, cursor));
    REQUIRE(h.Redo(text, cursor));
    CHECK(text == "Cosecha de");
    SECTION("a paste is a step of its own, and an edit after an undo forgets what could be redone") {
        const std::string pasted = text + " y de cacao";
        h.Record(text, text.size(), pasted, 30.0);
        text = pasted;
        CHECK_FALSE(h.Redo(text, cursor));
        REQUIRE(h.Undo(text, cursor));
        CHECK(text == "Cosecha de");
    }
    SECTION("old steps are forgotten past the memory limit, the last ones kept") {
        UndoHistory big;
        std::string t(1024 * 1024, 'a');
        for (int i = 0; i < 20; ++i) {
            const std::string after = t + std::string(1024, 'b');
            big.Record(t, t.size(), after, i * 10.0);
            t = after;
        }
        int steps = 0;
        size_t c = 0;
        while (big.Undo(t, c)) ++steps;
        CHECK(steps >= 1);
        CHECK(steps < 20);
    }
}

TEST_CASE("A selection in the wrapped editor becomes a passage in code points of the saved text",
          "[gui][wrap][coding]") {
    using escucha::gui::CodingFeature;
    // Accents, an emoji (four bytes) and a combining accent before the passage.
    const std::string text = "Añoranza 😀 cafe\xCC\x81: la báscula la controla el patrón.";
    const auto display = WrapText(text, 12, Width);
    REQUIRE(display != text); // soft breaks were inserted
    // The person selects "báscula" on screen: display byte offsets, soft breaks and all.
    const size_t d0 = display.find("báscula");
    REQUIRE(d0 != std::string::npos);
    const size_t d1 = d0 + std::string("báscula").size();
    const size_t from = ToTextPosition(display, d0), to = ToTextPosition(display, d1);
    const auto passage = CodingFeature::SelectionOf(text, from, to);
    REQUIRE(passage);
    CHECK(passage->words == "báscula");
    // "Añoranza 😀 café: la " is 21 code points (é written as e + U+0301 counts two).
    CHECK(passage->start == 21);
    CHECK(passage->end == 28);
    CHECK(escucha::interpret::CodePointSlice(text, passage->start, passage->end) == "báscula");
    // Selected backwards, the same passage.
    CHECK(CodingFeature::SelectionOf(text, to, from)->start == 21);
    // Nothing selected, or an offset inside a character (never produced by the editor): no passage.
    CHECK_FALSE(CodingFeature::SelectionOf(text, from, from));
    CHECK_FALSE(CodingFeature::SelectionOf(text, text.find("😀") + 1, to));
    CHECK_FALSE(CodingFeature::SelectionOf(text, from, text.size() + 1));
}
