#include "progress_bar.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace hostctl;
using namespace std::chrono_literals;

namespace {

SyncProgress running(std::uint64_t done, std::uint64_t total, std::string file = "") {
  SyncProgress sync;
  sync.state = "running";
  sync.bytes_done = done;
  sync.bytes_total = total;
  sync.files_done = 2;
  sync.files_total = 7;
  sync.current_file = std::move(file);
  return sync;
}

}  // namespace

TEST_SUITE("format") {
  TEST_CASE("percent_text: floor of bytes, then of files, '-' when unknown") {
    CHECK(percent_text(running(450, 1000)) == " 45%");
    CHECK(percent_text(running(999, 1000)) == " 99%");  // 100% only when all bytes are there
    CHECK(percent_text(running(1000, 1000)) == "100%");
    SyncProgress by_files = running(0, 0);
    CHECK(percent_text(by_files) == " 28%");  // 2 of 7 files
    SyncProgress nothing;
    CHECK(percent_text(nothing) == "  -%");
  }

  TEST_CASE("progress_bar_line: bar, percent, bytes, rate, ETA, file; never wider than asked") {
    const auto sync = running(900'000'000, 2'000'000'000, "weights/model-00001.safetensors");
    const std::string line = progress_bar_line(sync, 110e6, 120);
    CAPTURE(line);
    CHECK(line.rfind("[", 0) == 0);
    CHECK(
        line.find(
            " 45%  900 MB/2.0 GB  110 MB/s  ETA 10s  2/7 files  weights/model-00001.safetensors") !=
        std::string::npos);
    CHECK(line.find("=============>") != std::string::npos);  // 45% of a 30-wide bar
    for (std::size_t width : {40, 60, 80, 200}) {
      CAPTURE(width);
      CHECK(progress_bar_line(sync, 110e6, width).size() <= width);
    }
    // A narrow terminal gets a shorter bar and the end of the path, where the file name is.
    const std::string narrow = progress_bar_line(sync, 110e6, 79);
    CAPTURE(narrow);
    CHECK(narrow.find("...") != std::string::npos);
    CHECK(narrow.substr(narrow.size() - 11) == "safetensors");
    CHECK(narrow.size() == 79);
    // No rate yet: no rate and no ETA.
    const std::string no_rate = progress_bar_line(sync, -1, 120);
    CHECK(no_rate.find("/s") == std::string::npos);
    CHECK(no_rate.find("ETA") == std::string::npos);
  }

  TEST_CASE("progress_plain_line") {
    const auto sync = running(900'000'000, 2'000'000'000, "model-00001.safetensors");
    CHECK(progress_plain_line("llama", sync, 110e6) ==
          "sync llama: running   45%  900 MB/2.0 GB  110 MB/s  2/7 files  model-00001.safetensors");
    SyncProgress done = sync;
    done.state = "done";
    done.bytes_done = done.bytes_total;
    done.files_done = 7;
    CHECK(progress_plain_line("llama", done, -1) ==
          "sync llama: done  100%  2.0 GB/2.0 GB  7/7 files");
  }

  TEST_CASE("RateMeter: over a sliding window, reset when bytes go backwards") {
    RateMeter meter;
    const auto t0 = Clock::now();
    meter.add(t0, 0);
    CHECK(meter.bytes_per_second() < 0);  // one sample
    meter.add(t0 + 100ms, 10'000'000);
    CHECK(meter.bytes_per_second() < 0);  // too short a span to trust
    meter.add(t0 + 1s, 100'000'000);
    CHECK(meter.bytes_per_second() == doctest::Approx(100e6));
    // Old samples leave the 3 s window: the rate follows the recent speed.
    meter.add(t0 + 5s, 100'000'000);
    meter.add(t0 + 6s, 110'000'000);
    meter.add(t0 + 9s, 140'000'000);
    CHECK(meter.bytes_per_second() == doctest::Approx(10e6));
    meter.add(t0 + 10s, 5);
    CHECK(meter.bytes_per_second() < 0);
  }

  TEST_CASE("ProgressDisplay on a terminal redraws one line in place and leaves it clean") {
    std::ostringstream out;
    ProgressDisplay display(out, true, "llama", 100);
    const auto t0 = Clock::now();
    display.show(running(100, 1000, "a.bin"), t0);
    display.show(running(500, 1000, "b.bin"), t0 + 200ms);
    display.close();
    const std::string text = out.str();
    CHECK(text.find('\n') == std::string::npos);
    CHECK(text.rfind("\r\x1b[K") == text.size() - 4);
    CHECK(text.find(" 10%") != std::string::npos);
    CHECK(text.find(" 50%") != std::string::npos);
  }

  TEST_CASE("ProgressDisplay without a terminal prints lines: on each state, and when due") {
    std::ostringstream out;
    ProgressDisplay display(out, false, "m", 80, 1s);
    const auto t0 = Clock::now();
    SyncProgress idle;
    display.show(idle, t0);                              // state: printed
    display.show(running(100, 1000, "a"), t0 + 200ms);   // state: printed
    display.show(running(200, 1000, "a"), t0 + 400ms);   // not due
    display.show(running(300, 1000, "a"), t0 + 1300ms);  // due: printed
    display.show(running(300, 1000, "a"), t0 + 2400ms);  // due but unchanged
    SyncProgress done = running(1000, 1000);
    done.state = "done";
    display.show(done, t0 + 2600ms);  // state: printed
    display.close();
    std::istringstream in(out.str());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == "sync m: idle    -%  0 B/0 B");
    CHECK(lines[1].rfind("sync m: running   10%", 0) == 0);
    CHECK(lines[2].rfind("sync m: running   30%", 0) == 0);
    CHECK(lines[3] == "sync m: done  100%  1.0 kB/1.0 kB  2/7 files");
    CHECK(out.str().find('\r') == std::string::npos);
    CHECK(out.str().find('\x1b') == std::string::npos);
  }
}
