#pragma once

#include <stdexcept>

namespace mh::llama {

// Thrown when tokenizer files cannot be read, are malformed, or ask for something this
// tokenizer does not implement. The message names the file and the key.
class TokenizerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace mh::llama
