#!/bin/bash
# Long soak of the writable-view differential test, by hand (as root):
#
#   fuse-tests/soak-writable.sh [BUILD_DIR] [FIRST_SEED] [SECONDS]
#
# Runs seed after seed (OVF_OPS operations each, default 1000) of
# WritableDifferential.Replay until SECONDS have passed (default 3600), alternating
# redirect_dir=off and redirect_dir=on (and umask 022, 000, 027 for the operations), and
# minimizes every diverging seed (OVF_MINIMIZE=1).
# Everything goes to $OVF_TEST_ARTIFACTS (default /tmp/ovf-artifacts)/soak-writable-DATE/:
# one log per failing seed, with the minimal reproduction, and summary.txt.
# OVF_WR_TOLERATE (see docs/testing-writable.md) looks past known divergences.
set -u
BUILD=${1:-/work/build-wr}
SEED=${2:-100000}
SECONDS_LIMIT=${3:-3600}
OPS=${OVF_OPS:-1000}
BIN=$BUILD/fuse-tests/ovf_writable_tests
[ -x "$BIN" ] || { echo "no $BIN: build the target ovf_writable_tests first" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root (the kernel overlay is the oracle)" >&2; exit 2; }
OUT=${OVF_TEST_ARTIFACTS:-/tmp/ovf-artifacts}/soak-writable-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
end=$(( $(date +%s) + SECONDS_LIMIT ))
ok=0; bad=0; ops_ok=0
while [ "$(date +%s)" -lt "$end" ]; do
  redirect=$(( SEED % 2 ))
  # The operations' umask cycles too (the daemon keeps the 022 it was mounted with).
  masks=(022 000 027)
  umask=${masks[$(( SEED / 2 % 3 ))]}
  log=$OUT/seed-$SEED$( [ $redirect = 1 ] && echo -redirect)-umask$umask.log
  # OVF_TIMEOUT_SECONDS turns a hung operation into a failure inside the test, which then
  # unmounts and kills the daemon itself (an outer kill would leave mounts behind).
  if OVF_SEED=$SEED OVF_OPS=$OPS OVF_REDIRECT_DIR=$redirect OVF_UMASK=$umask OVF_MINIMIZE=1 OVF_MINIMIZE_SECONDS=${OVF_MINIMIZE_SECONDS:-300} \
      OVF_TIMEOUT_SECONDS=${OVF_TIMEOUT_SECONDS:-60} OVF_TEST_ARTIFACTS=$OUT "$BIN" --gtest_filter=WritableDifferential.Replay > "$log" 2>&1; then
    ok=$((ok + 1)); ops_ok=$((ops_ok + OPS)); rm -f "$log"
  else
    bad=$((bad + 1))
    echo "seed $SEED (redirect_dir=$redirect, umask $umask): $(grep -m1 -o '\[[^]]*\]$\|\[[a-z-]*:[^]]*\]' "$log" | head -1) -> $log" | tee -a "$OUT/summary.txt"
  fi
  SEED=$((SEED + 1))
done
echo "matched the kernel overlay: $ok seeds x $OPS ops ($ops_ok ops); diverged: $bad seeds" | tee -a "$OUT/summary.txt"
# Nothing may be left mounted or running.
grep -q " /tmp/ovf-test\." /proc/self/mountinfo && echo "WARNING: mounts left below /tmp/ovf-test.*" | tee -a "$OUT/summary.txt"
[ "$bad" = 0 ]
