#!/usr/bin/env bash
# bench/run.sh -- build overlayfuse (Release) and benchmark it with the shared harness
# (shared/bench/run.sh) next to the kernel overlay and fuse-overlayfs, in both modes:
#
#   overlayfuse-ro   read-only view:  overlayfuse mount --lower {lowers} {mnt}
#   overlayfuse-rw   writable view:   overlayfuse mount --lower {lowers} --upper {upper} --work {work} {mnt}
#
# All four columns come from ONE interleaved harness run, so their ratios to the kernel
# can be compared. The read-only column cannot run the mutating workloads (copyup, create,
# rm-usr-share): the view is read-only, so those cells show ERR (EROFS), which is expected;
# bench/summarize.py marks them "n/a (read-only)". (--plain does not help here: the
# harness only swaps {flat} for a scratch copy, and our template mounts {lowers}.)
#
# Building, it first provides libfuse 3.17 (FUSE passthrough) in BUILD_DIR/libfuse-3.17 with
# packaging/build-libfuse.sh, as packaging/run-tests.sh does; if that fails it warns in one line
# and builds with the system libfuse3 (3.14 on Debian 12); OVF_SYSTEM_LIBFUSE=1 skips the step
# (docs/libfuse.md). The header of the .txt records which libfuse the binary was built with.
#
# Output: bench/results/<YYYYmmdd-HHMMSS>-<quick|full>.txt  (header, table, summary)
#                                                    .json  (every sample, from the harness)
#                                                    .log   (the whole output with progress)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

usage() {
    cat <<EOF
usage: bench/run.sh [OPTIONS] [HARNESS ARGS...]

Builds overlayfuse (CMAKE_BUILD_TYPE=Release) and runs the shared benchmark harness with
the presets kernel and fuse-overlayfs and two custom columns, overlayfuse-ro and
overlayfuse-rw. Needs root (the harness mounts, drops caches and chroots).

options of this script:
  --build-dir DIR   where to build (default: $REPO/build-bench)
  --bin PATH        use this overlayfuse binary, do not build
  --no-build        use the binary in the build dir as it is
  --modes LIST      which overlayfuse columns: ro,rw (default), ro or rw
  --compare LIST    column order (default: kernel,fuse-overlayfs,overlayfuse-ro,overlayfuse-rw;
                    add native or unionfs for more references)
  -o OPTS           extra -o options for every overlayfuse mount (e.g. -o timeout=0 or
                    -o max_threads=1); recorded in the header
  --variant NAME:MODE:OPTS
                    one more column, overlayfuse-NAME, mounted in MODE (ro or rw) with
                    -o OPTS (may be empty): an A/B of an option within ONE interleaved run,
                    e.g. --variant ro-mt1:ro:max_threads=1 (repeatable)
  --results DIR     where results go (default: $HERE/results)
  --tag TAG         appended to the result file names (e.g. a branch or an option)
  --shared DIR      the shared harness (default: \$OVF_SHARED_BENCH, else
                    $REPO/../shared/bench)
  -h, --help        this help; --harness-help shows the harness' own options

everything else goes to the harness unchanged, e.g.:
  --quick           fewer reps, smaller data (~3 min after the data exists)
  --only KEYS       comma-separated workloads (walk-cold,readall-cold,...)
  --skip KEYS       workloads to leave out
  --reps N          repetitions of every workload
  --data DIR        data root (default /var/tmp/overlayfuse-bench; built on first use, ~5 min)
  --no-semantics    skip the untimed semantics check

examples:
  bench/run.sh --quick
  bench/run.sh --only walk-cold,walk-warm,stat-miss --reps 5
  bench/run.sh --modes rw --only create,rm-usr-share -o max_threads=4 --tag mt4
  bench/run.sh --quick --modes ro --variant ro-t0:ro:timeout=0 --only walk-warm,stat-miss
EOF
}

