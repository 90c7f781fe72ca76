#!/usr/bin/env bash
# Seeds the base images that docker/ builds FROM (debian:bookworm-slim, node:20-bookworm-slim,
# redis:7) under their usual names, on a machine that reaches no registry. A user who can pull
# from Docker Hub never needs this: the Dockerfiles stay standard.
#
# Idempotent: an image that already exists is left alone (about 0.1 s when all three are there).
#   scripts/seed-images.sh          # seed what is missing
#   scripts/seed-images.sh --force  # rebuild all three
set -euo pipefail

DOCKER=/usr/bin/docker
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SEED=$ROOT/docker/seed
FORCE=0
[[ ${1:-} == --force ]] && FORCE=1

say() { echo "seed-images: $*" >&2; }
have() { [[ $FORCE == 0 ]] && $DOCKER image inspect "$1" >/dev/null 2>&1; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# Parallel callers wait for one seeding instead of building the same images twice.
exec 9>/tmp/swarmml-seed-images.lock
flock -w 900 9 || { say "another seed-images.sh held /tmp/swarmml-seed-images.lock for 15 min"; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if ! have debian:bookworm-slim; then
  command -v mmdebstrap >/dev/null || {
    [[ $(id -u) == 0 ]] || { say "mmdebstrap missing: apt-get install mmdebstrap"; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y mmdebstrap >/dev/null
  }
  t=$(now)
  # minbase + merged /usr, without docs, man pages and locales (as the official slim image);
  # apt lists are dropped by mmdebstrap's own cleanup.
  # A bounded run with no stdin: a mirror that stops answering must fail the seed, not hang it.
  timeout 600 mmdebstrap --quiet --variant=minbase \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    bookworm - </dev/null 2>"$WORK/mmdebstrap.log" |
    $DOCKER import --change 'CMD ["bash"]' --change 'LABEL org.swarmml.seeded=true' \
      - debian:bookworm-slim >/dev/null || {
    tail -20 "$WORK/mmdebstrap.log" >&2
    exit 1
  }
  say "debian:bookworm-slim seeded in $(took "$t")"
fi

if ! have node:20-bookworm-slim; then
  t=$(now)
  node=$(readlink -f "$(command -v node)")
  [[ $("$node" --version) == v20.* ]] || { say "host node is $("$node" --version), need v20"; exit 1; }
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  ctx=$WORK/node
  mkdir -p "$ctx"
  cp "$node" "$ctx/node"
  cp -r "$npm_dir" "$ctx/npm"
  if [[ -d $(dirname "$npm_dir")/corepack ]]; then
    cp -r "$(dirname "$npm_dir")/corepack" "$ctx/corepack"
  else
    mkdir -p "$ctx/corepack/dist" && printf '#!/bin/sh\necho corepack: not seeded >&2; exit 1\n' >"$ctx/corepack/dist/corepack.js"
  fi
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca.crt"
  cp "$SEED/node-entrypoint.sh" "$ctx/docker-entrypoint.sh"
  $DOCKER build -q -t node:20-bookworm-slim --build-arg "NODE_VERSION=$("$node" --version | cut -c2-)" \
    -f "$SEED/node.Dockerfile" "$ctx" >/dev/null
  say "node:20-bookworm-slim seeded in $(took "$t")"
fi

if ! have redis:7; then
  t=$(now)
  ctx=$WORK/redis
  mkdir -p "$ctx"
  cp "$SEED/redis-entrypoint.sh" "$ctx/docker-entrypoint.sh"
  $DOCKER build -q -t redis:7 -f "$SEED/redis.Dockerfile" "$ctx" >/dev/null
  say "redis:7 seeded in $(took "$t")"
fi
