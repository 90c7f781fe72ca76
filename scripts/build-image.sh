#!/usr/bin/env bash
# Builds the one swarmml image (docker/Dockerfile) from dist/, rebuilding dist/ first when a
# source is newer, and tags it by content as swarmml/app:<12 hex> and swarmml/app:latest.
# Prints the content tag on stdout. The base images must exist (seed-images.sh or a registry).
#   scripts/build-image.sh
set -euo pipefail

DOCKER=/usr/bin/docker
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
say() { echo "build-image: $*" >&2; }

# tsc rewrites every file of dist/, so a source newer than one built file means a stale build.
stale_dist() {
  [[ ! -f dist/services/gateway/main.js || ! -f web/dist/app.js ]] ||
    [[ -n $(find shared services cli -name '*.ts' -newer dist/services/gateway/main.js | head -1) ]] ||
    [[ -n $(find web/src web/index.html -newer web/dist/app.js | head -1) ]]
}
if stale_dist; then
  npm run --silent build >/dev/null 2>&1 || say "the build reported errors (dist/ was still written)"
fi
# BuildKit: reads docker/Dockerfile.dockerignore and caches npm downloads between builds.
iid=$(DOCKER_BUILDKIT=1 $DOCKER build -q -f docker/Dockerfile .)
# Tag by content: an unchanged build keeps its tag, so a redeploy changes nothing, and a changed
# one gets a new tag, which is what makes swarm roll the services (there is no registry digest).
tag=${iid#sha256:}
tag=${tag:0:12}
$DOCKER tag "$iid" "swarmml/app:$tag"
$DOCKER tag "$iid" swarmml/app:latest
echo "$tag"
