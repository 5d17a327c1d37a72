#!/usr/bin/env bash
# bench/profile.sh -- profile the overlayfuse daemon on the shared bench data.
#
# Mounts one overlayfuse view (read-only or writable) over a data set that shared/bench's
# make-data.sh built, runs a workload against it with the daemon under `perf record`
# (software cpu-clock event: this VM has no PMU), `valgrind --tool=callgrind` or nothing,
# and prints the daemon's VmRSS/VmHWM, fd and thread counts before and after every rep.
# Everything happens in a private mount namespace, and the view is unmounted at the end.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

usage() {
    cat <<EOF
usage: bench/profile.sh [OPTIONS] WORKLOAD

workloads (MNT is the mount point; quick variants are what bench/run.sh --quick times):
  walk        find MNT -printf '%s\n'                   (set debian)
  readall     tar -cf - MNT | wc -c                     (set debian)
  stat-deep   os.stat of the bottom file x10k           (set deep)
  stat-miss   stat of 500 missing names x4 in usr/lib   (set deep)
  readdir     os.scandir of wide/d (50k entries)        (set wide)
  readdir-l   ls -l of wide/d: readdir + stat of 50k    (set wide)
  bigread     dd the 1 GiB blob                         (set big)
  create      create 10k 100-byte files, sync           (set debian; needs --mode rw)
  rm          rm -rf usr/share, sync                    (set debian; needs --mode rw)
  chroot      dpkg -l; ls -R /usr; python3 imports      (set debian)
  'CMD'       any shell command; \$MNT is exported     (give --set)

options:
  --bin PATH        overlayfuse binary (default: build-prof/src/overlayfuse, built
                    RelWithDebInfo with frame pointers if missing)
  --mode ro|rw      read-only view, or writable with a fresh upper (default ro)
  --set NAME        data set (default: the workload's)
  --data DIR        data root (default /var/tmp/overlayfuse-bench)
  --tool T          perf (default), callgrind, trace (FUSE requests by opcode and their
                    latency, from the kernel's fuse tracepoints), or none
  --reps N          run the workload N times on the same mount (default 1)
  --cold            drop the page/dentry caches before every rep
  --warm            run the workload once, untimed and unprofiled, first
  -o OPTS           -o options for overlayfuse mount
  --out DIR         where perf.data / callgrind.out and the reports go (default /tmp/ovf-profile)
EOF
}

ORIG=("$@")
BIN= MODE=ro SET= DATA=/var/tmp/overlayfuse-bench TOOL=perf REPS=1 COLD=0 WARM=0 OPTS= OUT=/tmp/ovf-profile
WL=
while [[ $# -gt 0 ]]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --bin) BIN=$2; shift 2 ;;
        --mode) MODE=$2; shift 2 ;;
        --set) SET=$2; shift 2 ;;
        --data) DATA=$2; shift 2 ;;
        --tool) TOOL=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        --cold) COLD=1; shift ;;
        --warm) WARM=1; shift ;;
        -o) OPTS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -*) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
        *) WL=$1; shift ;;
    esac
done
[[ -n $WL ]] || { usage >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "profile.sh: must run as root" >&2; exit 2; }
if [[ -z ${OVF_PROFILE_NS:-} ]]; then
    export OVF_PROFILE_NS=1
    exec unshare --mount --propagation private "$0" "${ORIG[@]}"
fi

if [[ -z $BIN ]]; then
    BIN=$REPO/build-prof/src/overlayfuse
    if [[ ! -x $BIN ]]; then
        cmake -S "$REPO" -B "$REPO/build-prof" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DOVERLAYFUSE_BUILD_TESTS=OFF -DCMAKE_CXX_FLAGS=-fno-omit-frame-pointer >&2
        cmake --build "$REPO/build-prof" --target overlayfuse >&2
    fi
fi

case $WL in
    walk)      def=debian; CMD='find "$MNT" -printf "%s\n" | wc -l' ;;
    readall)   def=debian; CMD='tar -C "$MNT" -cf - . | wc -c' ;;
    stat-deep) def=deep;   CMD='python3 -c "import os,sys
for _ in range(10000): os.stat(sys.argv[1])" "$MNT/usr/share/deep/target"' ;;
    stat-miss) def=deep;   CMD='python3 -c "import os,sys
names=[sys.argv[1]+\"/missing-%d.so\" % i for i in range(500)]
for _ in range(4):
    for p in names:
        try: os.stat(p)
        except FileNotFoundError: pass" "$MNT/usr/lib"' ;;
    readdir)   def=wide;   CMD='python3 -c "import os,sys; print(sum(1 for _ in os.scandir(sys.argv[1])))" "$MNT/wide/d"' ;;
    readdir-l) def=wide;   CMD='ls -l "$MNT/wide/d" 2>&1 >/dev/null | sort | uniq -c | sort -rn | head -3' ;;
    bigread)   def=big;    CMD='dd if="$MNT/big/blob" of=/dev/null bs=1M status=none' ;;
    create)    def=debian; CMD='python3 -c "import os,sys
