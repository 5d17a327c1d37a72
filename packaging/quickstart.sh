#!/usr/bin/env bash
# The newcomer's first command: installs what is missing, builds overlayfuse, makes a small
# sample image store (no Docker needed), and shows it: `images`, `inspect`, the mounted tree
# of an image, then unmounts. Run it from anywhere; it needs root for apt-get (or sudo).
# It also builds libfuse 3.17 (Debian trixie's source package, pinned) into build/libfuse-3.17
# with packaging/build-libfuse.sh, for FUSE passthrough; if that fails it warns in one line and
# goes on with the system libfuse3 (3.14 on Debian 12, no passthrough). See docs/libfuse.md.
#   packaging/quickstart.sh            all of the above
#   OVF_SAMPLE_ROOT=DIR ...            where to put the sample store (default build/sample-store)
#   OVF_BUILD_DIR=DIR ...              where to build (default build)
#   OVF_SYSTEM_LIBFUSE=1 ...           do not build libfuse 3.17: the system libfuse3, no passthrough
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${OVF_BUILD_DIR:-$repo/build}
store=${OVF_SAMPLE_ROOT:-$build/sample-store}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
. "$repo/packaging/libfuse-step.sh"

step "installing build dependencies (packaging/install-deps.sh)"
"$repo/packaging/install-deps.sh"

step "libfuse 3.17 for FUSE passthrough (packaging/build-libfuse.sh)"
ovf_libfuse_step "$build"

step "building into $build"
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${ovf_libfuse_cmake_args[@]}" >/dev/null
echo "with $(ovf_libfuse_summary "$build")"
cmake --build "$build" -j "$(nproc)" --target overlayfuse ovf-mksample

bin=$build/src/overlayfuse
step "making a sample Docker overlay2 store in $store (no Docker involved)"
rm -rf "$store"
"$build/src/tools/ovf-mksample" "$store" >/dev/null
echo "done: two images whose layers delete files, make an opaque directory and replace a directory by a file"

step "overlayfuse images --root $store"
"$bin" images --root "$store"

step "overlayfuse inspect --root $store sample/app:latest"
"$bin" inspect --root "$store" sample/app:latest

mnt=$(mktemp -d /tmp/overlayfuse-demo.XXXXXX)
trap '"$bin" umount "$mnt" 2>/dev/null || true; rmdir "$mnt" 2>/dev/null || true' EXIT
step "overlayfuse mount --root $store sample/app:latest $mnt"
"$bin" mount --root "$store" sample/app:latest "$mnt"
(cd "$mnt" && find . \( -type l -printf '%M %4U:%-4G %6s  %p -> %l\n' \) -o -printf '%M %4U:%-4G %6s  %p\n' | sort -k4)
echo
echo "What the layers did: /etc/motd was deleted (a whiteout), /usr/share/doc is opaque (only"
echo "the new layer's files show), /var/lib/data went from a directory to a file."

step "overlayfuse umount $mnt"
"$bin" umount "$mnt"
echo "unmounted. Next: packaging/run-tests.sh runs every test; README.md documents each command."
