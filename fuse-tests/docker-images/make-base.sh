#!/bin/bash
# Build the base root filesystem for the Docker tests from busybox-static and `docker import` it
# as ovf-test/base:1, without any registry.
#
# The tree holds every kind of entry the merge has to get right: a big hard-link group (busybox
# and its applets in /bin), symlinks (absolute, relative, dangling, to a directory), odd modes,
# setuid/setgid/sticky bits, owners up to 4294967294, a fifo, char and block devices,
# user.* and security.capability xattrs (docker import keeps every xattr of the tar; docker's
# own tar writer, used by build/commit/export, keeps only security.capability), empty files and
# directories, and fixed, distinct mtimes.
#
# Idempotent: the tar is built deterministically and its sha256 is stored in the image label
# ovf.base.sha256; if ovf-test/base:1 exists with the same label nothing is imported.
# Usage: make-base.sh [IMAGE_TAG]      (root; needs busybox-static, tar, attr, libcap2-bin)
set -euo pipefail

TAG=${1:-ovf-test/base:1}
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || BUSYBOX=/usr/bin/busybox
if ! "$BUSYBOX" --list-full >/dev/null 2>&1 || ldd "$BUSYBOX" >/dev/null 2>&1; then
    # ldd fails ("not a dynamic executable") exactly for a static binary, which the image needs:
    # it has no libc.
    echo "make-base.sh: need a static busybox at $BUSYBOX: apt-get install -y busybox-static" >&2
    exit 1
