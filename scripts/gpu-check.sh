#!/usr/bin/env bash
# Runs on a GPU machine, in the repository root, with build/gpu-bundle.tar.xz
# carried there (made by scripts/gpu-bundle.sh). Steps, in the order given
# (default: all of them):
#   tests     the CUDA instances of the whole test suite, and the every-op loop
#   memcheck  the same under compute-sanitizer memcheck
#   bench     ember-bench --device cuda, with the issue's ratios
# Logs and a summary (summary.md) land in $OUT. The device tool stops a
# command after 10 minutes, so each step has its own time limit
# (EMBER_STEP_LIMIT, seconds, default 540); split the steps over calls when
# one call would run longer, e.g. `bash scripts/gpu-check.sh tests bench`, then
# `bash scripts/gpu-check.sh memcheck`.
set -uo pipefail
OUT="${OUT:-/tmp/ember-gpu-out}"
limit="${EMBER_STEP_LIMIT:-540}"
mkdir -p "$OUT"
steps=("$@")
((${#steps[@]})) || steps=(tests memcheck bench)
tar -xJf build/gpu-bundle.tar.xz -C /tmp || { echo "no build/gpu-bundle.tar.xz: run scripts/gpu-bundle.sh and carry it"; exit 2; }
stage=/tmp/gpu-stage
cuda_libs=$(dirname "$(find / -name 'libcublas.so.13*' -not -path '/proc/*' 2>/dev/null | head -n 1)")
# cuDNN (hundreds of MB, too big to carry): the toolkit's, else the one in PyTorch's wheels.
cudnn_libs=$(dirname "$(find / -name 'libcudnn.so.9*' -not -path '/proc/*' 2>/dev/null | head -n 1)")
export LD_LIBRARY_PATH="$stage/lib:/usr/local/cuda/lib64:${cuda_libs}:${cudnn_libs}:${LD_LIBRARY_PATH:-}"
export EMBER_TEST_DATA_DIR="$PWD/tests/data"
export EMBER_FASHION_MNIST_DIR="$stage/data/fashion-mnist" EMBER_FORTUNES_DIR="$stage/data/fortunes"
summary="$OUT/summary.md"
{
  echo "# ember GPU check, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "card: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null)"
  echo
  echo "| step | exit | result |"
  echo "|---|---|---|"
} >"$summary"
"$stage/bin/ember-info" >"$OUT/info.txt" 2>&1

for step in "${steps[@]}"; do
  case "$step" in
    tests)
      timeout "$limit" "$stage/bin/ember-tests" --gtest_filter='*cuda0*:EveryOp.*' >"$OUT/tests.log" 2>&1
      rc=$?
      echo "| tests (cuda0) | $rc | $(grep -E '^\[  (PASSED|FAILED) ' "$OUT/tests.log" | tr '\n' ' ') |" >>"$summary"
      ;;
    memcheck)
      sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
      # Without ember's block cache, so every device use after free reaches the sanitizer.
      EMBER_CUDA_CACHING=0 timeout "$limit" "$sanitizer" --tool memcheck --error-exitcode 3 "$stage/bin/ember-tests" \
        --gtest_filter='*cuda0*:EveryOp.*' >"$OUT/memcheck.log" 2>&1
      rc=$?
      echo "| compute-sanitizer memcheck | $rc | $(grep -E 'ERROR SUMMARY' "$OUT/memcheck.log" | tail -n 1) $(grep -E '^\[  (PASSED|FAILED) ' "$OUT/memcheck.log" | tr '\n' ' ') |" >>"$summary"
      ;;
    bench)
      timeout "$limit" "$stage/bin/ember-bench" --device cuda >"$OUT/bench.txt" 2>&1
      rc=$?
      {
        echo "| ember-bench --device cuda | $rc | $(tr '\n' ';' <"$OUT/bench.txt") |"
        echo
        echo "Targets (issue 3): add_256M >= 90% of copy_256M; matmul >= 95% of cuBLAS called directly;"
        echo "op_overhead < 2 us."
        awk '{v[$1] = $2}
          END {
            if ("add_256M" in v && v["copy_256M"] > 0) printf "- add_256M / copy_256M: %.1f%%\n", 100 * v["add_256M"] / v["copy_256M"]
            n = split("fp32 tf32 bf16", k, " ")
            for (i = 1; i <= n; ++i) {
              e = "matmul_8192_" k[i]; c = "cublas_8192_" k[i]
              if ((e in v) && v[c] > 0) printf "- %s / %s: %.1f%%\n", e, c, 100 * v[e] / v[c]
            }
            if ("op_overhead" in v) printf "- op_overhead: %s us\n", v["op_overhead"]
          }' "$OUT/bench.txt"
      } >>"$summary"
      ;;
    *)
      echo "unknown step '$step' (tests, memcheck, bench)" >&2
      exit 2
      ;;
  esac
done
cat "$summary"
