#include "tokenizer/bpe.hpp"

#include <algorithm>
#include <mutex>

#include "tokenizer/byte_level.hpp"

namespace mh::llama {
void MergeTable::reserve(std::size_t count) {
  std::size_t capacity = 16;
  int bits = 4;
  while (capacity < count * 2) {
    capacity *= 2;
    ++bits;
  }
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  shift_ = 64 - bits;
}

void MergeTable::set(TokenId left, TokenId right, std::uint32_t rank, TokenId merged) {
  const std::uint64_t key = pack(left, right);
  for (std::size_t i = slot_of(key);; i = (i + 1) & mask_) {
    Slot& slot = slots_[i];
    if (slot.key == key || slot.key == kEmpty) {
      slot = {key, rank, merged};
      return;
    }
  }
}

Bpe::Bpe(const TokenizerSpec& spec, std::string_view source)
    : ignore_merges_(spec.ignore_merges), fuse_unk_(spec.fuse_unk) {
  StringMap<TokenId> by_spelling;
  by_spelling.reserve(spec.vocab.size());
  by_bytes_.reserve(spec.vocab.size());
  byte_ids_.fill(-1);
  for (const auto& [spelling, id] : spec.vocab) {
    by_spelling[spelling] = id;
    if (auto bytes = byte_level::to_bytes(spelling)) {
      if (bytes->size() == 1) byte_ids_[static_cast<unsigned char>((*bytes)[0])] = id;
      by_bytes_[std::move(*bytes)] = id;
    }
  }

  auto id_of = [&](const std::string& token, std::size_t rank) {
    const auto it = by_spelling.find(token);
    if (it == by_spelling.end()) {
      throw TokenizerError(std::string(source) + ": \"model.merges[" + std::to_string(rank) +
                           "]\" uses \"" + token + "\", which is not in \"model.vocab\"");
    }
    return it->second;
  };
  merges_.reserve(spec.merges.size());
  for (std::size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [left, right] = spec.merges[rank];
    const TokenId left_id = id_of(left, rank);
    const TokenId right_id = id_of(right, rank);
    const TokenId merged_id = id_of(left + right, rank);
    merges_.set(left_id, right_id, static_cast<std::uint32_t>(rank), merged_id);
  }

  if (spec.unk_token) {
    const auto it = by_spelling.find(*spec.unk_token);
    if (it == by_spelling.end()) {
      throw TokenizerError(std::string(source) + ": \"model.unk_token\" \"" + *spec.unk_token +
                           "\" is not in \"model.vocab\"");
    }
    unk_id_ = it->second;
  }
}

std::optional<TokenId> Bpe::find_bytes(std::string_view bytes) const {
  const auto it = by_bytes_.find(bytes);
  if (it == by_bytes_.end()) return std::nullopt;
  return it->second;
}

void Bpe::encode(std::string_view piece, std::vector<TokenId>& out) const {
  if (ignore_merges_) {
    // A piece that is itself a vocabulary entry is that entry, whatever the merges say.
    if (const auto it = by_bytes_.find(piece); it != by_bytes_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (cache_.lookup(piece, out)) return;
  std::vector<TokenId> ids = merge_word(piece);
  out.insert(out.end(), ids.begin(), ids.end());
  cache_.insert(piece, ids);
}

std::vector<TokenId> Bpe::merge_word(std::string_view piece) const {
  // Symbols form a linked list over the bytes; a merge joins a symbol with its successor.
  struct Symbol {
    TokenId id;
    int prev;
    int next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(piece.size());
  bool last_was_unk = false;
  for (unsigned char byte : piece) {
    const TokenId id = byte_ids_[byte];
    if (id >= 0) {
      symbols.push_back({id, 0, 0, true});
      last_was_unk = false;
    } else if (unk_id_) {
      // Unknown bytes become the unk token, consecutive ones fused into one when asked.
      if (!(fuse_unk_ && last_was_unk)) symbols.push_back({*unk_id_, 0, 0, true});
      last_was_unk = true;
    }
    // With no unk token an unknown byte is dropped, as tokenizers does.
  }
  const int n = static_cast<int>(symbols.size());
  for (int i = 0; i < n; ++i) {
    symbols[i].prev = i - 1;
    symbols[i].next = i + 1 < n ? i + 1 : -1;
  }

  // Candidate merges, lowest rank first and, for equal ranks, leftmost first. Entries go
  // stale when a neighbour changes; they are checked when popped.
  struct Candidate {
    std::uint32_t rank;
    int pos;
    TokenId merged;
  };
  // A min-heap on (rank, pos) through std::push_heap / std::pop_heap.
  auto later = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  std::vector<Candidate> queue;
  queue.reserve(piece.size());
  auto push = [&](int pos) {
    const int next = symbols[pos].next;
    if (next < 0) return;
    std::uint32_t rank;
    TokenId merged;
    if (merges_.find(symbols[pos].id, symbols[next].id, rank, merged)) {
      queue.push_back({rank, pos, merged});
      std::push_heap(queue.begin(), queue.end(), later);
    }
  };
  for (int i = 0; i + 1 < n; ++i) push(i);

  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), later);
    const Candidate top = queue.back();
    queue.pop_back();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    const int right_pos = left.next;
    std::uint32_t rank;
    TokenId merged;
    if (!merges_.find(left.id, symbols[right_pos].id, rank, merged) || merged != top.merged) {
      continue;  // stale: the pair it was made for no longer exists
    }
    left.id = top.merged;
    Symbol& right = symbols[right_pos];
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push(left.prev);
    push(top.pos);
  }

  std::vector<TokenId> ids;
  for (int i = n > 0 ? 0 : -1; i >= 0; i = symbols[i].next) ids.push_back(symbols[i].id);
  return ids;
}

bool Bpe::WordCache::lookup(std::string_view word, std::vector<TokenId>& out) const {
  if (word.size() >= kMaxWordBytes) return false;
  const Shard& shard = shards_[StringHash{}(word) % kShards];
  std::shared_lock lock(shard.mutex);
  const auto it = shard.words.find(word);
  if (it == shard.words.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

void Bpe::WordCache::insert(std::string_view word, const std::vector<TokenId>& ids) {
  if (word.size() >= kMaxWordBytes) return;
  Shard& shard = shards_[StringHash{}(word) % kShards];
  std::unique_lock lock(shard.mutex, std::try_to_lock);
  if (!lock.owns_lock() || shard.words.size() >= kEntriesPerShard) return;
  shard.words.emplace(word, ids);
}

}  // namespace mh::llama
