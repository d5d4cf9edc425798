#!/usr/bin/env bash
# A Docker engine for the live compose test (tests/test_compose_live.py), on Debian, as root:
# Debian's docker.io, dockerd started if none answers, and a base image debian:bookworm-slim
# that is pulled, or, where no image registry can be reached, made with debootstrap from
# Debian's mirror and `docker import`. Safe to run again; a machine with a working Docker
# needs none of it. CI runs it before the tests.
set -euo pipefail

log() { echo "docker_engine: $*"; }

if ! dpkg -s docker.io debootstrap >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io debootstrap >/dev/null
fi
# Debian's client: its BuildKit needs no buildx plugin (a newer client elsewhere on PATH may).
DOCKER=/usr/bin/docker

if ! "$DOCKER" info >/dev/null 2>&1; then
  log "starting dockerd (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 60); do
    "$DOCKER" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  "$DOCKER" info >/dev/null 2>&1 || { log "dockerd did not start"; tail -20 /var/log/dockerd.log; exit 1; }
fi

BASE=debian:bookworm-slim
if ! "$DOCKER" image inspect "$BASE" >/dev/null 2>&1; then
  if timeout 60 "$DOCKER" pull -q "$BASE" >/dev/null 2>&1; then
    log "pulled $BASE"
  else
    log "no registry: making $BASE with debootstrap"
    ROOTFS="$(mktemp -d)"
    trap 'rm -rf "$ROOTFS"' EXIT
    debootstrap --variant=minbase bookworm "$ROOTFS" http://deb.debian.org/debian >/dev/null
    tar -C "$ROOTFS" -c . | "$DOCKER" import - "$BASE" >/dev/null
  fi
fi
log "ready: $("$DOCKER" version --format 'engine {{.Server.Version}}'), $BASE present"
