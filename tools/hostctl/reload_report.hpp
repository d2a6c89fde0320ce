// POST /admin/reload's answer parsed into plain structs (docs/admin-api.md), and what
// `hostctl reload` prints for it: a table of changes on stdout, the scan's warnings (unknown
// model.json keys, ...) on stderr. Formatting never sees JSON.
#ifndef MODELHOST_HOSTCTL_RELOAD_REPORT_HPP
#define MODELHOST_HOSTCTL_RELOAD_REPORT_HPP

#include <string>
#include <string_view>
#include <vector>

namespace hostctl {

struct ReloadChange {
  std::string name;
  std::string action;  // added | changed | removed | unchanged | failed
  std::string state;
  std::string error;                  // empty when none
  std::vector<std::string> warnings;  // empty when none, or when hostd does not say
};

// Parses the reply body. Absent fields keep their defaults (an older hostd sends no
// "warnings"); a body without a "changes" array throws OperationFailed quoting it.
std::vector<ReloadChange> parse_reload_reply(std::string_view body);

struct ReloadOutput {
  std::string table;     // stdout: one aligned row per change (NAME ACTION STATE [ERROR])
  std::string warnings;  // stderr: "warning: NAME: TEXT", one line each
  bool failed = false;   // a change failed, or (with --wait) had not settled when the wait ended
};

// `waited`: the reload was asked with --wait, so every change should have settled.
ReloadOutput format_reload(const std::vector<ReloadChange>& changes, bool waited);

}  // namespace hostctl

#endif  // MODELHOST_HOSTCTL_RELOAD_REPORT_HPP
