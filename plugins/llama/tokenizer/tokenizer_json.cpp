// Reads tokenizer.json (the Hugging Face `tokenizers` format) and tokenizer_config.json into
// TokenizerSpec. Only what a byte-level BPE tokenizer such as Llama 3's uses is accepted;
// anything else is refused by name instead of being silently tokenized differently.
#include <boost/json.hpp>
#include <cstdint>
#include <string>

#include "tokenizer/tokenizer_spec.hpp"

namespace json = boost::json;

namespace mh::llama {
namespace {

// Error helpers: every message starts with the file and names the key as a path.
[[noreturn]] void fail(std::string_view source, const std::string& what) {
  throw TokenizerError(std::string(source) + ": " + what);
}

[[noreturn]] void fail_key(std::string_view source, const std::string& key,
                           const std::string& what) {
  fail(source, "\"" + key + "\" " + what);
}

std::string kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

json::value parse_text(std::string_view text, std::string_view source) {
  json::stream_parser parser;
  boost::system::error_code ec;
  const std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < consumed && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    fail(source, "not valid JSON (" + ec.message() + ") at line " + std::to_string(line) +
                     ", column " + std::to_string(column));
  }
  return parser.release();
}

// Typed access to an object's members, with the key's path for messages.
class Reader {
 public:
  Reader(std::string_view source, const json::object& object, std::string path)
      : source_(source), object_(object), path_(std::move(path)) {}

  std::string key_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const json::value* find(std::string_view key) const {
    const auto it = object_.find(key);
    return it == object_.end() ? nullptr : &it->value();
  }
  // Present and not null.
  const json::value* find_set(std::string_view key) const {
    const json::value* v = find(key);
    return v == nullptr || v->is_null() ? nullptr : v;
  }

  const json::value& require(std::string_view key) const {
    const json::value* v = find(key);
    if (v == nullptr) fail_key(source_, key_path(key), "is missing");
    return *v;
  }

  const json::object& require_object(std::string_view key) const {
    const json::value& v = require(key);
    if (!v.is_object()) fail_key(source_, key_path(key), "must be an object, got " + kind_name(v));
    return v.get_object();
  }

  const json::array& require_array(std::string_view key) const {
    const json::value& v = require(key);
    if (!v.is_array()) fail_key(source_, key_path(key), "must be an array, got " + kind_name(v));
    return v.get_array();
  }

  std::string require_string(std::string_view key) const {
    const json::value& v = require(key);
    if (!v.is_string()) fail_key(source_, key_path(key), "must be a string, got " + kind_name(v));
    return std::string(v.get_string());
  }

  std::optional<std::string> optional_string(std::string_view key) const {
    const json::value* v = find_set(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      fail_key(source_, key_path(key), "must be a string or null, got " + kind_name(*v));
    }
    return std::string(v->get_string());
  }

  bool optional_bool(std::string_view key, bool fallback) const {
    const json::value* v = find_set(key);
    if (v == nullptr) return fallback;
    if (!v->is_bool()) fail_key(source_, key_path(key), "must be a boolean, got " + kind_name(*v));
    return v->get_bool();
  }

  TokenId require_id(std::string_view key) const { return to_id(require(key), key_path(key)); }

  TokenId to_id(const json::value& v, const std::string& path) const {
    std::int64_t n = -1;
    if (v.is_int64()) {
      n = v.get_int64();
    } else if (v.is_uint64() && v.get_uint64() <= INT32_MAX) {
      n = static_cast<std::int64_t>(v.get_uint64());
    } else {
      fail_key(source_, path, "must be a token id (a non-negative integer), got " + kind_name(v));
    }
    if (n < 0 || n > INT32_MAX) {
      fail_key(source_, path,
               "must be a token id (a non-negative integer), got " + std::to_string(n));
    }
    return static_cast<TokenId>(n);
  }

  std::string_view source() const { return source_; }
  const std::string& path() const { return path_; }

