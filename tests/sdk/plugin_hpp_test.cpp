// The C++ helper (modelhost/plugin.hpp) as the host sees it: which host ABI versions its
// mh_plugin_get accepts, and the extensions it exports for a model's optional members.
#include <doctest/doctest.h>
#include <modelhost/plugin.hpp>

#include <atomic>
#include <string>
#include <string_view>
#include <utility>

#include "recording_host.hpp"

namespace {

using mh::test::CleanupOutcome;
using mh::test::InitOutcome;
using mh::test::RecordingHost;

class PlainModel {
 public:
  explicit PlainModel(const mh::ModelContext&) {}
  void predict(mh::Request, mh::Response& response) { response.finish("{}"); }
};

class CountingModel {
 public:
  explicit CountingModel(const mh::ModelContext& context) : name_(context.name) {}
  void predict(mh::Request, mh::Response& response) {
    ++requests_;
    response.finish("{}");
  }
  std::string stats() const {
    if (name_ == "broken-stats") throw mh::Error(MH_UNAVAILABLE, "no counters yet");
    return R"({"requests": )" + std::to_string(requests_.load()) + "}";
  }

 private:
  std::string name_;
  std::atomic<int> requests_{0};
};

struct CustomTable {
  uint32_t struct_size;
  int answer;
};
constexpr CustomTable kCustomTable = {sizeof(CustomTable), 42};

class ExtendedModel : public CountingModel {
 public:
  using CountingModel::CountingModel;
  static constexpr uint32_t kMinimumHostAbi = MH_ABI_MAKE_VERSION(1, 0);
  static const void* get_extension(std::string_view id) noexcept {
    return id == "test.custom/1" ? &kCustomTable : nullptr;
  }
};

template <typename Model>
const mh_plugin* table_for(uint32_t host_abi_version) {
  return mh::sdk::plugin_table<Model>("test", "0.1.0", "a test model", host_abi_version);
}

mh_model_meta meta_named(const char* name) {
  mh_model_meta meta{};
  meta.struct_size = sizeof(meta);
  meta.name = name;
  meta.files_dir = "/tmp";
  meta.manifest_dir = "/tmp";
  meta.config_json = "{}";
  meta.config_json_size = 2;
  meta.generation = 1;
  return meta;
}

// Reads stats through the table as a host would; returns (status, json).
std::pair<mh_status, std::string> read_stats(const mh_plugin_stats& stats, mh_instance* instance) {
  std::string json;
  int writes = 0;
  struct Sink {
    std::string* json;
    int* writes;
  } sink{&json, &writes};
  const mh_status status = stats.read(
      instance,
      [](void* context, const char* data, size_t size) {
        auto* s = static_cast<Sink*>(context);
        s->json->assign(data, size);
        ++*s->writes;
      },
      &sink);
  CHECK(writes == (status == MH_OK ? 1 : 0));
  return {status, json};
}

}  // namespace

TEST_CASE("host_abi_supported: same major, and a host minor no older than required") {
  using mh::sdk::host_abi_supported;
  CHECK(host_abi_supported(MH_ABI_MAKE_VERSION(1, 0), MH_ABI_MAKE_VERSION(1, 0)));
  CHECK(host_abi_supported(MH_ABI_MAKE_VERSION(1, 3), MH_ABI_MAKE_VERSION(1, 0)));
  CHECK(host_abi_supported(MH_ABI_MAKE_VERSION(1, 3), MH_ABI_MAKE_VERSION(1, 3)));
  CHECK_FALSE(host_abi_supported(MH_ABI_MAKE_VERSION(1, 2), MH_ABI_MAKE_VERSION(1, 3)));
  CHECK_FALSE(host_abi_supported(MH_ABI_MAKE_VERSION(2, 0), MH_ABI_MAKE_VERSION(1, 0)));
  CHECK_FALSE(host_abi_supported(MH_ABI_MAKE_VERSION(0, 9), MH_ABI_MAKE_VERSION(1, 0)));
}