d=sys.argv[1]+\"/var/tmp/bench-create-%d\" % os.getpid(); os.mkdir(d)
for i in range(10000):
    fd=os.open(\"%s/f%05d\" % (d,i), os.O_CREAT|os.O_EXCL|os.O_WRONLY, 0o644); os.write(fd,b\"x\"*100); os.close(fd)
os.sync()" "$MNT"' ;;
    rm)        def=debian; CMD='rm -rf "$MNT/usr/share" && sync' ;;
    chroot)    def=debian; CMD='env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C PYTHONDONTWRITEBYTECODE=1 chroot "$MNT" /bin/sh -ec "dpkg -l; ls -R /usr; python3 -c \"import json, email.parser, http.client, decimal, asyncio, sqlite3, ssl\"" >/dev/null' ;;
    *)         def=; CMD=$WL ;;
esac
SET=${SET:-$def}
[[ -n $SET ]] || { echo "profile.sh: give --set for a custom command" >&2; exit 2; }
L=$DATA/$SET/layers
[[ -d $L ]] || { echo "profile.sh: no data in $L (run bench/run.sh --quick once)" >&2; exit 2; }
lowers=$(ls -r "$L" | sed "s|^|$L/|" | paste -sd:)
T=$(mktemp -d /var/tmp/ovf-profile.XXXXXX)
mkdir "$T/mnt" "$T/upper" "$T/work"
export MNT=$T/mnt
mkdir -p "$OUT"
rw=()
[[ $MODE == rw ]] && rw=(--upper "$T/upper" --work "$T/work")
o=()
[[ -n $OPTS ]] && o=(-o "$OPTS")

PID= TPID=
cleanup() {
    [[ -n $TPID ]] && kill -INT "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
    if grep -q " $MNT " /proc/self/mountinfo; then "$BIN" umount "$MNT" || umount -l "$MNT"; fi
    if [[ -n $PID ]]; then
        for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$PID" 2>/dev/null && { echo "profile.sh: daemon $PID still alive, SIGTERM" >&2; kill "$PID"; }
    fi
    rm -rf "$T"
}
trap cleanup EXIT

if [[ $TOOL == callgrind ]]; then
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" -q \
        "$BIN" mount -f "${o[@]}" --lower "$lowers" "${rw[@]}" "$MNT" &
    PID=$!
    for _ in $(seq 600); do grep -q " $MNT " /proc/self/mountinfo && break; sleep 0.1; done
    ls "$MNT" >/dev/null
else
    "$BIN" mount "${o[@]}" --lower "$lowers" "${rw[@]}" "$MNT"
    PID=$(pgrep -f -- " $MNT\$" | head -1)
fi
st() {
    printf '%-22s %s fds=%s threads=%s\n' "$1" \
        "$(grep -E '^(VmRSS|VmHWM)' /proc/$PID/status | tr -s ' \t\n' ' ')" \
        "$(ls /proc/$PID/fd | wc -l)" "$(ls /proc/$PID/task | wc -l)"
}
echo "daemon $PID: $BIN mode=$MODE set=$SET workload=$WL" >&2
st mounted
if [[ $WARM == 1 ]]; then bash -c "$CMD" >/dev/null; st "after warm-up"; fi
if [[ $TOOL == perf ]]; then
    perf record -q -e cpu-clock -F 2999 -g -p "$PID" -o "$OUT/perf.data" 2>/dev/null &
    TPID=$!
    sleep 0.5
fi
if [[ $TOOL == trace ]]; then
    perf record -q -a -e fuse:fuse_request_send -e fuse:fuse_request_end -o "$OUT/trace.data" 2>/dev/null &
    TPID=$!
    sleep 0.5
fi
for i in $(seq "$REPS"); do
    [[ $COLD == 1 ]] && { sync; echo 3 >/proc/sys/vm/drop_caches; }
    t0=$(date +%s.%N)
    bash -c "$CMD" | tail -3
    t1=$(date +%s.%N)
    st "rep $i: $(printf '%.3f' "$(echo "$t1 - $t0" | bc)") s"
done
if [[ $TOOL == perf ]]; then
    kill -INT "$TPID"; wait "$TPID" 2>/dev/null || true; TPID=
    perf report -i "$OUT/perf.data" --no-children --sort sym --stdio -g none --percent-limit 0.7 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | head -45 > "$OUT/report.txt" || true
    perf report -i "$OUT/perf.data" --children --sort sym --stdio -g none --percent-limit 2 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | head -60 > "$OUT/report-children.txt" || true
    echo "--- perf: self time by symbol ($OUT/report.txt; children: report-children.txt)"
    cat "$OUT/report.txt"
fi
if [[ $TOOL == trace ]]; then
    kill -INT "$TPID"; wait "$TPID" 2>/dev/null || true; TPID=
    echo "--- FUSE requests during the reps (kernel fuse tracepoints, $OUT/trace.data)"
    perf script -i "$OUT/trace.data" 2>/dev/null | python3 "$HERE/fuse_requests.py" "$(stat -c %d "$MNT")"
fi
if [[ $TOOL == callgrind ]]; then
    "$BIN" umount "$MNT"; wait "$PID" || true
    callgrind_annotate --inclusive=yes "$OUT/callgrind.out" 2>/dev/null | head -60 > "$OUT/callgrind.txt" || true
    echo "--- callgrind: $OUT/callgrind.txt"; cat "$OUT/callgrind.txt"
fi
