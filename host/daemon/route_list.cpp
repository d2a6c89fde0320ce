#include "daemon/route_list.hpp"

#include "http/admin_api.hpp"
#include "http/http_routes.hpp"
#include "http/route_table.hpp"

namespace mh::host {

std::string route_list_markdown() {
  return routes_markdown(describe(Router::routes())) + "\n" +
         routes_markdown(describe(AdminApi::routes()), "admin route");
}

}  // namespace mh::host
