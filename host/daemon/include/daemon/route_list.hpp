#pragma once
// hostd --print-routes: the route tables of the public API and of the admin API as Markdown,
// straight from the tables the listeners dispatch with (README.md's "### Routes" section is
// checked against this output by the test docs.readme_routes).
#include <string>

namespace mh::host {

// The public API's table, a blank line, the admin API's table.
std::string route_list_markdown();

}  // namespace mh::host
