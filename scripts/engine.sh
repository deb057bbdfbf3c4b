#!/usr/bin/env bash
# Make a Docker engine and the registry binary available for the tests and the demo.
#
#   scripts/engine.sh install   apt-get install docker.io docker-registry (and groovy, gcc) when missing
#   scripts/engine.sh start     start dockerd on a private socket unless DOCKER_HOST already answers;
#                               prints `export DOCKER_HOST=...` for eval (with
#                               RELEASE_ENGINE_STARTED=1 when it started one, so callers stop
#                               only what they started)
#   scripts/engine.sh stop      stop the dockerd that `start` started (by pid), remove its state
#
# State lives in $RELEASE_ENGINE_DIR (default: .state/engine in the repository).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
state=${RELEASE_ENGINE_DIR:-$here/.state/engine}
sock="$state/docker.sock"

need_install() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
  command -v groovy >/dev/null 2>&1 || missing+=(groovy)
  # gcc + libc6-dev (libc.a) compile the example service statically for its FROM-scratch image.
  command -v gcc >/dev/null 2>&1 || missing+=(gcc)
  [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/aarch64-linux-gnu/libc.a ] \
    || missing+=(libc6-dev)
  echo "${missing[@]:-}"
}

install() {
  local missing
  missing=$(need_install)
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: $missing" >&2
    echo "install them as root: sudo apt-get install -y $missing" >&2
    exit 1
  fi
  echo "installing: $missing" >&2
  apt-get update -qq >&2
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
}

answers() {
  DOCKER_HOST="$1" timeout 5 python3 - <<'PY' >/dev/null 2>&1
import os, socket, sys
host = os.environ["DOCKER_HOST"]
path = host[len("unix://"):]
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(path)
s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
sys.exit(0 if b"200 OK" in s.recv(1024) else 1)
PY
}

start() {
  if [ -n "${DOCKER_HOST:-}" ] && [[ "$DOCKER_HOST" == unix://* ]] && answers "$DOCKER_HOST"; then
    echo "export DOCKER_HOST=$DOCKER_HOST RELEASE_ENGINE_STARTED="
    return 0
  fi
  if [ -S "$sock" ] && answers "unix://$sock"; then
    echo "export DOCKER_HOST=unix://$sock RELEASE_ENGINE_STARTED="
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "dockerd needs root here; start a Docker engine and set DOCKER_HOST" >&2
    exit 1
  fi
  mkdir -p "$state/data" "$state/exec"
  rm -f "$sock" "$state/docker.pid"
  nohup dockerd --storage-driver=vfs --iptables=false --bridge=none --ip-masq=false \
    --data-root "$state/data" --exec-root "$state/exec" -H "unix://$sock" \
    --pidfile "$state/docker.pid" >"$state/dockerd.log" 2>&1 &
  for _ in $(seq 1 150); do
    if [ -S "$sock" ] && answers "unix://$sock"; then
      echo "export DOCKER_HOST=unix://$sock RELEASE_ENGINE_STARTED=1"
      return 0
    fi
    sleep 0.2
  done
  echo "dockerd did not answer within 30 s; its log:" >&2
  tail -20 "$state/dockerd.log" >&2
  exit 1
}

stop() {
  if [ -f "$state/docker.pid" ]; then
    pid=$(cat "$state/docker.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$sock" "$state/docker.pid"
  # dockerd leaves its network-namespace bind mount behind; without unmounting it the state
  # folder cannot be removed.
  awk -v dir="$state/" 'index($2, dir) == 1 {print $2}' /proc/mounts 2>/dev/null | sort -r |
    while read -r mnt; do umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true; done
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
