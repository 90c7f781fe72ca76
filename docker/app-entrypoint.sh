#!/bin/bash
# bash, not sh: dash drops variables whose names are not shell names, and Swarm hands a task its
# generic resources as such (DOCKER_RESOURCE_NVIDIA-GPU=<id>); bash passes them on to the worker.
set -e
# A service name runs that service with node as PID 1's direct exec, so SIGTERM from
# `docker stack`/`docker service rm` reaches the service's own shutdown handler.
case "$1" in
trainer | batch-infer)
  # Session workers start on their session's clock: one bundled file (scripts/bundle-workers.mjs)
  # loads in a fraction of the time of ~380 module files read through the overlay filesystem.
  svc=$1
  shift
  [[ -f /app/dist/bundles/$svc.mjs ]] && exec node "/app/dist/bundles/$svc.mjs" "$@"
  exec node "/app/dist/services/$svc/main.js" "$@"
  ;;
gateway | event-handler | event-listener | data-intake | serving)
  svc=$1
  shift
  exec node "/app/dist/services/$svc/main.js" "$@"
  ;;
esac
exec "$@"