BUILD_DIR=$REPO/build-bench
BIN=
BUILD=1
MODES=ro,rw
COMPARE=
OVF_OPTS=
RESULTS=$HERE/results
TAG=
SHARED=${OVF_SHARED_BENCH:-$REPO/../shared/bench}
PASS=()
QUICK=0
VARIANTS=()

while [[ $# -gt 0 ]]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --harness-help) HARNESS_HELP=1; shift ;;
        --build-dir) BUILD_DIR=${2:?--build-dir needs a value}; shift 2 ;;
        --bin) BIN=${2:?--bin needs a value}; BUILD=0; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --modes) MODES=${2:?--modes needs a value}; shift 2 ;;
        --compare) COMPARE=${2:?--compare needs a value}; shift 2 ;;
        -o) OVF_OPTS=${OVF_OPTS:+$OVF_OPTS,}${2:?-o needs a value}; shift 2 ;;
        --results) RESULTS=${2:?--results needs a value}; shift 2 ;;
        --variant) VARIANTS+=("${2:?--variant needs NAME:MODE:OPTS}"); shift 2 ;;
        --tag) TAG=${2:?--tag needs a value}; shift 2 ;;
        --shared) SHARED=${2:?--shared needs a value}; shift 2 ;;
        --quick) QUICK=1; PASS+=("$1"); shift ;;
        --json|--compare=*|--name|--mount|--unmount|--plain|--preset|--baseline)
            echo "bench/run.sh: $1 is set by this script (see --help)" >&2; exit 2 ;;
        *) PASS+=("$1"); shift ;;
    esac
done

if [[ ! -x $SHARED/run.sh ]]; then
    echo "bench/run.sh: no shared harness at $SHARED (set OVF_SHARED_BENCH or --shared)" >&2
    exit 2
fi
SHARED=$(cd "$SHARED" && pwd)
if [[ -n ${HARNESS_HELP:-} ]]; then
    exec "$SHARED/run.sh" --help
fi
if [[ $EUID -ne 0 ]]; then
    echo "bench/run.sh: must run as root (the harness mounts, drops caches and chroots)" >&2
    exit 2
fi

# ---- build ------------------------------------------------------------------------------
. "$REPO/packaging/libfuse-step.sh"
if [[ $BUILD == 1 ]]; then
    echo "bench/run.sh: building overlayfuse (Release) in $BUILD_DIR" >&2
    ovf_libfuse_step "$BUILD_DIR" >&2
    cfg=()
    if [[ ! -f $BUILD_DIR/build.ninja && ! -f $BUILD_DIR/Makefile ]]; then
        command -v ninja >/dev/null && cfg=(-G Ninja)
        cfg+=(-DCMAKE_BUILD_TYPE=Release -DOVERLAYFUSE_BUILD_TESTS=OFF)
    fi
    cmake -S "$REPO" -B "$BUILD_DIR" "${cfg[@]}" "${ovf_libfuse_cmake_args[@]}" >&2
    cmake --build "$BUILD_DIR" -j"$(nproc)" --target overlayfuse >&2
    BIN=$BUILD_DIR/src/overlayfuse
elif [[ -z $BIN ]]; then
    BIN=$BUILD_DIR/src/overlayfuse
fi
if [[ ! -x $BIN ]]; then
    echo "bench/run.sh: no overlayfuse binary at $BIN" >&2
    exit 2
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
if [[ $BIN =~ [[:space:]] ]]; then
    echo "bench/run.sh: the binary's path must not contain spaces: $BIN" >&2
    exit 2
fi

# Which libfuse the binary links: from its build dir's CMake cache, else from its symbols.
LIBFUSE=$(ovf_libfuse_summary "$(dirname "$BIN")/..")
if [[ -z $LIBFUSE ]]; then
    v=$(sed -n 's/^FUSE3_VERSION:INTERNAL=//p' "$(dirname "$BIN")/../CMakeCache.txt" 2>/dev/null || true)
    if grep -qa fuse_passthrough_open "$BIN"; then pt=yes; else pt=no; fi
    LIBFUSE="libfuse3 ${v:-(version unknown)}, FUSE passthrough API (fuse_passthrough_open in the binary): $pt"
