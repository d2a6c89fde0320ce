// The Llama 3 tokenizer against Hugging Face `tokenizers` 0.23 on the real Llama 3
// tokenizer.json: every fixture case's ids and decoded text exactly, streaming decode,
// special tokens, lookups, malformed files, concurrency and long inputs.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tokenizer/oniguruma_pattern.hpp"
#include "tokenizer/stream_decoder.hpp"
#include "tokenizer/tokenizer.hpp"

namespace json = boost::json;
using mh::llama::EncodeOptions;
using mh::llama::StreamDecoder;
using mh::llama::TokenId;
using mh::llama::Tokenizer;
using mh::llama::TokenizerError;

namespace {

const Tokenizer& llama3() {
  static const Tokenizer tokenizer = Tokenizer::from_directory(MH_LLAMA3_TOKENIZER_DIR);
  return tokenizer;
}

struct Case {
  std::size_t line = 0;
  std::string text;
  std::vector<TokenId> ids;
  std::vector<TokenId> ids_with_special;
  std::string decoded;
};

std::vector<TokenId> to_ids(const json::value& v) {
  std::vector<TokenId> ids;
  for (const auto& id : v.as_array()) ids.push_back(static_cast<TokenId>(id.to_number<int>()));
  return ids;
}

std::vector<Case> load_cases(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::vector<Case> cases;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const json::object o = json::parse(line).as_object();
    Case c;
    c.line = number;
    c.text = std::string(o.at("text").as_string());
    c.ids = to_ids(o.at("ids"));
    c.ids_with_special = to_ids(o.at("ids_with_special"));
    c.decoded = std::string(o.at("decoded").as_string());
    cases.push_back(std::move(c));
  }
  return cases;
}

const std::vector<Case>& fixture_cases() {
  static const std::vector<Case> cases =
      load_cases(std::string(MH_TOKENIZER_FIXTURES) + "/llama3_cases.jsonl");
  return cases;
}

// The text as a JSON string: control characters and invisible spaces stay readable.
std::string as_json(std::string_view s) {
  return json::serialize(json::string(s));
}

std::string ids_text(const std::vector<TokenId>& ids) {
  std::string out = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
  return out + "]";
}

// Strict UTF-8 check written independently of the library's.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int n = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      n = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

// The token that stands for one byte.
TokenId byte_token(const Tokenizer& tokenizer, unsigned char b) {
  for (TokenId id = 0; id < static_cast<TokenId>(tokenizer.vocab_size()); ++id) {
    if (tokenizer.token_bytes(id) == std::string(1, static_cast<char>(b))) return id;
  }
  FAIL("no token for byte " << int(b));
  return -1;
}

// Feeds ids one at a time; fails the test on any piece that is not valid UTF-8.
std::string stream_decode(const Tokenizer& tokenizer, const std::vector<TokenId>& ids,
                          bool skip_special, std::size_t* held_back = nullptr) {
  StreamDecoder decoder(tokenizer, skip_special);
  std::string text;
  for (TokenId id : ids) {
    const std::string piece = decoder.push(id);
    CHECK_MESSAGE(valid_utf8(piece), "piece " << as_json(piece) << " after id " << id);
    if (held_back && decoder.has_pending()) ++*held_back;
    text += piece;
  }
  const std::string tail = decoder.finish();
  CHECK(valid_utf8(tail));
  CHECK_FALSE(decoder.has_pending());
  return text + tail;
}

}  // namespace

