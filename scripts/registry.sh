#!/usr/bin/env bash
# The private image registry swarm-up.sh pushes to and every swarm node pulls from: Debian's
# `docker-registry` (Docker's Distribution 2.8), started on this host (the manager) when it is not
# running. Plain HTTP and no auth: see docs/swarm.md ("Registry") for TLS on real clusters.
#
#   scripts/registry.sh start     # idempotent; installs docker-registry if missing
#   scripts/registry.sh stop
#
# Env: SWARMML_REGISTRY_PORT (5000), SWARMML_REGISTRY_DIR (its storage, /var/lib/swarmml/registry;
#      kept across stops), SWARMML_REGISTRY_LISTEN (listen address, :<port>: every address, so
#      other nodes can pull; 127.0.0.1:<port> for a single node).
set -euo pipefail

PORT=${SWARMML_REGISTRY_PORT:-5000}
DIR=${SWARMML_REGISTRY_DIR:-/var/lib/swarmml/registry}
LISTEN=${SWARMML_REGISTRY_LISTEN:-:$PORT}
RUN=/run/swarmml-registry-$PORT
BIN=/usr/bin/docker-registry

say() { echo "registry: $*" >&2; }
up() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/v2/"; }

start() {
  exec 9>"/tmp/swarmml-registry-$PORT.lock"
  flock -w 120 9 || { say "another registry.sh held the lock for 2 min"; exit 1; }
  up 2>/dev/null && return 0
  if [[ ! -x $BIN ]]; then
    say "installing docker-registry"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 install -y docker-registry >/dev/null 2>&1 ||
      { apt-get -o DPkg::Lock::Timeout=300 update >/dev/null 2>&1 &&
        apt-get -o DPkg::Lock::Timeout=300 install -y docker-registry >/dev/null; } ||
      { say "apt-get install docker-registry failed"; exit 1; }
  fi
  mkdir -p "$DIR" "$RUN"
  # Our own config: Debian's default one asks for an htpasswd file.
  cat >"$RUN/config.yml" <<EOF
version: 0.1
log: { level: warn, fields: { service: registry } }
storage:
  filesystem: { rootdirectory: $DIR }
  delete: { enabled: true }
http:
  addr: $LISTEN
  headers: { X-Content-Type-Options: [nosniff] }
EOF
  # setsid and closed stdio, as for dockerd; 9>&- so it does not hold the lock for life.
  setsid "$BIN" serve "$RUN/config.yml" </dev/null >>"$RUN/registry.log" 2>&1 9>&- &
  echo $! >"$RUN/pid"
  for _ in $(seq 1 100); do
    up 2>/dev/null && { say "started on $LISTEN, storage $DIR"; return 0; }
    kill -0 "$(cat "$RUN/pid")" 2>/dev/null || break
    sleep 0.1
  done
  say "did not start: $(tail -3 "$RUN/registry.log" | tr '\n' ' ')"
  exit 1
}

stop() {
  local pid
  pid=$(cat "$RUN/pid" 2>/dev/null || true)
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  rm -rf "$RUN"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) say "usage: registry.sh start | stop"; exit 2 ;;
esac
