#pragma once
// The admin API of .notes/ADMIN_API.md (what hostctl speaks): GET /admin/status,
// POST /admin/reload, /admin/unload, /admin/sync. Served on the admin socket (and the optional
// token-guarded TCP admin listener) only.
#include "config/host_config.hpp"
#include "http/http_exchange.hpp"
#include "model/model_registry.hpp"

#include <chrono>
#include <memory>

namespace mh::host {

struct HostIdentity {
  std::string version = "1.0.0";
  long pid = 0;
  std::string listen;  // the bound public address
  std::string models_dir;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

class AdminApi {
 public:
  AdminApi(std::shared_ptr<ModelRegistry> registry, HostIdentity identity);

  // Handles /admin/* (false when `request.path` is none of its routes).
  bool handle(const HttpRequest& request, const std::shared_ptr<Exchange>& exchange);

  // The status document (also used in tests).
  std::string status_json() const;

 private:
  void reload(const HttpRequest& request, const std::shared_ptr<Exchange>& exchange);
  void unload(const HttpRequest& request, const std::shared_ptr<Exchange>& exchange);
  void sync(const HttpRequest& request, const std::shared_ptr<Exchange>& exchange);

  std::shared_ptr<ModelRegistry> registry_;
  HostIdentity identity_;
};

}  // namespace mh::host
