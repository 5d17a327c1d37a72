#!/usr/bin/env bash
# Installs, with apt-get, everything needed to build overlayfuse on Debian 12:
#   packaging/install-deps.sh           build dependencies (compiler, CMake, libfuse3, Boost, ...)
#   packaging/install-deps.sh --test    also what the tests use (dockerd, busybox-static, fuse-overlayfs)
#   packaging/install-deps.sh --bench   also what the benchmarks compare with (unionfs-fuse, debootstrap)
# Idempotent: packages already installed are not asked for, and apt is not run at all when
# nothing is missing. Quiet unless something fails (then apt's output is shown).
set -euo pipefail

build_packages=(build-essential cmake ninja-build pkg-config libfuse3-dev fuse3
                libboost-filesystem-dev nlohmann-json3-dev libssl-dev zlib1g-dev
                libgtest-dev googletest attr)
test_packages=(docker.io busybox-static fuse-overlayfs)
bench_packages=(unionfs-fuse debootstrap)

wanted=("${build_packages[@]}")
for arg in "$@"; do
    case "$arg" in
        --test) wanted+=("${test_packages[@]}") ;;
        --bench) wanted+=("${bench_packages[@]}") ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-deps.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

missing=()
for pkg in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi

log=$(mktemp /tmp/install-deps.XXXXXX.log)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-deps.sh: apt-get failed to install: ${missing[*]}" >&2
    exit 1
fi
