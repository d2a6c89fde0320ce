// Stop strings in a stream of text: finds the first occurrence of any stop string and holds
// back text that could still turn out to be the start of one, so a streamed reply never shows
// part of a stop string.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mh::llama {

class StopStringMatcher {
 public:
  explicit StopStringMatcher(std::vector<std::string> stop_strings);

  // Appends newly generated text and returns what may be shown now. Once a stop string
  // appears, returns the text before it and stopped() turns true; later calls return "".
  std::string push(std::string_view text);
  // At the end of generation: the text held back (it matched no stop string after all).
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace mh::llama
