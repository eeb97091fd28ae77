// [SECTION] Characters
// [SECTION] Phrase tables
// [SECTION] Message headers
// [SECTION] Reading a chat
// [SECTION] Masking
// [SECTION] Names
#include "social_import_text.h"

#include "escucha/storage/error_code.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <set>

namespace escucha::capture {

using storage::RecordError;
namespace errc = storage::errc;

namespace social {

// [SECTION] Characters

size_t InvisibleAt(std::string_view s, size_t i) {
    if (i + 3 > s.size()) return 0;
    const auto b0 = static_cast<unsigned char>(s[i]);
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    const auto b2 = static_cast<unsigned char>(s[i + 2]);
    if (b0 == 0xEF && b1 == 0xBB && b2 == 0xBF) return 3; // BOM
    if (b0 != 0xE2) return 0;
    if (b1 == 0x80 && (b2 == 0x8E || b2 == 0x8F)) return 3; // LRM, RLM
    if (b1 == 0x80 && b2 >= 0xAA && b2 <= 0xAE) return 3;   // embeddings and overrides
    if (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9) return 3;   // isolates
    return 0;
}

size_t SpaceAt(std::string_view s, size_t i) {
    if (i >= s.size()) return 0;
    if (s[i] == ' ' || s[i] == '\t') return 1;
    if (i + 2 <= s.size() && static_cast<unsigned char>(s[i]) == 0xC2 && static_cast<unsigned char>(s[i + 1]) == 0xA0)
        return 2; // NBSP
    if (i + 3 <= s.size() && static_cast<unsigned char>(s[i]) == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) == 0xAF || static_cast<unsigned char>(s[i + 2]) == 0x89))
        return 3; // narrow NBSP, thin space
    return 0;
}