 private:
  std::string_view source_;
  const json::object& object_;
  std::string path_;
};

Reader sub_reader(const Reader& parent, std::string_view key, const json::value& v) {
  if (!v.is_object()) {
    fail_key(parent.source(), parent.key_path(key), "must be an object, got " + kind_name(v));
  }
  return Reader(parent.source(), v.get_object(), parent.key_path(key));
}

std::string indexed(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

void read_model(const Reader& root, TokenizerSpec& spec) {
  const Reader model = sub_reader(root, "model", root.require("model"));
  if (const auto type = model.optional_string("type"); type && *type != "BPE") {
    fail_key(root.source(), model.key_path("type"),
             "is \"" + *type + "\"; only \"BPE\" (byte-level BPE) is supported");
  }
  if (const json::value* dropout = model.find_set("dropout")) {
    if (!dropout->is_number() || dropout->to_number<double>() != 0.0) {
      fail_key(root.source(), model.key_path("dropout"), "is set; BPE dropout is not supported");
    }
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (const auto value = model.optional_string(key); value && !value->empty()) {
      fail_key(root.source(), model.key_path(key),
               "is \"" + *value + "\"; only byte-level BPE without it is supported");
    }
  }
  if (model.optional_bool("byte_fallback", false)) {
    fail_key(root.source(), model.key_path("byte_fallback"),
             "is true; byte fallback is not supported (byte-level BPE needs none)");
  }
  spec.ignore_merges = model.optional_bool("ignore_merges", false);
  spec.unk_token = model.optional_string("unk_token");
  spec.fuse_unk = model.optional_bool("fuse_unk", false);

  const json::object& vocab = model.require_object("vocab");
  spec.vocab.reserve(vocab.size());
  const std::string vocab_path = model.key_path("vocab");
  for (const auto& entry : vocab) {
    spec.vocab.emplace_back(
        std::string(entry.key()),
        model.to_id(entry.value(), vocab_path + "[\"" + std::string(entry.key()) + "\"]"));
  }

  const json::array& merges = model.require_array("merges");
  const std::string merges_path = model.key_path("merges");
  spec.merges.reserve(merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const json::value& m = merges[i];
    if (m.is_string()) {
      // The older form: "left right", exactly one space (tokens have no raw spaces in it).
      const std::string_view s = m.get_string();
      const std::size_t space = s.find(' ');
      if (space == std::string_view::npos || s.find(' ', space + 1) != std::string_view::npos) {
        fail_key(
            root.source(), indexed(merges_path, i),
            "must be \"left right\" (two tokens and one space), got \"" + std::string(s) + "\"");
      }
      spec.merges.emplace_back(std::string(s.substr(0, space)), std::string(s.substr(space + 1)));
    } else if (m.is_array() && m.get_array().size() == 2 && m.get_array()[0].is_string() &&
               m.get_array()[1].is_string()) {
      spec.merges.emplace_back(std::string(m.get_array()[0].get_string()),
                               std::string(m.get_array()[1].get_string()));
    } else {
      fail_key(
          root.source(), indexed(merges_path, i),
          "must be a string \"left right\" or a pair [\"left\", \"right\"], got " + kind_name(m));
    }
  }
}

void read_added_tokens(const Reader& root, TokenizerSpec& spec) {
  const json::value* value = root.find_set("added_tokens");
  if (value == nullptr) return;
  if (!value->is_array()) {
    fail_key(root.source(), "added_tokens", "must be an array, got " + kind_name(*value));
  }
  const json::array& tokens = value->get_array();
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string path = indexed("added_tokens", i);
    if (!tokens[i].is_object()) {
      fail_key(root.source(), path, "must be an object, got " + kind_name(tokens[i]));
    }
    const Reader t(root.source(), tokens[i].get_object(), path);
    AddedTokenSpec token;
    token.id = t.require_id("id");
    token.content = t.require_string("content");
    token.special = t.optional_bool("special", false);
    token.single_word = t.optional_bool("single_word", false);
    token.lstrip = t.optional_bool("lstrip", false);
    token.rstrip = t.optional_bool("rstrip", false);
    token.normalized = t.optional_bool("normalized", !token.special);
    spec.added_tokens.push_back(std::move(token));
  }
}

void read_pre_tokenizer(const Reader& r, TokenizerSpec& spec) {
  const std::string type = r.require_string("type");
  if (type == "Sequence") {
    const json::array& steps = r.require_array("pretokenizers");
    const std::string path = r.key_path("pretokenizers");
    for (std::size_t i = 0; i < steps.size(); ++i) {
      if (!steps[i].is_object()) {
        fail_key(r.source(), indexed(path, i), "must be an object, got " + kind_name(steps[i]));
      }
      read_pre_tokenizer(Reader(r.source(), steps[i].get_object(), indexed(path, i)), spec);
    }
  } else if (type == "Split") {
    PreTokenizerStep step;
    step.kind = PreTokenizerStep::Kind::kSplit;
    const Reader pattern = sub_reader(r, "pattern", r.require("pattern"));
    if (const auto regex = pattern.optional_string("Regex")) {
      step.pattern = *regex;
      step.pattern_is_regex = true;
    } else if (const auto literal = pattern.optional_string("String")) {
      step.pattern = *literal;
      step.pattern_is_regex = false;
    } else {
      fail_key(r.source(), r.key_path("pattern"), "must hold \"Regex\" or \"String\"");
    }
    const std::string behavior = r.require_string("behavior");
    if (behavior == "Isolated") {
      step.behavior = PreTokenizerStep::Behavior::kIsolated;
    } else if (behavior == "Removed") {
      step.behavior = PreTokenizerStep::Behavior::kRemoved;
    } else {
      fail_key(r.source(), r.key_path("behavior"),
               "is \"" + behavior + "\"; only \"Isolated\" and \"Removed\" are supported");
    }
    if (r.optional_bool("invert", false)) {
      fail_key(r.source(), r.key_path("invert"), "is true; inverted splits are not supported");
    }
    spec.pre_tokenizer.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    PreTokenizerStep step;
    step.kind = PreTokenizerStep::Kind::kByteLevel;
    step.add_prefix_space = r.optional_bool("add_prefix_space", true);
    step.use_regex = r.optional_bool("use_regex", true);
    spec.pre_tokenizer.push_back(std::move(step));
  } else {
    fail_key(r.source(), r.key_path("type"),
             "is \"" + type + "\"; supported pre-tokenizers are Sequence, Split and ByteLevel");
  }
}

// Applies one post-processor to the template: a processor wraps what the earlier ones made.
void read_post_processor(const Reader& r, TokenizerSpec& spec) {
  const std::string type = r.require_string("type");
  if (type == "ByteLevel") return;  // adjusts offsets only; adds no ids
  if (type == "Sequence") {
    const json::array& steps = r.require_array("processors");
    const std::string path = r.key_path("processors");
    for (std::size_t i = 0; i < steps.size(); ++i) {
      if (!steps[i].is_object()) {
        fail_key(r.source(), indexed(path, i), "must be an object, got " + kind_name(steps[i]));
      }
      read_post_processor(Reader(r.source(), steps[i].get_object(), indexed(path, i)), spec);
    }
    return;
  }
  if (type != "TemplateProcessing") {
    fail_key(r.source(), r.key_path("type"),
             "is \"" + type +
                 "\"; supported post-processors are ByteLevel, TemplateProcessing and Sequence");
  }
  const json::array& single = r.require_array("single");
  const std::string single_path = r.key_path("single");
  const json::object* specials = nullptr;
  if (const json::value* v = r.find_set("special_tokens")) {
    if (!v->is_object()) {
      fail_key(r.source(), r.key_path("special_tokens"), "must be an object, got " + kind_name(*v));
    }
    specials = &v->get_object();
  }
  std::vector<TokenId> prefix, suffix;
  bool seen_sequence = false;
  for (std::size_t i = 0; i < single.size(); ++i) {
    const std::string path = indexed(single_path, i);
    if (!single[i].is_object()) {
      fail_key(r.source(), path, "must be an object, got " + kind_name(single[i]));
    }
    const Reader piece(r.source(), single[i].get_object(), path);
    if (piece.find("Sequence") != nullptr) {
      seen_sequence = true;
      continue;
    }
    const Reader special = sub_reader(piece, "SpecialToken", piece.require("SpecialToken"));
    const std::string name = special.require_string("id");
    const json::value* entry = nullptr;
    if (specials != nullptr) {
      if (const auto it = specials->find(name); it != specials->end()) entry = &it->value();
    }
    if (entry == nullptr) {
      fail_key(r.source(), r.key_path("special_tokens"),
               "has no entry for \"" + name + "\", which " + path + " uses");
    }
    const std::string entry_path = r.key_path("special_tokens") + "[\"" + name + "\"]";
    if (!entry->is_object()) {
      fail_key(r.source(), entry_path, "must be an object, got " + kind_name(*entry));
    }
    const Reader entry_reader(r.source(), entry->get_object(), entry_path);
    const json::array& ids = entry_reader.require_array("ids");
    for (std::size_t k = 0; k < ids.size(); ++k) {
      (seen_sequence ? suffix : prefix)
          .push_back(entry_reader.to_id(ids[k], indexed(entry_reader.key_path("ids"), k)));
    }
  }
  spec.template_prefix.insert(spec.template_prefix.begin(), prefix.begin(), prefix.end());
  spec.template_suffix.insert(spec.template_suffix.end(), suffix.begin(), suffix.end());
}

void read_decoder(const Reader& root) {
  const json::value* value = root.find_set("decoder");
  if (value == nullptr) fail_key(root.source(), "decoder", "is missing; ByteLevel is required");
  const Reader d = sub_reader(root, "decoder", *value);
  const std::string type = d.require_string("type");
  if (type != "ByteLevel") {
    fail_key(root.source(), d.key_path("type"),
             "is \"" + type + "\"; only the ByteLevel decoder is supported");
  }
}

std::optional<std::string> read_config_token(const Reader& r, std::string_view key) {
  const json::value* v = r.find_set(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_object()) return sub_reader(r, key, *v).require_string("content");
  fail_key(r.source(), r.key_path(key),
           "must be a string or an object with \"content\", got " + kind_name(*v));
}

}  // namespace

