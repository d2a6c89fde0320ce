#!/usr/bin/env bash
# Builds modelhost's container image from tools/packaging/container/Containerfile with podman
# or buildah (both in Debian 12), then, where the engine can run containers, starts it and checks
# that it serves: /v2/health/live, /v2/health/ready and a predict call to the bundled echo model.
#
# Usage: tools/packaging/container/build.sh [--tag NAME] [--engine podman|buildah]
#            [--bootstrap-base] [--no-smoke | --smoke-only] [-- EXTRA BUILD ARGUMENTS]
#   --bootstrap-base  when the Debian base images cannot be pulled (no registry reachable),
#                     make a local Debian 12 base with debootstrap from the Debian mirror
#   --smoke-only      only the smoke test, of the image --tag names (built before)
#   extra arguments go to the engine's build, e.g. -- --build-arg MODELHOST_BUILD_LLAMA=OFF
# Environment: MODELHOST_CONTAINER_ISOLATION (default: chroot inside a container, else the
#   engine's), MODELHOST_CONTAINER_STORAGE_DRIVER (e.g. vfs where overlay cannot mount),
#   MODELHOST_CONTAINER_ENGINE_OPTIONS and MODELHOST_CONTAINER_RUN_OPTIONS (more options for
#   podman and for its run in the smoke test; inside a container, e.g. "--runtime runc
#   --cgroup-manager=cgroupfs" and "--ulimit nofile=4096:4096 --ulimit nproc=4096:4096
#   --no-healthcheck").
#
# Exit status: 0 built and, unless --no-smoke, served;  1 the build or the smoke test failed;
#   2 usage;  3 no container engine;  4 the engine cannot build here (no privileges for its
#   namespaces or storage);  5 no base image;  6 built, but containers cannot run here.
set -euo pipefail
cd "$(dirname "$0")/../../.."

tag=modelhost:latest
engine=""
bootstrap=0
smoke=1
smoke_only=0
extra=()
while (($#)); do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --engine) engine=$2; shift 2 ;;
    --bootstrap-base) bootstrap=1; shift ;;
    --no-smoke) smoke=0; shift ;;
    --smoke-only) smoke_only=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "build.sh: $*" >&2; }

if [ -z "$engine" ]; then
  for candidate in podman buildah; do
    command -v "$candidate" >/dev/null && { engine=$candidate; break; }
  done
fi
if [ -z "$engine" ] || ! command -v "$engine" >/dev/null; then
  say "no container engine: install podman or buildah (apt-get install podman); nothing built"
  exit 3
fi

isolation=${MODELHOST_CONTAINER_ISOLATION:-}
if [ -z "$isolation" ] && { [ -e /.dockerenv ] || [ -e /run/.containerenv ]; }; then
  isolation=chroot  # no nested user or network namespaces inside a container
fi
read -r -a global <<<"${MODELHOST_CONTAINER_ENGINE_OPTIONS:-}"
read -r -a run_options <<<"${MODELHOST_CONTAINER_RUN_OPTIONS:-}"
[ -n "${MODELHOST_CONTAINER_STORAGE_DRIVER:-}" ] &&
  global+=(--storage-driver "$MODELHOST_CONTAINER_STORAGE_DRIVER")
build_options=(--format docker)  # docker format: OCI images have no HEALTHCHECK
[ -n "$isolation" ] && build_options+=(--isolation "$isolation")

image_exists() {
  if [ "$engine" = podman ]; then podman "${global[@]}" image exists "$1"
  else buildah "${global[@]}" inspect --type image "$1" >/dev/null 2>&1; fi
}
build() { # build ARGS... CONTEXT
  if [ "$engine" = podman ]; then podman "${global[@]}" build "${build_options[@]}" "$@"
  else buildah "${global[@]}" bud "${build_options[@]}" "$@"; fi
}

if ((smoke_only)); then
  image_exists "$tag" || { say "no image $tag to smoke-test"; exit 2; }
