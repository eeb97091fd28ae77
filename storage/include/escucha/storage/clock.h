// Identifiers and time for records: UUIDv7 ids and a hybrid logical clock.
//
// Device clocks are wrong by minutes to days; the hybrid logical clock never
// goes backwards on one device and moves past any time it has seen from
// another, so ordering does not depend on wall clocks being right.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace escucha::storage {

/// Milliseconds since the Unix epoch from the system clock.
[[nodiscard]] int64_t SystemMillis();

/// A time-ordered UUID version 7 in its canonical 36-character text form.
[[nodiscard]] std::string NewUuidV7(int64_t unix_millis = SystemMillis());
/// True for the canonical text form of any UUID (8-4-4-4-12 lower-case hex).
[[nodiscard]] bool IsUuid(std::string_view text);

/// ISO 8601 UTC with milliseconds: 2026-11-24T04:06:59.123Z.
[[nodiscard]] std::string FormatIsoMillis(int64_t unix_millis);
/// Parses what FormatIsoMillis writes, and also dates (YYYY-MM-DD) and
/// date-times without milliseconds or with a Z or +hh:mm offset.
[[nodiscard]] std::optional<int64_t> ParseIsoMillis(std::string_view text);

/// One reading of the hybrid logical clock.
struct HlcTimestamp {
    int64_t millis = 0;
    uint32_t counter = 0;

    /// Sortable text: "2026-11-24T04:06:59.123Z/0003".
    [[nodiscard]] std::string ToString() const;
    [[nodiscard]] static std::optional<HlcTimestamp> Parse(std::string_view text);
    auto operator<=>(const HlcTimestamp&) const = default;
};

/// How far ahead of this device's own clock a reading from elsewhere may move
/// the hybrid logical clock: one hour. Without a bound, one device set to
/// 2099 would make every device that pulls its records stamp all later
/// records (ids, created_at, updated_at) with 2099, and the bound is also how
/// long a device's stamps may run ahead of its own clock after following a
/// fast one. A device whose clock is behind by more than an hour then stamps
/// by its own clock: its concurrent edit of a field may lose to one made
/// earlier elsewhere (long texts keep both versions for a person to merge).
inline constexpr int64_t MAX_REMOTE_LEAD_MS = 3600LL * 1000;

/// The clock itself. Not thread-safe: one per vault connection.
class HybridLogicalClock {
public:
    using WallClock = std::function<int64_t()>;
    explicit HybridLogicalClock(WallClock wall = SystemMillis) : m_wall(std::move(wall)) {}

    /// A timestamp later than every one this clock has issued, and than every
    /// one it observed within MAX_REMOTE_LEAD_MS of its wall clock.
    HlcTimestamp Now();
    /// Moves the clock past a timestamp seen from elsewhere, but no further
    /// than MAX_REMOTE_LEAD_MS ahead of this device's wall clock. The record
    /// carrying that timestamp is kept as it came; only the clock is held back.
    void Observe(const HlcTimestamp& remote);
    [[nodiscard]] const HlcTimestamp& Last() const noexcept { return m_last; }
    void Restore(const HlcTimestamp& last) { m_last = std::max(m_last, last); }

private:
    WallClock m_wall;
    HlcTimestamp m_last;
};

} // namespace escucha::storage
