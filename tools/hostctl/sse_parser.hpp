// Incremental Server-Sent Events parser (the WHATWG event-stream format), for
// `hostctl predict --stream`: feed body pieces as they arrive, get whole events back.
#ifndef MODELHOST_HOSTCTL_SSE_PARSER_HPP
#define MODELHOST_HOSTCTL_SSE_PARSER_HPP

#include <string>
#include <string_view>
#include <vector>

namespace hostctl {

struct SseEvent {
  std::string event = "message";  // the `event:` field, "message" when absent
  std::string data;               // `data:` lines joined with "\n"
};

class SseParser {
 public:
  // Returns the events completed by this piece (an event ends at a blank line). Lines may be
  // split anywhere across pieces and end in "\n", "\r\n" or "\r".
  std::vector<SseEvent> feed(std::string_view piece);
  // At the end of the stream: an event that lacked its final blank line, if any.
  std::vector<SseEvent> finish();

 private:
  void take_line(std::string_view line, std::vector<SseEvent>& out);

  std::string line_;
  bool after_cr_ = false;  // the last piece ended in '\r': a following '\n' belongs to it
  SseEvent current_;
  bool has_data_ = false;
};

}  // namespace hostctl

#endif  // MODELHOST_HOSTCTL_SSE_PARSER_HPP
