#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test modelhost: Debian's packages
# (apt-get) and the npm packages the tests talk to (tests/package.json). Idempotent and quick
# when everything is there already.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates clang-format
  libboost1.81-dev libboost-json1.81-dev libboost-filesystem1.81-dev libboost-system1.81-dev
  libboost-url1.81-dev libtorch-dev libspdlog-dev doctest-dev libcli11-dev libpcre2-dev
  libcurl4-openssl-dev libssl-dev curl binutils
  clang-14 libclang-rt-14-dev  # tools/sanitize.sh: the libFuzzer targets (tests/fuzz)
  libsystemd-dev  # hostd's sd_notify (systemd Type=notify); hostd builds without it, warned
  # The Debian packages (tools/packaging, tests/packaging): CPack's DEB generator runs
  # dpkg-shlibdeps (dpkg-dev) and file; the checks run lintian and systemd-analyze (systemd).
  dpkg-dev file lintian systemd
)
# Node.js may come from elsewhere than Debian: working binaries are enough.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "install_dependencies: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -f tests/node_modules/.modelhost-installed ] ||
  [ tests/package.json -nt tests/node_modules/.modelhost-installed ]; then
  echo "install_dependencies: npm install (tests/package.json)"
  (cd tests && npm install --no-audit --no-fund --no-package-lock --loglevel=error)
  touch tests/node_modules/.modelhost-installed
fi
echo "install_dependencies: ok"
