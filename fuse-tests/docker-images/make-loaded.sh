#!/bin/bash
# Build ovf-test/loaded:1 with `docker load` from a hand-made `docker save` archive, for the two
# things the classic builder cannot produce:
#  - an EMPTY layer in the middle of the stack: a RUN that changes nothing becomes a history
#    entry with "empty_layer": true and no layer at all (observed with Docker 20.10), but a
#    loaded or pulled image can carry a layer whose tar is empty (diff id
#    sha256:5f70bf18..., the 1024 zero bytes of an empty tar);
#  - a layer written by a foreign tar: AUFS markers (.wh.NAME, .wh..wh..opq) as tar entries,
#    hard links and user.* xattrs, applied by Docker's unpacker as it does for pulled images.
# Layers, bottom first: the base layer of ovf-test/base:1, an empty layer, the foreign layer.
# Idempotent: the config carries a label with the sha256 of this script and of the base id.
# Usage: make-loaded.sh   (root; after make-base.sh)
set -euo pipefail
TAG=ovf-test/loaded:1
base_id=$(docker image inspect -f '{{.Id}}' ovf-test/base:1)
sum=$( { cat "$0"; echo "$base_id"; } | sha256sum | cut -c1-64)
have=$(docker image inspect -f '{{index .Config.Labels "ovf.build.sha256"}}' "$TAG" 2>/dev/null || true)
if [ "$have" = "$sum" ]; then
    echo "make-loaded.sh: $TAG is up to date"
    exit 0
fi

work=$(mktemp -d /tmp/ovf-loaded.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/save" "$work/archive/base" "$work/archive/empty" "$work/archive/top"

# 1. the base layer, as docker save writes it
docker save ovf-test/base:1 | tar -x -C "$work/save"
base_layer=$(cd "$work/save" && sed -n 's/.*"Layers":\["\([^"]*\)".*/\1/p' manifest.json)
cp "$work/save/$base_layer" "$work/archive/base/layer.tar"

# 2. an empty layer: the canonical empty tar (two zero blocks)
head -c 1024 /dev/zero > "$work/archive/empty/layer.tar"

# 3. the foreign layer
T=$work/top
mkdir -p "$T/etc" "$T/usr/share/doc/pkg-e" "$T/data/loaded" "$T/data/tree/a/b/c"
: > "$T/etc/.wh.os-release"                        # delete /etc/os-release
: > "$T/usr/share/doc/pkg-e/.wh..wh..opq"          # pkg-e becomes opaque ...
printf 'only file of pkg-e\n' > "$T/usr/share/doc/pkg-e/new"   # ... with one new file
: > "$T/data/tree/a/b/c/.wh.leaf"                  # delete a file three levels down
printf 'loaded hard link\n' > "$T/data/loaded/hl1"
ln "$T/data/loaded/hl1" "$T/data/loaded/hl2"
setfattr -n user.loaded -v yes "$T/data/loaded/hl1"
mkdir "$T/data/loaded/xdir"; setfattr -n user.dirattr -v d "$T/data/loaded/xdir"
find "$T" -depth -exec touch -h -d @1650000000 {} +
tar --sort=name --format=pax --numeric-owner --owner=0 --group=0 \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --xattrs --xattrs-include='user.*' -C "$T" -cf "$work/archive/top/layer.tar" \
    etc usr data

d() { sha256sum "$1" | cut -c1-64; }
cat > "$work/archive/config.json" <<JSON
{"architecture":"amd64","os":"linux","created":"2022-04-15T05:20:00Z",
 "config":{"Cmd":["/bin/sh"],"Labels":{"ovf.build.sha256":"$sum"}},
 "rootfs":{"type":"layers","diff_ids":[
   "sha256:$(d "$work/archive/base/layer.tar")",
   "sha256:$(d "$work/archive/empty/layer.tar")",
   "sha256:$(d "$work/archive/top/layer.tar")"]},
 "history":[{"created":"2022-04-15T05:20:00Z","created_by":"ovf-test/base:1"},
            {"created":"2022-04-15T05:20:00Z","created_by":"an empty layer"},
            {"created":"2022-04-15T05:20:00Z","created_by":"a foreign tar with AUFS markers"}]}
JSON
cat > "$work/archive/manifest.json" <<JSON
[{"Config":"config.json","RepoTags":["$TAG"],
  "Layers":["base/layer.tar","empty/layer.tar","top/layer.tar"]}]
JSON
tar -C "$work/archive" -cf "$work/loaded.tar" manifest.json config.json base empty top
docker load -i "$work/loaded.tar" >/dev/null
echo "make-loaded.sh: loaded $TAG"
