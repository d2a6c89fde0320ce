#include "http/sse_writer.hpp"

namespace mh::host {

std::string sse_event(std::string_view payload) {
  std::string event;
  event.reserve(payload.size() + 8);
  std::size_t start = 0;
  for (;;) {
    std::size_t end = payload.find('\n', start);
    std::string_view line =
        payload.substr(start, end == std::string_view::npos ? end : end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    event.append("data: ").append(line).append("\n");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  event.append("\n");
  return event;
}

std::string sse_done() {
  return "data: [DONE]\n\n";
}

}  // namespace mh::host