TEST_CASE("fixture: 400 texts encode and decode exactly as Hugging Face does") {
  const Tokenizer& tokenizer = llama3();
  const auto& cases = fixture_cases();
  REQUIRE(cases.size() == 400);
  std::size_t passed = 0;
  for (const Case& c : cases) {
    bool ok = true;
    const auto ids = tokenizer.encode(c.text);
    if (ids != c.ids) {
      ok = false;
      FAIL_CHECK("line " << c.line << " ids differ for " << as_json(c.text) << "\n  expected "
                         << ids_text(c.ids) << "\n  got      " << ids_text(ids));
    }
    const auto with_special = tokenizer.encode(c.text, {.add_special_tokens = true});
    if (with_special != c.ids_with_special) {
      ok = false;
      FAIL_CHECK("line " << c.line << " ids_with_special differ for " << as_json(c.text)
                         << "\n  expected " << ids_text(c.ids_with_special) << "\n  got      "
                         << ids_text(with_special));
    }
    // The fixture's `decoded` is tokenizers' Tokenizer.decode(ids), whose default skips special
    // tokens ("<|begin_of_text|> not special by default" decodes to " not special by default").
    const std::string decoded = tokenizer.decode(c.ids, /*skip_special_tokens=*/true);
    if (decoded != c.decoded) {
      ok = false;
      FAIL_CHECK("line " << c.line << " decode differs for " << as_json(c.text) << "\n  expected "
                         << as_json(c.decoded) << "\n  got      " << as_json(decoded));
    }
    // Byte-level BPE is lossless: keeping special tokens gives the text back.
    const std::string kept = tokenizer.decode(c.ids);
    if (kept != c.text) {
      ok = false;
      FAIL_CHECK("line " << c.line << " decode keeping special tokens differs: expected "
                         << as_json(c.text) << ", got " << as_json(kept));
    }
    passed += ok ? 1 : 0;
  }
  MESSAGE(passed << " of " << cases.size() << " fixture cases pass");
  CHECK(passed == cases.size());
}

TEST_CASE("edge cases: Unicode classes, whitespace, contractions, special look-alikes") {
  // Made by make_llama3_edge_cases.py with tokenizers 0.23.2 on the same tokenizer.json.
  const Tokenizer& tokenizer = llama3();
  std::ifstream in(std::string(MH_TOKENIZER_FIXTURES) + "/llama3_edge_cases.jsonl");
  REQUIRE(in.good());
  std::string line;
  std::size_t number = 0, texts = 0, decodes = 0, failed = 0;
  while (std::getline(in, line)) {
    ++number;
    const json::object o = json::parse(line).as_object();
    const std::string decoded(o.at("decoded").as_string());
    const std::string decoded_keep(o.at("decoded_keep").as_string());
    bool ok = true;
    auto expect_ids = [&](const std::string& what, const std::vector<TokenId>& got,
                          const json::value& want, const std::string& text) {
      if (got == to_ids(want)) return;
      ok = false;
      FAIL_CHECK("line " << number << " " << what << " differ for " << as_json(text)
                         << "\n  expected " << ids_text(to_ids(want)) << "\n  got      "
                         << ids_text(got));
    };
    auto expect_text = [&](const std::string& what, const std::string& got,
                           const std::string& want) {
      if (got == want) return;
      ok = false;
      FAIL_CHECK("line " << number << " " << what << ": expected " << as_json(want) << ", got "
                         << as_json(got));
    };
    std::vector<TokenId> ids;
    if (const auto* text_value = o.if_contains("text")) {
      ++texts;
      const std::string text(text_value->as_string());
      ids = tokenizer.encode(text);
      expect_ids("ids", ids, o.at("ids"), text);
      expect_ids("ids_with_special", tokenizer.encode(text, {.add_special_tokens = true}),
                 o.at("ids_with_special"), text);
      expect_ids("ids_split_special", tokenizer.encode(text, {.parse_special = false}),
                 o.at("ids_split_special"), text);
      ids = to_ids(o.at("ids"));
    } else {
      ++decodes;
      ids = to_ids(o.at("decode_ids"));
    }
    expect_text("decode", tokenizer.decode(ids, true), decoded);
    expect_text("decode keeping special tokens", tokenizer.decode(ids), decoded_keep);
    expect_text("stream decode", stream_decode(tokenizer, ids, true), decoded);
    expect_text("stream decode keeping special tokens", stream_decode(tokenizer, ids, false),
                decoded_keep);
    failed += ok ? 0 : 1;
  }
  MESSAGE(texts << " texts and " << decodes << " id sequences, " << failed << " failed");
  CHECK(texts > 1000);
  CHECK(decodes > 100);
}

