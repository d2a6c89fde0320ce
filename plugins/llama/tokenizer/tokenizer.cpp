#include "tokenizer/tokenizer.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tokenizer/added_vocabulary.hpp"
#include "tokenizer/bpe.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace mh::llama {
namespace {

// Ids index flat tables; a file claiming ids beyond this is refused rather than allocated.
constexpr TokenId kMaxId = (1 << 24) - 1;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw TokenizerError(path.string() + ": cannot be read (" + std::strerror(errno) + ")");
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw TokenizerError(path.string() + ": read failed");
  return std::move(content).str();
}

// Strings indexed by id, packed into one buffer.
class IdStrings {
 public:
  void build(const std::vector<const std::string*>& by_id) {
    offsets_.assign(by_id.size() + 1, 0);
    std::size_t total = 0;
    for (const std::string* s : by_id) total += s ? s->size() : 0;
    data_.reserve(total);
    for (std::size_t i = 0; i < by_id.size(); ++i) {
      if (by_id[i]) data_ += *by_id[i];
      offsets_[i + 1] = static_cast<std::uint32_t>(data_.size());
    }
  }
  std::string_view at(TokenId id) const {
    return std::string_view(data_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }

 private:
  std::string data_;
  std::vector<std::uint32_t> offsets_;
};

}  // namespace

struct Tokenizer::Impl {
  Impl(const TokenizerSpec& spec, std::string_view source, std::string_view config_source);

  enum Flag : std::uint8_t { kKnown = 1, kSpecial = 2 };

  Bpe bpe;
  PreTokenizer pre_tokenizer;
  AddedVocabulary added;
  StringMap<TokenId> added_by_content;
  StringMap<TokenId> model_other;  // vocabulary entries that are not byte-level spellings
  IdStrings spellings;
  IdStrings bytes;
  std::vector<std::uint8_t> flags;
  std::vector<TokenId> template_prefix;
  std::vector<TokenId> template_suffix;
  std::optional<TokenId> bos;
  std::optional<TokenId> eos;

  bool known(TokenId id) const {
    return id >= 0 && static_cast<std::size_t>(id) < flags.size() && (flags[id] & kKnown);
  }
  std::optional<TokenId> lookup(std::string_view token) const;
};

Tokenizer::Impl::Impl(const TokenizerSpec& spec, std::string_view source,
                      std::string_view config_source)
    : bpe(spec, source), pre_tokenizer(spec.pre_tokenizer, source), added(spec.added_tokens) {
  TokenId max_id = -1;
  for (const auto& entry : spec.vocab) max_id = std::max(max_id, entry.second);
  for (const auto& token : spec.added_tokens) max_id = std::max(max_id, token.id);
  if (max_id > kMaxId) {
    throw TokenizerError(std::string(source) + ": token id " + std::to_string(max_id) +
                         " is larger than " + std::to_string(kMaxId) + " supported");
  }
  const std::size_t size = static_cast<std::size_t>(max_id + 1);
  flags.assign(size, 0);
  std::vector<const std::string*> spelling_of(size, nullptr);
  for (const auto& [spelling, id] : spec.vocab) {
    spelling_of[id] = &spelling;
    flags[id] = kKnown;
    if (!byte_level::to_bytes(spelling)) model_other[spelling] = id;
  }
  // An added token's content wins over a vocabulary entry of the same id, as in tokenizers.
  for (const auto& token : spec.added_tokens) {
    spelling_of[token.id] = &token.content;
    flags[token.id] = kKnown | (token.special ? kSpecial : 0);
    added_by_content.emplace(token.content, token.id);
  }
  spellings.build(spelling_of);

  // What each id decodes to: the bytes its byte-level spelling stands for, or, for a token
  // not spelled in the byte-level alphabet, its UTF-8 text as is (ByteLevel decoder).
  std::vector<std::string> decoded(size);
  std::vector<const std::string*> decoded_of(size, nullptr);
  for (std::size_t id = 0; id < size; ++id) {
    if (!spelling_of[id]) continue;
    auto raw = byte_level::to_bytes(*spelling_of[id]);
    decoded[id] = raw ? std::move(*raw) : *spelling_of[id];
    decoded_of[id] = &decoded[id];
  }
  bytes.build(decoded_of);

  auto check_id = [&](TokenId id, std::string_view where) {
    if (!known(id)) {
      throw TokenizerError(std::string(source) + ": " + std::string(where) + " uses token id " +
                           std::to_string(id) + ", which is neither in \"model.vocab\" nor in " +
                           "\"added_tokens\"");
    }
  };
  for (TokenId id : spec.template_prefix) check_id(id, "\"post_processor\"");
  for (TokenId id : spec.template_suffix) check_id(id, "\"post_processor\"");
  template_prefix = spec.template_prefix;
  template_suffix = spec.template_suffix;

  auto resolve = [&](const std::optional<std::string>& token,
                     std::string_view key) -> std::optional<TokenId> {
    if (!token) return std::nullopt;
    const auto id = lookup(*token);
    if (!id) {
      throw TokenizerError(std::string(config_source) + ": \"" + std::string(key) + "\" \"" +
                           *token + "\" is not a token of " + std::string(source));
    }
    return id;
  };
  bos = resolve(spec.bos_token, "bos_token");
  eos = resolve(spec.eos_token, "eos_token");
  if (!spec.bos_token && template_prefix.size() == 1) bos = template_prefix[0];
}

