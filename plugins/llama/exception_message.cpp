#include "exception_message.hpp"

#include <c10/util/Exception.h>

namespace mh::llama {

std::string client_message(const std::exception& error) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&error);
  std::string text = torch_error != nullptr ? torch_error->what_without_backtrace() : error.what();
  if (const size_t end = text.find('\n'); end != std::string::npos) text.resize(end);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.pop_back();
  if (text.empty()) text = "internal error (see the server log)";
  return text;
}

std::string log_message(const std::exception& error) {
  return error.what();
}

}  // namespace mh::llama
