#include "metrics/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>

namespace mh::host {

namespace {

std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

const std::vector<double>& Metrics::latency_buckets() {
  static const std::vector<double> buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                              0.05,   0.1,   0.25,   0.5,   1,    2.5,
                                              5,      10,    30,     60,    120,  300};
  return buckets;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Metrics::observe_request(std::string_view model, unsigned http_status, double seconds) {
  const auto& bounds = latency_buckets();
  std::lock_guard lock(mutex_);
  auto it = series_.find(model);
  if (it == series_.end()) it = series_.emplace(std::string(model), Series{}).first;
  Series& series = it->second;
  ++series.by_status[http_status];
  ++series.count;
  series.sum += seconds;
  // Buckets are cumulative when rendered; here each request counts in its own bucket.
  auto bucket = std::lower_bound(bounds.begin(), bounds.end(), seconds);
  if (bucket != bounds.end()) ++series.buckets[static_cast<std::size_t>(bucket - bounds.begin())];
}

std::string Metrics::render(const std::vector<ModelStatus>& models) const {
  std::string out;
  const auto& bounds = latency_buckets();
  {
    std::lock_guard lock(mutex_);
    header(out, "modelhost_requests_total", "counter",
           "Requests answered, by model and HTTP status code.");
    for (const auto& [model, series] : series_) {
      const std::string label = escape_label_value(model);
      for (const auto& [code, count] : series.by_status) {
        out += "modelhost_requests_total{model=\"" + label + "\",code=\"" + std::to_string(code) +
               "\"} " + std::to_string(count) + "\n";
      }
    }
    header(out, "modelhost_request_duration_seconds", "histogram",
           "Time from a request's arrival to its last byte, by model.");
    for (const auto& [model, series] : series_) {
      const std::string label = escape_label_value(model);
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += series.buckets[i];
        out += "modelhost_request_duration_seconds_bucket{model=\"" + label + "\",le=\"" +
               number(bounds[i]) + "\"} " + std::to_string(cumulative) + "\n";
      }
      out += "modelhost_request_duration_seconds_bucket{model=\"" + label + "\",le=\"+Inf\"} " +
             std::to_string(series.count) + "\n";
      out += "modelhost_request_duration_seconds_sum{model=\"" + label + "\"} " +
             number(series.sum) + "\n";
      out += "modelhost_request_duration_seconds_count{model=\"" + label + "\"} " +
             std::to_string(series.count) + "\n";
    }
  }
  // One series per model; `value` gives the sample text, or nullopt to leave the model out.
  auto per_model = [&](std::string_view name, std::string_view type, std::string_view help,
                       auto value) {
    header(out, name, type, help);
    for (const auto& model : models) {
      const std::optional<std::string> sample = value(model);
      if (!sample) continue;
      out.append(name).append("{model=\"").append(escape_label_value(model.name)).append("\"} ");
      out.append(*sample).append("\n");
    }
  };
  per_model(
      "modelhost_requests_in_flight", "gauge",
      "Requests running in or queued for a model's plugin now.",
      [](const ModelStatus& model) { return std::optional(std::to_string(model.in_flight)); });
  header(out, "modelhost_model_state", "gauge",
         "1 for the state a model is in (syncing, loading, ready, draining, unloaded, failed).");
  for (const auto& model : models) {
    for (ModelState state : kAllModelStates) {
      out += "modelhost_model_state{model=\"" + escape_label_value(model.name) + "\",state=\"" +
             std::string(to_string(state)) + "\"} " + (model.state == state ? "1" : "0") + "\n";
    }
  }
  per_model(
      "modelhost_model_generation", "gauge",
      "The generation of a model that serves (or is on its way).",
      [](const ModelStatus& model) { return std::optional(std::to_string(model.generation)); });
  per_model("modelhost_model_load_duration_seconds", "gauge",
            "How long the serving generation took from load to ready (plugin copy, dlopen, init).",
            [](const ModelStatus& model) -> std::optional<std::string> {
              if (!model.load_ms) return std::nullopt;
              return number(*model.load_ms / 1000.0);
            });
  per_model("modelhost_sync_bytes_total", "counter",
            "Bytes fetched from storage into the cache, by model.", [](const ModelStatus& model) {
              return std::optional(std::to_string(model.sync_bytes_total));
            });
  per_model("modelhost_sync_duration_seconds_total", "counter",
            "Time spent syncing a model's files, by model.", [](const ModelStatus& model) {
              return std::optional(number(model.sync_seconds_total));
            });
  header(out, "modelhost_model_isolation", "gauge",
         "1 for how a model's plugin runs: in a runner process (process) or in hostd (none).");
  for (const auto& model : models) {
    for (Isolation mode : {Isolation::process, Isolation::none}) {
      out += "modelhost_model_isolation{model=\"" + escape_label_value(model.name) + "\",mode=\"" +
             std::string(to_string(mode)) + "\"} " + (model.isolation == mode ? "1" : "0") + "\n";
    }
  }
  header(out, "modelhost_model_crashes_total", "counter",
         "Runner processes of isolated models that died, by model and signal (\"exit\": exited).");
  for (const auto& model : models) {
    for (const auto& [signal, count] : model.crashes_by_signal) {
      out += "modelhost_model_crashes_total{model=\"" + escape_label_value(model.name) +
             "\",signal=\"" + escape_label_value(signal) + "\"} " + std::to_string(count) + "\n";
    }
  }
  per_model("modelhost_model_restarts_total", "counter",
            "Restarts of a model after its runner crashed.",
            [](const ModelStatus& model) { return std::optional(std::to_string(model.restarts)); });
  per_model(
      "modelhost_requests_stuck_total", "counter",
      "Requests a plugin had not finished a grace period after their deadline or "
      "cancellation.",
      [](const ModelStatus& model) { return std::optional(std::to_string(model.stuck_total)); });
  per_model("modelhost_requests_stuck", "gauge", "Stuck requests still unfinished now.",
            [](const ModelStatus& model) { return std::optional(std::to_string(model.stuck)); });
  header(out, "modelhost_syncs_total", "counter", "Syncs run, by model and result.");
  for (const auto& model : models) {
    const std::string label = escape_label_value(model.name);
    out += "modelhost_syncs_total{model=\"" + label + "\",result=\"ok\"} " +
           std::to_string(model.syncs_total - model.sync_failures_total) + "\n";
    out += "modelhost_syncs_total{model=\"" + label + "\",result=\"failed\"} " +
           std::to_string(model.sync_failures_total) + "\n";
  }
  return out;
}

}  // namespace mh::host
