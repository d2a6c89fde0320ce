#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds everything (warnings are errors),
# runs every test with ctest, then tools/sanitize.sh: the fuzz targets for a bounded time, the
# suite under ASan+UBSan and the host's concurrency tests under TSan (MODELHOST_SANITIZERS picks
# stages, MODELHOST_SKIP_SANITIZERS=1 skips that part). Extra arguments go to every ctest (e.g. -R e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_dependencies.sh
build=${MODELHOST_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "$(nproc)"
(cd "$build" && ctest --output-on-failure --timeout 900 "$@")
tools/sanitize.sh "$@"
