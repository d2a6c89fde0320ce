// The one exception type of the sync library, and what the caller should do about it.
#pragma once

#include <stdexcept>
#include <string>

namespace mh::sync {

enum class ErrorKind {
  transient,  // worth another try after a pause: connection refused, timeout, 5xx, short read
  permanent,  // another try cannot help: 403, 404, a refused key, a full disk
  cancelled,  // the caller's stop_token asked the sync to stop
};

class SyncError : public std::runtime_error {
 public:
  SyncError(ErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}

  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

inline SyncError transient_error(const std::string& message) {
  return {ErrorKind::transient, message};
}
inline SyncError permanent_error(const std::string& message) {
  return {ErrorKind::permanent, message};
}
inline SyncError cancelled_error() {
  return {ErrorKind::cancelled, "cancelled"};
}

}  // namespace mh::sync
