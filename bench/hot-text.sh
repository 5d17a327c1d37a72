#!/usr/bin/env bash
# bench/hot-text.sh -- rewrite src/hot-text.ld from profiles of the daemon.
#
# The daemon's resident size is mostly the pages of its own binary it has mapped, and the
# kernel maps those in 64 KiB windows around each page it faults in. src/hot-text.ld gathers
# the functions the daemon runs into one place so that few windows hold them all (see
# "Memory" in docs/performance.md). This script finds those functions: it runs the daemon
# under `valgrind --tool=callgrind` over shared/bench's debian data, read-only and writable,
# with a mix of every kind of request (walks, reads, lookups of missing names, xattrs,
# creates, renames, removals, copy-ups, syncs), and hands the profiles, the binary and the
# linker's map to bench/hot_text.py.
#
# Run it after changes that add or rename much of the daemon's code, then rebuild and
# commit src/hot-text.ld. Stale entries cost nothing but the placement; a missing one costs
# one window of memory when the daemon first runs that function.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
usage() {
    cat <<EOF
usage: bench/hot-text.sh [--build DIR] [--data DIR] [--out FILE]
  --build DIR   a build of overlayfuse with OVERLAYFUSE_HOT_TEXT on (default build-bench;
                configured and built when missing)
  --data DIR    shared/bench data root (default /var/tmp/overlayfuse-bench; the debian set
                is made by bench/run.sh --quick)
  --out FILE    the linker script to write (default src/hot-text.ld)
EOF
}
ORIG=("$@")
BUILD=$REPO/build-bench DATA=/var/tmp/overlayfuse-bench OUTFILE=$REPO/src/hot-text.ld
while [[ $# -gt 0 ]]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --build) BUILD=$2; shift 2 ;;
        --data) DATA=$2; shift 2 ;;
        --out) OUTFILE=$2; shift 2 ;;
        *) usage >&2; exit 2 ;;
    esac
