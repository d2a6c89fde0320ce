// hostctl status [--json]: GET /admin/status as a table, or as hostd sent it.
#include <iostream>
#include <stdexcept>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "status_table.hpp"

namespace hostctl {

int run_status(AdminClient& client, const StatusOptions& options) {
  const HttpReply reply = client.get("/admin/status", std::chrono::seconds(30));
  if (!reply.ok()) throw OperationFailed("status failed: " + error_message(reply));
  if (options.json) {
    std::cout << reply.body;
    if (reply.body.empty() || reply.body.back() != '\n') std::cout << '\n';
    return kExitOk;
  }
  try {
    std::cout << format_status(parse_status_report(reply.body));
  } catch (const std::runtime_error& error) {
    throw OperationFailed(error.what());
  }
  return kExitOk;
}

}  // namespace hostctl
