#!/usr/bin/env bash
# The GPU check (npm run test:gpu): builds the CUDA backend's test and benchmark executables with CMake
# and runs them on a machine with an NVIDIA GPU. Needs cmake >= 3.18, a C++17 compiler and nvcc; no
# Node. Every test runs in its own process under a timeout, batch invariance first.
#
#   scripts/gpu-check.sh [MODELS_DIR] [--dry-run] [--bench-only] [--no-bench] [--bench-quick]
#                        [--with-cpu-suite] [--jobs N]
#
# Everything the GPU tests need is in the repository: golden.json (test/fixtures/golden), the Q8_0
# demo model (resources/, 31.5 MB), which the tests also convert to BF16 in memory. So on the device
# tool nothing needs to be carried; from the repository root the whole check is:
#   bash scripts/gpu-check.sh
# MODELS_DIR (or $CLASP_MODELS_DIR; default ../shared/models, else shared-gpu/models) is optional: a
# folder with clasp-demo-29M.gguf (59 MB F16, the golden reference's weights exactly) makes the golden
# greedy ids be checked on the GPU directly. It does not fit the device tool's 64 MiB limit (the
# tree is ~35 MB), so there it is left out; elsewhere, e.g. mkdir -p shared-gpu/models &&
# cp ../shared/models/clasp-demo-29M.gguf shared-gpu/models/ (shared-gpu/ is git-ignored).
#
# Options:
#   --dry-run         print what would be built and run; needs no GPU, nvcc or data (CI runs this)
#   --bench-only      build and run the benchmark only (npm run bench:gpu)
#   --no-bench        tests only
#   --bench-quick     fewer repetitions in the benchmark
#   --with-cpu-suite  also build and run the CPU native suite (off by default: it checks nothing on the GPU)
#   --jobs N          build parallelism (default: the number of cores)
# Environment: OUT (results folder, default ./gpu-out), BUILD_DIR (default build-gpu/), CUDA_ARCHS
# (default: the card's own, e.g. 90-real), STEP_TIMEOUT_S (per test / bench part, default and at most
# 240), BUDGET_S (the whole run, default 570: later steps are skipped, not cut, when it runs out).
# Results in $OUT (at most 7 files): summary.txt, build.log, gpu-tests.txt, gpu-bench.jsonl,
# gpu-bench.err, sass.txt (cuobjdump of the hot kernels, when cuobjdump exists), native-tests.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_START=$(date +%s)
DRY=0 TESTS=1 BENCH=1 CPU_SUITE=0 MODELS=${CLASP_MODELS_DIR:-}
BENCH_ARGS=()
JOBS=$(nproc 2>/dev/null || echo 4)
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --no-bench) BENCH=0 ;;
    --bench-only) TESTS=0 ;;
    --bench-quick) BENCH_ARGS+=(--quick) ;;
    --with-cpu-suite) CPU_SUITE=1 ;;
    --jobs) shift; JOBS=${1:?--jobs needs a number} ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "gpu-check: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) MODELS=$1 ;;
  esac
  shift
done
STEP_TIMEOUT=${STEP_TIMEOUT_S:-240}
[ "$STEP_TIMEOUT" -le 240 ] || STEP_TIMEOUT=240
BUDGET=${BUDGET_S:-570}

OUT=${OUT:-$ROOT/gpu-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-gpu}
say() { echo "[gpu-check] $*" | tee -a "$OUT/summary.txt"; }
: > "$OUT/summary.txt"
# left: seconds of the budget that remain.
left() { echo $((BUDGET - ($(date +%s) - T_START))); }
# step_timeout: the per-step limit, shortened near the end of the budget (0: no time left).
step_timeout() {
  local l
  l=$(left)
  l=$((l - 10))
  [ "$l" -lt "$STEP_TIMEOUT" ] && echo $((l > 0 ? l : 0)) || echo "$STEP_TIMEOUT"
}
# no_time: true when under 30 s of the budget remain (later steps are skipped, and the run fails).
no_time() { [ "$(left)" -lt 30 ]; }
# run_logged LOG CMD...: CMD's output on the terminal and appended to LOG; returns CMD's status.
run_logged() {
  local log=$1
  shift
  echo "+ $*"
  [ "$DRY" = 1 ] && return 0
  set +e
  "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  return "$rc"
}

