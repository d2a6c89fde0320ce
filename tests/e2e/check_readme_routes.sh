#!/usr/bin/env bash
# Fails when the tables of README.md's "### Routes" section differ from what
# `hostd --print-routes` prints (the route tables hostd dispatches with). Only table lines
# (starting with '|') count; prose between them is free.
# Usage: check_readme_routes.sh HOSTD_BINARY README_MD
set -euo pipefail
hostd="$1"
readme="$2"
printed=$("$hostd" --print-routes | grep '^|')
documented=$(awk '/^### Routes[[:space:]]*$/ { inside = 1; next }
                  inside && /^#/ { exit }
                  inside && /^\|/ { print }' "$readme")
if [[ "$printed" != "$documented" ]]; then
  echo "README.md's \"### Routes\" tables differ from \`hostd --print-routes\`"
  echo "(< README.md, > hostd --print-routes):"
  diff <(printf '%s\n' "$documented") <(printf '%s\n' "$printed") || true
  echo "Fix: replace the tables of that section with the output of \`hostd --print-routes\`."
  exit 1
fi
echo "README.md's routes match hostd --print-routes ($(printf '%s\n' "$printed" | wc -l) lines)"
