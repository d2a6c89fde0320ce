// Sizes, rates and durations as people read them: "512 MB", "2.0 GB", "45 MB/s", "3m 04s".
#ifndef MODELHOST_HOSTCTL_HUMAN_UNITS_HPP
#define MODELHOST_HOSTCTL_HUMAN_UNITS_HPP

#include <cstdint>
#include <string>

namespace hostctl {

// Decimal units (1 kB = 1000 B), as storage and network speeds are quoted. One decimal below
// 10 of a unit ("2.0 GB", "9.5 MB"), none above ("512 MB"); bytes as an integer ("999 B").
std::string format_bytes(std::uint64_t bytes);

// format_bytes per second: "45 MB/s". Negative or non-finite rates read "-".
std::string format_rate(double bytes_per_second);

// "850ms", "12s", "3m 04s", "2h 05m", "3d 04h".
std::string format_duration(double seconds);

}  // namespace hostctl

#endif  // MODELHOST_HOSTCTL_HUMAN_UNITS_HPP
