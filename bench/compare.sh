#!/usr/bin/env bash
# Runs ember-bench and torch-bench alternately on this machine, ROUNDS times
# (default 3), and prints a Markdown table with each workload's median figure
# on both sides and the median of the per-round ratios (this machine drifts,
# so only ratios taken from adjacent runs mean anything).
# Usage: [ROUNDS=5] [TORCH_BENCH=torch2-bench] [BUILD=build/release] bench/compare.sh [workload...]
#   (after scripts/build.sh release; torch2-bench: libtorch 2.x, scripts/setup-torch2.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD:-build/release}"
rounds="${ROUNDS:-3}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"  # both sides use the same threads
all=""
for ((r = 0; r < rounds; ++r)); do
  e=$($build/bench/ember-bench "$@")
  t=$($build/bench/${TORCH_BENCH:-torch-bench} "$@" 2>/dev/null || true)
  all+=$(awk -v r="$r" '{print "E", r, $1, $2, $3}' <<<"$e")$'\n'
  all+=$(awk -v r="$r" 'NF {print "T", r, $1, $2, $3}' <<<"$t")$'\n'
done
echo "| workload | ember | libtorch | ember / libtorch (median of $rounds interleaved rounds) |"
echo "|---|---|---|---|"
awk '
  NF == 5 { v[$1, $2, $3] = $4; unit[$3] = $5; if (!($3 in seen)) { seen[$3] = 1; order[n++] = $3 } ; if ($2 + 1 > R) R = $2 + 1 }
  function median(a, k,   i, j, t) {
    for (i = 0; i < k; ++i) for (j = i + 1; j < k; ++j) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return k % 2 ? a[int(k / 2)] : (a[k / 2 - 1] + a[k / 2]) / 2
  }
  END {
    for (w = 0; w < n; ++w) {
      name = order[w]; ke = kt = kr = 0
      delete es; delete ts; delete rs
      for (r = 0; r < R; ++r) {
        if (("E", r, name) in v) es[ke++] = v["E", r, name]
        if (("T", r, name) in v) ts[kt++] = v["T", r, name]
        if (("E", r, name) in v && ("T", r, name) in v && v["T", r, name] > 0) rs[kr++] = v["E", r, name] / v["T", r, name]
      }
      if (kt) printf "| %s | %.3g %s | %.3g %s | %.2f |\n", name, median(es, ke), unit[name], median(ts, kt), unit[name], median(rs, kr)
      else printf "| %s | %.3g %s | n/a | |\n", name, median(es, ke), unit[name]
    }
  }' <<<"$all"
