#!/usr/bin/env bash
# Provides libfuse >= 3.17 (the FUSE passthrough API) for overlayfuse on Debian 12, whose
# libfuse3-dev is 3.14. See docs/libfuse.md.
#   packaging/build-libfuse.sh                 build into ${OVF_BUILD_DIR:-build}/libfuse-3.17
#   packaging/build-libfuse.sh --prefix DIR    build into DIR (headers, libfuse3.a, fuse3.pc)
#   packaging/build-libfuse.sh --force         build even if the system libfuse is new enough
# If the system's libfuse3 is already >= 3.17 it says so and does nothing. Otherwise it adds a
# deb-src-only entry for Debian 13 (trixie) on the mirror this machine's apt already uses, fetches
# Debian's source package fuse3 at the pinned version with `apt-get source`, checks it against the
# sha256 sums below, and builds a static libfuse3 with meson + ninja into the prefix. Nothing is
# installed system-wide except the apt packages meson and ninja-build (and the sources file).
# CMake picks the prefix up by itself when it is ${build}/libfuse-3.17 (OVERLAYFUSE_LIBFUSE_PREFIX).
# Idempotent: a prefix already built from the pinned sources is left alone. Quiet unless failing.
set -euo pipefail

# --- the pin: Debian 13 (trixie) source package fuse3 ------------------------------------------
# From `apt-cache showsrc fuse3` (Checksums-Sha256 of the trixie Sources index) and checked against
# the downloaded files. If trixie moves on to a newer revision, the old one disappears from the
# mirror: update all four lines together (and re-check the build), never just drop the checks.
FUSE3_DEB_VERSION=3.17.2-3
FUSE3_DSC_SHA256=1339847e7e6512f31d61cf1fe4598341c4b8aa43ea6dc546914b21f96f29deb3    # fuse3_3.17.2-3.dsc
FUSE3_ORIG_SHA256=3d932431ad94e86179e5265cddde1d67aa3bb2fb09a5bd35c641f86f2b5ed06f   # fuse3_3.17.2.orig.tar.gz
FUSE3_DEBIAN_SHA256=eaf7a177761ae8bf99ea97619f2cccf83f169b4f000e17b6106834e69456b5a2 # fuse3_3.17.2-3.debian.tar.xz
SOURCE_SUITE=trixie
MIN_VERSION=3.17
# -------------------------------------------------------------------------------------------------

upstream=${FUSE3_DEB_VERSION%-*}
dsc=fuse3_${FUSE3_DEB_VERSION}.dsc
orig=fuse3_${upstream}.orig.tar.gz
debtar=fuse3_${FUSE3_DEB_VERSION}.debian.tar.xz
sources_file=/etc/apt/sources.list.d/overlayfuse-${SOURCE_SUITE}-src.sources

repo=$(cd "$(dirname "$0")/.." && pwd)
prefix=""
force=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --prefix) [[ $# -ge 2 ]] || { echo "build-libfuse.sh: --prefix needs a directory" >&2; exit 2; }
                  prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --force) force=1; shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-libfuse.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
[[ -n "$prefix" ]] || prefix=${OVF_BUILD_DIR:-$repo/build}/libfuse-3.17
prefix=$(realpath -m "$prefix")
work=$prefix.work      # downloads, unpacked source and meson build dir, beside the prefix
stamp=$prefix/.overlayfuse-stamp
want_stamp="fuse3 $FUSE3_DEB_VERSION $FUSE3_DSC_SHA256 static"

if [[ -z "$force" ]] && command -v pkg-config >/dev/null &&
   pkg-config --atleast-version="$MIN_VERSION" fuse3 2>/dev/null; then
    echo "build-libfuse.sh: libfuse3 $(pkg-config --modversion fuse3) (pkg-config) is >= $MIN_VERSION; using it, nothing to build"
    exit 0
fi
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" && -f "$prefix/lib/libfuse3.a" &&
      -f "$prefix/lib/pkgconfig/fuse3.pc" && -f "$prefix/include/fuse3/fuse_lowlevel.h" ]]; then
    exit 0   # already built from the pinned sources
