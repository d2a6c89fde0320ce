#!/usr/bin/env bash
# Checks of the Debian packages that tools/packaging makes with CPack (tests/packaging):
#
#   check_debian_packages.sh cpack           OUT CPACK BUILD_DIR   make the .debs into OUT
#   check_debian_packages.sh contents        OUT LIBDIR LLAMA      files and control fields
#   check_debian_packages.sh lintian         OUT LIBDIR LLAMA      no lintian errors
#   check_debian_packages.sh installed_hostd OUT LIBDIR LLAMA      a `dpkg -x` tree serves echo
#   check_debian_packages.sh systemd_unit    OUT LIBDIR LLAMA      systemd-analyze verify
#
# LIBDIR is CMAKE_INSTALL_LIBDIR, LLAMA 1 when the Llama plugin was built. Exit 77 (ctest:
# skipped) when a tool the check needs is missing; tools/install_dependencies.sh installs them.
set -euo pipefail

stage=$1
out=$2

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || {
      echo "SKIP: $tool is not installed (tools/install_dependencies.sh installs it)"
      exit 77
    }
  done
}
deb_of() {
  local found
  found=$(find "$out" -maxdepth 1 -name "$1_*.deb" | head -n 1)
  [ -n "$found" ] || fail "no $1_*.deb in $out (did packaging.cpack run?)"
  echo "$found"
}
# A private temporary folder, removed on exit, with whatever runs in it.
work=""
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
    { wait "$pid"; } 2>/dev/null || true
  done
  [ -z "$work" ] || rm -rf "$work"
}
trap cleanup EXIT
make_work() { work=$(mktemp -d "${TMPDIR:-/tmp}/mh-packaging-XXXXXX"); }