std::optional<TokenId> Tokenizer::Impl::lookup(std::string_view token) const {
  if (const auto it = added_by_content.find(token); it != added_by_content.end()) {
    return it->second;
  }
  if (const auto raw = byte_level::to_bytes(token)) return bpe.find_bytes(*raw);
  if (const auto it = model_other.find(token); it != model_other.end()) return it->second;
  return std::nullopt;
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::from_json(std::string_view tokenizer_json,
                               std::string_view tokenizer_config_json,
                               std::string_view tokenizer_json_name,
                               std::string_view tokenizer_config_name) {
  TokenizerSpec spec = parse_tokenizer_json(tokenizer_json, tokenizer_json_name);
  if (!tokenizer_config_json.empty()) {
    parse_tokenizer_config(tokenizer_config_json, tokenizer_config_name, spec);
  }
  return Tokenizer(std::make_unique<Impl>(spec, tokenizer_json_name, tokenizer_config_name));
}

Tokenizer Tokenizer::from_files(const std::filesystem::path& tokenizer_json,
                                const std::filesystem::path& tokenizer_config) {
  const std::string json_text = read_file(tokenizer_json);
  std::string config_text;
  if (!tokenizer_config.empty()) {
    config_text = read_file(tokenizer_config);
    if (config_text.empty()) {
      throw TokenizerError(tokenizer_config.string() + ": is empty (expected a JSON object)");
    }
  }
  return from_json(json_text, config_text, tokenizer_json.string(), tokenizer_config.string());
}

Tokenizer Tokenizer::from_directory(const std::filesystem::path& dir) {
  const std::filesystem::path config = dir / "tokenizer_config.json";
  std::error_code ec;
  return from_files(dir / "tokenizer.json",
                    std::filesystem::exists(config, ec) ? config : std::filesystem::path());
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  if (const auto bad = utf8::first_invalid(text)) {
    throw std::invalid_argument("text is not valid UTF-8 (at byte " + std::to_string(*bad) + ")");
  }
  const Impl& impl = *impl_;
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 4);
  if (options.add_special_tokens) {
    ids.insert(ids.end(), impl.template_prefix.begin(), impl.template_prefix.end());
  }
  auto encode_text = [&](std::string_view part) {
    impl.pre_tokenizer.split(part, [&](std::string_view piece) { impl.bpe.encode(piece, ids); });
  };
  if (impl.added.empty()) {
    encode_text(text);
  } else {
    std::vector<AddedVocabulary::Segment> segments;
    impl.added.split(text, options.parse_special, segments);
    for (const auto& segment : segments) {
      if (segment.id >= 0) {
        ids.push_back(segment.id);
      } else {
        encode_text(text.substr(segment.begin, segment.end - segment.begin));
      }
    }
  }
  if (options.add_special_tokens) {
    ids.insert(ids.end(), impl.template_suffix.begin(), impl.template_suffix.end());
  }
  if (options.add_bos && impl.bos && (ids.empty() || ids.front() != *impl.bos)) {
    ids.insert(ids.begin(), *impl.bos);
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool skip_special_tokens) const {
  const Impl& impl = *impl_;
  std::string raw;
  raw.reserve(ids.size() * 4);
  for (TokenId id : ids) {
    if (!impl.known(id)) continue;
    if (skip_special_tokens && (impl.flags[id] & Impl::kSpecial)) continue;
    raw += impl.bytes.at(id);
  }
  std::string text;
  text.reserve(raw.size());
  utf8::append_lossy(text, raw, /*final=*/true);
  return text;
}

std::optional<std::string_view> Tokenizer::id_to_token(TokenId id) const {
  if (!impl_->known(id)) return std::nullopt;
  return impl_->spellings.at(id);
}

std::optional<TokenId> Tokenizer::token_to_id(std::string_view token) const {
  return impl_->lookup(token);
}

std::string_view Tokenizer::token_bytes(TokenId id) const {
  if (!impl_->known(id)) return {};
  return impl_->bytes.at(id);
}

std::size_t Tokenizer::vocab_size() const {
  return impl_->flags.size();
}
bool Tokenizer::contains(TokenId id) const {
  return impl_->known(id);
}
bool Tokenizer::is_special(TokenId id) const {
  return impl_->known(id) && (impl_->flags[id] & Impl::kSpecial);
}
std::optional<TokenId> Tokenizer::bos_id() const {
  return impl_->bos;
}
std::optional<TokenId> Tokenizer::eos_id() const {
  return impl_->eos;
}

}  // namespace mh::llama
