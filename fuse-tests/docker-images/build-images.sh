#!/bin/bash
# Build every test image of the Docker tests (the fixture runs this once per test run; it can
# also be run by hand). Images are cached by tag: each build is labelled with the sha256 of its
# Dockerfile and of the id of the image it starts FROM, and skipped when that label matches, so
# only the first run (or a changed Dockerfile/base) builds anything.
#
# The classic builder (DOCKER_BUILDKIT=0) is used on purpose: it is what writes one overlay2
# layer per RUN through docker's own tar code, the store layout the tests are about.
# --network=none: no registry and no network are needed or used.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# ctest runs each test in its own process, several at once, and each asks for the images: one
# builder at a time, the others then find everything up to date (no duplicate builds, no
# dangling images left by a lost race).
exec 9>"${OVF_DOCKER_IMAGES_LOCK:-/tmp/ovf-docker-images.lock}"
flock 9

# Fast path: nothing to do when the inputs (scripts, Dockerfiles, busybox) and the test images
# present are exactly those of the last complete run. One docker call instead of two per image.
fingerprint() {
    { cat "$here"/*.sh "$here"/*/Dockerfile
      sha256sum "$(command -v busybox)" 2>/dev/null || true
      docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' \
          | grep -E '^(ovf-test/|ovftestplain:)' | sort
    } | sha256sum | cut -c1-64
}
stamp=${OVF_DOCKER_IMAGES_STAMP:-/tmp/ovf-docker-images.stamp}
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(fingerprint)" ]; then
    echo "build-images.sh: all images up to date (fingerprint unchanged)"
    exit 0
fi

"$here/make-base.sh" ovf-test/base:1
"$here/make-loaded.sh"     # docker load: an empty layer and a foreign-tar layer

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

build() {   # build NAME  -> ovf-test/NAME:1 from $here/NAME/Dockerfile
    local name=$1 tag=ovf-test/$1:1 dir=$here/$1
    local from; from=$(awk 'toupper($1)=="FROM"{print $2; exit}' "$dir/Dockerfile")
    local from_id; from_id=$(image_id "$from")
    [ -n "$from_id" ] || { echo "build-images.sh: $name: base image $from missing" >&2; exit 1; }
    local sum; sum=$( { cat "$dir/Dockerfile"; echo "$from_id"; } | sha256sum | cut -c1-64)
    local have; have=$(docker image inspect -f '{{index .Config.Labels "ovf.build.sha256"}}' "$tag" 2>/dev/null || true)
    if [ "$have" = "$sum" ]; then
        echo "build-images.sh: $tag is up to date"
        return
    fi
    echo "build-images.sh: building $tag"
    local log; log=$(mktemp)
    if ! DOCKER_BUILDKIT=0 docker build --network=none --force-rm --label "ovf.build.sha256=$sum" \
            -t "$tag" "$dir" >"$log" 2>&1; then
        cat "$log" >&2; rm -f "$log"
        echo "build-images.sh: building $tag failed" >&2
        exit 1
    fi
    rm -f "$log"
}

build deletes
build replace
build meta
build names
build whfiles
build many
build shared      # FROM ovf-test/meta:1, after it

# More references to existing images (docker tag is idempotent):
docker tag ovf-test/deletes:1 ovf-test/deletes:latest      # "NAME" alone means NAME:latest
docker tag ovf-test/deletes:1 ovf-test/retagged:v2         # one image id, several names
docker tag ovf-test/replace:1 ovftestplain:latest          # a name without '/': docker.io/library/ovftestplain
fingerprint > "$stamp"
echo "build-images.sh: all images ready"
