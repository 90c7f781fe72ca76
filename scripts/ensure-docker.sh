#!/usr/bin/env bash
# Makes sure a Docker Engine is installed, running and a swarm manager, on a machine without
# systemd. Idempotent: each step is skipped when already done.
#
#   scripts/ensure-docker.sh            # install docker.io if missing, start dockerd, swarm init
#
# Env:
#   SWARMML_FAKE_GPUS   comma-separated fake GPU ids (e.g. GPU-fake-0) that dockerd advertises as
#                       the generic resource NVIDIA-GPU when this script starts it. Tests of GPU
#                       placement need one; never set it on a machine with real GPUs.
#   SWARMML_NO_INSTALL  1 = do not apt-get install docker.io (fail instead)
#   SWARMML_ADVERTISE_ADDR  the address `docker swarm init` advertises (default: this host's
#                       source address for its default route, else 127.0.0.1). Other nodes,
#                       including scripts/swarm-nodes.sh's simulated ones, join at this address,
#                       so 127.0.0.1 means a swarm of one node.
#
# Exit status: 0 ready; 2 docker cannot be installed or dockerd cannot start (callers such as the
# swarm tests treat 2 as "skip, with the reason printed on stderr").
set -euo pipefail

DOCKER=/usr/bin/docker # Debian's client; a /usr/local/bin/docker stub may shadow it on PATH
DOCKERD=/usr/sbin/dockerd
LOG=${DOCKERD_LOG:-/var/log/dockerd.log}

say() { echo "ensure-docker: $*" >&2; }

# Parallel callers (test files, CI steps) must not start two daemons.
cannot() {
  say "$*"
  exit 2
}
exec 9>/tmp/swarmml-ensure-docker.lock
flock -w 600 9 || cannot "another ensure-docker.sh held /tmp/swarmml-ensure-docker.lock for 10 min"

if [[ ! -x $DOCKER || ! -x $DOCKERD ]]; then
  [[ ${SWARMML_NO_INSTALL:-0} == 1 ]] && cannot "docker.io is not installed (SWARMML_NO_INSTALL=1)"
  [[ $(id -u) == 0 ]] || cannot "docker.io is not installed and this is not root: apt-get install docker.io"
  command -v apt-get >/dev/null || cannot "docker.io is not installed and there is no apt-get"
  say "installing docker.io"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt may hold the lock (CI steps, other installers): wait for it rather than fail.
  apt-get -o DPkg::Lock::Timeout=300 install -y docker.io >/dev/null 2>&1 ||
    { apt-get -o DPkg::Lock::Timeout=300 update >/dev/null 2>&1 &&
      apt-get -o DPkg::Lock::Timeout=300 install -y docker.io >/dev/null; } ||
    cannot "apt-get install docker.io failed"
fi

if ! $DOCKER info >/dev/null 2>&1; then
  [[ $(id -u) == 0 ]] || cannot "dockerd is not running and this is not root"
  args=(--host unix:///var/run/docker.sock)
  if [[ -n ${SWARMML_FAKE_GPUS:-} ]]; then
    IFS=, read -ra gpus <<<"$SWARMML_FAKE_GPUS"
    for g in "${gpus[@]}"; do args+=(--node-generic-resource "NVIDIA-GPU=$g"); done
  fi
  say "starting dockerd ${args[*]}"
  # setsid + closed stdio: a CI step that starts the daemon must not wait for its output to close.
  # 9>&-: the daemon must not inherit the lock, or it holds it for its whole life and every
  # later call waits forever.
  setsid "$DOCKERD" "${args[@]}" </dev/null >>"$LOG" 2>&1 9>&- &
  for _ in $(seq 1 150); do
    $DOCKER info >/dev/null 2>&1 && break
    kill -0 $! 2>/dev/null || cannot "dockerd exited at start; last lines of $LOG: $(tail -5 "$LOG" | tr '\n' ' ')"
    sleep 0.2
  done
  $DOCKER info >/dev/null 2>&1 || cannot "dockerd did not answer within 30 s (see $LOG)"
fi

if [[ $($DOCKER info -f '{{.Swarm.LocalNodeState}}') != active ]]; then
  # A routable address, so that workers (real hosts, or swarm-nodes.sh's network namespaces,
  # which reach the host's addresses through their bridge) can join; loopback cannot be joined.
  addr=${SWARMML_ADVERTISE_ADDR:-$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')}
  addr=${addr:-127.0.0.1}
  say "docker swarm init --advertise-addr $addr"
  $DOCKER swarm init --advertise-addr "$addr" >/dev/null ||
    cannot "docker swarm init failed"
fi
