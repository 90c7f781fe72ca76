#!/usr/bin/env bash
# Removes the swarmml stack and the session workers it launched, and waits until the stack's
# network is gone (so an immediate swarm-up can deploy again). Volumes (Redis data) are kept.
#
#   scripts/swarm-down.sh              # keep volumes and secrets files
#   scripts/swarm-down.sh --volumes    # also delete the Redis volume: all data is lost
#
# Env: SWARMML_STACK (swarmml). dockerd and the swarm stay up.
set -euo pipefail

DOCKER=/usr/bin/docker
STACK=${SWARMML_STACK:-swarmml}
VOLUMES=0
[[ ${1:-} == --volumes ]] && VOLUMES=1
say() { echo "swarm-down: $*" >&2; }

$DOCKER info >/dev/null 2>&1 || {
  say "dockerd is not running: nothing to do"
  exit 0
}

# The event handler goes first: while it runs it launches session workers and keeps a warm
# spare on every node, so a worker removed before it would be replaced.
$DOCKER service rm "${STACK}_event-handler" >/dev/null 2>&1 || true
for _ in $(seq 1 60); do
  [[ -z $($DOCKER ps -q --filter "label=com.docker.swarm.service.name=${STACK}_event-handler") ]] && break
  sleep 0.5
done
# Session workers and spares are services of their own, attached to the stack's network:
# remove them before the stack or the network cannot go.
workers=$($DOCKER service ls -q --filter "label=swarmml.scope=$STACK")
[[ -z $workers ]] || $DOCKER service rm $workers >/dev/null
$DOCKER stack rm "$STACK" >/dev/null 2>&1 || true

for _ in $(seq 1 120); do
  left=$($DOCKER network ls -q --filter "label=com.docker.stack.namespace=$STACK")
  running=$($DOCKER ps -aq --filter "label=com.docker.stack.namespace=$STACK")
  [[ -z $left && -z $running ]] && break
  sleep 0.5
done
[[ -z ${left:-} ]] || { say "network of stack $STACK still present after 60 s"; exit 1; }

if [[ $VOLUMES == 1 ]]; then
  vols=$($DOCKER volume ls -q --filter "label=com.docker.stack.namespace=$STACK")
  [[ -z $vols ]] || $DOCKER volume rm $vols >/dev/null
  say "removed stack $STACK and its volumes"
else
  say "removed stack $STACK (volumes kept; --volumes deletes them)"
fi