fi

mkdir -p "$prefix"
log=$(mktemp /tmp/build-libfuse.XXXXXX.log)
trap 'rm -f "$log"' EXIT
fail() {
    echo "build-libfuse.sh: $*" >&2
    if [[ -s "$log" ]]; then echo "--- last output:" >&2; tail -n 60 "$log" >&2; fi
    exit 1
}
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || fail "need root (or sudo) for apt-get"
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

# --- build tools (apt) -----------------------------------------------------------------------
# meson + ninja build it; pkg-config answers the version question; dpkg-source (dpkg-dev) checks
# and unpacks the source package and applies Debian's patches; gcc/g++ via build-essential.
missing=()
for pkg in meson ninja-build pkg-config dpkg-dev build-essential; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; } \
        >>"$log" 2>&1 || fail "apt-get could not install: ${missing[*]}"
fi

# --- the source package ----------------------------------------------------------------------
check_sha() {   # file expected-sha256
    [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]
}
have_sources() {
    check_sha "$work/$dsc" "$FUSE3_DSC_SHA256" && check_sha "$work/$orig" "$FUSE3_ORIG_SHA256" &&
        check_sha "$work/$debtar" "$FUSE3_DEBIAN_SHA256"
}

# The mirror (URI) that this machine's apt uses for its own release's main suite, from deb822
# *.sources files or one-line *.list files. Never a host of our own choosing.
own_mirror() {
    local codename
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [[ -n "$codename" ]] || return 1
    local f found
    found=$(for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" && "$f" != "$sources_file" ]] || continue
        awk -v want="$codename" '
            function flush() {
                if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled !~ /^[Nn]o/ && (" " suites " ") ~ (" " want " ") && uris != "") {
                    split(uris, u, /[ \t]+/); print u[1] "\t" signed; found = 1; exit
                }
                types = suites = uris = signed = enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            { key = tolower($1); sub(/^[^:]*:[ \t]*/, ""); val = $0; gsub(/[ \t]+$/, "", val)
              if (key == "types:") types = val; else if (key == "suites:") { gsub(/[ \t]+/, " ", val); suites = val }
              else if (key == "uris:") uris = val; else if (key == "signed-by:") signed = val
              else if (key == "enabled:") enabled = val }
            END { if (!found) flush() }' "$f"
    done)
    [[ -n "$found" ]] || found=$(for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f "$f" ]] || continue
        # deb [options] URI suite components...
        awk -v want="$codename" '
            $1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                          if ($(i + 1) == want) { print $i "\t"; exit } }' "$f"
    done)
    [[ -n "$found" ]] || return 1
    head -n 1 <<<"$found"
}

src_versions() {   # versions of source package fuse3 that apt knows (output captured: no SIGPIPE)
    local out
    out=$(apt-cache showsrc fuse3 2>/dev/null || true)
    sed -n 's/^Version: //p' <<<"$out"
}
has_pinned_source() {
    local v
    v=$(src_versions)
    [[ $'\n'"$v"$'\n' == *$'\n'"$FUSE3_DEB_VERSION"$'\n'* ]]
}

