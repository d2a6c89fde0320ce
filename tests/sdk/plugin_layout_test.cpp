// Pins the ABI 1.0 layout of every struct that crosses the plugin boundary (x86-64 / aarch64
// LP64). Members may only be appended: if one of these fails, the change broke old plugins.
#include <doctest/doctest.h>
#include <modelhost/plugin.h>

#include <cstddef>
#include <string_view>
#include <type_traits>

static_assert(std::is_standard_layout_v<mh_plugin> && std::is_trivial_v<mh_plugin>);

static_assert(offsetof(mh_plugin, struct_size) == 0);
static_assert(offsetof(mh_plugin, abi_version) == 4);
static_assert(offsetof(mh_plugin, name) == 8);
static_assert(offsetof(mh_plugin, version) == 16);
static_assert(offsetof(mh_plugin, description) == 24);
static_assert(offsetof(mh_plugin, init) == 32);
static_assert(offsetof(mh_plugin, predict) == 40);
static_assert(offsetof(mh_plugin, cleanup) == 48);
static_assert(offsetof(mh_plugin, get_extension) == 56);
static_assert(sizeof(mh_plugin) == 64);

static_assert(offsetof(mh_host, struct_size) == 0);
static_assert(offsetof(mh_host, abi_version) == 4);
static_assert(offsetof(mh_host, log) == 8);
static_assert(offsetof(mh_host, get_extension) == 16);
static_assert(offsetof(mh_host, host_data) == 24);
static_assert(sizeof(mh_host) == 32);

static_assert(offsetof(mh_model_meta, struct_size) == 0);
static_assert(offsetof(mh_model_meta, name) == 8);
static_assert(offsetof(mh_model_meta, files_dir) == 16);
static_assert(offsetof(mh_model_meta, manifest_dir) == 24);
static_assert(offsetof(mh_model_meta, config_json) == 32);
static_assert(offsetof(mh_model_meta, config_json_size) == 40);
static_assert(offsetof(mh_model_meta, generation) == 48);
static_assert(sizeof(mh_model_meta) == 56);

static_assert(offsetof(mh_request, struct_size) == 0);
static_assert(offsetof(mh_request, id) == 8);
static_assert(offsetof(mh_request, route) == 16);
static_assert(offsetof(mh_request, body) == 24);
static_assert(offsetof(mh_request, body_size) == 32);
static_assert(offsetof(mh_request, stream) == 40);
static_assert(offsetof(mh_request, reserved0) == 44);
static_assert(offsetof(mh_request, deadline_unix_ms) == 48);
static_assert(sizeof(mh_request) == 56);

static_assert(offsetof(mh_response, struct_size) == 0);
static_assert(offsetof(mh_response, write) == 8);
static_assert(offsetof(mh_response, finish) == 16);
static_assert(offsetof(mh_response, check_cancelled) == 24);
static_assert(offsetof(mh_response, host_data) == 32);
static_assert(sizeof(mh_response) == 40);

// Extension tables (plugin.h, "Plugin extensions").
static_assert(std::is_standard_layout_v<mh_plugin_stats> && std::is_trivial_v<mh_plugin_stats>);
static_assert(offsetof(mh_plugin_stats, struct_size) == 0);
static_assert(offsetof(mh_plugin_stats, read) == 8);
static_assert(sizeof(mh_plugin_stats) == 16);

TEST_CASE("ABI version macros pack and unpack major and minor") {
  CHECK(MH_ABI_MAKE_VERSION(1, 0) == 0x10000u);
  CHECK(MH_ABI_MAJOR_OF(MH_ABI_MAKE_VERSION(3, 7)) == 3u);
  CHECK(MH_ABI_MINOR_OF(MH_ABI_MAKE_VERSION(3, 7)) == 7u);
  CHECK(MH_ABI_MAJOR_OF(MH_ABI_VERSION) == MH_ABI_VERSION_MAJOR);
}

TEST_CASE("route names and extension ids are stable strings") {
  CHECK(std::string_view(MH_ROUTE_PREDICT) == "predict");
  CHECK(std::string_view(MH_ROUTE_CHAT_COMPLETIONS) == "chat.completions");
  CHECK(std::string_view(MH_ROUTE_COMPLETIONS) == "completions");
  CHECK(std::string_view(MH_ROUTE_TOKENIZE) == "tokenize");
  CHECK(std::string_view(MH_ROUTE_DETOKENIZE) == "detokenize");
  CHECK(std::string_view(MH_PLUGIN_STATS_EXTENSION) == "mh.plugin.stats/1");
}

TEST_CASE("status codes are stable numbers") {
  CHECK(MH_OK == 0);
  CHECK(MH_INVALID_ARGUMENT == 1);
  CHECK(MH_NOT_FOUND == 2);
  CHECK(MH_UNAVAILABLE == 3);
  CHECK(MH_RESOURCE_EXHAUSTED == 4);
  CHECK(MH_DEADLINE_EXCEEDED == 5);
  CHECK(MH_CANCELLED == 6);
  CHECK(MH_INTERNAL == 7);
  CHECK(MH_UNIMPLEMENTED == 8);
  CHECK(MH_FAILED_PRECONDITION == 9);
  CHECK(MH_PERMISSION_DENIED == 10);
}

TEST_CASE("MH_HAS_FIELD respects the struct_size the other side filled in") {
  mh_request request{};
  request.struct_size = sizeof(mh_request);
  CHECK(MH_HAS_FIELD(&request, mh_request, deadline_unix_ms));
  request.struct_size = offsetof(mh_request, deadline_unix_ms);
  CHECK_FALSE(MH_HAS_FIELD(&request, mh_request, deadline_unix_ms));
}
