// Fuzzes the Llama plugin's request parser (plugins/llama/request_parsing.hpp): the JSON body of
// every route it serves comes from clients. The first byte picks the route and the defaults; the
// rest is the body. A body parses or throws mh::Error naming the parameter; nothing else may
// escape, and no sanitizer may fire.
#include "request_parsing.hpp"

#include <modelhost/plugin.hpp>

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  mh::llama::RequestDefaults defaults;
  defaults.chat_template = (selector & 0x80) != 0;
  defaults.generation.do_sample = (selector & 0x40) != 0;
  try {
    switch ((selector & 0x3f) % 5) {
      case 0:
        (void)mh::llama::parse_generate_request(mh::llama::Route::kPredict, body, defaults);
        break;
      case 1:
        (void)mh::llama::parse_generate_request(mh::llama::Route::kChatCompletions, body, defaults);
        break;
      case 2:
        (void)mh::llama::parse_generate_request(mh::llama::Route::kCompletions, body, defaults);
        break;
      case 3:
        (void)mh::llama::parse_tokenize_request(body);
        break;
      default:
        (void)mh::llama::parse_detokenize_request(body);
        break;
    }
  } catch (const mh::Error&) {
  }
  (void)mh::llama::parse_route(body);
  return 0;
}