TokenizerSpec parse_tokenizer_json(std::string_view json_text, std::string_view source) {
  const json::value doc = parse_text(json_text, source);
  if (!doc.is_object()) fail(source, "must hold a JSON object, got " + kind_name(doc));
  const Reader root(source, doc.get_object(), "");

  TokenizerSpec spec;
  if (const json::value* normalizer = root.find_set("normalizer")) {
    std::string type = "?";
    if (normalizer->is_object()) {
      if (const auto it = normalizer->get_object().find("type");
          it != normalizer->get_object().end() && it->value().is_string()) {
        type = std::string(it->value().get_string());
      }
    }
    fail_key(source, "normalizer",
             "is \"" + type + "\"; only null (no normalizer, as byte-level BPE uses) is supported");
  }
  read_model(root, spec);
  read_added_tokens(root, spec);
  if (const json::value* pre = root.find_set("pre_tokenizer")) {
    read_pre_tokenizer(sub_reader(root, "pre_tokenizer", *pre), spec);
  }
  bool byte_level = false;
  for (const auto& step : spec.pre_tokenizer) {
    byte_level = byte_level || step.kind == PreTokenizerStep::Kind::kByteLevel;
  }
  if (!byte_level) {
    fail_key(source, "pre_tokenizer",
             "has no ByteLevel step; only byte-level BPE tokenizers are supported");
  }
  if (const json::value* post = root.find_set("post_processor")) {
    read_post_processor(sub_reader(root, "post_processor", *post), spec);
  }
  read_decoder(root);
  return spec;
}

void parse_tokenizer_config(std::string_view json_text, std::string_view source,
                            TokenizerSpec& spec) {
  const json::value doc = parse_text(json_text, source);
  if (!doc.is_object()) fail(source, "must hold a JSON object, got " + kind_name(doc));
  const Reader root(source, doc.get_object(), "");
  spec.bos_token = read_config_token(root, "bos_token");
  spec.eos_token = read_config_token(root, "eos_token");
}

}  // namespace mh::llama
