# Sourced (not run) by packaging/quickstart.sh, packaging/run-tests.sh and bench/run.sh.
#   ovf_libfuse_step BUILD_DIR
# Provides libfuse >= 3.17 (FUSE passthrough) for BUILD_DIR: runs packaging/build-libfuse.sh
# --prefix BUILD_DIR/libfuse-3.17, which returns at once when that is already built or when the
# system libfuse3 is >= 3.17 (see docs/libfuse.md). Then sets the array ovf_libfuse_cmake_args
# to what the caller passes to `cmake -S ... -B BUILD_DIR`:
#   -DOVERLAYFUSE_SYSTEM_LIBFUSE=OFF  CMake takes BUILD_DIR/libfuse-3.17 (or a system libfuse >= 3.17)
#   -DOVERLAYFUSE_SYSTEM_LIBFUSE=ON   the system libfuse3 (3.14 on Debian 12, no passthrough), when
#                                     OVF_SYSTEM_LIBFUSE=1 (the opt-out) or when build-libfuse.sh
#                                     failed (no network to the Debian mirror, the pinned version
#                                     gone from trixie, not root and no sudo, ...).
# A failure never fails the caller: build-libfuse.sh's own error is shown, then ONE warning line
# (also kept in ovf_libfuse_warning for a summary), and overlayfuse builds without passthrough.
ovf_libfuse_cmake_args=()
ovf_libfuse_warning=""

ovf_libfuse_step() {
    local build=$1 here err rc=0 reason sysver
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    sysver=$(pkg-config --modversion fuse3 2>/dev/null || echo '?')
    ovf_libfuse_warning=""
    if [[ -n "${OVF_SYSTEM_LIBFUSE:-}" && "${OVF_SYSTEM_LIBFUSE}" != 0 ]]; then
        echo "libfuse: OVF_SYSTEM_LIBFUSE=$OVF_SYSTEM_LIBFUSE: using the system libfuse3 $sysver, not building libfuse 3.17"
        ovf_libfuse_cmake_args=(-DOVERLAYFUSE_SYSTEM_LIBFUSE=ON)
        return 0
    fi
    err=$(mktemp /tmp/ovf-libfuse-step.XXXXXX)
    "$here/build-libfuse.sh" --prefix "$build/libfuse-3.17" 2>"$err" || rc=$?
    if [[ $rc -eq 0 ]]; then
        cat "$err" >&2
        rm -f "$err"
        ovf_libfuse_cmake_args=(-DOVERLAYFUSE_SYSTEM_LIBFUSE=OFF)
        return 0
    fi
    cat "$err" >&2
    reason=$(sed -n 's/^build-libfuse\.sh: //p' "$err" | head -n 1)
    rm -f "$err"
    ovf_libfuse_warning="WARNING: FUSE passthrough is off: packaging/build-libfuse.sh could not build libfuse 3.17 (${reason:-exit status $rc}); continuing with the system libfuse3 $sysver (OVF_SYSTEM_LIBFUSE=1 skips this step)"
    echo "$ovf_libfuse_warning" >&2
    ovf_libfuse_cmake_args=(-DOVERLAYFUSE_SYSTEM_LIBFUSE=ON)
}

# The one line a configured BUILD_DIR's CMake cache gives about its libfuse (empty if none).
ovf_libfuse_summary() {
    sed -n 's/^OVERLAYFUSE_LIBFUSE_SUMMARY:INTERNAL=//p' "$1/CMakeCache.txt" 2>/dev/null || true
}