fetch_sources() {
    local line mirror signed
    line=$(own_mirror) || fail "found no 'deb' entry for this release's main suite in /etc/apt/sources.list*; cannot tell which Debian mirror to use"
    mirror=${line%%$'\t'*}
    signed=${line#*$'\t'}
    local content
    content="# Added by overlayfuse packaging/build-libfuse.sh: source packages only (no binaries) from
# Debian $SOURCE_SUITE, to build libfuse $upstream (fuse3 $FUSE3_DEB_VERSION). Safe to delete.
Types: deb-src
URIs: $mirror
Suites: $SOURCE_SUITE
Components: main"
    [[ -n "$signed" ]] && content+=$'\n'"Signed-By: $signed"
    if [[ ! -f "$sources_file" || "$(cat "$sources_file")" != "$content" ]]; then
        printf '%s\n' "$content" | "${sudo[@]}" tee "$sources_file" >/dev/null
    fi
    # Refresh only the trixie source index, not every list on the machine.
    local only_ours=(-o "Dir::Etc::SourceList=$sources_file" -o "Dir::Etc::SourceParts=-"
                     -o "APT::Get::List-Cleanup=0")
    if ! has_pinned_source; then
        "${sudo[@]}" apt-get "${only_ours[@]}" update >>"$log" 2>&1 || fail "apt-get update of $sources_file failed"
    fi
    has_pinned_source ||
        fail "Debian $SOURCE_SUITE no longer has source package fuse3 $FUSE3_DEB_VERSION (apt knows: $(src_versions | tr '\n' ' ')); update the pin at the top of $0"
    mkdir -p "$work"
    rm -f "$work/$dsc" "$work/$orig" "$work/$debtar" "$work"/fuse3_*.asc
    # apt downloads as the _apt user when it can write there; otherwise it warns and goes on as root.
    (cd "$work" && "${sudo[@]}" apt-get source --download-only "fuse3=$FUSE3_DEB_VERSION") >>"$log" 2>&1 ||
        fail "apt-get source fuse3=$FUSE3_DEB_VERSION failed"
}

if ! have_sources; then
    fetch_sources
    check_sha "$work/$dsc" "$FUSE3_DSC_SHA256" || fail "$dsc: sha256 $(sha256sum "$work/$dsc" | cut -d' ' -f1) != pinned $FUSE3_DSC_SHA256"
    check_sha "$work/$orig" "$FUSE3_ORIG_SHA256" || fail "$orig: sha256 does not match the pinned $FUSE3_ORIG_SHA256"
    check_sha "$work/$debtar" "$FUSE3_DEBIAN_SHA256" || fail "$debtar: sha256 does not match the pinned $FUSE3_DEBIAN_SHA256"
fi
# The .dsc (pinned above) must list the same tarball sums we pin.
for sum in "$FUSE3_ORIG_SHA256 [0-9]* $orig" "$FUSE3_DEBIAN_SHA256 [0-9]* $debtar"; do
    grep -Eq "^ ${sum//./\\.}\$" "$work/$dsc" || fail "$dsc does not list: $sum"
done

# --- unpack (checks the .dsc's sums again, applies debian/patches) and build ---------------------
src=$work/fuse3-$upstream
bld=$work/build
rm -rf "$src" "$bld"
(cd "$work" && dpkg-source -x "$dsc" "$src") >>"$log" 2>&1 || fail "dpkg-source -x $dsc failed"
# Remove only what an earlier build of ours installed (the prefix may be shared).
rm -rf "$prefix/include/fuse3" "$prefix/lib/libfuse3.a" "$prefix/lib/pkgconfig/fuse3.pc" "$stamp"
meson setup "$bld" "$src" --prefix="$prefix" --libdir=lib --buildtype=release \
    -Ddefault_library=static -Db_staticpic=true -Dexamples=false -Dutils=false -Dtests=false \
    >>"$log" 2>&1 || fail "meson setup failed"
ninja -C "$bld" >>"$log" 2>&1 || fail "ninja (libfuse build) failed"
meson install -C "$bld" --quiet >>"$log" 2>&1 || fail "meson install (into $prefix) failed"

[[ -f "$prefix/lib/libfuse3.a" && -f "$prefix/lib/pkgconfig/fuse3.pc" ]] || fail "install into $prefix is incomplete"
got=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion fuse3)
[[ "$got" == "$upstream" ]] || fail "built fuse3.pc says $got, expected $upstream"
echo "$want_stamp" >"$stamp"
rm -rf "$bld" "$src"   # keep only the verified downloads in $work, for a rebuild without network