std::string Trim(std::string_view s) {
    size_t a = 0;
    while (a < s.size()) {
        const size_t n = std::max(InvisibleAt(s, a), SpaceAt(s, a));
        if (n == 0) break;
        a += n;
    }
    size_t b = s.size();
    while (b > a) {
        // Step back over one character and see whether it is blank.
        size_t start = b - 1;
        while (start > a && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        if (std::max(InvisibleAt(s, start), SpaceAt(s, start)) != b - start) break;
        b = start;
    }
    return std::string(s.substr(a, b - a));
}

std::string LowerAscii(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

void ThrowTooLarge(const std::string& file, int64_t limit) {
    throw RecordError("file", file + " is too large", errc::SOCIAL_TOO_LARGE,
                      {{"file", file}, {"limit", std::to_string(limit) + " bytes"}});
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/// `s` with spaces of any kind made ASCII spaces and invisible marks removed:
/// how phrases are compared.
std::string Plain(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        if (const size_t n = InvisibleAt(s, i)) {
            i += n;
        } else if (const size_t m = SpaceAt(s, i)) {
            out.push_back(' ');
            i += m;
        } else {
            out.push_back(s[i++]);
        }
    }
    return out;
}

bool EndsWith(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}
bool StartsWith(std::string_view s, std::string_view head) { return s.substr(0, head.size()) == head; }

// [SECTION] Phrase tables
//
// What WhatsApp writes in place of a message, in each language. Collected
// from exports seen in other tools' reports; those of one language only
// ("[U]" in the research notes) are kept because a wrong one costs nothing.

struct Phrase {
    const char* text;
    const char* language;
};

/// Whole messages that stand for media left out of the export (compared in lower case).
constexpr Phrase OMITTED[] = {
    {"<media omitted>", "en"},      {"image omitted", "en"},
    {"audio omitted", "en"},        {"video omitted", "en"},
    {"sticker omitted", "en"},      {"gif omitted", "en"},
    {"document omitted", "en"},     {"contact card omitted", "en"},
    {"<multimedia omitido>", "es"}, {"imagen omitida", "es"},
    {"audio omitido", "es"},        {"video omitido", "es"},
    {"sticker omitido", "es"},      {"gif omitido", "es"},
    {"documento omitido", "es"},    {"tarjeta de contacto omitida", "es"},
    {"<mídia oculta>", "pt"},       {"<mídia omitida>", "pt"},
    {"imagem ocultada", "pt"},      {"áudio ocultado", "pt"},
    {"vídeo ocultado", "pt"},       {"figurinha omitida", "pt"},
    {"imagem omitida", "pt"},       {"áudio omitido", "pt"},
    {"vídeo omitido", "pt"},        {"<médias omis>", "fr"},
    {"<fichier omis>", "fr"},       {"image omise", "fr"},
    {"audio omis", "fr"},           {"vidéo omise", "fr"},
    {"autocollant omis", "fr"},
};

/// Labels of an iOS attachment, "<attached: NAME>".
constexpr Phrase IOS_ATTACHED[] = {
    {"attached", "en"},
    {"adjunto", "es"},
    {"anexado", "pt"},
    {"pièce jointe", "fr"},
};

/// Labels of an Android attachment, "NAME (file attached)".
constexpr Phrase ANDROID_ATTACHED[] = {
    {"(file attached)", "en"},
    {"(archivo adjunto)", "es"},
    {"(arquivo anexado)", "pt"},
    {"(fichier joint)", "fr"},
};

/// Whole messages that say a message was deleted (lower case, final full stop aside).
constexpr Phrase DELETED[] = {
    {"this message was deleted", "en"},      {"you deleted this message", "en"},   {"se eliminó este mensaje", "es"},
    {"eliminaste este mensaje", "es"},       {"este mensaje fue eliminado", "es"}, {"mensagem apagada", "pt"},
    {"essa mensagem foi apagada", "pt"},     {"você apagou esta mensagem", "pt"},  {"ce message a été supprimé", "fr"},
    {"vous avez supprimé ce message", "fr"},
};

/// Marks WhatsApp adds at the end of an edited message.
constexpr Phrase EDITED[] = {
    {"<this message was edited>", "en"},
    {"<se editó este mensaje.>", "es"},
    {"<mensagem editada>", "pt"},
    {"<ce message a été modifié>", "fr"},
};

/// Parts of lines WhatsApp writes about the chat itself (group events, the
/// encryption notice), compared in lower case.
constexpr Phrase SYSTEM[] = {
    {"messages and calls are end-to-end encrypted", "en"},
    {"messages to this group are now secured", "en"},
    {"created group", "en"},
    {"created this group", "en"},
    {" added ", "en"},
    {" left", "en"},
    {" removed ", "en"},
    {"joined using this group's invite link", "en"},
    {"changed the subject", "en"},
    {"changed this group's icon", "en"},
    {"changed the group description", "en"},
    {"your security code with", "en"},
    {"changed their phone number", "en"},
    {"los mensajes y las llamadas están cifrados de extremo a extremo", "es"},
    {"creó el grupo", "es"},
    {" agregó ", "es"},
    {" añadió ", "es"},
    {" salió", "es"},
    {" eliminó a ", "es"},
    {"se unió usando el enlace de invitación", "es"},
    {"cambió el asunto", "es"},
    {"cambió el ícono", "es"},
    {"cambió la descripción", "es"},
    {"tu código de seguridad con", "es"},
    {"as mensagens e ligações são protegidas", "pt"},
    {"as mensagens e as chamadas são protegidas", "pt"},
    {"criou o grupo", "pt"},
    {" adicionou ", "pt"},
    {" saiu", "pt"},
    {" removeu ", "pt"},
    {"entrou usando o link", "pt"},
    {"mudou o assunto", "pt"},
    {"les messages et les appels sont protégés", "fr"},
    {"a créé le groupe", "fr"},
    {" a ajouté ", "fr"},
    {" est parti", "fr"},
    {" a quitté", "fr"},
    {" a retiré ", "fr"},
    {"a rejoint ce groupe", "fr"},
    {"a modifié le sujet", "fr"},
};

/// Whether `body` (lower case, plain) says something WhatsApp wrote about the chat.
const Phrase* SystemPhrase(const std::string& lower) {
    // Group events are short; a long message that happens to hold " left" is someone's words.
    if (lower.size() > 400) return nullptr;
    for (const auto& p : SYSTEM)
        if (lower.find(p.text) != std::string::npos) return &p;
    return nullptr;
}

// [SECTION] Message headers

/// What the start of a line says, when it starts a message.
struct Header {
    int fields[3] = {0, 0, 0};
    int first_digits = 0;
    int hour = 0;
    int minute = 0;
    int second = -1;           ///< -1: the export gives no seconds
    int ampm = 0;              ///< 0 none, 1 a.m., 2 p.m.
    bool spanish_ampm = false; ///< "a. m." / "p. m."
    bool ios = false;
    size_t rest = 0; ///< where "Author: text" begins
};

class Scanner {
public:
    explicit Scanner(std::string_view s) : m_s(s) {}
    size_t pos = 0;

    void SkipInvisible() {
        while (const size_t n = InvisibleAt(m_s, pos)) pos += n;
    }
    bool Spaces() {
        const size_t start = pos;
        while (const size_t n = SpaceAt(m_s, pos)) pos += n;
        return pos > start;
    }
    bool Char(char c) {
        if (pos < m_s.size() && m_s[pos] == c) {
            ++pos;
            return true;
        }
        return false;
    }
    bool OneOf(const char* set, char& which) {
        if (pos < m_s.size() && std::strchr(set, m_s[pos]) && m_s[pos] != '\0') {
            which = m_s[pos++];
            return true;
        }
        return false;
    }
    /// Between `min` and `max` digits; their value and count.
    bool Digits(int min, int max, int& value, int& count) {
        value = 0;
        count = 0;
        while (pos < m_s.size() && IsDigit(m_s[pos]) && count < max) {
            value = value * 10 + (m_s[pos++] - '0');
            ++count;
        }
        if (pos < m_s.size() && IsDigit(m_s[pos])) return false; // too many
        return count >= min;
    }
    bool Digits(int min, int max, int& value) {
        int count;
        return Digits(min, max, value, count);
    }
    /// "AM", "pm", "a.m.", "p. m." (with any space inside).
    int AmPm(bool& spanish) {
        const size_t start = pos;
        char letter;
        if (!OneOf("aApP", letter)) return 0;
        const bool dot1 = Char('.');
        const bool inner_space = Spaces();
        char m;
        if (!OneOf("mM", m)) {
            pos = start;
            return 0;
        }
        Char('.');
        // A word such as "am" glued to more letters is not a clock.
        if (pos < m_s.size() && IsAsciiAlnum(m_s[pos])) {
            pos = start;
            return 0;
        }
        spanish = dot1 && inner_space;
        return letter == 'a' || letter == 'A' ? 1 : 2;
    }
    bool Dash() {
        if (Char('-')) return true;
        if (pos + 3 <= m_s.size() && m_s.substr(pos, 3) == "\xE2\x80\x93") { // en dash
            pos += 3;
            return true;
        }
        return false;
    }

private:
    std::string_view m_s;
};

/// Reads the header a message line starts with. `prefix_only` is set when a
/// date and a time start the line but what follows is not a header's end.
std::optional<Header> ReadHeader(std::string_view line, bool& prefix_only) {
    prefix_only = false;
    Scanner sc(line);
    Header h;
    sc.SkipInvisible();
    h.ios = sc.Char('[');
    sc.SkipInvisible();
    int count = 0;
    if (!sc.Digits(1, 4, h.fields[0], count)) return std::nullopt;
    h.first_digits = count;
    char sep;
    if (!sc.OneOf("/.-", sep)) return std::nullopt;
    sc.Spaces();
    int c2 = 0;
    if (!sc.Digits(1, 2, h.fields[1], c2)) return std::nullopt;
    if (!sc.Char(sep)) return std::nullopt;
    sc.Spaces();
    int c3 = 0;
    if (!sc.Digits(1, 4, h.fields[2], c3)) return std::nullopt;
    if (h.first_digits == 4) {
        if (c3 > 2) return std::nullopt;
    } else if (h.first_digits > 2 || (c3 != 2 && c3 != 4)) {
        return std::nullopt;
    }
    const bool comma = sc.Char(',');
    if (!sc.Spaces() && !comma) return std::nullopt;
    if (!sc.Digits(1, 2, h.hour)) return std::nullopt;
    char tsep;
    if (!sc.OneOf(":.", tsep)) return std::nullopt;
    int mcount = 0;
    if (!sc.Digits(2, 2, h.minute, mcount)) return std::nullopt;
    {
        const size_t before = sc.pos;
        char s2;
        int sec = 0;
        if (sc.OneOf(":.", s2) && sc.Digits(2, 2, sec)) h.second = sec;
        else sc.pos = before;
    }
    {
        const size_t before = sc.pos;
        sc.Spaces();
        h.ampm = sc.AmPm(h.spanish_ampm);
        if (!h.ampm) sc.pos = before;
    }
    // From here on the line has started like a header.
    prefix_only = true;
    sc.SkipInvisible();
    if (h.ios) {
        if (!sc.Char(']')) return std::nullopt;
        if (!sc.Spaces()) return std::nullopt;
    } else {
        sc.Spaces();
        if (!sc.Dash()) return std::nullopt;
        if (!sc.Spaces()) return std::nullopt;
    }
    prefix_only = false;
    h.rest = sc.pos;
    return h;
}

// [SECTION] Reading a chat

/// A header line and the lines that follow it, before dates are known.
struct Pending {
    Header header;
    int64_t line = 0;
    std::string author; ///< empty for a system line
    std::string text;
    bool system = false;
};

/// The author as a name to keep: invisible marks gone, "~ " of an unsaved
/// contact gone, unusual spaces and hyphens made plain.
std::string CleanAuthor(std::string_view raw) {
    std::string s = Trim(raw);
    if (StartsWith(s, "~")) s = Trim(std::string_view(s).substr(1));
    std::string out;
    for (size_t i = 0; i < s.size();) {
        if (const size_t n = InvisibleAt(s, i)) {
            i += n;
        } else if (const size_t m = SpaceAt(s, i)) {
            out.push_back(' ');
            i += m;
        } else if (s.compare(i, 3, "\xE2\x80\x91") == 0) {
            out.push_back('-');
            i += 3;
        } else {
            out.push_back(s[i++]);
        }
    }
    return out;
}

/// Removes invisible marks at the start of each line of a message.
std::string StripLineMarks(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    bool line_start = true;
    for (size_t i = 0; i < s.size();) {
        if (line_start) {
            if (const size_t n = InvisibleAt(s, i)) {
                i += n;
                continue;
            }
        }
        line_start = s[i] == '\n';
        out.push_back(s[i++]);
    }
    return out;
}

struct LanguageVotes {
    std::map<std::string, int> votes;
    void Add(const char* language) { ++votes[language]; }
    std::string Winner() const {
        std::string best;
        int n = 0;
        for (const auto& [language, count] : votes)
            if (count > n) {
                best = language;
                n = count;
            }
        return best;
    }
};

/// Turns a message's body into text, attachments and the media flag, or
/// says it stands for a deleted message.
bool ClassifyBody(SocialMessage& m, LanguageVotes& votes) {
    std::string text = StripLineMarks(m.text);
    // The mark of an edited message, at its end.
    {
        const std::string lower = LowerAscii(text);
        for (const auto& p : EDITED) {
            if (EndsWith(lower, p.text)) {
                text = Trim(std::string_view(text).substr(0, text.size() - std::strlen(p.text)));
                votes.Add(p.language);
                break;
            }
        }
    }
    const std::string whole = LowerAscii(Plain(Trim(text)));
    for (const auto& p : DELETED) {
        if (whole == p.text || whole == std::string(p.text) + ".") {
            votes.Add(p.language);
            return false;
        }
    }
    for (const auto& p : OMITTED) {
        if (whole == p.text) {
            votes.Add(p.language);
            m.media_omitted = true;
            m.text.clear();
            return true;
        }
    }
    const size_t eol = text.find('\n');
    const std::string first = Plain(text.substr(0, eol));
    const std::string rest = eol == std::string::npos ? std::string() : Trim(std::string_view(text).substr(eol + 1));
    const auto base_name = [](std::string name) {
        // A name only: whatever a path in it says is dropped.
        const size_t slash = name.find_last_of("/\\");
        if (slash != std::string::npos) name = name.substr(slash + 1);
        return Trim(name);
    };
    // iOS: "<attached: 00000012-PHOTO-2024-03-12-14-05-33.jpg>", then perhaps a caption.
    if (StartsWith(first, "<") && EndsWith(Trim(first), ">")) {
        const std::string inner = Trim(first).substr(1, Trim(first).size() - 2);
        const size_t colon = inner.find(':');
        if (colon != std::string::npos) {
            const std::string label = LowerAscii(Trim(std::string_view(inner).substr(0, colon)));
            for (const auto& p : IOS_ATTACHED) {
                if (label == p.text) {
                    const std::string name = base_name(inner.substr(colon + 1));
                    if (name.empty()) break;
                    votes.Add(p.language);
                    m.attachments.push_back(name);
                    m.text = rest;
                    return true;
                }
            }
        }
    }
    // Android: "PTT-20240314-WA0003.opus (archivo adjunto)", then perhaps a caption.
    {
        const std::string lower = LowerAscii(Trim(first));
        for (const auto& p : ANDROID_ATTACHED) {
            if (EndsWith(lower, p.text) && lower.size() > std::strlen(p.text) + 1) {
                const std::string trimmed = Trim(first);
                const std::string name = base_name(trimmed.substr(0, trimmed.size() - std::strlen(p.text)));
                if (name.empty()) break;
                votes.Add(p.language);
                m.attachments.push_back(name);
                m.text = rest;
                return true;
            }
        }
    }
    m.text = Trim(text);
    return true;
}

int DaysIn(int year, int month) {
    static constexpr int DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return DAYS[month - 1] + (month == 2 && leap ? 1 : 0);
}

std::string Two(int v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d", v);
    return buf;
}

[[noreturn]] void ThrowBadDate(const std::string& file, int64_t line) {
    throw RecordError("file", file + ": line " + std::to_string(line) + " has a date or time that cannot be",
                      errc::SOCIAL_BAD_DATE, {{"file", file}, {"line", line}});
}

/// Decides the order of the date's fields from every header of the file.
void DecideDateOrder(const std::vector<Pending>& pending, SocialExport& out) {
    if (!pending.empty() && pending.front().header.first_digits == 4) {
        out.date_order = DateOrder::YearMonthDay;
        out.date_order_basis = DateOrderBasis::YearFirst;
        return;
    }
    const Pending* first_over = nullptr;
    const Pending* second_over = nullptr;
    int64_t first_changes = 0;
    int64_t second_changes = 0;
    for (size_t i = 0; i < pending.size(); ++i) {
        const auto& h = pending[i].header;
        if (h.fields[0] > 12 && !first_over) first_over = &pending[i];
        if (h.fields[1] > 12 && !second_over) second_over = &pending[i];
        if (i > 0) {
            const auto& before = pending[i - 1].header;
            first_changes += before.fields[0] != h.fields[0];
            second_changes += before.fields[1] != h.fields[1];
        }
    }
    if (first_over && second_over) {
        // Both orders are contradicted somewhere: the later line is the odd one.
        ThrowBadDate(out.file, std::max(first_over->line, second_over->line));
    }
    if (first_over || second_over) {
        out.date_order = first_over ? DateOrder::DayMonthYear : DateOrder::MonthDayYear;
        out.date_order_basis = DateOrderBasis::FieldAbove12;
        out.date_order_line = (first_over ? first_over : second_over)->line;
        return;
    }
    if (first_changes != second_changes) {
        // Messages come in time order, so the day changes more often than the month.
        out.date_order = first_changes > second_changes ? DateOrder::DayMonthYear : DateOrder::MonthDayYear;
        out.date_order_basis = DateOrderBasis::ChangeFrequency;
        return;
    }
    // Nothing tells. Spanish, Portuguese and French phones write the day
    // first; an English phone with a 12-hour clock is most likely set to the US.
    out.date_order_basis = DateOrderBasis::Assumed;
    out.date_order = out.language == "en" && out.twelve_hour ? DateOrder::MonthDayYear : DateOrder::DayMonthYear;
}

std::string Timestamp(const Header& h, DateOrder order, const std::string& file, int64_t line) {
    int year, month, day;
    switch (order) {
    case DateOrder::YearMonthDay:
        year = h.fields[0];
        month = h.fields[1];
        day = h.fields[2];
        break;
    case DateOrder::MonthDayYear:
        month = h.fields[0];
        day = h.fields[1];
        year = h.fields[2];
        break;
    default:
        day = h.fields[0];
        month = h.fields[1];
        year = h.fields[2];
        break;
    }
    if (year < 100) year += 2000;
    if (year < 2000 || year > 2200 || month < 1 || month > 12 || day < 1 || day > DaysIn(year, month))
        ThrowBadDate(file, line);
    int hour = h.hour;
    if (h.ampm) {
        if (hour < 1 || hour > 12) ThrowBadDate(file, line);
        if (hour == 12) hour = 0;
        if (h.ampm == 2) hour += 12;
    }
    if (hour > 23 || h.minute > 59 || h.second > 59) ThrowBadDate(file, line);
    std::string out = std::to_string(year) + "-" + Two(month) + "-" + Two(day) + "T" + Two(hour) + ":" + Two(h.minute);
    if (h.second >= 0) out += ":" + Two(h.second);
    return out;
}

/// The language a file name's WhatsApp words are in.
const char* FileNameLanguage(const std::string& file_name) {
    const std::string lower = LowerAscii(file_name);
    if (lower.find("chat de whatsapp") != std::string::npos) return "es";
    if (lower.find("conversa do whatsapp") != std::string::npos) return "pt";
    if (lower.find("discussion whatsapp") != std::string::npos) return "fr";
    if (lower.find("whatsapp chat") != std::string::npos) return "en";
    return nullptr;
}

/// Whether a line of `text` from `pos` on (within the first mebibyte) starts a message.
bool HasHeaderAfter(std::string_view text, size_t pos) {
    const size_t stop = std::min(text.size(), pos + (size_t{1} << 20));
    while (pos < stop) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        bool prefix_only = false;
        if (ReadHeader(text.substr(pos, std::min(end - pos, size_t{512})), prefix_only)) return true;
        pos = end + 1;
    }
    return false;
}

} // namespace

