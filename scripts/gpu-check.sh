#!/usr/bin/env bash
# The GPU check (npm run test:gpu): builds the CUDA backend on a machine with an NVIDIA GPU, runs the
# GPU test suite (every CUDA op against the ref oracle, batch invariance, the demo model against
# golden and against the CPU), the native CPU tests, then the CUDA benchmark. Needs cmake >= 3.18, a
# C++17 compiler and nvcc; no Node.
#
#   scripts/gpu-check.sh [--dry-run] [--no-bench] [--bench-quick] [--jobs N]
#
# Environment:
#   OUT            where logs and results go (default ./gpu-out): gpu-tests.txt, native-tests.txt,
#                  gpu-bench.jsonl, build.log, summary.txt
#   CLASP_MODELS_DIR  the reference models folder (optional). Default: ../shared/models beside the
#                  checkout, else ./shared-gpu/models, else ./shared/models.
#   CUDA_ARCHS     CMake CUDA architectures (default 90-real;90-virtual, or the card's own when older)
#   BUILD_DIR      build folder (default build-gpu/ in the repository)
#
# A GPU server usually gets the repository only, and that is enough: the Q8_0 demo model
# (resources/clasp-demo-29M-q8_0.gguf, 31 MB) and golden.json (test/fixtures/golden) are in it. The F16
# GGUF (59 MB), whose weights are exactly the golden reference's, is optional: with it the golden
# greedy ids are checked on the GPU directly; without it the Q8_0 model is checked against the CPU
# backend. The whole shared/models folder (~150 MB) is not needed. From the checkout:
#   mkdir -p shared-gpu/models
#   cp ../shared/models/clasp-demo-29M.gguf shared-gpu/models/   # optional, if the transfer allows
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DRY=0
BENCH=1
BENCH_ARGS=()
JOBS=$(nproc 2>/dev/null || echo 4)
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --no-bench) BENCH=0 ;;
    --bench-quick) BENCH_ARGS+=(--quick) ;;
    --jobs) shift; JOBS=$1 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

OUT=${OUT:-./gpu-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-gpu}
say() { echo "[gpu-check] $*" | tee -a "$OUT/summary.txt"; }
# step LOG CMD...: runs CMD with its output on the terminal and in LOG (appended); returns its status.
step() {
  local log=$1
  shift
  echo "+ $*"
  if [ "$DRY" = 1 ]; then return 0; fi
  set +e
  "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  return "$rc"
}
: > "$OUT/summary.txt"

# ---- the GPU and its driver
HAVE_GPU=1
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
CC_CAP=""
if [ "$HAVE_GPU" = 1 ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader | while read -r l; do say "gpu: $l"; done
  DRIVER_CUDA=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -1)
  CC_CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' ')
  say "driver supports CUDA ${DRIVER_CUDA:-unknown}"