done
[[ $EUID -eq 0 ]] || { echo "hot-text.sh: must run as root (it mounts)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "hot-text.sh: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
if [[ -z ${OVF_HOT_TEXT_NS:-} ]]; then  # a private mount namespace: nothing stays mounted
    export OVF_HOT_TEXT_NS=1
    exec unshare --mount --propagation private "$0" "${ORIG[@]}"
fi
if [[ ! -x $BUILD/src/overlayfuse ]]; then
    cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOVERLAYFUSE_BUILD_TESTS=OFF >&2
fi
cmake --build "$BUILD" --target overlayfuse >&2
BIN=$BUILD/src/overlayfuse MAP=$BUILD/src/overlayfuse.map
[[ -f $MAP ]] || { echo "hot-text.sh: no $MAP: configure $BUILD with -DOVERLAYFUSE_HOT_TEXT=ON" >&2; exit 2; }
L=$DATA/debian/layers
[[ -d $L ]] || { echo "hot-text.sh: no data in $L (run bench/run.sh --quick once)" >&2; exit 2; }
lowers=$(ls -r "$L" | sed "s|^|$L/|" | paste -sd:)
T=$(mktemp -d /var/tmp/ovf-hot-text.XXXXXX)
trap 'grep -q " $T/mnt " /proc/self/mountinfo && umount -l "$T/mnt"; [[ -n ${OVF_KEEP:-} ]] || rm -rf "$T"' EXIT

# Every kind of request the daemon answers; writable ones only with an upper.
workload() {
    local m=$1 mode=$2
    sync; echo 3 > /proc/sys/vm/drop_caches
    find "$m" -ls > /dev/null; find "$m" -ls > /dev/null
    tar -C "$m" -cf - . | wc -c > /dev/null
    ls -laR "$m/usr/share/doc" > /dev/null
    for i in $(seq 50); do stat "$m/usr/nope$i" "$m/etc/missing$i" > /dev/null 2>&1 || true; done
    getfattr -d -m - "$m/etc/passwd" "$m/usr" > /dev/null 2>&1 || true
    readlink "$m"/usr/bin/* > /dev/null 2>&1 || true
    dd if="$m/usr/bin/python3.11" of=/dev/null bs=1M status=none 2>/dev/null || true
    df "$m" > /dev/null
    sync; echo 3 > /proc/sys/vm/drop_caches; find "$m" > /dev/null  # FORGET, then a walk again
    [[ $mode == rw ]] || return 0
    mkdir -p "$m/tmp/c"; for i in $(seq 300); do echo x > "$m/tmp/c/f$i"; done
    echo y >> "$m/etc/passwd"; chmod 600 "$m/etc/hostname"; chown 1:1 "$m/etc/shells"
    touch "$m/etc/fstab"; ln -s a "$m/tmp/sl"; ln "$m/tmp/c/f1" "$m/tmp/hl"
    mv "$m/tmp/c/f2" "$m/tmp/mv"; mv "$m/usr/share/man" "$m/usr/share/man2" 2>/dev/null || true
    setfattr -n user.x -v 1 "$m/tmp/c/f3"; setfattr -x user.x "$m/tmp/c/f3"
    truncate -s 100 "$m/etc/issue"; mknod "$m/tmp/fifo" p; fallocate -l 8192 "$m/tmp/c/f4"
    python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDWR); os.pwrite(fd, b'z', 0); os.fsync(fd); os.close(fd)" "$m/etc/group"
    sync; rm -rf "$m/usr/share/doc" "$m/tmp/c"; rmdir "$m/tmp/nothere" 2>/dev/null || true; sync
    mkdir "$m/tmp/many"; for i in $(seq 2000); do : > "$m/tmp/many/f$i"; done  # a listing that grows
}

profiles=()
for mode in ro rw; do
    rw=()
    if [[ $mode == rw ]]; then rm -rf "$T/upper" "$T/work"; mkdir "$T/upper" "$T/work"; rw=(--upper "$T/upper" --work "$T/work"); fi
    mkdir -p "$T/mnt"
    # Every thread, from the moment the view is mounted (instrumentation switched on then).
    valgrind --tool=callgrind --instr-atstart=no --demangle=no -q \
        --callgrind-out-file="$T/all-$mode.out" "$BIN" mount -f --lower "$lowers" "${rw[@]}" "$T/mnt" &
    pid=$!
    for _ in $(seq 600); do grep -q " $T/mnt " /proc/self/mountinfo && break; sleep 0.1; done
    callgrind_control -i on "$pid" > /dev/null
    workload "$T/mnt" $mode
    umount "$T/mnt"; wait "$pid" || true
    profiles+=("$T/all-$mode.out")
    # The daemon as it really starts: the child of fuse_daemonize's fork, from the fork to
    # the end of serve() and the teardown, and every thread it starts from their first
    # instruction (a thread collects only inside a toggled function).
    if [[ $mode == rw ]]; then rm -rf "$T/upper" "$T/work"; mkdir "$T/upper" "$T/work"; fi
    valgrind --tool=callgrind --collect-atstart=no --demangle=no -q \
        --toggle-collect=fuse_daemonize --toggle-collect='_ZN3ovf4fuse11FuseSession5serveEv' \
        --toggle-collect='_ZN3ovf4fuse11FuseSessionD*' --toggle-collect='_ZN3ovf5merge6EngineD*' \
        --toggle-collect='_ZNSt6thread11_State_impl*_M_runEv' --toggle-collect=start_thread \
        --callgrind-out-file="$T/main-$mode.%p.out" "$BIN" mount --lower "$lowers" "${rw[@]}" "$T/mnt"
    ls -la "$T/mnt" > /dev/null
    umount "$T/mnt"
    for _ in $(seq 100); do pgrep -f "callgrind.*$T/main-$mode" > /dev/null || break; sleep 0.1; done
    profiles+=("$T"/main-$mode.*.out)
done
python3 "$REPO/bench/hot_text.py" --binary "$BIN" --map "$MAP" --out "$OUTFILE" "${profiles[@]}"
