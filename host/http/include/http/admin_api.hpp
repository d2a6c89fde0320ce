#pragma once
// The admin API of docs/admin-api.md (what hostctl speaks): GET /admin/status,
// POST /admin/reload, /admin/unload, /admin/sync. Served on the admin socket (and the optional
// token-guarded TCP admin listener) only; AdminApi::routes() is its route table.
#include "http/http_exchange.hpp"
#include "http/route_table.hpp"
#include "model/model_registry.hpp"

#include <modelhost/version.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>

namespace mh::host {

struct HostIdentity {
  std::string version = MODELHOST_VERSION;
  long pid = 0;
  std::string listen;  // the bound public address
  std::string models_dir;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

class AdminApi {
 public:
  AdminApi(std::shared_ptr<ModelRegistry> registry, HostIdentity identity);

  // The admin API's rows, in the order they are matched.
  static std::span<const Route<AdminApi>> routes();

  // The status document (also used in tests).
  std::string status_json() const;

 private:
  void status(RouteCall call);
  void reload(RouteCall call);
  void unload(RouteCall call);
  void sync(RouteCall call);

  std::shared_ptr<ModelRegistry> registry_;
  HostIdentity identity_;
};

}  // namespace mh::host