else
# Base images: present, pullable, or (--bootstrap-base) made here with debootstrap.
build_base=docker.io/library/debian:12
runtime_base=docker.io/library/debian:12-slim
base_ok=1
for image in "$build_base" "$runtime_base"; do
  image_exists "$image" || timeout 300 "$engine" "${global[@]}" pull -q "$image" >/dev/null 2>&1 ||
    base_ok=0
done
if ((!base_ok)); then
  local_base=localhost/modelhost-debian:12
  if image_exists "$local_base"; then
    say "the Debian base images cannot be pulled; using $local_base made earlier"
  elif ((bootstrap)); then
    command -v debootstrap >/dev/null || PATH=$PATH:/usr/sbin
    if ! command -v debootstrap >/dev/null; then
      say "no base image and no debootstrap (apt-get install debootstrap); nothing built"
      exit 5
    fi
    say "the Debian base images cannot be pulled: making $local_base with debootstrap"
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null ||
      { say "debootstrap failed; nothing built"; exit 5; }
    tar -C "$rootfs" -c . | "$engine" "${global[@]}" import - "$local_base" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
  else
    say "cannot pull $build_base or $runtime_base (no registry reachable?); rerun with" \
        "--bootstrap-base to make a local Debian 12 base with debootstrap; nothing built"
    exit 5
  fi
  build_options+=(--build-arg "BUILD_BASE=$local_base" --build-arg "RUNTIME_BASE=$local_base")
  runtime_base=$local_base
fi

# Can this engine build at all here (namespaces, storage)? A one-line build says.
probe_dir=$(mktemp -d)
printf 'FROM %s\nRUN true\n' "$runtime_base" >"$probe_dir/Containerfile"
if ! probe_log=$(build -t localhost/modelhost-probe:latest "$probe_dir" 2>&1); then
  rm -rf "$probe_dir"
  say "$engine cannot build here (isolation ${isolation:-default}); its last words:"
  tail -n 5 <<<"$probe_log" >&2
  say "try MODELHOST_CONTAINER_ISOLATION=chroot MODELHOST_CONTAINER_STORAGE_DRIVER=vfs," \
      "or a machine where containers can run; nothing built"
  exit 4
fi
rm -rf "$probe_dir"
"$engine" "${global[@]}" rmi -f localhost/modelhost-probe:latest >/dev/null 2>&1 || true

say "building $tag with $engine (isolation ${isolation:-default})"
if ! build -t "$tag" -f tools/packaging/container/Containerfile \
     --ignorefile tools/packaging/container/Containerfile.dockerignore "${extra[@]}" .; then
  say "the build of $tag failed"
  exit 1
fi
say "built $tag"
((smoke)) || exit 0
fi

# Smoke test: run the image on the host's network at a free loopback port.
if [ "$engine" != podman ]; then
  say "built $tag; the smoke test needs podman to run it (buildah only builds)"
  exit 6
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
if ! container=$(podman "${global[@]}" run -d --network host "${run_options[@]}" "$tag" \
     --models-dir=/etc/modelhost/models --listen="127.0.0.1:$port" \
     --cache-dir=/var/practicus/cache --plugin-dir=/opt/modelhost/lib/modelhost/plugins 2>&1); then
  say "built $tag, but containers cannot run here: $container"
  exit 6
fi
trap 'podman "${global[@]}" rm -f -t 30 "$container" >/dev/null 2>&1 || true' EXIT
ok=0
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1; then ok=1; break; fi
  sleep 1
done
if ((ok)) && curl -fsS "http://127.0.0.1:$port/v2/health/live" >/dev/null &&
   reply=$(curl -fsS "http://127.0.0.1:$port/v1/models/echo/predict" \
             -H 'content-type: application/json' -d '{"smoke": 1}') &&
   grep -q smoke <<<"$reply"; then
  podman "${global[@]}" stop -t 30 "$container" >/dev/null
  say "smoke test passed: $tag serves /v2/health/live, /v2/health/ready and echo predict" \
      "as user $(podman "${global[@]}" image inspect -f '{{.Config.User}}' "$tag")"
  exit 0
fi
say "smoke test failed: $tag did not serve on 127.0.0.1:$port; its log:"
podman "${global[@]}" logs "$container" 2>&1 | tail -n 20 >&2
exit 1
