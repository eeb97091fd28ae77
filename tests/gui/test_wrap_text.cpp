// Word wrap while editing: the real text survives every edit of its display.
#include "wrap_text.h"

#include <catch2/catch.hpp>

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
