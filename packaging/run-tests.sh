#!/usr/bin/env bash
# Builds overlayfuse in ./build (CMake + Ninja) and runs every test with ctest: unit tests
# (names "unit.*"), fuse-tests that mount (label "fuse", need root and /dev/fuse) and the real
# Docker tests (label "docker", need a running dockerd). Extra arguments go to ctest, e.g.
#   packaging/run-tests.sh -L fuse          only the mounting tests
#   packaging/run-tests.sh -R RandomStacks  one suite
# Exit status: ctest's (0 when every test passed).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${OVF_BUILD_DIR:-$repo/build}
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
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
grep -E '^[0-9]+% tests passed|^Total Test time|^The following tests|^[[:space:]]+[0-9]+ - ' "$log" || true
rm -f "$log"
exit "$status"
