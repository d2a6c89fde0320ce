#include "chat_format.hpp"

#include "model_config.hpp"

#include <boost/json.hpp>

#include <modelhost/plugin.hpp>

#include <string_view>

namespace mh::llama {

namespace {

std::string_view trim(std::string_view text) {
  // Jinja's trim strips Python whitespace; for UTF-8 text the ASCII set is what matters.
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

int64_t special(const Tokenizer& tokenizer, std::string_view name) {
  auto id = tokenizer.token_to_id(name);
  if (!id)
    throw mh::Error(MH_INVALID_ARGUMENT, "messages: the tokenizer has no " + std::string(name) +
                                             " token, so the Llama 3 chat format cannot be used");
  return *id;
}

void append_text(const Tokenizer& tokenizer, std::string_view text, std::vector<int64_t>& out) {
  EncodeOptions options;
  options.parse_special = false;
  for (TokenId id : tokenizer.encode(text, options)) out.push_back(id);
}

}  // namespace

std::vector<int64_t> format_llama3_chat(const Tokenizer& tokenizer,
                                        const std::vector<ChatMessage>& messages,
                                        bool add_generation_prompt) {
  const int64_t start_header = special(tokenizer, "<|start_header_id|>");
  const int64_t end_header = special(tokenizer, "<|end_header_id|>");
  const int64_t eot = special(tokenizer, "<|eot_id|>");
  std::vector<int64_t> ids;
  if (auto bos = tokenizer.bos_id()) ids.push_back(*bos);
  auto header = [&](std::string_view role) {
    ids.push_back(start_header);
    append_text(tokenizer, role, ids);
    ids.push_back(end_header);
  };
  for (const ChatMessage& message : messages) {
    header(message.role);
    append_text(tokenizer, "\n\n" + std::string(trim(message.content)), ids);
    ids.push_back(eot);
  }
  if (add_generation_prompt) {
    header("assistant");
    append_text(tokenizer, "\n\n", ids);
  }
  return ids;
}

bool declares_chat_template(std::string_view tokenizer_config_json) {
  boost::system::error_code ec;
  const boost::json::value config = boost::json::parse(tokenizer_config_json, ec);
  if (ec || !config.is_object()) return false;
  const boost::json::value* tmpl = config.as_object().if_contains("chat_template");
  if (tmpl == nullptr) return false;
  if (tmpl->is_string()) return !tmpl->as_string().empty();
  return tmpl->is_array() && !tmpl->as_array().empty();
}

bool is_llama3_chat_model(const Tokenizer& tokenizer, const std::filesystem::path& model_dir) {
  const std::filesystem::path config = model_dir / "tokenizer_config.json";
  if (!std::filesystem::exists(config) || !declares_chat_template(read_text_file(config)))
    return false;
  for (std::string_view name : {"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"})
    if (!tokenizer.token_to_id(name)) return false;
  return true;
}

}  // namespace mh::llama
