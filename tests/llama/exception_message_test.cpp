// What an exception may tell a client: libtorch's errors lose their backtrace, every message
// is one line, and the log keeps the whole text.
#include "exception_message.hpp"

#include <modelhost/plugin.hpp>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <doctest/doctest.h>

#include <limits>
#include <stdexcept>

namespace mh::llama {
namespace {

TEST_CASE("exception_message.no_backtrace_for_clients") {
  try {
    // A real libtorch error: multinomial refuses NaN probabilities.
    const at::Tensor probs = at::full({3}, std::numeric_limits<float>::quiet_NaN());
    (void)at::multinomial(probs, 1);
    FAIL("libtorch did not throw");
  } catch (const c10::Error& error) {
    const std::string full = log_message(error);
    const std::string client = client_message(error);
    CHECK(full.find("Exception raised from") != std::string::npos);  // what() has it
    CHECK(client.find("Exception raised from") == std::string::npos);
    CHECK(client.find("frame #") == std::string::npos);
    CHECK(client.find('\n') == std::string::npos);
    CHECK(client.find("probability tensor") != std::string::npos);
  }
  CHECK(client_message(std::runtime_error("first line\n  at somewhere.cpp:12")) == "first line");
  CHECK(client_message(mh::Error(MH_INTERNAL, "one line")) == "one line");
  CHECK(client_message(std::runtime_error("\n")) == "internal error (see the server log)");
}

}  // namespace
}  // namespace mh::llama
