// `hostctl status`: the status report as an aligned table, one model a row.
#ifndef MODELHOST_HOSTCTL_STATUS_TABLE_HPP
#define MODELHOST_HOSTCTL_STATUS_TABLE_HPP

#include <string>
#include <vector>

#include "status_report.hpp"

namespace hostctl {

// Rows of cells under a header row, each column as wide as its widest cell, two spaces
// between columns; the last column is not padded. Widths count UTF-8 code points.
std::string format_table(const std::vector<std::vector<std::string>>& rows);

// The cells of one model: NAME STATE GEN PLUGIN VERSION IN-FLIGHT SYNC MODE PID RESTARTS STUCK
// ERROR (MODE: process or none; PID: an isolated model's runner; STUCK: requests stuck now).
std::vector<std::string> status_row(const ModelStatus& model);

// One row under the model's for each older generation still draining: no name, STATE
// "draining", its GEN and its IN-FLIGHT (the model's own IN-FLIGHT counts them too).
std::vector<std::vector<std::string>> draining_rows(const ModelStatus& model);

// "512 MB/2.0 GB" while syncing, "-" when no sync ran, "up-to-date" when the latest sync found
// nothing to transfer, "checking" while a sync compares before it knows what to transfer.
// Always free of spaces except in the "x/y failed" form, so scripts can split rows on blanks.
std::string sync_cell(const SyncProgress& sync);

// The whole `hostctl status` output: a line about hostd, then the table (or a hint when no
// model is there).
std::string format_status(const StatusReport& report);

}  // namespace hostctl

#endif  // MODELHOST_HOSTCTL_STATUS_TABLE_HPP