TEST_CASE("stream decoding reproduces decode and never splits a UTF-8 character") {
  const Tokenizer& tokenizer = llama3();
  std::size_t held_back = 0;
  for (const Case& c : fixture_cases()) {
    INFO("line " << c.line << " text " << as_json(c.text));
    CHECK(stream_decode(tokenizer, c.ids, true, &held_back) == c.decoded);
    CHECK(stream_decode(tokenizer, c.ids, false) == c.text);
  }
  // The fixture has characters spread over several tokens, so holding back was exercised.
  CHECK(held_back > 0);

  SUBCASE("a character split over tokens comes out whole, once complete") {
    // "🎉" is F0 9F 8E 89; spell it with single-byte tokens.
    const std::string party = "\xF0\x9F\x8E\x89";
    std::vector<TokenId> ids;
    for (unsigned char b : party) ids.push_back(byte_token(tokenizer, b));
    StreamDecoder decoder(tokenizer);
    CHECK(decoder.push(ids[0]) == "");
    CHECK(decoder.push(ids[1]) == "");
    CHECK(decoder.push(ids[2]) == "");
    CHECK(decoder.has_pending());
    CHECK(decoder.push(ids[3]) == party);
    CHECK_FALSE(decoder.has_pending());
    CHECK(decoder.finish() == "");
  }
}

TEST_CASE("invalid byte sequences decode to U+FFFD as Hugging Face does") {
  const Tokenizer& tokenizer = llama3();
  const TokenId f0 = byte_token(tokenizer, 0xF0), x9f = byte_token(tokenizer, 0x9F),
                a = byte_token(tokenizer, 'a');
  const std::string fffd = "\xEF\xBF\xBD";
  // A truncated sequence followed by ASCII: one U+FFFD for the maximal invalid prefix.
  CHECK(tokenizer.decode(std::vector<TokenId>{f0, x9f, a}) == fffd + "a");
  CHECK(stream_decode(tokenizer, {f0, x9f, a}, false) == fffd + "a");
  // A lone continuation byte.
  CHECK(tokenizer.decode(std::vector<TokenId>{x9f, a, x9f}) == fffd + "a" + fffd);
  CHECK(stream_decode(tokenizer, {x9f, a, x9f}, false) == fffd + "a" + fffd);
  // Unfinished at the end of the stream: finish() flushes it as one U+FFFD.
  StreamDecoder decoder(tokenizer);
  CHECK(decoder.push(f0) == "");
  CHECK(decoder.push(x9f) == "");
  CHECK(decoder.finish() == fffd);
  CHECK(tokenizer.decode(std::vector<TokenId>{f0, x9f}) == fffd);
}

TEST_CASE("special tokens") {
  const Tokenizer& tokenizer = llama3();
  const TokenId begin = 128000, end = 128001, eot = 128009;
  CHECK(tokenizer.token_to_id("<|begin_of_text|>") == begin);
  CHECK(tokenizer.token_to_id("<|eot_id|>") == eot);
  CHECK(tokenizer.is_special(begin));
  CHECK(tokenizer.is_special(eot));
  CHECK_FALSE(tokenizer.is_special(9906));
  CHECK(tokenizer.bos_id() == begin);
  CHECK(tokenizer.eos_id() == end);

  const std::string chat =
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>";
  const auto ids = tokenizer.encode(chat);
  REQUIRE(ids.size() >= 6);
  CHECK(ids.front() == begin);
  CHECK(ids[1] == *tokenizer.token_to_id("<|start_header_id|>"));
  CHECK(ids.back() == eot);
  CHECK(tokenizer.decode(ids) == chat);
  CHECK(tokenizer.decode(ids, true) == "user\n\nHi!");

  SUBCASE("with special handling off, their text is ordinary text") {
    const auto plain = tokenizer.encode(chat, {.parse_special = false});
    for (TokenId id : plain) CHECK_FALSE(tokenizer.is_special(id));
    CHECK(tokenizer.decode(plain) == chat);
    CHECK(tokenizer.encode("<|eot_id|>", {.parse_special = false}) != std::vector<TokenId>{eot});
  }
  SUBCASE("add_bos prepends BOS once") {
    const auto hi = tokenizer.encode("Hello");
    const auto with_bos = tokenizer.encode("Hello", {.add_bos = true});
    REQUIRE(with_bos.size() == hi.size() + 1);
    CHECK(with_bos.front() == begin);
    CHECK(tokenizer.encode("<|begin_of_text|>Hello", {.add_bos = true}) == with_bos);
  }
  SUBCASE("longest match wins and text around special tokens is split there") {
    CHECK(tokenizer.encode("a<|eot_id|>b") ==
          std::vector<TokenId>{*tokenizer.token_to_id("a"), eot, *tokenizer.token_to_id("b")});
    // Not an added token: a near miss is ordinary text.
    const auto near = tokenizer.encode("<|eot_id|");
    for (TokenId id : near) CHECK_FALSE(tokenizer.is_special(id));
  }
}

