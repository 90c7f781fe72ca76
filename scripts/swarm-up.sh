#!/usr/bin/env bash
# Brings swarmml up on Docker Swarm, from nothing: dockerd, swarm, base images (when no registry
# is reachable), the app image, secrets, `docker stack deploy`, then waits until every service is
# healthy and prints the URL and admin token.
#
#   scripts/swarm-up.sh                 # build and deploy (idempotent: a rerun redeploys)
#   scripts/swarm-up.sh --no-build      # deploy the newest swarmml/app image already built
#   scripts/swarm-up.sh --with-torch    # also build swarmml/trainer-torch (docker/trainer-torch:
#                                       # PyTorch from Debian, ~1 GB, minutes) for external trainers
#
# Env: SWARMML_STACK (stack name, swarmml), SWARMML_PORT (gateway port, 8080), SWARMML_GRPC_PORT (its gRPC port, 8001),
#      SWARMML_HOME (secrets under $SWARMML_HOME/secrets; ./.swarmml),
#      SWARMML_NO_SEED=1 (a registry is reachable: pull base images instead of seeding them),
#      SWARMML_UP_TIMEOUT (seconds to wait for health, 180),
#      SWARMML_REGISTRY (host:port of an existing registry every node can pull from; unset: start
#      scripts/registry.sh on this host and use <SWARMML_REGISTRY_HOST>:5000),
#      SWARMML_REGISTRY_HOST (the address the nodes reach this host at; default its swarm address),
#      DOCKER_HOST (the swarm manager's engine; default this host's) and SWARMML_BUILD_HOST (the
#      engine that seeds, builds and pushes; default DOCKER_HOST), SWARMML_PUBLIC_HOST (where
#      the gateway's port is published, for the printed URL; 127.0.0.1), SWARMML_SERVING_REPLICAS.
#      `eval "$(scripts/swarm-nodes.sh env)"` sets the last four for the simulated nodes.
set -euo pipefail

DOCKER=/usr/bin/docker
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export SWARMML_STACK=${SWARMML_STACK:-swarmml}
export SWARMML_PORT=${SWARMML_PORT:-8080}
export SWARMML_GRPC_PORT=${SWARMML_GRPC_PORT:-8001}
HOME_DIR=${SWARMML_HOME:-$ROOT/.swarmml}
export SWARMML_SECRETS=$HOME_DIR/secrets
TIMEOUT=${SWARMML_UP_TIMEOUT:-180}
BUILD=1
TORCH=0
for arg in "$@"; do
  case $arg in
    --no-build) BUILD=0 ;;
    --with-torch) TORCH=1 ;;
    *) echo "swarm-up: unknown option $arg (--no-build, --with-torch)" >&2; exit 2 ;;
  esac
done