# ---- the GPU, its driver and the toolkit
HAVE_GPU=1 CC_CAP="" DRIVER_CUDA=""
if ! command -v nvidia-smi > /dev/null 2>&1; then
  say "no NVIDIA driver here (nvidia-smi not found)"
  HAVE_GPU=0
elif ! nvidia-smi -L > /dev/null 2>&1; then
  say "nvidia-smi found no usable GPU: $(nvidia-smi -L 2>&1 | head -1)"
  HAVE_GPU=0
fi
if [ "$HAVE_GPU" = 0 ] && [ "$DRY" = 0 ]; then
  say "no GPU: nothing to check (the CPU build and npm test cover this machine)"
  exit 0
fi
if [ "$HAVE_GPU" = 1 ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader |
    while read -r l; do say "gpu: $l"; done
  DRIVER_CUDA=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -1)
  CC_CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' ')
  say "driver supports CUDA ${DRIVER_CUDA:-unknown}"
fi
if ! command -v nvcc > /dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=/usr/local/cuda/bin:$PATH; fi
if command -v nvcc > /dev/null 2>&1; then
  NVCC_VER=$(nvcc --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
  say "nvcc $NVCC_VER ($(command -v nvcc)), cmake $(cmake --version 2>/dev/null | head -1 | awk '{print $3}')"
  # The CUDA runtime is linked statically: the driver must support the toolkit's major.minor.
  if [ -n "$DRIVER_CUDA" ] && [ "$(printf '%s\n%s\n' "$NVCC_VER" "$DRIVER_CUDA" | sort -V | head -1)" != "$NVCC_VER" ]; then
    say "the driver supports CUDA $DRIVER_CUDA but nvcc is $NVCC_VER: the binaries would not start."
    say "use a toolkit no newer than the driver (PATH=/usr/local/cuda-$DRIVER_CUDA/bin:\$PATH) or update the driver"
    [ "$DRY" = 1 ] || exit 1
  fi
else
  say "nvcc not found (add the CUDA toolkit's bin folder to PATH)"
  [ "$DRY" = 1 ] || exit 1
fi

# ---- data: all in the repository; a models folder is optional (the native test binaries look it up
# the same way)
if [ -z "$MODELS" ]; then
  for d in "$ROOT/../shared/models" "$ROOT/shared-gpu/models" "$ROOT/shared/models"; do
    if [ -d "$d" ]; then MODELS=$d; break; fi
  done
fi
if [ -n "$MODELS" ]; then
  [ -d "$MODELS" ] || { say "models folder $MODELS does not exist (see --help)"; exit 2; }
  MODELS=$(cd "$MODELS" && pwd)
  export CLASP_MODELS_DIR="$MODELS"
  say "reference models: $MODELS"
else
  say "no reference models folder: the F16 demo is not checked (the bundled Q8_0 and its BF16 copy are)"
fi
[ -f "$ROOT/test/fixtures/golden/golden.json" ] || say "test/fixtures/golden/golden.json is missing: the model tests will fail"
for m in "${MODELS:-/nonexistent}/clasp-demo-29M.gguf" "$ROOT/resources/clasp-demo-29M-q8_0.gguf"; do
  [ -f "$m" ] && say "model: $m"
done

# ---- build: only the executables this run needs
ARCHS=${CUDA_ARCHS:-}
if [ -z "$ARCHS" ]; then
  case "$CC_CAP" in
    "") ARCHS="90-real;90-virtual" ;;  # no card seen (dry run): the default build
    *) ARCHS="${CC_CAP/./}-real" ;;    # the card's own machine code only (needs 8.0 or newer)
  esac