TEST_CASE("lookups") {
  const Tokenizer& tokenizer = llama3();
  CHECK(tokenizer.vocab_size() == 128256);
  CHECK(tokenizer.encode("").empty());
  CHECK(tokenizer.decode(std::vector<TokenId>{}).empty());
  CHECK(tokenizer.token_to_id("Hello") == 9906);
  CHECK(tokenizer.id_to_token(9906) == "Hello");
  const auto the = tokenizer.token_to_id("\xC4\xA0the");  // "Ġthe"
  REQUIRE(the.has_value());
  CHECK(tokenizer.token_bytes(*the) == " the");
  CHECK(tokenizer.id_to_token(128009) == "<|eot_id|>");
  CHECK(tokenizer.token_bytes(128009) == "<|eot_id|>");
  CHECK_FALSE(tokenizer.id_to_token(-1).has_value());
  CHECK_FALSE(tokenizer.id_to_token(128256).has_value());
  CHECK_FALSE(tokenizer.contains(200000));
  CHECK(tokenizer.contains(128255));
  CHECK_FALSE(tokenizer.token_to_id("no such token anywhere").has_value());
  // Unknown ids are skipped when decoding, as tokenizers does.
  CHECK(tokenizer.decode(std::vector<TokenId>{9906, 999999, -5}) == "Hello");
}

TEST_CASE("text that is not UTF-8 is refused") {
  CHECK_THROWS_AS(llama3().encode("abc\xFF"), std::invalid_argument);
  CHECK_THROWS_WITH(llama3().encode("ab\xC3"), doctest::Contains("byte 2"));
}

TEST_CASE("concurrent encoding gives the same ids as serial encoding") {
  const Tokenizer& tokenizer = Tokenizer::from_directory(MH_LLAMA3_TOKENIZER_DIR);
  const auto& cases = fixture_cases();
  std::vector<std::vector<std::vector<TokenId>>> results(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (const Case& c : cases) results[t].push_back(tokenizer.encode(c.text));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) {
    REQUIRE(result.size() == cases.size() * 3);
    for (std::size_t i = 0; i < result.size(); ++i) {
      CHECK_MESSAGE(result[i] == cases[i % cases.size()].ids,
                    as_json(cases[i % cases.size()].text));
    }
  }
}

TEST_CASE("long inputs tokenize quickly and round-trip") {
  const Tokenizer& tokenizer = llama3();
  // A prompt of a few thousand tokens: all fixture texts together.
  std::string prompt;
  for (const Case& c : fixture_cases()) prompt += c.text + "\n";
  auto start = std::chrono::steady_clock::now();
  const auto ids = tokenizer.encode(prompt);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  MESSAGE(ids.size() << " tokens (" << prompt.size() << " bytes) in " << ms << " ms");
  CHECK(ids.size() > 3000);
  CHECK(tokenizer.decode(ids) == prompt);

  // Degenerate runs: deep backtracking in the regex, one huge BPE word.
  for (const std::string& text : {std::string(200000, ' '), std::string(200000, 'a'),
                                  std::string(50000, '\n') + "x", std::string(100000, '7')}) {
    const auto long_ids = tokenizer.encode(text);
    CHECK(!long_ids.empty());
    CHECK(tokenizer.decode(long_ids) == text);
  }
}

