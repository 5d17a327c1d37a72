#!/usr/bin/env bash
# bench/open-latency.sh -- what one open(2) + close(2) costs on the kernel overlay and on
# overlayfuse's read-only and writable views of shared/bench's debian tree, warm.
#
# A read-only view answers the first OPEN with ENOSYS, so the kernel never asks again; a
# writable view must see every open (one for writing copies the file up at that moment), so
# each open(2) is a FUSE round trip and each close(2) an asynchronous RELEASE. This measures
# that floor on the machine at hand, which bounds what reading many small files through a
# writable view can cost (docs/performance.md, "What is still slower").
#
#   bench/open-latency.sh [--bin PATH] [--passes N] [--data DIR]
# Output: a table on stdout and bench/results/<YYYYmmdd-HHMMSS>-open-latency.txt. Needs root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BIN=$REPO/build-bench/src/overlayfuse
PASSES=3
DATA=/var/tmp/overlayfuse-bench
while [[ $# -gt 0 ]]; do
    case $1 in
        --bin) BIN=$2; shift 2 ;;
        --passes) PASSES=$2; shift 2 ;;
        --data) DATA=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "open-latency.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
[[ $(id -u) -eq 0 ]] || { echo "open-latency.sh: needs root (mounts)" >&2; exit 1; }
[[ -x $BIN ]] || { echo "open-latency.sh: no $BIN (run bench/run.sh once, or give --bin)" >&2; exit 1; }
L=$DATA/debian/layers
[[ -d $L ]] || { echo "open-latency.sh: no data in $L (run bench/run.sh --quick once)" >&2; exit 1; }
if [[ -z ${OVF_OPEN_LATENCY_NS:-} ]]; then
    export OVF_OPEN_LATENCY_NS=1
    exec unshare --mount --propagation private "$0" --bin "$BIN" --passes "$PASSES" --data "$DATA"
fi

T=$(mktemp -d /var/tmp/ovf-open-latency.XXXXXX)
cleanup() {
    grep -q " $T/mnt " /proc/self/mountinfo && umount "$T/mnt"
    rm -rf "$T"
}
trap cleanup EXIT
cc -O2 -o "$T/open_latency" "$HERE/open_latency.c"
lowers=$(ls -r "$L" | sed "s|^|$L/|" | paste -sd:)
mkdir -p "$HERE/results"
out=$HERE/results/$(date +%Y%m%d-%H%M%S)-open-latency.txt
{
    echo "# open(2) + close(2) of every regular file of $L (merged), $PASSES passes, warm"
    echo "# overlayfuse: $BIN ($(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    for view in kernel overlayfuse-ro overlayfuse-rw; do
        rm -rf "$T/mnt" "$T/upper" "$T/work"
        mkdir "$T/mnt" "$T/upper" "$T/work"
        case $view in
            kernel) mount -t overlay overlay -o "lowerdir=$lowers,upperdir=$T/upper,workdir=$T/work" "$T/mnt" ;;
            overlayfuse-ro) "$BIN" mount --lower "$lowers" "$T/mnt" ;;
            overlayfuse-rw) "$BIN" mount --lower "$lowers" --upper "$T/upper" --work "$T/work" "$T/mnt" ;;
        esac
        find "$T/mnt" -type f >"$T/list"
        "$T/open_latency" "$T/list" 1 >/dev/null  # warm: dentries, inodes, the daemon's nodes
        echo "== $view"
        "$T/open_latency" "$T/list" "$PASSES"
        umount "$T/mnt"
    done
} | tee "$out"