SocialExport ParseWhatsAppText(std::string_view text, const std::string& file_name, const SocialLimits& limits) {
    if (static_cast<int64_t>(text.size()) > limits.max_chat_bytes) ThrowTooLarge(file_name, limits.max_chat_bytes);
    SocialExport out;
    out.file = file_name;
    LanguageVotes votes;
    if (const char* language = FileNameLanguage(file_name)) votes.Add(language);

    std::vector<Pending> pending;
    int64_t line_number = 0;
    int64_t first_content_line = 0;
    size_t pos = 0;
    if (StartsWith(text, "\xEF\xBB\xBF")) pos = 3;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (static_cast<int64_t>(line.size()) > limits.max_line_bytes) ThrowTooLarge(file_name, limits.max_line_bytes);
        if (!storage::IsValidUtf8(line) || line.find('\0') != std::string_view::npos)
            throw RecordError("file", file_name + ": line " + std::to_string(line_number) + " is not UTF-8 text",
                              errc::SOCIAL_NOT_UTF8, {{"file", file_name}, {"line", line_number}});
        if (first_content_line == 0) {
            if (Trim(line).empty()) continue;
            first_content_line = line_number;
        }
        bool prefix_only = false;
        const auto header = ReadHeader(line, prefix_only);
        if (!header) {
            // A message must start the chat; after that, a line that is not a
            // header continues the message before it. An iOS line that opens
            // like a header and then breaks off is a damaged header, not words.
            if (pending.empty() && !prefix_only && !HasHeaderAfter(text, pos))
                throw RecordError("file", file_name + " is not a chat export this program knows",
                                  errc::SOCIAL_UNKNOWN_FORMAT, {{"file", file_name}});
            if (pending.empty() || (prefix_only && pending.back().header.ios && StartsWith(Trim(line), "[")))
                throw RecordError("file",
                                  file_name + ": line " + std::to_string(line_number) + " does not start a message",
                                  errc::SOCIAL_BAD_LINE, {{"file", file_name}, {"line", line_number}});
            auto& last = pending.back();
            if (static_cast<int64_t>(last.text.size() + line.size()) + 1 > limits.max_message_bytes)
                ThrowTooLarge(file_name, limits.max_message_bytes);
            last.text += '\n';
            last.text += line;
            continue;
        }
        if (static_cast<int64_t>(pending.size()) >= limits.max_messages) ThrowTooLarge(file_name, limits.max_messages);
        Pending p;
        p.header = *header;
        p.line = line_number;
        const std::string_view rest = line.substr(header->rest);
        const std::string plain_rest = LowerAscii(Plain(rest));
        const size_t colon = rest.find(": ");
        // iOS writes the group's events with the group's name as author and a
        // direction mark before the words; Android writes them with no author.
        if (colon == std::string_view::npos) {
            p.system = true;
        } else {
            p.author = CleanAuthor(rest.substr(0, colon));
            p.text = std::string(rest.substr(colon + 2));
            const std::string body = LowerAscii(Plain(p.text));
            const bool marked = InvisibleAt(p.text, 0) != 0;
            const Phrase* in_author = SystemPhrase(LowerAscii(Plain(p.author)));
            if (!header->ios && SystemPhrase(plain_rest) &&
                (p.author.size() > 80 || (in_author && std::strlen(in_author->text) >= 8)))
                p.system = true; // "Tomás cambió el asunto a “Reunión: lunes”"
            else if (header->ios && marked && SystemPhrase(body) && !StartsWith(Trim(body), "<")) p.system = true;
            else if (SystemPhrase(body) && body.find("end-to-end") != std::string::npos) p.system = true;
            else if (SystemPhrase(body) &&
                     (body.find("cifrados de extremo") != std::string::npos ||
                      body.find("protegidas") != std::string::npos || body.find("protégés") != std::string::npos))
                p.system = true;
            if (p.author.empty()) p.system = true;
        }
        if (p.system) {
            if (const Phrase* phrase = SystemPhrase(plain_rest)) votes.Add(phrase->language);
        }
        pending.push_back(std::move(p));
    }
    if (pending.empty())
        throw RecordError("file", file_name + " is not a chat export this program knows", errc::SOCIAL_UNKNOWN_FORMAT,
                          {{"file", file_name}});

    int64_t ios = 0;
    for (const auto& p : pending) {
        ios += p.header.ios;
        if (p.header.ampm) out.twelve_hour = true;
        if (p.header.spanish_ampm) votes.Add("es");
    }
    out.layout = ios * 2 >= static_cast<int64_t>(pending.size()) ? "ios" : "android";

    // Bodies first: their words tell the language, which the date order may need.
    std::vector<SocialMessage> messages;
    std::vector<bool> keep;
    for (auto& p : pending) {
        if (p.system) {
            ++out.system_lines;
            continue;
        }
        SocialMessage m;
        m.line = p.line;
        m.author = p.author;
        m.text = std::move(p.text);
        if (!ClassifyBody(m, votes)) {
            ++out.deleted_messages;
            continue;
        }
        messages.push_back(std::move(m));
    }
    out.language = votes.Winner();
    DecideDateOrder(pending, out);
    size_t next = 0;
    for (const auto& p : pending) {
        const auto stamp = Timestamp(p.header, out.date_order, file_name, p.line);
        if (next < messages.size() && messages[next].line == p.line) messages[next++].posted_at = stamp;
    }
    out.messages = std::move(messages);
    std::set<std::string> authors;
    for (const auto& m : out.messages) {
        authors.insert(m.author);
        if (static_cast<int64_t>(authors.size()) > limits.max_authors) ThrowTooLarge(file_name, limits.max_authors);
    }
    out.thread = ThreadFromFileName(file_name);
    return out;
}

} // namespace social

