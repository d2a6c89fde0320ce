// Which HTTP redirects a download may follow. A redirect chooses where the bytes of a model file
// come from, so it must not take a transfer anywhere the operator did not name: never from https
// down to http, to another host only when that host is allowed, and only a few hops in all.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mh::sync {

struct RedirectPolicy {
  int max_redirects = 0;  // hops in one request; 0: a redirect is an error
  // Hosts a redirect may lead to besides the request's own host (a CDN, say): exact names,
  // case-insensitive, or "*.example.org" for any name below example.org. Ports do not matter.
  std::vector<std::string> allowed_hosts;
};

// Empty when `policy` allows following a redirect from the URL `from` to the absolute URL `to`;
// otherwise why not, naming the target's scheme or host (never its path or query), e.g.
// `redirect to another host "cdn.example.org" refused (not in the allowed redirect hosts)`.
std::string redirect_refusal(std::string_view from, std::string_view to,
                             const RedirectPolicy& policy);

}  // namespace mh::sync