fi
GEN="Unix Makefiles"
command -v ninja > /dev/null 2>&1 && GEN=Ninja
# A build folder configured with the other generator cannot be reused.
if [ -f "$BUILD/CMakeCache.txt" ] && ! grep -q "^CMAKE_GENERATOR:INTERNAL=$GEN\$" "$BUILD/CMakeCache.txt"; then
  echo "+ rm -rf $BUILD  (configured with another generator)"
  [ "$DRY" = 1 ] || rm -rf "$BUILD"
fi
TARGETS=()
[ "$TESTS" = 1 ] && TARGETS+=(clasp-gpu-tests)
[ "$BENCH" = 1 ] && TARGETS+=(clasp-gpu-bench)
[ "$CPU_SUITE" = 1 ] && [ "$TESTS" = 1 ] && TARGETS+=(clasp-native-tests)
if [ "${#TARGETS[@]}" = 0 ]; then say "nothing to do (--bench-only with --no-bench)"; exit 2; fi
say "build: $GEN, CUDA architectures $ARCHS, targets ${TARGETS[*]}"
: > "$OUT/build.log"
run_logged "$OUT/build.log" cmake -S "$ROOT/native" -B "$BUILD" -G "$GEN" -DENGINE_CUDA=ON -DENGINE_NODE_ADDON=OFF \
  -DCMAKE_BUILD_TYPE=Release "-DCLASP_CUDA_ARCHITECTURES=$ARCHS" ||
  { say "cmake configure failed: see $OUT/build.log"; exit 1; }
run_logged "$OUT/build.log" cmake --build "$BUILD" -j "$JOBS" --target "${TARGETS[@]}" ||
  { say "build failed: see $OUT/build.log"; exit 1; }
[ "$DRY" = 1 ] || say "built in $(($(date +%s) - T_START)) s"

# ---- SASS of the hot kernels (skinny matmul, attention, norms), for reading register use and loads
if command -v cuobjdump > /dev/null 2>&1 || [ "$DRY" = 1 ]; then
  echo "+ cuobjdump --dump-resource-usage / --dump-sass $BUILD/libengine_cuda.a > $OUT/sass.txt"
  if [ "$DRY" = 0 ]; then
    {
      cuobjdump --dump-resource-usage "$BUILD/libengine_cuda.a" 2>&1 | grep -E 'Function|REG|STACK' || true
      cuobjdump --dump-sass "$BUILD/libengine_cuda.a" 2>&1 |
        awk '/Function : /{keep = ($0 ~ /mmv_tc|attn_|rmsnorm|rope|silu|add_kernel/)} keep'
    } | head -c 15000000 > "$OUT/sass.txt" || true
  fi
else
  say "cuobjdump not found: no SASS dump"
fi

