// The byte-level BPE model: turns one pre-tokenized piece (raw bytes) into ids by applying
// merges in rank order, exactly as tokenizers' BPE::merge_word does.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer_spec.hpp"

namespace mh::llama {

// Hashing std::string keys by string_view, so lookups need no temporary string.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

class Bpe {
 public:
  // Builds the lookup tables; throws TokenizerError (naming `source`) when a merge names a
  // token that is not in the vocabulary.
  Bpe(const TokenizerSpec& spec, std::string_view source);
  Bpe(const Bpe&) = delete;
  Bpe& operator=(const Bpe&) = delete;

  // Appends the ids of `piece` (raw bytes, non-empty) to `out`. Thread-safe.
  void encode(std::string_view piece, std::vector<TokenId>& out) const;

  // The id of the vocabulary entry spelling exactly these raw bytes.
  std::optional<TokenId> find_bytes(std::string_view bytes) const;

 private:
  std::vector<TokenId> merge_word(std::string_view piece) const;

  // Words seen before, shared by all threads. Bounded: once full, new words are not kept
  // (as tokenizers' cache does), so memory stays flat under any input.
  class WordCache {
   public:
    bool lookup(std::string_view word, std::vector<TokenId>& out) const;
    void insert(std::string_view word, const std::vector<TokenId>& ids);

   private:
    static constexpr std::size_t kShards = 32;
    static constexpr std::size_t kEntriesPerShard = 4096;
    static constexpr std::size_t kMaxWordBytes = 256;
    struct Shard {
      mutable std::shared_mutex mutex;
      StringMap<std::vector<TokenId>> words;
    };
    std::array<Shard, kShards> shards_;
  };

  StringMap<TokenId> by_bytes_;          // raw bytes of each byte-level entry -> id
  std::array<TokenId, 256> byte_ids_{};  // single-byte entries; -1 when absent
  std::unordered_map<std::uint64_t, std::uint64_t> merges_;  // (left, right) -> (rank, new id)
  bool ignore_merges_ = false;
  std::optional<TokenId> unk_id_;
  bool fuse_unk_ = false;
  mutable WordCache cache_;
};

}  // namespace mh::llama
