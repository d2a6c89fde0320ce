// The pre-tokenizer: splits text into the pieces BPE runs on, as tokenizers' Split and
// ByteLevel pre-tokenizers do (for Llama 3: one Split on its regex, pieces kept "Isolated").
// Regexes run on PCRE2 with UTF and Unicode properties, JIT-compiled where available.
#pragma once

#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tokenizer/tokenizer_spec.hpp"

namespace mh::llama {

// A non-owning reference to a callable `void(std::string_view)`, valid during one call.
class PieceSink {
 public:
  template <typename F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, PieceSink>)
      PieceSink(F&& f)  // NOLINT: implicit on purpose, lambdas pass straight in
      : object_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, std::string_view piece) {
          (*static_cast<std::remove_reference_t<F>*>(o))(piece);
        }) {}
  void operator()(std::string_view piece) const { call_(object_, piece); }

 private:
  void* object_;
  void (*call_)(void*, std::string_view);
};

class PreTokenizer {
 public:
  // Compiles the regexes; throws TokenizerError (naming `source` and the step) when one does
  // not compile.
  PreTokenizer(const std::vector<PreTokenizerStep>& steps, std::string_view source);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Calls `sink` with each non-empty piece of `text`, in order, as raw bytes (the byte-level
  // map is the model's business). `text` must be valid UTF-8. Thread-safe.
  void split(std::string_view text, PieceSink sink) const;

 private:
  struct Op;
  void run(std::size_t op, std::string_view text, PieceSink sink) const;
  std::vector<std::unique_ptr<Op>> ops_;
};

}  // namespace mh::llama
