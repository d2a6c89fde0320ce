#!/usr/bin/env bash
# Runs one libFuzzer target from its seed corpus, for ctest and by hand:
#   run_fuzzer.sh FUZZER SEED_DIR WORK_DIR [libFuzzer options...]
# New inputs go to WORK_DIR/corpus (the seeds are read, never written); a crash, leak or timeout
# input is written to WORK_DIR/artifacts/ and the exit status is nonzero.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3
shift 3
mkdir -p "$work/corpus" "$work/artifacts"
exec "$fuzzer" -artifact_prefix="$work/artifacts/" -timeout=20 -rss_limit_mb=4096 \
  -print_final_stats=1 "$@" "$work/corpus" "$seeds"