TEST_CASE("mh_plugin_get refuses (NULL) a host of another major or an older minor") {
  const mh_plugin* table = table_for<PlainModel>(MH_ABI_VERSION);
  REQUIRE(table != nullptr);
  CHECK(table->abi_version == MH_ABI_VERSION);
  CHECK(table->struct_size == sizeof(mh_plugin));
  CHECK(table_for<PlainModel>(MH_ABI_MAKE_VERSION(MH_ABI_VERSION_MAJOR, 7)) == table);
  CHECK(table_for<PlainModel>(MH_ABI_MAKE_VERSION(MH_ABI_VERSION_MAJOR + 1, 0)) == nullptr);
  CHECK(table_for<PlainModel>(MH_ABI_MAKE_VERSION(MH_ABI_VERSION_MAJOR - 1, 99)) == nullptr);
  // The minimum is the minor the plugin was built against, unless it declares an older one.
  CHECK(mh::sdk::minimum_host_abi<PlainModel>() == MH_ABI_VERSION);
  CHECK(mh::sdk::minimum_host_abi<ExtendedModel>() == MH_ABI_MAKE_VERSION(1, 0));
}

TEST_CASE("a model without stats or extensions exports no get_extension") {
  // (( )): doctest compares a function pointer but cannot print one.
  CHECK((table_for<PlainModel>(MH_ABI_VERSION)->get_extension == nullptr));
}

TEST_CASE("a stats() member exports mh.plugin.stats/1, read per instance") {
  const mh_plugin* table = table_for<CountingModel>(MH_ABI_VERSION);
  REQUIRE((table->get_extension != nullptr));
  CHECK(table->get_extension("mh.plugin.no-such-thing/1") == nullptr);
  const auto* stats =
      static_cast<const mh_plugin_stats*>(table->get_extension(MH_PLUGIN_STATS_EXTENSION));
  REQUIRE(stats != nullptr);
  CHECK(stats->struct_size == sizeof(mh_plugin_stats));
  REQUIRE((stats->read != nullptr));

  RecordingHost host;
  InitOutcome init;
  mh_model_meta meta = meta_named("counting");
  table->init(&host.host, &meta, &InitOutcome::done, &init);
  REQUIRE(init.wait());
  REQUIRE(init.status == MH_OK);
  CHECK(read_stats(*stats, init.instance) ==
        std::pair<mh_status, std::string>{MH_OK, R"({"requests": 0})"});
  mh::test::RecordedCall call("{}", false);
  table->predict(init.instance, &call.request, &call.response);
  REQUIRE(call.wait());
  CHECK(read_stats(*stats, init.instance).second == R"({"requests": 1})");
  CleanupOutcome cleanup;
  table->cleanup(init.instance, &CleanupOutcome::done, &cleanup);
  REQUIRE(cleanup.wait());
}

TEST_CASE("an exception from stats() becomes the read's status, and nothing is written") {
  const mh_plugin* table = table_for<CountingModel>(MH_ABI_VERSION);
  const auto* stats =
      static_cast<const mh_plugin_stats*>(table->get_extension(MH_PLUGIN_STATS_EXTENSION));
  REQUIRE(stats != nullptr);
  RecordingHost host;
  InitOutcome init;
  mh_model_meta meta = meta_named("broken-stats");
  table->init(&host.host, &meta, &InitOutcome::done, &init);
  REQUIRE(init.wait());
  REQUIRE(init.status == MH_OK);
  CHECK(read_stats(*stats, init.instance).first == MH_UNAVAILABLE);
  CleanupOutcome cleanup;
  table->cleanup(init.instance, &CleanupOutcome::done, &cleanup);
  REQUIRE(cleanup.wait());
}

TEST_CASE("a static get_extension() adds the model's own tables beside the helper's") {
  const mh_plugin* table = table_for<ExtendedModel>(MH_ABI_VERSION);
  REQUIRE((table->get_extension != nullptr));
  CHECK(table->get_extension("test.custom/1") == &kCustomTable);
  CHECK(table->get_extension(MH_PLUGIN_STATS_EXTENSION) != nullptr);
  CHECK(table->get_extension("test.other/1") == nullptr);

  // mh::model_of gives an extension's function the model behind the host's instance.
  RecordingHost host;
  InitOutcome init;
  mh_model_meta meta = meta_named("extended");
  table->init(&host.host, &meta, &InitOutcome::done, &init);
  REQUIRE(init.wait());
  REQUIRE(init.status == MH_OK);
  CHECK(mh::model_of<ExtendedModel>(init.instance).stats() == R"({"requests": 0})");
  CleanupOutcome cleanup;
  table->cleanup(init.instance, &CleanupOutcome::done, &cleanup);
  REQUIRE(cleanup.wait());
}
