// `hostctl sync` progress: a bar redrawn in place on a terminal, plain lines otherwise (logs,
// CI, pipes), with bytes, percent, rate and the file being fetched.
#ifndef MODELHOST_HOSTCTL_PROGRESS_BAR_HPP
#define MODELHOST_HOSTCTL_PROGRESS_BAR_HPP

#include <chrono>
#include <cstdint>
#include <deque>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "status_report.hpp"

namespace hostctl {

using Clock = std::chrono::steady_clock;

// Transfer rate over the last few seconds of samples; restarts when bytes go backwards (a new
// sync began).
class RateMeter {
 public:
  void add(Clock::time_point when, std::uint64_t bytes_done);
  // Bytes per second, or a negative value until two samples far enough apart exist.
  double bytes_per_second() const;

 private:
  std::deque<std::pair<Clock::time_point, std::uint64_t>> samples_;
};

// " 45%" (floor, so 100% means all bytes are there); by files when the byte total is unknown;
// "  -%" when neither is known.
std::string percent_text(const SyncProgress& sync);

// One terminal line of at most `width` columns:
// "[=========>          ]  45%  900 MB/2.0 GB  110 MB/s  ETA 10s  2/7 files  model-00003.bin".
// The file name is shortened from the left to fit; a negative rate shows no rate or ETA.
std::string progress_bar_line(const SyncProgress& sync, double rate, std::size_t width);

// "sync llama: running   45%  900 MB/2.0 GB  110 MB/s  2/7 files  model-00003.bin".
std::string progress_plain_line(std::string_view model, const SyncProgress& sync, double rate);

// Draws successive progress states of one model's sync.
class ProgressDisplay {
 public:
  // tty: redraw one line in place; otherwise print a line when something changed, at most once
  // per `plain_interval` (state changes always print).
  ProgressDisplay(std::ostream& out, bool tty, std::string model, std::size_t width,
                  std::chrono::milliseconds plain_interval = std::chrono::seconds(1));

  void show(const SyncProgress& sync, Clock::time_point now);
  // Leaves the terminal on a clean line (erases the bar). Safe to call more than once.
  void close();

 private:
  std::ostream& out_;
  bool tty_;
  std::string model_;
  std::size_t width_;
  std::chrono::milliseconds plain_interval_;
  RateMeter rate_;
  bool bar_drawn_ = false;
  std::string last_state_;
  std::string last_plain_;  // the last plain line without its rate
  Clock::time_point last_plain_at_{};
};

}  // namespace hostctl

#endif  // MODELHOST_HOSTCTL_PROGRESS_BAR_HPP
