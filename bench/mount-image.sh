#!/usr/bin/env bash
# bench/mount-image.sh -- how long `overlayfuse mount` of a 125-layer image BY NAME takes,
# next to the kernel overlay over the same diff directories (issue 4: "a 125-layer image by
# name in under 100 ms"). shared/bench mounts plain --lower lists only; this one goes through
# the store: repositories.json, the image config, 125 chain ids (sha256), layerdb and the
# overlay2 directories.
#
# The store is made without Docker by ovf-mksample --deep N (sample/deep:latest: N layers,
# each with its own files, a new copy of /etc/deep/version, and a whiteout every tenth layer).
# Each rep: mount, then wait until the mount point lists and /etc/deep/version stats (as
# shared/bench does), unmount. Warm reps keep the page cache; cold reps drop it first.
#
#   bench/mount-image.sh [--layers N] [--reps N] [--build-dir DIR] [--store DIR]
# Output: a table on stdout and bench/results/<YYYYmmdd-HHMMSS>-mount-image.txt.
# Needs root (mounts, drop_caches).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
LAYERS=125
REPS=15
BUILD_DIR=$REPO/build-bench
STORE=

while [[ $# -gt 0 ]]; do
    case $1 in
        --layers) LAYERS=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        --build-dir) BUILD_DIR=$2; shift 2 ;;
        --store) STORE=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "mount-image.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
[[ $(id -u) -eq 0 ]] || { echo "mount-image.sh: needs root (mounts, drop_caches)" >&2; exit 1; }
STORE=${STORE:-/var/tmp/overlayfuse-bench/_store-deep$LAYERS}

if [[ ! -x $BUILD_DIR/src/overlayfuse || ! -x $BUILD_DIR/src/tools/ovf-mksample ]]; then
    cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOVERLAYFUSE_BUILD_TESTS=OFF >/dev/null
    cmake --build "$BUILD_DIR" -j "$(nproc)" --target overlayfuse ovf-mksample >/dev/null
fi
BIN=$BUILD_DIR/src/overlayfuse
if [[ ! -f $STORE/image/overlay2/repositories.json ]]; then
    "$BUILD_DIR/src/tools/ovf-mksample" --deep "$LAYERS" "$STORE" >/dev/null
fi

mkdir -p "$HERE/results"
out=$HERE/results/$(date +%Y%m%d-%H%M%S)-mount-image.txt
python3 - "$BIN" "$STORE" "$LAYERS" "$REPS" <<'EOF' | tee "$out"
import json, os, statistics, subprocess, sys, tempfile, time

bin_, store, nlayers, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
image = "sample/deep:latest"
info = json.loads(subprocess.check_output([bin_, "inspect", "--root", store, "--format", "json", image]))
assert len(info["layers"]) == nlayers, f"{image} has {len(info['layers'])} layers"
# The kernel's mount options must fit in a page: Docker's short l/ links, relative to overlay2/.
o2 = os.path.join(store, "overlay2")
lowers = ":".join("l/" + l["link"] for l in reversed(info["layers"]))
mnt = tempfile.mkdtemp(prefix="ovf-mount-image.")
probe = os.path.join(mnt, "etc/deep/version")

impls = {
    "kernel": ([ "mount", "-t", "overlay", "overlay", "-o", "ro,lowerdir=" + lowers, mnt], o2,
               ["umount", mnt]),
    "overlayfuse": ([bin_, "mount", "--root", store, image, mnt], None, [bin_, "umount", mnt]),
}

def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")

def once(name, cold):
    cmd, cwd, umount = impls[name]
    if cold:
        drop_caches()
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True)
    while True:  # until the view answers, as shared/bench measures a mount
        try:
            os.listdir(mnt)
            os.stat(probe)
            break
        except OSError:
            time.sleep(0.0002)
    dt = time.perf_counter() - t0
    with open(probe) as f:
        got = f.read().strip()
    assert got == str(nlayers - 1), f"{name}: /etc/deep/version is {got!r}"
    subprocess.run(umount, check=True)
    return dt * 1000

rows = []
for cold in (False, True):
    samples = {n: [] for n in impls}
    for _ in range(reps):  # interleaved, so both see the same machine
        for n in impls:
            samples[n].append(once(n, cold))
    rows.append((cold, samples))
os.rmdir(mnt)

print(f"# mount of {image} ({nlayers} layers) by name, store {store}; {reps} reps each, interleaved")
print(f"# kernel: mount -t overlay -o ro,lowerdir=<{nlayers} l/ links> (cwd overlay2/)")
print(f"# overlayfuse: {bin_} mount --root {store} {image} MNT")
print(f"# time = command start until MNT lists and MNT/etc/deep/version stats [ms]")
print(f"{'':8s} {'kernel median (min-max)':>26s} {'overlayfuse median (min-max)':>30s} {'ratio':>6s}  target < 100 ms")
for cold, s in rows:
    k, o = s["kernel"], s["overlayfuse"]
    km, om = statistics.median(k), statistics.median(o)
    fmt = lambda v, lo, hi: f"{v:.1f} ({lo:.1f}-{hi:.1f})"
    print(f"{'cold' if cold else 'warm':8s} {fmt(km, min(k), max(k)):>26s} {fmt(om, min(o), max(o)):>30s} "
          f"{om / km:6.2f}  {'met' if om < 100 else 'MISSED'}")
EOF
echo "mount-image.sh: table in $out"
