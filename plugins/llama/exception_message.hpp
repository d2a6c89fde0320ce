// What an exception may tell a client. libtorch's c10::Error::what() carries a C++ backtrace
// ("Exception raised from multinomial_out at ./aten/src/...: frame #0 ...") with source paths
// and addresses: that text belongs in the log, never in a reply. Every place where the plugin
// turns an exception into a reply message goes through client_message(), and logs
// log_message() at error level.
#pragma once

#include <exception>
#include <string>

namespace mh::llama {

// One line: c10::Error's what_without_backtrace(), any other exception's what(), cut at the
// first newline (a backtrace or context never follows on the same line).
std::string client_message(const std::exception& error);

// Everything the exception says, backtrace included, for the log.
std::string log_message(const std::exception& error);

}  // namespace mh::llama
