// What tokenizer.json and tokenizer_config.json say, as plain structs.
//
// Parsing (tokenizer_json.cpp) reads the files into these and checks every key it uses; the
// tokenizer is built from them and never sees JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/tokenizer_error.hpp"

namespace mh::llama {

using TokenId = std::int32_t;

// One entry of tokenizer.json's "added_tokens".
struct AddedTokenSpec {
  TokenId id = 0;
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// One step of the pre-tokenizer. A "Sequence" is flattened into its steps.
struct PreTokenizerStep {
  enum class Kind { kSplit, kByteLevel };
  // What Split does with the matches of its pattern. Only the behaviors byte-level BPE
  // tokenizers use are supported; the parser refuses others by name.
  enum class Behavior { kIsolated, kRemoved };

  Kind kind = Kind::kSplit;
  // kSplit
  std::string pattern;
  bool pattern_is_regex = true;  // {"Regex": ...}; false for {"String": ...}, a literal
  Behavior behavior = Behavior::kIsolated;
  // kByteLevel
  bool add_prefix_space = false;
  bool use_regex = false;  // split with GPT-2's pattern first
};

struct TokenizerSpec {
  // "model": a byte-level BPE.
  std::vector<std::pair<std::string, TokenId>> vocab;       // byte-level spelling, id
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order (rank 0 first)
  bool ignore_merges = false;
  std::optional<std::string> unk_token;
  bool fuse_unk = false;

  std::vector<AddedTokenSpec> added_tokens;
  std::vector<PreTokenizerStep> pre_tokenizer;

  // "post_processor" with add_special_tokens: ids put before and after the sequence
  // (TemplateProcessing's "single"; ByteLevel adds none).
  std::vector<TokenId> template_prefix;
  std::vector<TokenId> template_suffix;

  // tokenizer_config.json (optional file): the spellings of the BOS and EOS tokens.
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
};

// Parses tokenizer.json text; `source` names the file in error messages.
// Throws TokenizerError naming the file and the key on malformed or unsupported input.
TokenizerSpec parse_tokenizer_json(std::string_view json_text, std::string_view source);

// Reads the BOS/EOS spellings of tokenizer_config.json text into `spec`.
void parse_tokenizer_config(std::string_view json_text, std::string_view source,
                            TokenizerSpec& spec);

}  // namespace mh::llama
