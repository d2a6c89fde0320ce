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

// (left id, right id) -> (rank, merged id), open addressing: built once, read by all threads.
class MergeTable {
 public:
  void reserve(std::size_t count);
  // A repeated pair keeps the last value, as tokenizers' map does.
  void set(TokenId left, TokenId right, std::uint32_t rank, TokenId merged);
  // False when the pair does not merge.
  bool find(TokenId left, TokenId right, std::uint32_t& rank, TokenId& merged) const {
    if (slots_.empty()) return false;
    const std::uint64_t key = pack(left, right);
    for (std::size_t i = slot_of(key);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.key == key) {
        rank = slot.rank;
        merged = slot.merged;
        return true;
      }
      if (slot.key == kEmpty) return false;
    }
  }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
  struct Slot {
    std::uint64_t key = kEmpty;
    std::uint32_t rank = 0;
    TokenId merged = 0;
  };
  static std::uint64_t pack(TokenId left, TokenId right) {
    return (std::uint64_t{static_cast<std::uint32_t>(left)} << 32) |
           static_cast<std::uint32_t>(right);
  }
  std::size_t slot_of(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  int shift_ = 64;
};

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
  MergeTable merges_;
  bool ignore_merges_ = false;
  std::optional<TokenId> unk_id_;
  bool fuse_unk_ = false;
  mutable WordCache cache_;
};

}  // namespace mh::llama
