#!/usr/bin/env bash
# Print the name of the base image the Dockerfiles build FROM, making sure it exists.
#
#   BASE=auto  (default) the official image if it is here or can be pulled, else a local
#              equivalent built once with debootstrap and cached as an image;
#   BASE=pull  the official image, or fail;
#   BASE=local the debootstrap image, even where a registry is reachable.
# The official image is debian:trixie-slim (override with BASE_IMAGE). Progress goes to
# stderr; stdout carries only the image name, so the Makefile can capture it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BASE=${BASE:-auto}
OFFICIAL=${BASE_IMAGE:-debian:trixie-slim}
SUITE=${BASE_SUITE:-trixie}
LOCAL=${LOCAL_BASE_IMAGE:-testbed-base:$SUITE}

log() { printf 'base-image: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
have() { docker image inspect "$1" >/dev/null 2>&1; }

build_local() {
  have "$LOCAL" && return
  [ "$(id -u)" = 0 ] || die "building $LOCAL with debootstrap needs root (or make $OFFICIAL pullable)"
  if ! command -v debootstrap >/dev/null; then
    command -v apt-get >/dev/null || die "debootstrap is missing and there is no apt-get to install it"
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  local mirror; mirror=$(debian_mirror)
  rootfs=$(mktemp -d /tmp/testbed-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
  local root=$rootfs
  log "debootstrap --variant=minbase $SUITE from $mirror (about half a minute)"
  debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$root.log" 2>&1 ||
    { tail -n 20 "$root.log" >&2; die "debootstrap failed (log above)"; }
  rm -f "$root.log"
  # As in the official slim image: no package caches or lists inside the base.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$LOCAL" >/dev/null
  log "built $LOCAL"
}

case $BASE in
  pull)
    have "$OFFICIAL" || docker pull -q "$OFFICIAL" >&2 || die "cannot pull $OFFICIAL (use BASE=local to build one with debootstrap)"
    echo "$OFFICIAL" ;;
  local)
    build_local; echo "$LOCAL" ;;
  auto)
    if have "$OFFICIAL" || docker pull -q "$OFFICIAL" >/dev/null 2>&1; then
      echo "$OFFICIAL"
    else
      log "$OFFICIAL cannot be pulled here; using a local equivalent ($LOCAL)"
      build_local; echo "$LOCAL"
    fi ;;
  *) die "BASE must be auto, pull or local (got '$BASE')" ;;
esac
