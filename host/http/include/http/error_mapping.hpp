#pragma once
// The one table from plugin status codes to HTTP statuses, and the JSON error shape every
// error reply uses: {"error": {"code": <HTTP status>, "message": "...", "type": "..."}}.
#include <modelhost/plugin.h>

#include <string>
#include <string_view>

namespace mh::host {

struct HttpStatusFor {
  unsigned status;
  std::string_view type;  // the error "type", in OpenAI's vocabulary where it has one
};

// MH_OK -> 200, MH_INVALID_ARGUMENT -> 400, ... (see error_mapping.cpp); unknown codes -> 500.
HttpStatusFor http_status_for(mh_status status);

// The error "type" for an HTTP status the host answers by itself (413, 415, 429, 503 ...).
std::string_view error_type_for(unsigned http_status);

// {"error": {"code": status, "message": message, "type": error_type_for(status)}}
std::string error_json(unsigned http_status, std::string_view message);

// The name of a status code, e.g. "MH_DEADLINE_EXCEEDED".
std::string_view status_name(mh_status status);

}  // namespace mh::host