fi
for tool in tar setfattr setcap mknod docker; do
    command -v "$tool" >/dev/null || { echo "make-base.sh: missing $tool (apt-get install -y tar attr libcap2-bin docker.io)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/ovf-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
R=$work/rootfs
mkdir -p "$R"
cd "$R"

# --- busybox: /bin/busybox + hard links for the /bin applets, symlinks for the others --------
mkdir -p bin sbin usr/bin usr/sbin
cp "$BUSYBOX" bin/busybox
chmod 0755 bin/busybox
"$BUSYBOX" --list-full | sort | while read -r applet; do
    case "$applet" in
        bin/busybox) ;;
        bin/*) ln bin/busybox "$applet" ;;          # one inode, ~100 names
        *) ln -s /bin/busybox "$applet" ;;
    esac
done

# --- /etc --------------------------------------------------------------------------------------
mkdir -p etc/skel etc/xdg/autostart etc/profile.d
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nuser:x:1000:1000::/home/user:/bin/sh\n' > etc/passwd
printf 'root:x:0:\nshadow:x:42:\nnogroup:x:65534:\nuser:x:1000:\n' > etc/group
printf 'root:*:19000:0:99999:7:::\n' > etc/shadow
chown 0:42 etc/shadow; chmod 0640 etc/shadow
printf 'image motd\n' > etc/motd
printf 'NAME=ovf-test-base\nID=ovf\n' > etc/os-release
printf 'image-hostname\n' > etc/hostname              # replaced by Docker's init layer
printf '127.0.0.1 image-hosts\n' > etc/hosts           # replaced by Docker's init layer
printf 'export PS1="$ "\n' > etc/skel/.profile
printf 'skel readme\n' > etc/skel/README
printf 'alias ll="ls -l"\n' > etc/profile.d/ll.sh
printf '[Desktop Entry]\n' > etc/xdg/autostart/x.desktop
ln -s /proc/self/mounts etc/mtab-image-link           # not /etc/mtab: the init layer owns that

# --- /usr/share/doc: directories the derived images delete, empty and re-create ----------------
for p in pkg-a pkg-b pkg-c pkg-d pkg-e; do
    mkdir -p usr/share/doc/$p/examples
    printf '%s copyright\n' $p > usr/share/doc/$p/copyright
    printf '%s readme\n' $p > usr/share/doc/$p/README
    printf '%s example\n' $p > usr/share/doc/$p/examples/ex1
done

# --- /dev: devices of the image (the init layer adds console, pts, shm) -----------------------
mkdir -p dev
mknod -m 0666 dev/null c 1 3
mknod -m 0666 dev/zero c 1 5
mknod -m 0660 dev/loop0 b 7 0
chown 0:6 dev/loop0

# --- /data: the playground of the derived images ----------------------------------------------
mkdir -p data/tree/a/b/c data/tree/x data/emptydir data/hl data/modes data/owners data/xattrs \
         data/dir2file/sub data/dir2link data/dev2dir data/opq/keep data/caps
printf 'plain\n' > data/plain.txt
: > data/empty-file
printf 'tree file\n' > data/tree/a/b/c/leaf
printf 'tree x\n' > data/tree/x/y
printf 'tree top\n' > data/tree/top
# hard-link groups, each used by one case of the derived images
for g in keep mod chmod rm chown; do
    printf 'hard link group %s\n' $g > data/hl/${g}_a
    ln data/hl/${g}_a data/hl/${g}_b
    ln data/hl/${g}_a data/hl/${g}_c
done
mkdir -p data/hl/other-dir
ln data/hl/keep_a data/hl/other-dir/keep_d          # a group spanning two directories
# odd modes
for m in 0000 0400 0644 0666 0700 0777 4755 2755 6755 1755 0111 0751; do
    printf 'mode %s\n' $m > data/modes/file-$m
    chmod $m data/modes/file-$m
done
mkdir -p data/modes/dir-0700 data/modes/dir-1777 data/modes/dir-0555 data/modes/dir-2775
printf 'in 0700\n' > data/modes/dir-0700/inside
chmod 0700 data/modes/dir-0700; chmod 1777 data/modes/dir-1777
chmod 0555 data/modes/dir-0555; chmod 2775 data/modes/dir-2775
printf 'setuid\n' > data/setuid-file; chmod 4755 data/setuid-file
printf 'setuid2\n' > data/setuid-file2; chmod 4755 data/setuid-file2
# owners
for o in 1:1 1000:1000 65534:65534 4000000000:4000000001 4294967294:4294967294 0:1000; do
    f=data/owners/owned-${o/:/-}
    printf 'owner %s\n' $o > "$f"; chown "$o" "$f"
done
mkdir data/owners/dir-1000; chown 1000:1000 data/owners/dir-1000
ln -s target-does-not-exist data/owners/link-1000; chown -h 1000:1000 data/owners/link-1000
# symlinks
ln -s /etc/passwd data/link-abs
ln -s ../etc/motd data/link-rel
ln -s /nonexistent/dangling data/link-dangling
ln -s tree data/link-to-dir
ln -s link-loop data/link-loop
ln -s plain.txt data/file2link-target
ln -s tree data/link2dir
# special files
mkfifo -m 0640 data/fifo
mkfifo data/file2fifo-fifo
mknod -m 0600 data/chardev c 4 64
mknod -m 0600 data/blockdev b 8 1
mknod -m 0600 data/dev2dir/node c 1 7
# replace cases: names that the derived images turn into something else
printf 'will become a dir\n' > data/file2dir
printf 'will become a fifo\n' > data/file2fifo
printf 'will become a link\n' > data/file2link
printf 'inside dir2file\n' > data/dir2file/sub/f
printf 'inside dir2link\n' > data/dir2link/f
printf 'lower of opq\n' > data/opq/lower-file
printf 'kept\n' > data/opq/keep/k
# xattrs (user.*) on a file, a dir, a hard-link group; security.capability
printf 'xattr file\n' > data/xattrs/file
setfattr -n user.test -v value1 data/xattrs/file
setfattr -n user.empty data/xattrs/file     # empty value: Go's tar reader drops it on import (observed)
setfattr -n user.bin -v 0x00ff10 data/xattrs/file
printf 'xattr file 2\n' > data/xattrs/file2
setfattr -n user.test -v value2 data/xattrs/file2
setfattr -n user.dir -v d data/xattrs
printf 'xattr hl\n' > data/xattrs/hl_a; ln data/xattrs/hl_a data/xattrs/hl_b
setfattr -n user.hl -v h data/xattrs/hl_a
mkdir data/xattrs/subdir; setfattr -n user.sub -v s data/xattrs/subdir
printf '#!/bin/sh\n' > data/caps/cap1; chmod 0755 data/caps/cap1; setcap cap_net_raw+ep data/caps/cap1
printf '#!/bin/sh\n' > data/caps/cap2; chmod 0755 data/caps/cap2; setcap cap_net_bind_service+ep data/caps/cap2
# a file larger than a few pages, with non-repeating content
i=0; while [ $i -lt 3000 ]; do printf 'line %06d of a bigger file\n' $i; i=$((i+1)); done > data/big.txt
# names
mkdir -p "data/names/with space" "data/names/ünïcødé"
printf 'space\n' > "data/names/with space/a b.txt"
printf 'unicode\n' > "data/names/ünïcødé/文件.txt"
printf 'leading dash\n' > "data/names/-dash"
printf 'colon\n' > "data/names/a:b"

# --- fixed, distinct mtimes (deterministic tar; a wrong source layer shows as a wrong mtime) ---
n=0
find . -depth -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' p; do
    n=$((n + 1))
    touch -h -d "@$((1600000000 + n * 3607))" "$p"
done
touch -h -d "@1500000000" .

cd "$work"
tar --sort=name --format=pax --numeric-owner \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --xattrs --xattrs-include='user.*' --xattrs-include='security.capability' \
    -C "$R" -cf base.tar .
sum=$(sha256sum base.tar | cut -c1-64)

have=$(docker image inspect -f '{{index .Config.Labels "ovf.base.sha256"}}' "$TAG" 2>/dev/null || true)
if [ "$have" = "$sum" ]; then
    echo "make-base.sh: $TAG is up to date ($sum)"
    exit 0
fi
docker import --change "LABEL ovf.base.sha256=$sum" --change 'CMD ["/bin/sh"]' \
    --message "ovf-test base from busybox-static" base.tar "$TAG" >/dev/null
echo "make-base.sh: imported $TAG ($sum)"
