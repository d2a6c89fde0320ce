#!/usr/bin/env bash
# The test suite again under sanitizers, and the fuzz targets for a bounded time; tools/test.sh
# runs it after the normal suite. Three stages, each in a build folder of its own:
#   fuzz  build-fuzz: the libFuzzer targets of tests/fuzz (clang-14, ASan + UBSan), each run from
#         its seed corpus for MODELHOST_FUZZ_SECONDS (default 30).
#   asan  build-asan: every unit and end-to-end test under AddressSanitizer + UBSan (GCC), except
#         the Llama plugin's: libtorch makes it the slowest part to build and run, and its input
#         readers (safetensors, config.json, requests, tokenizer) are fuzzed under ASan instead.
#   tsan  build-tsan: the host's concurrency tests under ThreadSanitizer (GCC): the model layer
#         (registry, instance, admission, dispatch), the plugin loader, isolation, and hostd's
#         end-to-end tests (reloads under load, drain, cancellation, shutdown, faults). Only the
#         targets those tests need are built.
# The sanitizer builds use -O1 -g1 (line tables: findings still carry file:line stacks) to keep
# their build time inside CI's budget. Each stage prints how long it took.
# Environment: MODELHOST_SKIP_SANITIZERS=1 skips everything (e.g. locally);
# MODELHOST_SANITIZERS="fuzz asan tsan" (the default) picks the stages; extra arguments go to
# every ctest. MODELHOST_CI_DEADLINE (seconds since the epoch; .ci/run sets it from CI's 90
# minutes) makes a stage that would likely not finish in time say so loudly and not start,
# rather than have the whole run killed; the normal suite and the fuzz stage always run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${MODELHOST_SKIP_SANITIZERS:-0}" = 1 ]; then
  echo "sanitize: skipped (MODELHOST_SKIP_SANITIZERS=1)"
  exit 0
fi
stages=${MODELHOST_SANITIZERS:-fuzz asan tsan}
jobs=$(nproc)

# A finding fails its test: UBSan halts, ASan's leak check is on, reports carry stacks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

stage() { printf '\nsanitize: %s\n' "$*"; }
# Line tables only and light optimisation: the sanitizer builds are mostly compile time.
# Warnings stay warnings here: the normal build holds the code to -Werror, and GCC's
# instrumented builds add their own (e.g. -Wtsan on Boost.Asio's atomic_thread_fence).
sanitizer_build_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELHOST_WERROR=OFF
                       "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
                       "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
timings=()

# Tests that cannot mean the same under a sanitizer runtime; they run in the normal suite:
# - plugins that crash on purpose (SIGSEGV in predict, a memory limit): the runtime catches the
#   signal (or UBSan the null store) and the tests' exact signal and restart checks cannot hold,
#   and ASan's shadow memory does not fit under an address-space limit;
# - RSS bounds (hardening_*): the runtime's own memory is not hostd's;
# - sdk.out_of_tree builds a plugin outside this build, without the sanitizer flags;
# - packaging.* package and check what the normal build built (files, not behaviour).
not_under_sanitizers='^(style\.|packaging\.|isolation\.process_(crash|runner)$|e2e\.(inprocess\.)?isolation_(segfault_in_predict|memory_leak)|e2e\.hardening_(stalled_stream_reader|client_that_reads_nothing)|sdk\.out_of_tree$)'

# Seconds a stage needs at most on CI's two cores (a generous guess, measured stage times are
# printed below; a stage not started is printed as NOT RUN).
declare -A stage_reserve=([fuzz]=0 [asan]=1800 [tsan]=1500)

for stage_name in $stages; do
  started=$SECONDS
  if [ -n "${MODELHOST_CI_DEADLINE:-}" ]; then
    left=$((MODELHOST_CI_DEADLINE - $(date +%s)))
    if [ "$left" -lt "${stage_reserve[$stage_name]:-0}" ]; then
      echo "sanitize: NOT RUN: $stage_name (${left} s left before CI's deadline, it needs up to ${stage_reserve[$stage_name]} s)"
      timings+=("$stage_name NOT RUN")
      continue
    fi
  fi
  case $stage_name in
    asan)
      build=${MODELHOST_ASAN_BUILD_DIR:-build-asan}
      stage "ASan+UBSan in $build: unit and end-to-end tests (the Llama plugin's excluded)"
      cmake -S . -B "$build" -G Ninja "${sanitizer_build_flags[@]}" \
        -DMODELHOST_SANITIZE="address;undefined" -DMODELHOST_BUILD_LLAMA=OFF
      cmake --build "$build" -j "$jobs"
      # style.* checks sources, not behaviour: the normal suite ran it already.
      ctest --test-dir "$build" --output-on-failure --timeout 900 -E "$not_under_sanitizers" "$@"
      ;;
    tsan)
      build=${MODELHOST_TSAN_BUILD_DIR:-build-tsan}
      stage "TSan in $build: the host's concurrency tests"
      cmake -S . -B "$build" -G Ninja "${sanitizer_build_flags[@]}" \
        -DMODELHOST_SANITIZE=thread -DMODELHOST_BUILD_LLAMA=OFF
      # hostd, the runner, the plugins the tests load, and the test programs below.
      plugins=$(cd "$build" && ninja -t targets all |
        sed -n 's/^\(mh_\(echo[a-z_]*\|test_[a-z0-9_]*\|bad_[a-z0-9_]*\)\): phony$/\1/p')
      # shellcheck disable=SC2086  # one target per word
      cmake --build "$build" -j "$jobs" --target hostd mh-runner hostd_unit_test \
        plugin_loader_test isolation_test hostd_e2e_test hostd_isolation_e2e_test $plugins
      ctest --test-dir "$build" --output-on-failure --timeout 900 \
        -R '^(host\.(model_registry|model_instance|admission|inference_dispatch)|plugin\.loader|isolation\.|e2e\.)' \
        -E "^e2e\\.(hostctl\\.|hardening_)|$not_under_sanitizers" "$@"
      ;;
    fuzz)
      build=${MODELHOST_FUZZ_BUILD_DIR:-build-fuzz}
      stage "libFuzzer targets in $build, ${MODELHOST_FUZZ_SECONDS:-30} s each"
      CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELHOST_FUZZ=ON -DMODELHOST_BUILD_TESTS=OFF \
        -DMODELHOST_FUZZ_SECONDS="${MODELHOST_FUZZ_SECONDS:-30}"
      targets=$(cd "$build" && ninja -t targets all | sed -n 's/^\(fuzz_[a-z0-9_]*\): phony$/\1/p')
      # shellcheck disable=SC2086  # one target per word
      cmake --build "$build" -j "$jobs" --target $targets
      ctest --test-dir "$build" --output-on-failure -L fuzz "$@"
      ;;
    *)
      echo "sanitize: unknown stage \"$stage_name\" (asan, tsan, fuzz)" >&2
      exit 2
      ;;
  esac
  timings+=("$stage_name $((SECONDS - started)) s")
  echo "sanitize: $stage_name took $((SECONDS - started)) s"
done
echo "sanitize: done (${timings[*]/%/;})"
