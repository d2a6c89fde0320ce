#pragma once
// Server-Sent Events framing (the WHATWG "text/event-stream" format) for streamed replies:
// each chunk a plugin writes becomes one event; OpenAI routes end with "data: [DONE]".
#include <string>
#include <string_view>

namespace mh::host {

// "data: <payload>\n\n"; a payload with newlines becomes several data lines of one event.
std::string sse_event(std::string_view payload);

// The end marker of OpenAI-style streams: "data: [DONE]\n\n".
std::string sse_done();

}  // namespace mh::host
