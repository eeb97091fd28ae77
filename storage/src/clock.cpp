#include "escucha/storage/clock.h"

#include "escucha/storage/secret.h"

#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace escucha::storage {

int64_t SystemMillis() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string NewUuidV7(int64_t unix_millis) {
    EnsureSodium();
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    const auto ms = static_cast<uint64_t>(unix_millis < 0 ? 0 : unix_millis);
    for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
    b[6] = static_cast<unsigned char>(0x70 | (b[6] & 0x0f)); // version 7
    b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3f)); // RFC 4122 variant
    char out[37];
    std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                  b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return out;
}

bool IsUuid(std::string_view text) {
    if (text.size() != 36) return false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

std::string FormatIsoMillis(int64_t unix_millis) {
    const int64_t seconds = unix_millis >= 0 ? unix_millis / 1000 : (unix_millis - 999) / 1000;
    const int64_t millis = unix_millis - seconds * 1000;
    const std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[64];
    std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
    return out;
}

namespace {

bool Digits(std::string_view text, size_t pos, size_t count, int& value) {
    if (pos + count > text.size()) return false;
    value = 0;
    for (size_t i = pos; i < pos + count; ++i) {
        if (text[i] < '0' || text[i] > '9') return false;
        value = value * 10 + (text[i] - '0');
    }
    return true;
}

int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
    // Howard Hinnant's days_from_civil.
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
}

} // namespace

std::optional<int64_t> ParseIsoMillis(std::string_view text) {
    int year, month, day, hour = 0, minute = 0, second = 0, millis = 0;
    if (!Digits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' || !Digits(text, 5, 2, month) ||
        text[7] != '-' || !Digits(text, 8, 2, day))
        return std::nullopt;
    if (month < 1 || month > 12 || day < 1) return std::nullopt;
    static constexpr int DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > DAYS[month - 1] + (month == 2 && leap ? 1 : 0)) return std::nullopt;
    size_t pos = 10;
    int64_t offset_minutes = 0;
    if (pos < text.size()) {
        if (text[pos] != 'T' && text[pos] != ' ') return std::nullopt;
        if (!Digits(text, pos + 1, 2, hour) || text.size() < pos + 6 || text[pos + 3] != ':' ||
            !Digits(text, pos + 4, 2, minute))
            return std::nullopt;
        pos += 6;
        if (pos < text.size() && text[pos] == ':') {
            if (!Digits(text, pos + 1, 2, second)) return std::nullopt;
            pos += 3;
            if (pos < text.size() && text[pos] == '.') {
                ++pos;
                int scale = 100;
                while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
                    millis += (text[pos] - '0') * scale;
                    scale /= 10;
                    ++pos;
                }
            }
        }
        if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
        if (pos < text.size()) {
            if (text[pos] == 'Z' && pos + 1 == text.size()) {
                pos += 1;
            } else if ((text[pos] == '+' || text[pos] == '-') && text.size() == pos + 6 && text[pos + 3] == ':') {
                int oh, om;
                if (!Digits(text, pos + 1, 2, oh) || !Digits(text, pos + 4, 2, om)) return std::nullopt;
                offset_minutes = (oh * 60 + om) * (text[pos] == '+' ? 1 : -1);
                pos = text.size();
            } else {
                return std::nullopt;
            }
        }
    }
    const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    return secs * 1000 + millis;
}

std::string HlcTimestamp::ToString() const {
    char counter_text[8];
    std::snprintf(counter_text, sizeof counter_text, "/%04x", counter & 0xffff);
    return FormatIsoMillis(millis) + counter_text;
}

std::optional<HlcTimestamp> HlcTimestamp::Parse(std::string_view text) {
    const auto slash = text.rfind('/');
    if (slash == std::string_view::npos || text.size() - slash != 5) return std::nullopt;
    const auto millis = ParseIsoMillis(text.substr(0, slash));
    if (!millis) return std::nullopt;
    uint32_t counter = 0;
    for (char c : text.substr(slash + 1)) {
        int v;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else return std::nullopt;
        counter = counter * 16 + static_cast<uint32_t>(v);
    }
    return HlcTimestamp{*millis, counter};
}

HlcTimestamp HybridLogicalClock::Now() {
    const int64_t wall = m_wall();
    if (wall > m_last.millis) {
        m_last = {wall, 0};
    } else if (m_last.counter >= 0xffff) {
        // The text form keeps four hex digits; borrow a millisecond instead.
        m_last = {m_last.millis + 1, 0};
    } else {
        ++m_last.counter;
    }
    return m_last;
}

void HybridLogicalClock::Observe(const HlcTimestamp& remote) {
    const int64_t limit = m_wall() + MAX_REMOTE_LEAD_MS;
    const HlcTimestamp bounded = remote.millis > limit ? HlcTimestamp{limit, 0} : remote;
    if (bounded > m_last) m_last = bounded;
}

} // namespace escucha::storage
