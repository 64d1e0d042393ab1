#!/usr/bin/env bash
# A Debian bookworm base image with Python, made without any container registry, for building the
# images where none can be reached (the image test). Usage: base-image.sh [IMAGE_NAME]
# debootstrap --variant=minbase brings the root file system from Debian's archive (apt's default mirror),
# the Python packages come from Debian too, and buildah commits the tree as an image. An image of that
# name already in buildah's store is reused, so only the first run pays the two minutes of debootstrap.
set -euo pipefail
IMAGE="${1:-localhost/phoi-base:bookworm-python3}"
# python3-venv brings ensurepip (the builder stage makes a virtual environment with pip); ca-certificates
# lets pip verify the package index it installs the hash-locked requirements from.
PACKAGES="python3,python3-venv,ca-certificates"

if buildah inspect --type image "$IMAGE" >/dev/null 2>&1; then
    echo "base image $IMAGE: already built" >&2
    echo "$IMAGE"
    exit 0
fi

rootfs="$(mktemp -d /var/tmp/phoi-base.XXXXXX)"
container=""
cleanup() {
    [[ -n "$container" ]] && buildah rm "$container" >/dev/null 2>&1 || true
    rm -rf "$rootfs"
}
trap cleanup EXIT

echo "base image $IMAGE: debootstrap bookworm (minbase + $PACKAGES)" >&2
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$rootfs" >&2
# What an image does not need: apt's downloaded packages and lists, documentation, man pages.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/var/log/*
# `python` as the official image has it (the Kubernetes manifests run `python -m phoi_<service>`).
ln -sf python3 "$rootfs/usr/bin/python"

container="$(buildah from scratch)"
mountpoint="$(buildah mount "$container")"
cp -a "$rootfs"/. "$mountpoint"/
buildah umount "$container" >/dev/null
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 --cmd python3 \
    --label org.opencontainers.image.title="phoi base: Debian bookworm with python3" "$container"
buildah commit --quiet "$container" "$IMAGE" >/dev/null
echo "base image $IMAGE: built" >&2
echo "$IMAGE"