stage_cpack() {
  local cpack=$1 build=$2
  need dpkg-deb dpkg-shlibdeps
  rm -rf "$out"
  mkdir -p "$out"
  "$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$out/cpack" ||
    fail "cpack failed (its logs: $out/cpack/_CPack_Packages)"
  mv "$out"/cpack/*.deb "$out"/
  ls -l "$out"/*.deb
}

# Every path in `expected` is in the package's data (dpkg-deb --contents).
expect_files() {
  local deb=$1
  shift
  local listing
  listing=$(dpkg-deb --contents "$deb" | awk '{print $6}')
  for path in "$@"; do
    grep -qxF "./$path" <<<"$listing" || fail "$(basename "$deb") lacks /$path"
  done
}

stage_contents() {
  local libdir=$1 llama=$2
  need dpkg-deb readelf
  local runtime dev
  runtime=$(deb_of modelhost)
  dev=$(deb_of modelhost-dev)
  echo "== $(basename "$runtime")"
  dpkg-deb --info "$runtime"
  dpkg-deb --contents "$runtime"
  local plugins="usr/$libdir/modelhost/plugins"
  expect_files "$runtime" usr/bin/hostd usr/bin/mh-runner usr/bin/hostctl \
    "$plugins/libmh_echo.so" usr/share/modelhost/manifests/echo/model.json \
    lib/systemd/system/modelhost.service etc/modelhost/hostd.conf \
    usr/share/doc/modelhost/copyright usr/share/doc/modelhost/changelog.Debian.gz
  if [ "$llama" = 1 ]; then
    expect_files "$runtime" "$plugins/libmh_llama.so" \
      usr/share/modelhost/manifests/llama-tiny/model.json
  fi
  # Test plugins stay out.
  if dpkg-deb --contents "$runtime" | grep -q "libmh_echo_next\|libmh_test_\|libmh_bad_"; then
    fail "a test plugin is in the package"
  fi
  local depends
  depends=$(dpkg-deb --field "$runtime" Depends)
  echo "Depends: $depends"
  grep -q "adduser" <<<"$depends" || fail "Depends lacks adduser (postinst uses it)"
  grep -q "libc6" <<<"$depends" || fail "Depends lacks libc6: dpkg-shlibdeps did not run"
  local control="$out/control-runtime"
  rm -rf "$control"
  dpkg-deb --control "$runtime" "$control"
  grep -qxF /etc/modelhost/hostd.conf "$control/conffiles" || fail "hostd.conf is no conffile"
  for script in postinst prerm postrm; do
    [ -x "$control/$script" ] || fail "no executable $script"
  done
  grep -q "adduser --system" "$control/postinst" || fail "postinst creates no system user"
  grep -q "/var/lib/modelhost/models" "$control/postinst" || fail "postinst: no models folder"
  grep -q "/var/practicus/cache" "$control/postinst" || fail "postinst: no cache folder"
  # No RPATH: nothing of ours is a shared library, and lintian refuses a custom search path.
  local root="$out/contents-root"
  rm -rf "$root"
  dpkg-deb -x "$runtime" "$root"
  while IFS= read -r elf; do
    if readelf -d "$elf" | grep -q "RPATH\|RUNPATH"; then fail "$elf has an RPATH"; fi
  done < <(find "$root" -type f \( -name '*.so' -o -path '*/bin/*' \))

  echo "== $(basename "$dev")"
  dpkg-deb --info "$dev"
  dpkg-deb --contents "$dev"
  expect_files "$dev" usr/include/modelhost/plugin.h usr/include/modelhost/plugin.hpp \
    usr/include/modelhost/version.h "usr/$libdir/cmake/ModelHost/ModelHostConfig.cmake" \
    "usr/$libdir/cmake/ModelHost/ModelHostConfigVersion.cmake" \
    "usr/$libdir/cmake/ModelHost/ModelHostTargets.cmake" \
    "usr/$libdir/cmake/ModelHost/ModelHostPlugin.cmake" \
    usr/share/doc/modelhost-dev/copyright usr/share/doc/modelhost-dev/changelog.Debian.gz
  [ "$(dpkg-deb --field "$dev" Architecture)" = all ] || fail "modelhost-dev is not Architecture: all"
  echo "contents: ok"
}

stage_lintian() {
  need lintian
  local status=0
  # --fail-on error: warnings are reported, not fatal. Overrides: none.
  lintian --fail-on error --tag-display-limit 0 "$(deb_of modelhost)" \
    "$(deb_of modelhost-dev)" || status=$?
  [ "$status" = 0 ] || fail "lintian reports errors (exit $status)"
  echo "lintian: no errors"
}

# Waits (bounded) until `command` succeeds.
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$what: not within ${seconds}s"
    sleep 0.2
  done
}

stage_installed_hostd() {
  local libdir=$1
  need dpkg-deb curl perl
  make_work
  local root="$work/root"
  dpkg-deb -x "$(deb_of modelhost)" "$root"
  # The installed layout alone: the shipped config, the shipped echo manifest (it names
  # libmh_echo.so, which only the installed plugin folder holds), the runner beside hostd.
  mkdir -p "$work/models"
  cp -r "$root/usr/share/modelhost/manifests/echo" "$work/models/"
  local conf="$root/etc/modelhost/hostd.conf"
  # The environment overrides the file's system paths (flag > environment > file > default).
  export MODELHOST_MODELS_DIR="$work/models" MODELHOST_CACHE_DIR="$work/cache"
  export MODELHOST_ADMIN_SOCKET="$work/admin.sock" MODELHOST_LISTEN="127.0.0.1:0"
  unset MODELHOST_RUNNER MODELHOST_PLUGIN_DIR MODELHOST_CONFIG

  "$root/usr/bin/hostd" --config "$conf" --print-config >"$work/print-config.txt"
  cat "$work/print-config.txt"
  grep -qxF "# installed plugins (searched after plugin-dir): $root/usr/$libdir/modelhost/plugins" \
    "$work/print-config.txt" || fail "--print-config: the installed plugin folder is not found"
  grep -qF "models-dir = \"$work/models\"  # environment" "$work/print-config.txt" ||
    fail "--print-config: the environment does not override the file"
  grep -qF "# plugin-dir = []  # default" "$work/print-config.txt" || fail "--print-config: plugin-dir"

  # hostd with a notify socket, as systemd starts it (Type=notify): a datagram listener
  # (perl, which lintian brings) records what hostd sends.
  local notify="$work/notify.sock" notes="$work/notify.txt"
  perl -MIO::Socket::UNIX -e '
    my ($path, $file) = @ARGV;
    my $socket = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path) or die "$path: $!";
    open(my $out, ">>", $file) or die "$file: $!";
    $out->autoflush(1);
    while (defined $socket->recv(my $message, 4096)) { print $out "$message\n"; }
  ' "$notify" "$notes" &
  pids+=($!)
  wait_for "the notify listener" 10 test -S "$notify"

  NOTIFY_SOCKET="$notify" "$root/usr/bin/hostd" --config "$conf" >"$work/hostd.log" 2>&1 &
  local hostd=$!
  pids+=("$hostd")
  wait_for "hostd's listening line" 30 grep -q "listening on http://" "$work/hostd.log"
  local port
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$work/hostd.log" | head -n 1)
  [ -n "$port" ] || fail "no port in hostd's log: $(cat "$work/hostd.log")"
  wait_for "READY=1" 30 grep -qx "READY=1" "$notes"
  wait_for "the echo model" 60 curl -sf "http://127.0.0.1:$port/v2/models/echo/ready"
  local reply
  reply=$(curl -sf "http://127.0.0.1:$port/v1/models/echo/predict" \
    -H 'content-type: application/json' -d '{"hello":"package"}') ||
    fail "predict failed: $(cat "$work/hostd.log")"
  echo "echo answered: $reply"
  grep -qF '"echo":{"hello":"package"}' <<<"${reply// /}" || fail "unexpected answer: $reply"
  # What ExecReload runs, with the installed hostctl.
  "$root/usr/bin/hostctl" --admin-socket "$work/admin.sock" reload || fail "hostctl reload"
  "$root/usr/bin/hostctl" --admin-socket "$work/admin.sock" status | tee "$work/status.txt"
  grep -q "echo" "$work/status.txt" || fail "hostctl status shows no echo"
  # SIGTERM drains: STOPPING=1, then exit 0.
  kill -TERM "$hostd"
  local code=0
  wait "$hostd" || code=$?
  [ "$code" = 0 ] || fail "hostd exited $code after SIGTERM: $(cat "$work/hostd.log")"
  wait_for "STOPPING=1" 10 grep -qx "STOPPING=1" "$notes"
  echo "installed hostd: ok"
}

stage_systemd_unit() {
  need dpkg-deb systemd-analyze
  make_work
  local root="$work/root"
  dpkg-deb -x "$(deb_of modelhost)" "$root"
  local unit="$root/lib/systemd/system/modelhost.service"
  cat "$unit"
  # --root: the unit's ExecStart= and ExecReload= binaries are looked up in the extracted tree;
  # the units it depends on (sysinit.target, network-online.target ...) come from this system.
  for dir in /lib/systemd/system /usr/lib/systemd/system; do
    [ ! -d "$dir" ] || cp -rn "$dir/." "$root/lib/systemd/system/" 2>/dev/null || true
  done
  # systemd-analyze exits 0 on unknown keys and bad values (it ignores them with a remark):
  # any remark fails the check.
  local output status=0
  output=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --root="$root" \
    /lib/systemd/system/modelhost.service 2>&1) || status=$?
  echo "$output"
  [ "$status" = 0 ] || fail "systemd-analyze verify: exit $status"
  if grep -v "^$" <<<"$output" | grep -q .; then fail "systemd-analyze verify has remarks"; fi
  echo "systemd unit: ok"
}

case "$stage" in
  cpack) stage_cpack "$3" "$4" ;;
  contents) stage_contents "$3" "$4" ;;
  lintian) stage_lintian ;;
  installed_hostd) stage_installed_hostd "$3" ;;
  systemd_unit) stage_systemd_unit ;;
  *) fail "unknown stage $stage" ;;
esac
