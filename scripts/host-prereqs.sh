#!/usr/bin/env bash
# Make Docker Engine and the compose v2 plugin usable on this host, then return.
#
# Idempotent, and a no-op where both already work. On Debian/Ubuntu as root it installs
# what is missing from the distribution's archive (no registry or vendor repository is
# needed) and starts dockerd itself, because containers and CI machines have no systemd.
# Elsewhere it says what to install and stops.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

log() { printf 'host-prereqs: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/testbed-dockerd.log}
# Debian 12 has no compose v2; Debian 13's docker-compose package is one static binary
# that runs on any glibc >= 2.34, so it is fetched from that suite with a private apt state.
COMPOSE_SUITE=${COMPOSE_SUITE:-trixie}

# --python-only: just make sure `python3 -m venv` works (the test suite's virtualenv), and
# openssl, which `make config` makes the DKIM keys with (siteconfig/dkimkeys.py).
if [ "${1:-}" = --python-only ]; then
  if ! command -v openssl >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      log "installing openssl"
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
    else
      die "openssl is needed to make the DKIM keys (Debian/Ubuntu: apt-get install openssl)"
    fi
  fi
  python3 -c 'import ensurepip, venv' 2>/dev/null && exit 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing python3-venv"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    exit 0
  fi
  die "python3 with the venv module is needed (Debian/Ubuntu: apt-get install python3-venv)"
fi

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }
compose_works() { docker compose version >/dev/null 2>&1; }

if engine_answers && compose_works; then
  exit 0
fi

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    log "apt-get update"
    apt-get update -qq >/dev/null
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_engine() {
  can_apt || die "Docker Engine is missing. Install it (https://docs.docker.com/engine/install/), or run 'make prereqs' as root on Debian/Ubuntu, then retry."
  apt_install docker.io
}

install_compose_plugin() {
  can_apt || die "The Docker compose v2 plugin is missing ('docker compose version' fails). Install docker-compose-plugin (or Debian 13's docker-compose), then retry."
  # The distribution's own package first (Ubuntu, Debian >= 13) ...
  if apt-cache show docker-compose-v2 >/dev/null 2>&1; then apt_install docker-compose-v2 && return; fi
  if [ -n "$(apt-cache madison docker-compose 2>/dev/null | awk '$3 ~ /^2\./')" ]; then apt_install docker-compose && return; fi
  # ... else Debian 13's static binary, fetched with a private apt state so the host's own
  # sources and lists stay untouched.
  local state; state=$(mktemp -d /tmp/testbed-compose.XXXXXX)
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
  local mirror; mirror=$(debian_mirror)
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $COMPOSE_SUITE main" >"$state/sources.list"
  local opts=(-o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache" -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
  log "fetching docker-compose from Debian $COMPOSE_SUITE ($mirror)"
  apt-get "${opts[@]}" update -qq >/dev/null
  (cd "$state" && apt-get "${opts[@]}" download docker-compose >/dev/null)
  dpkg -i "$state"/docker-compose_*.deb >/dev/null
  rm -rf "$state"
  compose_works || die "installed docker-compose from $COMPOSE_SUITE, but 'docker compose version' still fails"
}

wait_for_engine() {  # seconds
  local deadline=$((SECONDS + $1))
  until engine_answers; do [ $SECONDS -lt $deadline ] || return 1; sleep 1; done
}

wait_gone() {  # process-name seconds
  local deadline=$((SECONDS + $2))
  while pgrep -x "$1" >/dev/null; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.5; done
}

start_engine() {
  command -v dockerd >/dev/null || die "dockerd is not installed"
  [ "$(id -u)" = 0 ] || die "Docker Engine is installed but not running, and starting it needs root: run 'sudo dockerd &' or start the docker service."
  # A daemon killed with its session leaves a pid file and socket that stop the next one.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    log "removing stale /var/run/docker.pid"
    rm -f /var/run/docker.pid /var/run/docker.sock
  fi
  # A dockerd that is there but does not answer (shutting down, hung) is replaced.
  if pgrep -x dockerd >/dev/null && ! wait_for_engine 20; then
    log "dockerd is running but does not answer; restarting it"
    pkill -x dockerd || true
    wait_gone dockerd 20 || pkill -KILL -x dockerd || true
    wait_gone dockerd 5 || true
    pkill -x containerd || true
    wait_gone containerd 10 || true
    rm -f /var/run/docker.pid /var/run/docker.sock
  fi
  if ! pgrep -x dockerd >/dev/null; then
    rm -f /var/run/docker/containerd/containerd.pid
    log "starting dockerd (log: $DOCKERD_LOG)"
    setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  wait_for_engine 90 || { tail -n 20 "$DOCKERD_LOG" >&2 || true; die "dockerd did not answer within 90 s (log above: $DOCKERD_LOG)"; }
  log "Docker Engine $(docker version --format '{{.Server.Version}}') is up"
}

command -v dockerd >/dev/null 2>&1 || command -v docker >/dev/null 2>&1 && engine_answers || {
  command -v dockerd >/dev/null 2>&1 || install_engine
  command -v docker >/dev/null 2>&1 || die "the docker CLI is missing after installing docker.io"
  engine_answers || start_engine
}
compose_works || install_compose_plugin
log "ready: $(docker compose version)"