// A small byte-level tokenizer.json for behaviour the real file does not show.
namespace {

std::string byte_char(unsigned char b) {
  // GPT-2's map: printable bytes stand for themselves, the rest are shifted past U+00FF.
  auto printable = [](unsigned x) {
    return (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
  };
  unsigned cp = b;
  if (!printable(b)) {
    unsigned n = 0;
    for (unsigned x = 0; x < b; ++x) n += printable(x) ? 0 : 1;
    cp = 256 + n;
  }
  std::string out;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return out;
}

json::object small_tokenizer(bool ignore_merges) {
  json::object vocab;
  for (unsigned b = 0; b < 256; ++b) vocab[byte_char(static_cast<unsigned char>(b))] = b;
  vocab["bc"] = 256;
  vocab["ab"] = 257;
  vocab["abc"] = 258;
  json::array merges = {"b c", json::array{"a", "b"}};
  json::object model = {{"type", "BPE"},      {"vocab", vocab},
                        {"merges", merges},   {"ignore_merges", ignore_merges},
                        {"dropout", nullptr}, {"unk_token", nullptr}};
  json::array added = {
      json::object{{"id", 259},
                   {"content", "<s>"},
                   {"special", true},
                   {"single_word", false},
                   {"lstrip", false},
                   {"rstrip", false},
                   {"normalized", false}},
      json::object{{"id", 260}, {"content", "<s>x"}, {"special", false}, {"normalized", false}}};
  json::object pre = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array{json::object{{"type", "Split"},
                                {"pattern", {{"Regex", R"(\p{L}+|\s+|[^\s\p{L}]+)"}}},
                                {"behavior", "Isolated"},
                                {"invert", false}},
                   json::object{
                       {"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  json::object post = {
      {"type", "TemplateProcessing"},
      {"single", json::array{json::object{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                             json::object{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", json::array{259}}}}}}};
  return {{"version", "1.0"},
          {"normalizer", nullptr},
          {"added_tokens", added},
          {"model", model},
          {"pre_tokenizer", pre},
          {"post_processor", post},
          {"decoder", {{"type", "ByteLevel"}}}};
}

Tokenizer build(const json::object& doc, std::string_view config = {}) {
  const std::string text = json::serialize(doc);
  return Tokenizer::from_json(text, config);
}

std::string error_of(const json::object& doc, std::string_view config = {}) {
  try {
    build(doc, config);
  } catch (const TokenizerError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("ignore_merges: a piece that is itself in the vocabulary is one token") {
  // Merges alone give "a" + "bc" (b c ranks first); ignore_merges takes "abc" whole.
  CHECK(build(small_tokenizer(false)).encode("abc") == std::vector<TokenId>{'a', 256});
  CHECK(build(small_tokenizer(true)).encode("abc") == std::vector<TokenId>{258});
  CHECK(build(small_tokenizer(true)).encode("abcab") == std::vector<TokenId>{'a', 256, 257});
}

TEST_CASE("added tokens: leftmost-longest, template post-processor, BOS fallback") {
  const Tokenizer tokenizer = build(small_tokenizer(false));
  // "<s>x" is longer than "<s>" and starts at the same place.
  CHECK(tokenizer.encode("<s>xy") == std::vector<TokenId>{260, 'y'});
  CHECK(tokenizer.encode("a<s>") == std::vector<TokenId>{'a', 259});
  // The special one is text when special handling is off; the non-special one still matches.
  CHECK(tokenizer.encode("<s>", {.parse_special = false}) == std::vector<TokenId>{'<', 's', '>'});
  CHECK(tokenizer.encode("<s>x", {.parse_special = false}) == std::vector<TokenId>{260});
  CHECK(tokenizer.encode("ab", {.add_special_tokens = true}) == std::vector<TokenId>{259, 257});
  // No tokenizer_config.json: the template's single prefix token is the BOS.
  CHECK(tokenizer.bos_id() == 259);
  CHECK_FALSE(tokenizer.eos_id().has_value());
  CHECK(tokenizer.encode("ab", {.add_bos = true}) == std::vector<TokenId>{259, 257});

  const Tokenizer configured =
      build(small_tokenizer(false), R"({"bos_token": {"content": "<s>"}, "eos_token": "c"})");
  CHECK(configured.bos_id() == 259);
  CHECK(configured.eos_id() == 'c');
}

TEST_CASE("malformed tokenizer files are refused with the file and key named") {
  CHECK_THROWS_WITH(Tokenizer::from_json("{\"model\": ", {}, "/m/tokenizer.json"),
                    doctest::Contains("/m/tokenizer.json: not valid JSON"));
  CHECK_THROWS_WITH(Tokenizer::from_directory("/nonexistent-dir"),
                    doctest::Contains("/nonexistent-dir/tokenizer.json: cannot be read"));

  json::object doc = small_tokenizer(false);
  doc.erase("model");
  CHECK(error_of(doc) == "tokenizer.json: \"model\" is missing");

  doc = small_tokenizer(false);
  doc["model"].as_object()["merges"].as_array().push_back(42);
  CHECK(error_of(doc) ==
        "tokenizer.json: \"model.merges[2]\" must be a string \"left right\" or a pair "
        "[\"left\", \"right\"], got a number");

  doc = small_tokenizer(false);
  doc["model"].as_object()["merges"].as_array().push_back("a b c");
  CHECK(error_of(doc).find("\"model.merges[2]\" must be \"left right\"") != std::string::npos);

  doc = small_tokenizer(false);
  doc["model"].as_object()["merges"].as_array().push_back("x zz");
  CHECK(error_of(doc) ==
        "tokenizer.json: \"model.merges[2]\" uses \"zz\", which is not in \"model.vocab\"");

  doc = small_tokenizer(false);
  doc["model"].as_object()["vocab"].as_object()["q"] = "seven";
  CHECK(error_of(doc).find("\"model.vocab[\"q\"]\" must be a token id") != std::string::npos);

  doc = small_tokenizer(false);
  doc["model"].as_object()["type"] = "WordPiece";
  CHECK(error_of(doc).find("\"model.type\" is \"WordPiece\"") != std::string::npos);

  doc = small_tokenizer(false);
  doc["normalizer"] = json::object{{"type", "NFC"}};
  CHECK(error_of(doc).find("\"normalizer\" is \"NFC\"") != std::string::npos);

  doc = small_tokenizer(false);
  doc["pre_tokenizer"].as_object()["pretokenizers"].as_array()[0].as_object()["pattern"] =
      json::object{{"Regex", "(unclosed"}};
  CHECK(error_of(doc).find("pre_tokenizer step 0 (Split) pattern does not compile") !=
        std::string::npos);

  doc = small_tokenizer(false);
  doc["added_tokens"].as_array()[0].as_object()["content"] = 5;
  CHECK(error_of(doc) ==
        "tokenizer.json: \"added_tokens[0].content\" must be a string, got a "
        "number");

  doc = small_tokenizer(false);
  doc["decoder"] = json::object{{"type", "WordPiece"}};
  CHECK(error_of(doc).find("\"decoder.type\" is \"WordPiece\"") != std::string::npos);

  CHECK(error_of(small_tokenizer(false), R"({"bos_token": "<nope>"})") ==
        "tokenizer_config.json: \"bos_token\" \"<nope>\" is not a token of tokenizer.json");
  CHECK(error_of(small_tokenizer(false), R"({"eos_token": 3})")
            .find("tokenizer_config.json: \"eos_token\" must be a string or an object") !=
        std::string::npos);
}

TEST_CASE("Oniguruma classes are rewritten for PCRE2, brackets and quoting respected") {
  using mh::llama::translate_oniguruma_pattern;
  const std::string s = translate_oniguruma_pattern(R"(\s)");
  CHECK(s.front() == '[');
  CHECK(s.find("\\x{2000}-\\x{200A}") != std::string::npos);
  CHECK(s.find("180E") == std::string::npos);
  CHECK(translate_oniguruma_pattern(R"(\S)").rfind("[^", 0) == 0);
  // Inside brackets the items join the class; a complement there stays as written.
  const std::string in_class = translate_oniguruma_pattern(R"([^\s\p{L}\P{N}])");
  CHECK(in_class.rfind("[^\\t-\\r ", 0) == 0);
  CHECK(in_class.find("\\p{L}\\x{1C89}") != std::string::npos);
  CHECK(in_class.find("\\P{N}]") != std::string::npos);
  CHECK(translate_oniguruma_pattern(R"(\pN+)").rfind("[\\p{N}\\x{10D40}", 0) == 0);
  CHECK(translate_oniguruma_pattern(R"(\p{^L})").rfind("[^\\p{L}", 0) == 0);
  // Untouched: other properties, escaped backslashes, quoted text, POSIX classes, a leading ].
  CHECK(translate_oniguruma_pattern(R"(\p{Lu}\\s\Q\s\E[]a][[:alpha:]])") ==
        R"(\p{Lu}\\s\Q\s\E[]a][[:alpha:]])");
}
