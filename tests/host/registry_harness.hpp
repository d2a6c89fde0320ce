#pragma once
// A real ModelRegistry over a temporary models directory, with its own thread pools, for unit
// tests of the model layer and of the HTTP pieces above it. Shut down (bounded) on destruction.
#include "model/model_registry.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace mh::host::testing {

struct RegistryHarness {
  mh::e2e::TempDir temp{"mh-registry"};
  LibraryUnloader unloader{std::chrono::milliseconds(100)};
  boost::asio::thread_pool lifecycle{2};
  boost::asio::thread_pool workers{2};
  PluginStore store{temp / "cache" / ".plugins"};
  std::shared_ptr<ModelRegistry> registry;

  // `drain_timeout`: how long a replaced generation may take for its requests (a plugin that
  // holds them delays the harness's shutdown as long).
  explicit RegistryHarness(std::chrono::milliseconds drain_timeout = std::chrono::seconds(10)) {
    std::filesystem::create_directories(models());
    RegistrySettings settings;
    settings.scan = ScanSettings{models(), {}, temp / "cache", ""};
    settings.drain_timeout = drain_timeout;
    registry = ModelRegistry::create(
        settings,
        LoaderServices{store, unloader, lifecycle.get_executor(), workers.get_executor()});
  }
  ~RegistryHarness() {
    auto done = std::make_shared<std::promise<void>>();
    registry->shutdown([done] { done->set_value(); });
    done->get_future().wait_for(std::chrono::seconds(15));
    lifecycle.join();
    workers.join();
  }
  RegistryHarness(const RegistryHarness&) = delete;
  RegistryHarness& operator=(const RegistryHarness&) = delete;

  std::filesystem::path models() const { return temp / "models"; }

  // A reload of every model; with `wait`, once they settled (at most 10 s).
  std::vector<ReloadChange> reload(bool wait = true) {
    auto result = std::make_shared<std::promise<std::vector<ReloadChange>>>();
    registry->reload(std::nullopt, wait, std::chrono::seconds(10),
                     [result](std::vector<ReloadChange> changes) { result->set_value(changes); });
    auto future = result->get_future();
    REQUIRE(future.wait_for(std::chrono::seconds(15)) == std::future_status::ready);
    return future.get();
  }

  std::optional<ModelStatus> status(std::string_view name) const {
    for (auto& model : registry->status()) {
      if (model.name == name) return model;
    }
    return std::nullopt;
  }
};

}  // namespace mh::host::testing
