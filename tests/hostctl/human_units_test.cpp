#include "human_units.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace hostctl;

TEST_SUITE("format") {
  TEST_CASE("format_bytes: integers below 1 kB, one decimal below 10 of a unit, none above") {
    CHECK(format_bytes(0) == "0 B");
    CHECK(format_bytes(999) == "999 B");
    CHECK(format_bytes(1000) == "1.0 kB");
    CHECK(format_bytes(9'940) == "9.9 kB");
    CHECK(format_bytes(9'960) == "10 kB");
    CHECK(format_bytes(512'000'000) == "512 MB");
    CHECK(format_bytes(2'000'000'000) == "2.0 GB");
    CHECK(format_bytes(999'400) == "999 kB");
    CHECK(format_bytes(999'600) == "1.0 MB");  // never "1000 kB"
    CHECK(format_bytes(std::numeric_limits<std::uint64_t>::max()) == "18 EB");
  }

  TEST_CASE("format_rate and format_duration") {
    CHECK(format_rate(45.2e6) == "45 MB/s");
    CHECK(format_rate(0) == "0 B/s");
    CHECK(format_rate(-1) == "-");
    CHECK(format_rate(std::numeric_limits<double>::quiet_NaN()) == "-");
    CHECK(format_duration(0.25) == "250ms");
    CHECK(format_duration(12.7) == "12s");
    CHECK(format_duration(184) == "3m 04s");
    CHECK(format_duration(2 * 3600 + 5 * 60 + 9) == "2h 05m");
    CHECK(format_duration(3 * 86400 + 4 * 3600) == "3d 04h");
    CHECK(format_duration(-3) == "-");
  }
}
