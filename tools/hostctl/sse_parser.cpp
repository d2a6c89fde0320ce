#include "sse_parser.hpp"

namespace hostctl {

std::vector<SseEvent> SseParser::feed(std::string_view piece) {
  std::vector<SseEvent> events;
  for (char c : piece) {
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') continue;  // the second half of "\r\n"
    }
    if (c == '\r' || c == '\n') {
      after_cr_ = c == '\r';
      take_line(line_, events);
      line_.clear();
    } else {
      line_ += c;
    }
  }
  return events;
}

std::vector<SseEvent> SseParser::finish() {
  std::vector<SseEvent> events;
  if (!line_.empty()) take_line(line_, events);
  line_.clear();
  take_line("", events);  // a last event without its blank line still counts
  return events;
}

void SseParser::take_line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    if (has_data_) out.push_back(std::move(current_));
    current_ = SseEvent{};
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // a comment, e.g. a keep-alive
  const auto colon = line.find(':');
  std::string_view name = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (name == "data") {
    if (has_data_) current_.data += '\n';
    current_.data += value;
    has_data_ = true;
  } else if (name == "event") {
    current_.event = value.empty() ? "message" : std::string(value);
  }
  // id and retry do not matter to a one-shot client.
}

}  // namespace hostctl