fi

# ---- the columns ------------------------------------------------------------------------
OPT=${OVF_OPTS:+ -o $OVF_OPTS}
ARGS=()
names=()
IFS=, read -ra modes <<<"$MODES"
for m in "${modes[@]}"; do
    case $m in
        ro) ARGS+=(--name overlayfuse-ro
                   --mount "$BIN mount$OPT --lower {lowers} {mnt}"
                   --unmount "$BIN umount {mnt}")
            names+=(overlayfuse-ro) ;;
        rw) ARGS+=(--name overlayfuse-rw
                   --mount "$BIN mount$OPT --lower {lowers} --upper {upper} --work {work} {mnt}"
                   --unmount "$BIN umount {mnt}")
            names+=(overlayfuse-rw) ;;
        *) echo "bench/run.sh: --modes takes ro, rw or ro,rw, not '$m'" >&2; exit 2 ;;
    esac
done
for v in "${VARIANTS[@]}"; do
    IFS=: read -r vname vmode vopts <<<"$v"
    vo=${OVF_OPTS:+$OVF_OPTS}${vopts:+${OVF_OPTS:+,}$vopts}
    case $vmode in
        ro) vrw= ;;
        rw) vrw=' --upper {upper} --work {work}' ;;
        *) echo "bench/run.sh: --variant $v: MODE must be ro or rw" >&2; exit 2 ;;
    esac
    [[ -n $vname ]] || { echo "bench/run.sh: --variant $v needs a NAME" >&2; exit 2; }
    ARGS+=(--name "overlayfuse-$vname"
           --mount "$BIN mount${vo:+ -o $vo} --lower {lowers}$vrw {mnt}"
           --unmount "$BIN umount {mnt}")
    names+=("overlayfuse-$vname")
done
if [[ -z $COMPARE ]]; then
    COMPARE=kernel,fuse-overlayfs$(printf ',%s' "${names[@]}")
fi

mkdir -p "$RESULTS"
STEM=$RESULTS/$(date +%Y%m%d-%H%M%S)-$([[ $QUICK == 1 ]] && echo quick || echo full)${TAG:+-$TAG}
echo "bench/run.sh: binary $BIN ($(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?'))" >&2
echo "bench/run.sh: built with $LIBFUSE${ovf_libfuse_warning:+ ($ovf_libfuse_warning)}" >&2
echo "bench/run.sh: results in $STEM.{txt,json,log}" >&2

# stdout (header, table, notes) -> .txt; everything (with the progress lines) -> .log
set +e
{
    "$SHARED/run.sh" "${ARGS[@]}" --compare "$COMPARE" --json "$STEM.json" "${PASS[@]}" \
        2> >(tee -a "$STEM.log" >&2) | tee "$STEM.txt" | tee -a "$STEM.log"
}
rc=${PIPESTATUS[0]}
set -e
# Into the header, after the harness' first line: what overlayfuse was built with.
hdr="# overlayfuse built with $LIBFUSE"
if [[ -s $STEM.txt ]]; then
    awk -v h="$hdr" '{ print } NR == 1 { print h }' "$STEM.txt" >"$STEM.txt.new" && mv "$STEM.txt.new" "$STEM.txt"
else
    echo "$hdr" >>"$STEM.txt"
fi
{
    echo
    echo "# bench/run.sh: overlayfuse $BIN, git $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?')${OVF_OPTS:+, -o $OVF_OPTS}"
} >>"$STEM.txt"
if [[ $rc -eq 0 && -f $STEM.json ]]; then
    python3 "$HERE/summarize.py" "$STEM.json" | tee -a "$STEM.txt"
else
    echo "bench/run.sh: the harness failed (exit $rc); see $STEM.log" >&2
fi
echo "bench/run.sh: table in $STEM.txt" >&2
exit "$rc"
