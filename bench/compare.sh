#!/usr/bin/env bash
# Runs ember-bench and torch-bench one after the other on this machine and
# prints a Markdown table of both, with ember's figure as a share of torch's.
# Usage: bench/compare.sh [workload...]   (after scripts/build.sh release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/release
ember_out=$($build/bench/ember-bench "$@")
torch_out=$($build/bench/torch-bench "$@" 2>/dev/null || true)
echo "| workload | ember | libtorch | ember / libtorch |"
echo "|---|---|---|---|"
while read -r name value unit; do
  tval=$(awk -v n="$name" '$1 == n {print $2}' <<<"$torch_out")
  if [[ -n "$tval" ]]; then
    ratio=$(awk -v e="$value" -v t="$tval" 'BEGIN {printf "%.2f", e / t}')
    echo "| $name | $value $unit | $tval $unit | $ratio |"
  else
    echo "| $name | $value $unit | n/a | |"
  fi
done <<<"$ember_out"
