// The reload decision as a pure function: scanned directories against held models, without
// threads, files or a registry.
#include "model/reload_plan.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace mh::host;

namespace {

ScannedModel scanned(std::string name, std::string hash, bool has_files = false) {
  return ScannedModel{std::move(name), std::move(hash), true, has_files};
}

ScannedModel broken(std::string name, std::string hash) {
  return ScannedModel{std::move(name), std::move(hash), false, false};
}

HeldModel held(std::string name, std::string hash) {
  HeldModel model;
  model.name = std::move(name);
  model.attempted_hash = std::move(hash);
  model.can_refresh = true;
  return model;
}

const PlannedChange& find(const std::vector<PlannedChange>& plan, std::string_view name) {
  for (const auto& change : plan) {
    if (change.name == name) return change;
  }
  FAIL("no planned change for " << name);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("reload plan: added, changed, unchanged, removed, failed") {
  const std::vector<ScannedModel> scan = {scanned("a-new", "h1"), scanned("b-same", "h2"),
                                          scanned("c-edited", "h3-new"), broken("d-broken", "h4")};
  const std::vector<HeldModel> loaded = {held("b-same", "h2"), held("c-edited", "h3"),
                                         held("d-broken", "h4-old"), held("e-gone", "h5")};
  const auto plan = plan_reload(scan, loaded);
  REQUIRE(plan.size() == 5);
  // Scanned models first, in the scan's order, then the removed ones.
  CHECK(plan[0].name == "a-new");
  CHECK(plan[4].name == "e-gone");
  CHECK(find(plan, "a-new").action == ReloadAction::added);
  CHECK(find(plan, "a-new").scanned == std::optional<std::size_t>(0));
  CHECK(find(plan, "b-same").action == ReloadAction::unchanged);
  CHECK_FALSE(find(plan, "b-same").refresh_files);  // it has no files
  CHECK(find(plan, "c-edited").action == ReloadAction::changed);
  CHECK(find(plan, "d-broken").action == ReloadAction::failed);
  CHECK(find(plan, "d-broken").scanned == std::optional<std::size_t>(3));
  CHECK(find(plan, "e-gone").action == ReloadAction::removed);
  CHECK_FALSE(find(plan, "e-gone").scanned);
  for (const auto& change : plan) CHECK(change.reported);
}

TEST_CASE("reload plan: a failed attempt is tried again; failed-then-fixed is a change") {
  HeldModel failed = held("m", "h1");
  failed.attempt_failed = true;
  // The same bytes again (e.g. an init that failed for a reason outside the directory).
  CHECK(plan_reload({scanned("m", "h1")}, {failed})[0].action == ReloadAction::changed);
  // Fixed files.
  CHECK(plan_reload({scanned("m", "h2")}, {failed})[0].action == ReloadAction::changed);
  // Still broken.
  CHECK(plan_reload({broken("m", "h1")}, {failed})[0].action == ReloadAction::failed);
}

TEST_CASE("reload plan: removed and unloaded models come back as added") {
  HeldModel removed = held("m", "h1");
  removed.removed = true;
  HeldModel unloaded = held("u", "h2");
  unloaded.unloaded = true;
  const auto plan = plan_reload({scanned("m", "h1"), scanned("u", "h2")}, {removed, unloaded});
  CHECK(find(plan, "m").action == ReloadAction::added);
  CHECK(find(plan, "u").action == ReloadAction::added);
}

TEST_CASE("reload plan: removal while draining or after an unload") {
  HeldModel draining = held("m", "h1");
  draining.removed = true;
  HeldModel unloaded = held("u", "h2");
  unloaded.unloaded = true;
  const auto plan = plan_reload({}, {draining, unloaded});
  // Already on its way out: nothing new. Unloaded: removed, but nothing a user sees changes.
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].name == "u");
  CHECK(plan[0].action == ReloadAction::removed);
  CHECK_FALSE(plan[0].reported);
}

TEST_CASE("reload plan: unchanged models with files re-sync when nothing else runs") {
  HeldModel serving = held("m", "h1");
  CHECK(plan_reload({scanned("m", "h1", true)}, {serving})[0].refresh_files);
  serving.can_refresh = false;  // a generation or a re-sync is on its way
  const auto plan = plan_reload({scanned("m", "h1", true)}, {serving});
  CHECK(plan[0].action == ReloadAction::unchanged);
  CHECK_FALSE(plan[0].refresh_files);
}

TEST_CASE("reload plan: one model only") {
  const std::vector<ScannedModel> scan = {scanned("a", "h1"), scanned("b", "h2")};
  const std::vector<HeldModel> loaded = {held("b", "old"), held("c", "h3")};
  auto plan = plan_reload(scan, loaded, std::string("b"));
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].name == "b");
  CHECK(plan[0].action == ReloadAction::changed);
  CHECK(plan[0].scanned == std::optional<std::size_t>(1));
  plan = plan_reload(scan, loaded, std::string("c"));
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].action == ReloadAction::removed);
  CHECK(plan_reload(scan, loaded, std::string("nope")).empty());
}

TEST_CASE("reload plan: the action reported once models settled") {
  // Nothing happened after planning.
  CHECK(settled_action(ReloadAction::unchanged, 3, 3, std::nullopt) == ReloadAction::unchanged);
  CHECK(settled_action(ReloadAction::changed, 3, 4, std::nullopt) == ReloadAction::changed);
  // An unchanged model whose re-sync found new files loaded generation 3.
  CHECK(settled_action(ReloadAction::unchanged, 3, 4, std::nullopt) == ReloadAction::changed);
  // The generation this reload started failed ...
  CHECK(settled_action(ReloadAction::changed, 3, 4, 3) == ReloadAction::failed);
  CHECK(settled_action(ReloadAction::added, 1, 2, 1) == ReloadAction::failed);
  // ... but an older failure is not this reload's.
  CHECK(settled_action(ReloadAction::changed, 3, 4, 2) == ReloadAction::changed);
  // A removed model stays removed.
  CHECK(settled_action(ReloadAction::removed, 3, 3, 3) == ReloadAction::removed);
}

TEST_CASE("reload plan: actions have their admin API names") {
  CHECK(to_string(ReloadAction::added) == "added");
  CHECK(to_string(ReloadAction::changed) == "changed");
  CHECK(to_string(ReloadAction::removed) == "removed");
  CHECK(to_string(ReloadAction::unchanged) == "unchanged");
  CHECK(to_string(ReloadAction::failed) == "failed");
  CHECK(to_string(ReloadAction::unloaded) == "unloaded");
}
