#!/usr/bin/env bash
# Builds overlayfuse in ./build (CMake + Ninja) and runs every test with ctest: unit tests
# (names "unit.*"), fuse-tests that mount (label "fuse", need root and /dev/fuse) and the real
# Docker tests (label "docker", need a running dockerd). Extra arguments go to ctest, e.g.
#   packaging/run-tests.sh -L fuse          only the mounting tests
#   packaging/run-tests.sh -R RandomStacks  one suite
# First it provides libfuse 3.17 for FUSE passthrough in build/libfuse-3.17 with
# packaging/build-libfuse.sh (at once when already built); if that fails it warns in one line and
# tests against the system libfuse3 (3.14 on Debian 12, no passthrough). See docs/libfuse.md.
#   OVF_BUILD_DIR=DIR ...        where to build (default build)
#   OVF_SYSTEM_LIBFUSE=1 ...     do not build libfuse 3.17: test against the system libfuse3
# Exit status: ctest's (0 when every test passed).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${OVF_BUILD_DIR:-$repo/build}
jobs=$(nproc 2>/dev/null || echo 2)
. "$repo/packaging/libfuse-step.sh"

ovf_libfuse_step "$build"
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${ovf_libfuse_cmake_args[@]}" >/dev/null
libfuse=$(ovf_libfuse_summary "$build")
echo "run-tests.sh: building and testing with ${libfuse:-an unknown libfuse3}"
cmake --build "$build" -j "$jobs"

# Each test is its own process with its own /tmp/ovf-test.* directory, so they run side by
# side; the Docker tests share one daemon and serialise among themselves (RESOURCE_LOCK).
log=$(mktemp /tmp/ovf-ctest.XXXXXX.log)
set +e
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

echo
echo "=== ctest summary ==="
echo "libfuse: ${libfuse:-unknown}"
[[ -z "$ovf_libfuse_warning" ]] || echo "$ovf_libfuse_warning"
grep -E '^[0-9]+% tests passed|^Total Test time|^The following tests|^[[:space:]]+[0-9]+ - ' "$log" || true
rm -f "$log"
exit "$status"