say() { echo "swarm-up: $*" >&2; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
T0=$(now)

# Images are made on the build engine (this host's by default), the stack runs on DOCKER_HOST.
DEPLOY_HOST=${DOCKER_HOST:-}
BUILD_HOST=${SWARMML_BUILD_HOST:-$DEPLOY_HOST}
on_build() { DOCKER_HOST=$BUILD_HOST "$@"; }
if [[ -n $BUILD_HOST ]]; then export DOCKER_HOST=$BUILD_HOST; else unset DOCKER_HOST; fi
scripts/ensure-docker.sh || exit $?
if [[ -n $DEPLOY_HOST ]]; then export DOCKER_HOST=$DEPLOY_HOST; else unset DOCKER_HOST; fi
$DOCKER info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null | grep -qx active ||
  scripts/ensure-docker.sh || exit $?
T_DOCKER=$(now)

[[ ${SWARMML_NO_SEED:-0} == 1 ]] || on_build scripts/seed-images.sh
T_SEED=$(now)

if [[ $BUILD == 1 ]]; then
  SWARMML_TAG=$(on_build scripts/build-image.sh)
  export SWARMML_TAG
else
  iid=$(on_build $DOCKER image inspect -f '{{.Id}}' swarmml/app:latest)
  export SWARMML_TAG=${iid#sha256:}
  SWARMML_TAG=${SWARMML_TAG:0:12}
  on_build $DOCKER tag "$iid" "swarmml/app:$SWARMML_TAG"
fi
# The PyTorch trainer image, on request only: it is large. Tagged like the app, by content.
TORCH_PAIR=
if [[ $TORCH == 1 ]]; then
  tiid=$(DOCKER_BUILDKIT=1 on_build $DOCKER build -q -f docker/trainer-torch/Dockerfile .) ||
    { say "building docker/trainer-torch failed"; exit 1; }
  ttag=${tiid#sha256:}
  on_build $DOCKER tag "$tiid" "swarmml/trainer-torch:${ttag:0:12}"
  on_build $DOCKER tag "$tiid" swarmml/trainer-torch:latest
  TORCH_PAIR="swarmml/trainer-torch:latest=swarmml/trainer-torch:latest"
  say "swarmml/trainer-torch:${ttag:0:12} built"
fi
T_BUILD=$(now)

# Every node pulls its images from a registry, as on real hosts (other nodes cannot see the
# build engine's images). Our own registry is pushed to over loopback, which Docker allows over
# plain HTTP; the nodes reach it at this host's address (an insecure registry for them).
REG_PORT=${SWARMML_REGISTRY_PORT:-5000}
if [[ -z ${SWARMML_REGISTRY:-} ]]; then
  scripts/registry.sh start
  addr=${SWARMML_REGISTRY_HOST:-$($DOCKER info -f '{{.Swarm.NodeAddr}}')}
  SWARMML_REGISTRY=${addr:-127.0.0.1}:$REG_PORT
  PUSH_TO=127.0.0.1:$REG_PORT
else
  PUSH_TO=$SWARMML_REGISTRY
fi
export SWARMML_REGISTRY
# The app image under its content tag, and Redis (a copy of redis:7, seeded or pulled).
for pair in "swarmml/app:$SWARMML_TAG=swarmml/app:$SWARMML_TAG" "redis:7=swarmml/redis:7" $TORCH_PAIR; do
  src=${pair%%=*} dst=${pair#*=}
  on_build $DOCKER tag "$src" "$PUSH_TO/$dst"
  # The build engine may also be the manager: it then finds the image under the stack's name.
  [[ $PUSH_TO == "$SWARMML_REGISTRY" ]] || on_build $DOCKER tag "$src" "$SWARMML_REGISTRY/$dst"
  on_build $DOCKER push -q "$PUSH_TO/$dst" >/dev/null ||
    { say "docker push $PUSH_TO/$dst failed"; exit 1; }
done
T_PUSH=$(now)

# Secrets are made once and kept: a swarm secret cannot change under a running stack.
mkdir -p "$HOME_DIR" "$SWARMML_SECRETS"
chmod 700 "$HOME_DIR" "$SWARMML_SECRETS"
for s in redis_password admin_token; do
  f=$SWARMML_SECRETS/$s
  [[ -s $f ]] || (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$f")
done
# Redis's ACL file and each user's password, from the one ACL module (shared/store/acl.ts) and
# the redis_password secret; the file's hash names its swarm secret, so changed rules roll Redis.
[[ -f dist/shared/store/acl.js ]] || npm run --silent build >/dev/null 2>&1 || true
SWARMML_REDIS_ACL=$(node scripts/redis-acl.mjs "$SWARMML_SECRETS" swarmml)
export SWARMML_REDIS_ACL

# The handler drives the manager's engine through its socket (mounted from this host's files).
export SWARMML_DOCKER_SOCK=/var/run/docker.sock
[[ ${DOCKER_HOST:-} == unix://* ]] && SWARMML_DOCKER_SOCK=${DOCKER_HOST#unix://}
DOCKER_GID=$(stat -c %g "$SWARMML_DOCKER_SOCK")
export DOCKER_GID
# A stack being removed still holds its network for a few seconds; deploying then fails.
if [[ -z $($DOCKER stack services -q "$SWARMML_STACK" 2>/dev/null) ]]; then
  for _ in $(seq 1 60); do
    [[ -z $($DOCKER network ls -q --filter "label=com.docker.stack.namespace=$SWARMML_STACK") ]] && break
    sleep 0.5
  done
fi
$DOCKER stack deploy --resolve-image never --prune -c stack.yml "$SWARMML_STACK" >/dev/null
T_DEPLOY=$(now)

# Healthy = every service has all its replicas running. Swarm keeps a task with a healthcheck in
# `starting` until the check passes, so "running" already means healthy, on every node.
healthy() {
  local lines
  lines=$($DOCKER stack services "$SWARMML_STACK" --format '{{.Replicas}}') || return 1
  [[ -n $lines ]] || return 1
  while read -r r; do
    r=${r%% *}
    [[ ${r%/*} == "${r#*/}" && ${r%/*} != 0 ]] || return 1
  done <<<"$lines"
  # ...and no replaced task is still starting beside a running one.
  [[ -z $($DOCKER ps -q --filter "label=com.docker.stack.namespace=$SWARMML_STACK" --filter health=starting) ]]
}
deadline=$(($(date +%s) + TIMEOUT))
until healthy; do
  if (($(date +%s) > deadline)); then
    say "not healthy after ${TIMEOUT}s:"
    $DOCKER stack services "$SWARMML_STACK" >&2
    $DOCKER stack ps --no-trunc --filter desired-state=running \
      --format '{{.Name}} {{.CurrentState}} {{.Error}}' "$SWARMML_STACK" >&2
    exit 1
  fi
  sleep 0.5
done
T_HEALTHY=$(now)

say "times (s): docker $(secs "$T0" "$T_DOCKER"), seed $(secs "$T_DOCKER" "$T_SEED"), build $(secs "$T_SEED" "$T_BUILD"), push $(secs "$T_BUILD" "$T_PUSH"), deploy $(secs "$T_PUSH" "$T_DEPLOY"), healthy $(secs "$T_DEPLOY" "$T_HEALTHY"), total $(secs "$T0" "$T_HEALTHY")"
echo "swarmml is up: http://${SWARMML_PUBLIC_HOST:-127.0.0.1}:$SWARMML_PORT/  (stack $SWARMML_STACK, image $SWARMML_REGISTRY/swarmml/app:$SWARMML_TAG)"
echo "admin token: $(cat "$SWARMML_SECRETS/admin_token")"