// [SECTION] Names

std::string ThreadFromFileName(const std::string& file_name) {
    std::string name = file_name;
    if (const size_t slash = name.find_last_of("/\\"); slash != std::string::npos) name = name.substr(slash + 1);
    for (const char* ext : {".txt", ".zip"}) {
        if (social::LowerAscii(name).size() >= 4 && social::LowerAscii(name).substr(name.size() - 4) == ext) {
            name.resize(name.size() - 4);
            break;
        }
    }
    // A second download of the same file: "... (1)".
    if (name.size() > 4 && name.back() == ')') {
        const size_t open = name.rfind(" (");
        if (open != std::string::npos &&
            std::all_of(name.begin() + static_cast<long>(open) + 2, name.end() - 1,
                        [](char c) { return c >= '0' && c <= '9'; }) &&
            open + 3 < name.size())
            name.resize(open);
    }
    static constexpr const char* PREFIXES[] = {
        "whatsapp chat with ",       "whatsapp chat - ",          "whatsapp chat \xE2\x80\x93 ",
        "chat de whatsapp con ",     "chat de whatsapp com ",     "conversa do whatsapp com ",
        "conversa no whatsapp com ", "discussion whatsapp avec ", "discussion whatsapp - ",
        "chat whatsapp avec ",
    };
    const std::string lower = social::LowerAscii(name);
    for (const char* prefix : PREFIXES) {
        if (lower.rfind(prefix, 0) == 0) {
            name = name.substr(std::strlen(prefix));
            break;
        }
    }
    name = social::Trim(name);
    if (name == "_chat" || name.empty()) return "";
    return name;
}