fi
if ! command -v nvcc > /dev/null 2>&1; then
  if [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=/usr/local/cuda/bin:$PATH; fi
fi
if command -v nvcc > /dev/null 2>&1; then
  NVCC_VER=$(nvcc --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
  say "nvcc $NVCC_VER ($(command -v nvcc)), cmake $(cmake --version | head -1 | awk '{print $3}')"
  # The CUDA runtime is linked statically: the driver must support the toolkit's major.minor.
  if [ -n "${DRIVER_CUDA:-}" ] && [ "$(printf '%s\n%s\n' "$NVCC_VER" "$DRIVER_CUDA" | sort -V | head -1)" != "$NVCC_VER" ]; then
    say "the driver supports CUDA $DRIVER_CUDA but nvcc is $NVCC_VER: the binaries would not start."
    say "use a toolkit no newer than the driver (e.g. PATH=/usr/local/cuda-$DRIVER_CUDA/bin:\$PATH) or update the driver"
    [ "$DRY" = 1 ] || exit 1
  fi
else
  say "nvcc not found (add the CUDA toolkit's bin folder to PATH)"
  [ "$DRY" = 1 ] || exit 1
fi

# ---- data (the native test binaries look the models folder up the same way)
MODELS=${CLASP_MODELS_DIR:-}
if [ -z "$MODELS" ]; then
  for d in "$ROOT/../shared/models" "$ROOT/shared-gpu/models" "$ROOT/shared/models"; do
    if [ -d "$d" ]; then MODELS=$(cd "$d" && pwd); break; fi
  done
fi
if [ -n "$MODELS" ]; then
  export CLASP_MODELS_DIR="$MODELS"
  say "reference models: $MODELS"
else
  say "no reference models folder: the tests that need one are skipped"
fi
for m in "$MODELS/clasp-demo-29M.gguf" "$ROOT/resources/clasp-demo-29M-q8_0.gguf"; do
  if [ -f "$m" ]; then say "model: $m"; fi
done

# ---- build
ARCHS=${CUDA_ARCHS:-}
if [ -z "$ARCHS" ]; then
  ARCHS="90-real;90-virtual"
  case "$CC_CAP" in
    ""|9.*|1[0-9].*) ;;
    *) ARCHS="${CC_CAP/./}-real" ;;  # an older card: build for it (needs 8.0 or newer)
  esac
fi
say "CUDA architectures: $ARCHS"
: > "$OUT/build.log"
step "$OUT/build.log" cmake -S "$ROOT/native" -B "$BUILD" -DENGINE_CUDA=ON -DENGINE_NODE_ADDON=OFF \
  -DCMAKE_BUILD_TYPE=Release "-DCLASP_CUDA_ARCHITECTURES=$ARCHS" "-DCMAKE_CXX_FLAGS=-DCLASP_REPO_DIR=\\\"$ROOT\\\"" ||
  { say "cmake configure failed: see $OUT/build.log"; exit 1; }
step "$OUT/build.log" cmake --build "$BUILD" -j "$JOBS" --target clasp-gpu-tests clasp-gpu-bench clasp-native-tests ||
  { say "build failed: see $OUT/build.log"; exit 1; }

# ---- tests, then the benchmark (the timeouts are hang guards only)
STATUS=0
cd "$ROOT"
: > "$OUT/gpu-tests.txt"
: > "$OUT/native-tests.txt"
if step "$OUT/gpu-tests.txt" timeout 900 "$BUILD/clasp-gpu-tests"; then
  [ "$DRY" = 1 ] || say "gpu tests: $(tail -1 "$OUT/gpu-tests.txt")"
else
  STATUS=1
  say "gpu tests FAILED: $(grep -c '^FAIL' "$OUT/gpu-tests.txt") failing; $(tail -1 "$OUT/gpu-tests.txt")"
fi
if step "$OUT/native-tests.txt" timeout 900 "$BUILD/clasp-native-tests"; then
  [ "$DRY" = 1 ] || say "native tests: $(tail -1 "$OUT/native-tests.txt")"
else
  STATUS=1
  say "native tests FAILED: $(tail -1 "$OUT/native-tests.txt")"
fi
if [ "$BENCH" = 1 ]; then
  echo "+ timeout 600 $BUILD/clasp-gpu-bench ${BENCH_ARGS[*]:-} > $OUT/gpu-bench.jsonl"
  if [ "$DRY" = 0 ]; then
    set +e
    timeout 600 "$BUILD/clasp-gpu-bench" "${BENCH_ARGS[@]}" 2> "$OUT/gpu-bench.err" | tee "$OUT/gpu-bench.jsonl"
    rc=${PIPESTATUS[0]}
    set -e
    if [ "$rc" = 0 ]; then
      say "bench: $(wc -l < "$OUT/gpu-bench.jsonl") measurements in $OUT/gpu-bench.jsonl"
    else
      STATUS=1
      say "bench FAILED (exit $rc): $(tail -3 "$OUT/gpu-bench.err")"
    fi
  fi
fi
if [ "$DRY" = 1 ]; then say "dry run: nothing was built or run"; fi
say "results in $OUT"
exit $STATUS
