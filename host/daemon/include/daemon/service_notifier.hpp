#pragma once
// Tells the service manager how hostd is doing (systemd's Type=notify, through libsystemd's
// sd_notify): READY=1 once the listeners are open and the first scan of the models directory
// has started, STOPPING=1 when a signal starts the drain. Outside systemd ($NOTIFY_SOCKET
// unset), and in a build without libsystemd, every call does nothing.
#include <string>

namespace mh::host {

// `status`: one line that `systemctl status` shows (e.g. "listening on http://127.0.0.1:8080").
void notify_ready(const std::string& status);
void notify_stopping(const std::string& status);

// Whether this hostd was built with libsystemd (and so can notify at all).
bool service_notifications_built_in();

}  // namespace mh::host
