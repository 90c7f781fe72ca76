#!/usr/bin/env bash
# Installs what swarmml needs on Debian/Ubuntu, then npm ci and the build.
#   bash scripts/setup.sh          # to run local mode: redis-server, demo data
#   bash scripts/setup.sh --test   # also what the test suite needs: brokers, Chromium, Docker
set -euo pipefail
cd "$(dirname "$0")/.."
# onnxruntime-node bundles its CPU build; its postinstall would fetch the CUDA provider from
# outside the npm registry. The documented switch is this variable (an .npmrc key made npm
# warn on every npx call).
export ONNXRUNTIME_NODE_INSTALL=skip

want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "swarmml needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

# python3-numpy: the Python worker SDK (sdk/python); torch and onnx: the examples' end-to-end
# tests (examples/pytorch, examples/linear), which fail rather than skip without them.
pkgs=(redis-server redis-tools dataset-fashion-mnist python3 python3-numpy)
[ "$want_tests" = 1 ] && pkgs+=(mosquitto mosquitto-clients rabbitmq-server chromium docker.io mmdebstrap zip liblinear-tools python3-onnx python3-torch)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts some daemons from postinst where it can; swarmml runs its own instances.
  for svc in redis-server mosquitto rabbitmq-server; do
    service "$svc" stop >/dev/null 2>&1 || true
    pkill -x "$svc" 2>/dev/null || true
  done
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run -s build
