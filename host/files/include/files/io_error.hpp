#pragma once
// How an I/O failure is classified, so that a caller can decide whether another try can help.
// The files component throws IoError; sync (and anything else that retries) reads its kind.
#include <stdexcept>
#include <string>

namespace mh::files {

enum class ErrorKind {
  transient,  // worth another try after a pause: connection refused, timeout, 5xx, short read
  permanent,  // another try cannot help: 403, 404, a refused key, a full disk
  cancelled,  // the caller's stop_token asked the work to stop
};

class IoError : public std::runtime_error {
 public:
  IoError(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}

  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

inline IoError transient_error(const std::string& message) {
  return {ErrorKind::transient, message};
}
inline IoError permanent_error(const std::string& message) {
  return {ErrorKind::permanent, message};
}
inline IoError cancelled_error() {
  return {ErrorKind::cancelled, "cancelled"};
}

}  // namespace mh::files
