#include "daemon/service_notifier.hpp"

#include <spdlog/spdlog.h>

#if MH_WITH_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace mh::host {

namespace {

void notify(const std::string& state) {
#if MH_WITH_SYSTEMD
  // 0 outside systemd (no $NOTIFY_SOCKET); a failure is worth a line, not a stop.
  const int sent = sd_notify(0, state.c_str());
  if (sent < 0) spdlog::warn("sd_notify: cannot tell the service manager: error {}", -sent);
#else
  (void)state;
#endif
}

// STATUS= takes one line.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  return text;
}

}  // namespace

void notify_ready(const std::string& status) {
  notify("READY=1\nSTATUS=" + one_line(status));
}

void notify_stopping(const std::string& status) {
  notify("STOPPING=1\nSTATUS=" + one_line(status));
}

bool service_notifications_built_in() {
  return MH_WITH_SYSTEMD != 0;
}

}  // namespace mh::host
