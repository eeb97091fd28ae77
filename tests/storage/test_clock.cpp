#include "escucha/storage/clock.h"

#include <catch2/catch.hpp>

#include <set>

using namespace escucha::storage;

TEST_CASE("UUIDv7 ids are canonical, versioned and time-ordered", "[storage]") {
    const auto a = NewUuidV7(1'700'000'000'000);
    const auto b = NewUuidV7(1'700'000'000'001);
    CHECK(IsUuid(a));
    CHECK(a[14] == '7');
    CHECK((a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b'));
    CHECK(a < b);
    std::set<std::string> many;
    for (int i = 0; i < 1000; ++i) many.insert(NewUuidV7());
    CHECK(many.size() == 1000);
    CHECK_FALSE(IsUuid("not-a-uuid"));
    CHECK_FALSE(IsUuid("01A20BC5-BDF8-70A5-9C34-9E14B2FFEA1F"));
}

TEST_CASE("ISO dates parse and format", "[storage]") {
    CHECK(FormatIsoMillis(0) == "1970-01-01T00:00:00.000Z");
    CHECK(FormatIsoMillis(1'732'420'019'123) == "2024-11-24T03:46:59.123Z");
    CHECK(ParseIsoMillis("2024-11-24T03:46:59.123Z") == 1'732'420'019'123);
    CHECK(ParseIsoMillis("2024-11-24") == 1'732'406'400'000);
    CHECK(ParseIsoMillis("2024-11-24T05:46:59+02:00") == 1'732'420'019'000);
    CHECK(ParseIsoMillis("2024-11-24 03:46") == 1'732'419'960'000);
    CHECK_FALSE(ParseIsoMillis("24/11/2024"));
    CHECK_FALSE(ParseIsoMillis("2024-13-01"));
    CHECK_FALSE(ParseIsoMillis("2025-02-30"));
    CHECK_FALSE(ParseIsoMillis("2025-02-29"));
    CHECK(ParseIsoMillis("2024-02-29"));
    CHECK_FALSE(ParseIsoMillis("2025-04-31"));
    CHECK_FALSE(ParseIsoMillis("2024-11-24T25:00"));
    CHECK_FALSE(ParseIsoMillis("2024-11-24Tfoo"));
}

TEST_CASE("The hybrid logical clock never goes backwards", "[storage]") {
    int64_t wall = 1'000'000;
    HybridLogicalClock clock([&] { return wall; });
    const auto t1 = clock.Now();
    SECTION("wall clock stands still") {
        const auto t2 = clock.Now();
        CHECK(t2 > t1);
        CHECK(t2.millis == t1.millis);
        CHECK(t2.counter == t1.counter + 1);
    }
    SECTION("wall clock set back days") {
        wall -= 3LL * 24 * 3600 * 1000;
        const auto t2 = clock.Now();
        CHECK(t2 > t1);
    }
    SECTION("a later remote time moves the clock past it") {
        const HlcTimestamp remote{wall + 30LL * 60 * 1000, 7};
        clock.Observe(remote);
        CHECK(clock.Now() > remote);
    }
    SECTION("a remote time far ahead moves the clock no further than the bound") {
        const HlcTimestamp remote{*ParseIsoMillis("2099-12-31T23:59:59.000Z"), 0};
        clock.Observe(remote);
        const auto t2 = clock.Now();
        CHECK(t2 > t1);
        CHECK(t2.millis <= wall + MAX_REMOTE_LEAD_MS);
        CHECK(t2.millis >= wall + MAX_REMOTE_LEAD_MS - 1);
        // Once the wall clock is past the bound, stamps follow it again.
        wall += 2 * MAX_REMOTE_LEAD_MS;
        CHECK(clock.Now().millis == wall);
    }
    SECTION("text form sorts like the timestamps and parses back") {
        const auto t2 = clock.Now();
        CHECK(t1.ToString() < t2.ToString());
        CHECK(HlcTimestamp::Parse(t2.ToString()) == t2);
        CHECK_FALSE(HlcTimestamp::Parse("2024-11-24T03:46:59.123Z"));
        CHECK_FALSE(HlcTimestamp::Parse("2024-11-24T03:46:59.123Z/zzzz"));
    }
    SECTION("counter overflow borrows a millisecond and stays ordered") {
        clock.Restore({wall, 0xffff});
        const auto t2 = clock.Now();
        CHECK(t2.millis == wall + 1);
        CHECK(t2.ToString() > HlcTimestamp{wall, 0xffff}.ToString());
    }
}