STATUS=0
cd "$ROOT"
# ---- tests: one process per test (a hang loses one test), batch invariance first
if [ "$TESTS" = 1 ]; then
  : > "$OUT/gpu-tests.txt"
  if [ "$DRY" = 1 ]; then
    echo "+ for each test of $BUILD/clasp-gpu-tests --list (the CUDA probe, then batch invariance, then the rest):"
    echo "+   timeout $STEP_TIMEOUT $BUILD/clasp-gpu-tests --only NAME >> $OUT/gpu-tests.txt"
  else
    mapfile -t ALL < <("$BUILD/clasp-gpu-tests" --list)
    if [ "${#ALL[@]}" = 0 ]; then STATUS=1; say "gpu tests FAILED: clasp-gpu-tests --list printed no test"; fi
    # The probe first (it names the device, and nothing else can pass without it), then batch invariance.
    mapfile -t ORDER < <(printf '%s\n' "${ALL[@]}" | grep batch_invariant
                         printf '%s\n' "${ALL[@]}" | grep -v -e batch_invariant -e cuda_probe_and_device_info)
    pass=0 fail=0 skipped=()
    if ! timeout 60 "$BUILD/clasp-gpu-tests" --only cuda_probe_and_device_info 2>&1 | tee -a "$OUT/gpu-tests.txt" |
      grep -q '^ok '; then
      say "CUDA is not usable: $(grep -m1 -e 'not usable' -e FAIL "$OUT/gpu-tests.txt" || echo 'see gpu-tests.txt')"
      fail=1 ORDER=() BENCH=0
    else
      pass=1
    fi
    for t in "${ORDER[@]}"; do
      if no_time; then skipped+=("$t(no time left)"); STATUS=1; continue; fi
      to=$(step_timeout)
      set +e
      timeout "$to" "$BUILD/clasp-gpu-tests" --only "$t" 2>&1 | grep -Ev '^gpu: [0-9]+ passed' | tee -a "$OUT/gpu-tests.txt"
      rc=${PIPESTATUS[0]}
      set -e
      if [ "$rc" != 0 ] && tail -3 "$OUT/gpu-tests.txt" | grep -q "^skip $t:"; then skipped+=("$t"); continue; fi
      if [ "$rc" = 0 ]; then pass=$((pass + 1)); else
        fail=$((fail + 1))
        [ "$rc" = 124 ] && echo "FAIL $t (timed out after $to s)" | tee -a "$OUT/gpu-tests.txt"
      fi
    done
    [ "$fail" = 0 ] || STATUS=1
    say "gpu tests: $pass passed, $fail failed${skipped:+, skipped: ${skipped[*]}}"
    grep '^FAIL' "$OUT/gpu-tests.txt" | while read -r l; do say "  $l"; done || true
  fi
  if [ "$CPU_SUITE" = 1 ]; then
    : > "$OUT/native-tests.txt"
    run_logged "$OUT/native-tests.txt" timeout "$(step_timeout)" "$BUILD/clasp-native-tests" ||
      { STATUS=1; say "native (CPU) tests FAILED: $(tail -1 "$OUT/native-tests.txt")"; }
    [ "$DRY" = 1 ] || say "native (CPU) tests: $(tail -1 "$OUT/native-tests.txt")"
  fi
fi

# ---- benchmark: one process per part, JSON lines into gpu-bench.jsonl
if [ "$BENCH" = 1 ]; then
  [ "$DRY" = 1 ] || { : > "$OUT/gpu-bench.jsonl"; : > "$OUT/gpu-bench.err"; }
  for part in 1b 8b; do
    to=$(step_timeout)
    echo "+ timeout $to $BUILD/clasp-gpu-bench --models $part ${BENCH_ARGS[*]:-} >> $OUT/gpu-bench.jsonl"
    [ "$DRY" = 1 ] && continue
    if no_time; then say "bench $part skipped: the time budget is spent"; STATUS=1; continue; fi
    set +e
    timeout "$to" "$BUILD/clasp-gpu-bench" --models "$part" "${BENCH_ARGS[@]}" 2>> "$OUT/gpu-bench.err" |
      tee -a "$OUT/gpu-bench.jsonl"
    rc=${PIPESTATUS[0]}
    set -e
    if [ "$rc" != 0 ]; then
      STATUS=1
      say "bench $part FAILED (exit $rc$([ "$rc" = 124 ] && echo ", timed out after $to s")): $(tail -1 "$OUT/gpu-bench.err")"
    fi
  done
  [ "$DRY" = 1 ] || say "bench: $(wc -l < "$OUT/gpu-bench.jsonl") measurements in $OUT/gpu-bench.jsonl"
fi
if [ "$DRY" = 1 ]; then say "dry run: nothing was built or run"; fi
say "done in $(($(date +%s) - T_START)) s; results in $OUT"
exit $STATUS