SocialExport ParseSocialExport(std::string_view bytes, const std::string& file_name, const SocialLimits& limits) {
    if (static_cast<int64_t>(bytes.size()) > limits.max_file_bytes)
        social::ThrowTooLarge(file_name, limits.max_file_bytes);
    if (bytes.substr(0, 2) == "PK") return social::ParseSocialZip(bytes, file_name, limits);
    if (social::LooksLikeJson(bytes)) return social::ParseSocialJson(bytes, file_name, limits);
    auto out = social::ParseWhatsAppText(bytes, file_name, limits);
    if (out.thread.empty()) out.thread = "WhatsApp";
    return out;
}

std::vector<std::pair<std::string, int64_t>> SocialAuthors(const SocialExport& parsed) {
    std::vector<std::pair<std::string, int64_t>> out;
    std::map<std::string, size_t> index;
    for (const auto& m : parsed.messages) {
        const auto [it, fresh] = index.emplace(m.author, out.size());
        if (fresh) out.emplace_back(m.author, 0);
        ++out[it->second].second;
    }
    return out;
}

// [SECTION] Masking

namespace {

using social::InvisibleAt;
using social::SpaceAt;

struct Placeholders {
    const char* number;
    const char* handle;
    const char* email;
};

Placeholders PlaceholdersFor(const std::string& language) {
    if (language == "pt") return {"[número]", "[usuário]", "[e-mail]"};
    if (language == "fr") return {"[numéro]", "[utilisateur]", "[courriel]"};
    if (language == "en") return {"[number]", "[user]", "[email]"};
    return {"[número]", "[usuario]", "[correo]"};
}

bool IsDigitC(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnumC(unsigned char c) {
    return IsDigitC(static_cast<char>(c)) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsWordByte(char c) {
    return IsDigitC(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (static_cast<unsigned char>(c) & 0x80);
}
bool IsEmailLocal(char c) {
    return IsDigitC(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || std::strchr("._%+-", c);
}
bool IsDomain(char c) {
    return IsDigitC(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.';
}

/// An e-mail address starting at `i`: its length, or 0.
size_t EmailAt(std::string_view s, size_t i) {
    if (i > 0 && IsEmailLocal(s[i - 1])) return 0;
    size_t j = i;
    while (j < s.size() && s[j] != '@' && IsEmailLocal(s[j])) ++j;
    if (j == i || j >= s.size() || s[j] != '@') return 0;
    size_t k = j + 1;
    const size_t domain = k;
    while (k < s.size() && IsDomain(s[k])) ++k;
    while (k > domain && (s[k - 1] == '.' || s[k - 1] == '-')) --k;
    const std::string_view d = s.substr(domain, k - domain);
    const size_t dot = d.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || d.size() - dot - 1 < 2) return 0;
    for (size_t t = dot + 1; t < d.size(); ++t)
        if (!((d[t] >= 'a' && d[t] <= 'z') || (d[t] >= 'A' && d[t] <= 'Z'))) return 0;
    return k - i;
}

/// An @handle or mention starting at `i` (on '@'): its length, or 0.
size_t HandleAt(std::string_view s, size_t i) {
    if (s[i] != '@' || (i > 0 && IsWordByte(s[i - 1]))) return 0;
    size_t j = i + 1;
    // Newer exports wrap a mention's name in isolates: "@⁨Rosa M.⁩".
    if (s.compare(j, 3, "\xE2\x81\xA8") == 0) {
        const size_t close = s.find("\xE2\x81\xA9", j + 3);
        if (close != std::string_view::npos && close - j < 200) return close + 3 - i;
    }
    while (j < s.size()) {
        if (SpaceAt(s, j) || InvisibleAt(s, j)) break;
        if (static_cast<unsigned char>(s[j]) >= 0x80) {
            // Letters beyond ASCII belong to the handle; punctuation there is rare enough.
            if (s.compare(j, 3, "\xE2\x80\x9D") == 0 || s.compare(j, 3, "\xE2\x80\x99") == 0 ||
                s.compare(j, 2, "\xC2\xBB") == 0 || s.compare(j, 2, "\xC2\xBF") == 0 ||
                s.compare(j, 2, "\xC2\xA1") == 0)
                break;
            ++j;
            continue;
        }
        if (IsWordByte(s[j]) || s[j] == '.') {
            ++j;
            continue;
        }
        break;
    }
    while (j > i + 1 && s[j - 1] == '.') --j;
    return j > i + 1 ? j - i : 0;
}

/// A phone number starting at `i`: its length, or 0.
size_t PhoneAt(std::string_view s, size_t i) {
    if (i > 0 && (IsWordByte(s[i - 1]) || s[i - 1] == '$' || s[i - 1] == '/' || s[i - 1] == ':' || s[i - 1] == '.' ||
                  s[i - 1] == ','))
        return 0;
    size_t j = i;
    const bool plus = j < s.size() && s[j] == '+';
    if (plus) ++j;
    const bool paren = j < s.size() && s[j] == '(';
    if (paren) ++j;
    if (j >= s.size() || !IsDigitC(s[j])) return 0;
    int digits = 0;
    std::vector<int> groups;
    std::string separators;
    size_t end = j;
    int group = 0;
    while (j < s.size()) {
        if (IsDigitC(s[j])) {
            ++digits;
            ++group;
            ++j;
            end = j;
            continue;
        }
        // Separators (at most three, as in " (601) ") count only when a digit follows them.
        size_t k = j;
        char kind = 0;
        for (int n = 0; n < 3 && k < s.size(); ++n) {
            char c = 0;
            size_t len = 0;
            if (s[k] == ' ' || s[k] == '-' || s[k] == '.' || s[k] == '(' || s[k] == ')') {
                c = s[k];
                len = 1;
            } else if (const size_t sp = SpaceAt(s, k)) {
                c = ' ';
                len = sp;
            } else if (s.compare(k, 3, "\xE2\x80\x91") == 0 || s.compare(k, 3, "\xE2\x80\x90") == 0) {
                c = '-';
                len = 3;
            } else {
                break;
            }
            if (kind == 0 || kind == ' ' || kind == '(' || kind == ')') kind = c;
            k += len;
        }
        if (k == j || k >= s.size() || !IsDigitC(s[k])) break;
        groups.push_back(group);
        group = 0;
        separators.push_back(kind);
        j = k;
    }
    groups.push_back(group);
    if (end < s.size() && IsWordByte(s[end])) return 0;
    if (digits < (plus ? 6 : 7) || digits > 15) return 0;
    if (!plus) {
        const bool only = [&](const char* allowed) {
            return std::all_of(separators.begin(), separators.end(), [&](char c) { return std::strchr(allowed, c); });
        }(".,");
        // 1.500.000 is an amount; 2024-03-12 and 12.03.2024 are dates.
        if (only && !separators.empty() && groups.front() <= 3 &&
            std::all_of(groups.begin() + 1, groups.end(), [](int g) { return g == 3; }))
            return 0;
        if (groups.size() == 3 &&
            std::all_of(separators.begin(), separators.end(), [](char c) { return c == '-' || c == '.'; }) &&
            ((groups[0] == 4 && groups[1] <= 2 && groups[2] <= 2) ||
             (groups[0] <= 2 && groups[1] <= 2 && groups[2] == 4)))
            return 0;
    }
    return end - i;
}

} // namespace

MaskedText MaskContacts(std::string_view text, const std::string& language) {
    const auto words = PlaceholdersFor(language);
    MaskedText out;
    out.text.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        if (const size_t n = EmailAt(text, i)) {
            out.originals.emplace_back(text.substr(i, n));
            out.text += words.email;
            ++out.emails;
            i += n;
        } else if (const size_t h = HandleAt(text, i)) {
            out.originals.emplace_back(text.substr(i, h));
            out.text += words.handle;
            ++out.handles;
            i += h;
        } else if (const size_t p = (text[i] == '+' || text[i] == '(' || IsDigitC(text[i])) ? PhoneAt(text, i) : 0) {
            out.originals.emplace_back(text.substr(i, p));
            out.text += words.number;
            ++out.numbers;
            i += p;
        } else {
            out.text.push_back(text[i++]);
        }
    }
    return out;
}

namespace {

/// Lower case, the accents of Latin letters dropped, anything not a letter
/// or digit a space: how names are compared.
std::string FoldName(std::string_view s) {
    static constexpr std::array<char, 64> C3 = {
        'a', 'a', 'a', 'a', 'a', 'a', 'a', 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i', // 80-8F
        'd', 'n', 'o', 'o', 'o', 'o', 'o', ' ', 'o', 'u', 'u', 'u', 'u', 'y', ' ', 's', // 90-9F
        'a', 'a', 'a', 'a', 'a', 'a', 'a', 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i', // A0-AF
        'd', 'n', 'o', 'o', 'o', 'o', 'o', ' ', 'o', 'u', 'u', 'u', 'u', 'y', ' ', 'y', // B0-BF
    };
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == 0xC3 && i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80) {
            out.push_back(C3[static_cast<unsigned char>(s[i + 1]) - 0x80]);
            ++i;
        } else if (c >= 0x80) {
            out.push_back(static_cast<char>(c)); // other scripts: kept as they are
        } else if (IsAsciiAlnumC(c)) {
            out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
        } else {
            out.push_back(' ');
        }
    }
    return out;
}

std::vector<std::string> Words(const std::string& folded) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < folded.size()) {
        while (i < folded.size() && folded[i] == ' ') ++i;
        size_t j = i;
        while (j < folded.size() && folded[j] != ' ') ++j;
        if (j > i) out.push_back(folded.substr(i, j - i));
        i = j;
    }
    return out;
}

} // namespace

bool PseudonymRevealsName(const std::string& pseudonym, const std::string& real_name) {
    int digits = 0;
    for (char c : pseudonym) digits += IsDigitC(c);
    if (digits >= 6) return true; // a phone number
    const auto p = Words(FoldName(pseudonym));
    const auto n = Words(FoldName(real_name));
    if (p.empty() || n.empty()) return false;
    if (p == n) return true;
    static const std::set<std::string> PARTICLES = {"del", "los", "las", "dos", "das", "des", "von", "van", "der"};
    for (const auto& word : n) {
        if (word.size() < 3 || PARTICLES.count(word)) continue;
        if (std::find(p.begin(), p.end(), word) != p.end()) return true;
    }
    return false;
}

} // namespace escucha::capture
