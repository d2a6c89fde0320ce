#include "status_table.hpp"

#include <algorithm>

#include "human_units.hpp"

namespace hostctl {
namespace {

std::size_t display_width(const std::string& text) {
  // UTF-8 continuation bytes (10xxxxxx) do not start a character.
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string one_line(std::string text) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return text;
}

std::string or_dash(const std::string& text) {
  return text.empty() ? "-" : text;
}

std::string generation_cell(const ModelStatus& model) {
  std::string cell = model.generation == 0 ? "-" : std::to_string(model.generation);
  if (model.pending) {
    cell += " (+" + std::to_string(model.pending->generation) + " " +
            or_dash(model.pending->state) + ")";
  }
  return cell;
}

std::string error_cell(const ModelStatus& model) {
  if (model.error) return one_line(*model.error);
  if (model.pending && model.pending->error) return one_line(*model.pending->error);
  if (model.sync.error) return one_line("sync: " + *model.sync.error);
  return "-";
}

}  // namespace

std::string format_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], display_width(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - display_width(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string sync_cell(const SyncProgress& sync) {
  const bool nothing_to_transfer = sync.bytes_total == 0 && sync.bytes_done == 0;
  if (nothing_to_transfer) {
    // "0 B/0 B" says nothing: say what the state means.
    if (sync.state == "idle") return "-";
    if (sync.state == "done") return "up-to-date";
    if (sync.state == "running") return "checking";
    if (sync.state == "failed") return "failed";
  }
  std::string cell = format_bytes(sync.bytes_done) + "/" + format_bytes(sync.bytes_total);
  if (sync.state == "failed") cell += " failed";
  return cell;
}

std::vector<std::string> status_row(const ModelStatus& model) {
  return {or_dash(model.name),
          or_dash(model.state),
          generation_cell(model),
          or_dash(model.plugin),
          or_dash(model.plugin_version),
          std::to_string(model.in_flight),
          sync_cell(model.sync),
          or_dash(model.mode),
          model.pid > 0 ? std::to_string(model.pid) : "-",
          std::to_string(model.restarts),
          std::to_string(model.stuck),
          error_cell(model)};
}

std::vector<std::vector<std::string>> draining_rows(const ModelStatus& model) {
  std::vector<std::vector<std::string>> rows;
  for (const DrainingGeneration& old : model.draining) {
    rows.push_back({"", "draining", std::to_string(old.generation), "", "",
                    std::to_string(old.in_flight), "", "", "", "", "", ""});
  }
  return rows;
}

std::string format_status(const StatusReport& report) {
  const HostdInfo& hostd = report.hostd;
  std::string out = "hostd " + or_dash(hostd.version);
  if (hostd.pid > 0) out += ", pid " + std::to_string(hostd.pid);
  out += ", up " + format_duration(hostd.uptime_s);
  if (!hostd.listen.empty()) out += ", serving http://" + hostd.listen;
  if (!hostd.models_dir.empty()) out += ", models from " + hostd.models_dir;
  out += "\n";
  if (report.models.empty()) {
    out += "no models: put a folder with a model.json into " +
           (hostd.models_dir.empty() ? std::string("the models directory") : hostd.models_dir) +
           " and run `hostctl reload`\n";
    return out;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "STATE", "GEN", "PLUGIN", "VERSION",
                                                 "IN-FLIGHT", "SYNC", "MODE", "PID", "RESTARTS",
                                                 "STUCK", "ERROR"}};
  for (const auto& model : report.models) {
    rows.push_back(status_row(model));
    for (auto& row : draining_rows(model)) rows.push_back(std::move(row));
  }
  return out + "\n" + format_table(rows);
}

}  // namespace hostctl
