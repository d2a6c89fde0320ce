// Added tokens ("<|begin_of_text|>", "<|eot_id|>", ...): found in the text before anything
// else and never split by BPE, as tokenizers' AddedVocabulary does.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer_spec.hpp"

namespace mh::llama {

class AddedVocabulary {
 public:
  explicit AddedVocabulary(const std::vector<AddedTokenSpec>& tokens);

  // A part of the input: an added token (id >= 0) or text for the pre-tokenizer (id == -1).
  struct Segment {
    std::size_t begin;
    std::size_t end;
    TokenId id;
  };

  // Splits `text` into segments that cover it in order. Matches are leftmost-longest
  // (tokens with normalized=false first over the whole text, then those with normalized=true
  // over the remaining text, as tokenizers does with no normalizer), honouring single_word,
  // lstrip and rstrip. With `parse_special` false, special tokens are not matched (tokenizers'
  // split_special_tokens): their text stays text.
  void split(std::string_view text, bool parse_special, std::vector<Segment>& out) const;

  bool empty() const { return raw_.entries.empty() && normalized_.entries.empty(); }

 private:
  struct Entry {
    std::string content;
    TokenId id;
    bool special, single_word, lstrip, rstrip;
  };
  // A byte trie over the token contents, for leftmost-longest search.
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, int>> children;
      int entry = -1;  // index into entries when a token ends here
    };
    std::vector<Node> nodes{1};
    std::vector<Entry> entries;
    bool first_byte[256] = {};

    void add(const Entry& entry);
    // The longest token starting at `pos`, or -1.
    int longest_at(std::string_view text, std::size_t pos) const;
  };

  static void find(const Trie& trie, std::string_view text, std::size_t offset, bool parse_special,
                   std::vector<Segment>& out);

  Trie raw_;
  Trie normalized_;
};

}  // namespace mh::llama
