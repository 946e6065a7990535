#!/bin/sh
# How a 2-rank job ends when a rank fails (distributed_test.cpp, `--fault`):
# with an error naming the rank, within bounded time, its last complete
# checkpoint intact, and a new job resuming from it.
#   faults.sh SCENARIO "MPIRUN..." ember-distributed-tests ember-ckpt
# timeout: rank 1 never joins a collective; rank 0 gives up after 3 s.
# throw:   rank 1 ends on an uncaught exception while rank 0 waits.
# caught:  rank 1 catches its exception and returns from main while rank 0
#          waits (with a 120 s timeout: only rank 1's notice can end it in time).
# die:     rank 1 is killed (SIGKILL) while rank 0 waits.
set -u
scenario=$1 mpirun=$2 tests=$3 ckpt=$4
dir=$(mktemp -d)
log=$dir/log
start=$(date +%s)
# shellcheck disable=SC2086  # the launcher and its flags
$mpirun "$tests" --fault "$scenario" "$dir/ckpt" >"$log" 2>&1
rc=$?
elapsed=$(($(date +%s) - start))
cat "$log"
fail() { echo "FAULT TEST FAILED ($scenario): $*"; rm -rf "$dir"; exit 1; }
[ "$rc" -ne 0 ] || fail "the job exited 0"
[ "$elapsed" -le 40 ] || fail "the job took ${elapsed} s to end"
case $scenario in
  timeout) want="no answer from the other ranks in 3 s to the all_reduce of 'step 2'" ;;
  throw) want="rank 1 of 2 terminated: rank 1's step failed" ;;
  caught) want="rank 0 of 2: rank 1 ended its program after" ;;
  die) want="rank 1" ;;
  *) fail "unknown scenario" ;;
esac
grep -qF "$want" "$log" || fail "no line says: $want"
if [ "$scenario" = caught ]; then
  grep -qF "while this rank waits in the all_reduce of 'step 2'" "$log" || fail "the error does not name the collective"
fi
if [ "$scenario" = die ]; then
  grep -qiE "signal 9|killed" "$log" || fail "nothing says rank 1 was killed"
fi
"$ckpt" "$dir/ckpt" >"$dir/keys" 2>&1 || fail "the last checkpoint does not read: $(cat "$dir/keys")"
grep -q "model/w" "$dir/keys" || fail "the last checkpoint lacks model/w: $(cat "$dir/keys")"
# A new job (of one process) resumes from it.
"$tests" --fault resume "$dir/ckpt" >"$dir/resume" 2>&1 || fail "no resume: $(cat "$dir/resume")"
grep -q "^resumed from $dir/ckpt/ckpt-1" "$dir/resume" || fail "no resume: $(cat "$dir/resume")"
echo "FAULT TEST PASSED ($scenario): exit $rc after ${elapsed} s, checkpoint intact, resumed"
rm -rf "$dir"
