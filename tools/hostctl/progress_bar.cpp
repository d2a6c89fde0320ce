#include "progress_bar.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "human_units.hpp"

namespace hostctl {
namespace {

constexpr auto kRateWindow = std::chrono::seconds(3);
constexpr auto kMinRateSpan = std::chrono::milliseconds(150);
constexpr std::size_t kBarMin = 10;
constexpr std::size_t kBarMax = 30;
constexpr std::size_t kTextBudget = 70;  // room kept beside the bar for numbers and the file

// 0..1000 (per mille) done, or -1 when unknown.
int per_mille(const SyncProgress& sync) {
  if (sync.bytes_total > 0) {
    return static_cast<int>(std::min<std::uint64_t>(sync.bytes_done, sync.bytes_total) * 1000 /
                            sync.bytes_total);
  }
  if (sync.files_total > 0) {
    return static_cast<int>(std::min(sync.files_done, sync.files_total) * 1000 / sync.files_total);
  }
  return sync.state == "done" ? 1000 : -1;
}

std::string bar(int done_per_mille, std::size_t width) {
  std::string inside(width, ' ');
  if (done_per_mille > 0) {
    const std::size_t filled = static_cast<std::size_t>(done_per_mille) * width / 1000;
    std::fill_n(inside.begin(), filled, '=');
    if (filled < width) inside[filled] = '>';
  }
  return "[" + inside + "]";
}

// "2/7 files" done (transfers run in parallel, so no single "current" index exists).
std::string files_text(const SyncProgress& sync) {
  if (sync.files_total == 0) return "";
  return std::to_string(sync.files_done) + "/" + std::to_string(sync.files_total) + " files";
}

std::string bytes_text(const SyncProgress& sync) {
  return format_bytes(sync.bytes_done) + "/" + format_bytes(sync.bytes_total);
}

std::string eta_text(const SyncProgress& sync, double rate) {
  if (rate <= 0 || sync.bytes_total <= sync.bytes_done || sync.state != "running") return "";
  // Whole seconds, rounded up: "ETA 1s" rather than a jittery "ETA 935ms".
  return "ETA " +
         format_duration(std::ceil(static_cast<double>(sync.bytes_total - sync.bytes_done) / rate));
}

// Keeps the end of `text` (a path's file name matters most), at most `width` bytes.
std::string tail_fit(const std::string& text, std::size_t width) {
  if (text.size() <= width) return text;
  if (width <= 3) return std::string(width, '.');
  std::size_t start = text.size() - (width - 3);
  // Do not start inside a UTF-8 sequence.
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  return "..." + text.substr(start);
}

void append_part(std::string& line, const std::string& part) {
  if (part.empty()) return;
  if (!line.empty()) line += "  ";
  line += part;
}

}  // namespace

void RateMeter::add(Clock::time_point when, std::uint64_t bytes_done) {
  if (!samples_.empty() && bytes_done < samples_.back().second) samples_.clear();
  samples_.emplace_back(when, bytes_done);
  // Keep one sample at or before the window's start so the span covers the whole window.
  while (samples_.size() > 2 && when - samples_[1].first >= kRateWindow) samples_.pop_front();
}

double RateMeter::bytes_per_second() const {
  if (samples_.size() < 2) return -1;
  const auto span = samples_.back().first - samples_.front().first;
  if (span < kMinRateSpan) return -1;
  const double seconds = std::chrono::duration<double>(span).count();
  return static_cast<double>(samples_.back().second - samples_.front().second) / seconds;
}

std::string percent_text(const SyncProgress& sync) {
  const int done = per_mille(sync);
  if (done < 0) return "  -%";
  char text[16];
  std::snprintf(text, sizeof text, "%3d%%", done / 10);
  return text;
}

std::string progress_bar_line(const SyncProgress& sync, double rate, std::size_t width) {
  std::string tail;
  append_part(tail, percent_text(sync));
  append_part(tail, bytes_text(sync));
  if (rate >= 0) append_part(tail, format_rate(rate));
  append_part(tail, eta_text(sync, rate));
  append_part(tail, files_text(sync));
  const bool show_file = !sync.current_file.empty() && sync.state == "running";
  // The bar's width depends on the terminal only, so it does not jump as the text changes;
  // the file name gets what is left.
  const std::size_t bar_width =
      std::clamp<std::size_t>(width > kTextBudget ? width - kTextBudget : 0, kBarMin, kBarMax);
  std::string line = bar(per_mille(sync), bar_width) + "  " + tail;
  if (show_file && line.size() + 2 + 4 <= width)
    line += "  " + tail_fit(sync.current_file, width - line.size() - 2);
  if (line.size() > width) line.resize(width);
  return line;
}

std::string progress_plain_line(std::string_view model, const SyncProgress& sync, double rate) {
  std::string line = "sync " + std::string(model) + ": " + sync.state;
  append_part(line, percent_text(sync));
  append_part(line, bytes_text(sync));
  if (rate >= 0) append_part(line, format_rate(rate));
  append_part(line, files_text(sync));
  if (sync.state == "running") append_part(line, sync.current_file);
  return line;
}

ProgressDisplay::ProgressDisplay(std::ostream& out, bool tty, std::string model, std::size_t width,
                                 std::chrono::milliseconds plain_interval)
    : out_(out),
      tty_(tty),
      model_(std::move(model)),
      width_(std::max<std::size_t>(width, 20)),
      plain_interval_(plain_interval) {}

void ProgressDisplay::show(const SyncProgress& sync, Clock::time_point now) {
  rate_.add(now, sync.bytes_done);
  const double rate = sync.state == "running" ? rate_.bytes_per_second() : -1;
  if (tty_) {
    // \r back to the start, draw, erase what a longer previous line left (ESC [ K).
    out_ << '\r' << progress_bar_line(sync, rate, width_ - 1) << "\x1b[K" << std::flush;
    bar_drawn_ = true;
    return;
  }
  const std::string without_rate = progress_plain_line(model_, sync, -1);
  const bool state_changed = sync.state != last_state_;
  const bool due = now - last_plain_at_ >= plain_interval_;
  if (state_changed || (due && without_rate != last_plain_)) {
    out_ << progress_plain_line(model_, sync, rate) << '\n' << std::flush;
    last_plain_ = without_rate;
    last_plain_at_ = now;
  }
  last_state_ = sync.state;
}

void ProgressDisplay::close() {
  if (tty_ && bar_drawn_) out_ << "\r\x1b[K" << std::flush;
  bar_drawn_ = false;
}

}  // namespace hostctl
