#!/usr/bin/env bash
# A multi-node swarm on one machine: extra Docker engines, each in its own network namespace
# with its own data root, exec root and socket, joined to this host's swarm as workers.
#
#   scripts/swarm-nodes.sh up 3        # this host (manager) + 2 workers: n2 (GPU), n3 (low priority)
#   scripts/swarm-nodes.sh down        # removes every engine, namespace, link and directory
#   scripts/swarm-nodes.sh kill n3     # simulates a crashed host: link down, every process SIGKILLed
#   scripts/swarm-nodes.sh sock n2     # prints n2's Docker socket (docker -H unix://$(...) ...)
#   scripts/swarm-nodes.sh check       # exits 1, listing them, if any of its leftovers remain
#
# Network: a private bridge on the host (10.213.0.1/24) and one veth pair per node; node k has
# 10.213.0.k and a default route through the bridge, so it reaches the manager's advertised
# address (docker info .Swarm.NodeAddr) without forwarding: traffic never leaves the machine.
# Workers cannot see the manager's images: they pull from the registry swarm-up.sh runs on the
# manager, configured as an insecure registry (plain HTTP) on each worker engine.
#
# Labels: every worker gets swarmml.node=nK; n2 gets gpu=true and advertises a fake GPU
# (generic resource NVIDIA-GPU=GPU-fake-n2), n3 gets priority=low: the labels the placement
# rules use (services/event-handler/swarm/swarm-placement.ts).
#
# Env: SWARMML_REGISTRY (host:port the workers may use over HTTP; default <manager addr>:5000),
#      SWARMML_NODES_SUBNET (first three octets, 10.213.0).
# Must run as root. `down` is safe to run at any time, and `up` runs it first on failure.
set -euo pipefail
shopt -s inherit_errexit

DOCKER=/usr/bin/docker
DOCKERD=/usr/sbin/dockerd
NET=${SWARMML_NODES_SUBNET:-10.213.0}
BRIDGE=smlbr0
STATE=/run/swarmml-nodes
DATA=/var/lib/swarmml-nodes

say() { echo "swarm-nodes: $*" >&2; }
die() {
  say "$*"
  exit 1
}
sock() { echo "$STATE/$1/docker.sock"; }
dk() {
  local n=$1
  shift
  $DOCKER -H "unix://$(sock "$n")" "$@"
}
# Every node this script knows of: its state directories and namespaces, even half-made ones.
known_nodes() {
  {
    ls "$STATE" 2>/dev/null
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/^swarmml-//p'
  } | grep -E '^n[0-9]+$' | sort -u
}

# All processes of a node: those in its network namespace (dockerd, containerd, shims) and those
# in its cgroup (its containers, which have network namespaces of their own).
node_pids() {
  local n=$1
  {
    ip netns pids "swarmml-$n" 2>/dev/null || true
    cat /sys/fs/cgroup/*/"swarmml-$n"/tasks /sys/fs/cgroup/*/"swarmml-$n"/*/tasks 2>/dev/null || true
  } | sort -un
}

kill_node() {
  local n=$1 pids
  ip link set "smlv${n#n}" down 2>/dev/null || true
  for _ in 1 2 3 4 5; do
    pids=$(node_pids "$n")
    [[ -z $pids ]] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.2
  done
  [[ -z $(node_pids "$n") ]]
}

down_node() {
  local n=$1 id pid
  if [[ -S $(sock "$n") ]] && id=$(dk "$n" info -f '{{.Swarm.NodeID}}' 2>/dev/null) && [[ -n $id ]]; then
    timeout 20 "$DOCKER" -H "unix://$(sock "$n")" swarm leave --force >/dev/null 2>&1 || true
    # Its containers first, so they stop cleanly rather than being killed below.
    # shellcheck disable=SC2046
    timeout 30 "$DOCKER" -H "unix://$(sock "$n")" rm -f $(dk "$n" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  fi
  pid=$(cat "$STATE/$n/docker.pid" 2>/dev/null || true)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
  fi
  kill_node "$n" || say "$n: processes left: $(node_pids "$n" | tr '\n' ' ')"
  # Mounts its engine made (overlay layers, netns files, shm), deepest first.
  local m
  for m in $(awk '{print $2}' /proc/self/mounts | grep -E "^($STATE|$DATA)/$n(/|$)" | sort -r || true); do
    umount -l "$m" 2>/dev/null || true
  done
  ip link del "smlv${n#n}" 2>/dev/null || true
  ip netns del "swarmml-$n" 2>/dev/null || true
  rmdir /sys/fs/cgroup/*/"swarmml-$n"/* /sys/fs/cgroup/*/"swarmml-$n" 2>/dev/null || true
  rm -rf "${STATE:?}/$n" "${DATA:?}/$n"
  # The manager forgets the node (it is down or gone by now).
  if [[ -n ${id:-} ]]; then
    for _ in $(seq 1 25); do
      $DOCKER node rm --force "$id" >/dev/null 2>&1 && break
      $DOCKER node inspect "$id" >/dev/null 2>&1 || break
      sleep 0.2
    done
  fi
}

# Swarm nodes this script labelled that are gone from the machine (e.g. after a crash of it).
forget_stale_nodes() {
  local id
  for id in $($DOCKER node ls -q --filter node.label=swarmml.node 2>/dev/null); do
    local n
    n=$($DOCKER node inspect -f '{{index .Spec.Labels "swarmml.node"}}' "$id" 2>/dev/null || true)
    [[ -n $n && -S $(sock "$n") ]] || $DOCKER node rm --force "$id" >/dev/null 2>&1 || true
  done
}

leftovers() {
  local out=""
  [[ -n $(ip netns list 2>/dev/null | grep -E '^swarmml-') ]] && out+="namespaces: $(ip netns list | grep -E '^swarmml-' | tr '\n' ' '); "
  [[ -n $(ip -o link show 2>/dev/null | grep -E ": (smlv[0-9]+|$BRIDGE)[@:]") ]] && out+="links: $(ip -o link show | grep -Eo "(smlv[0-9]+|$BRIDGE)[@:]" | tr '\n' ' '); "
  local p
  p=$(pgrep -f "$STATE/" || true)
  [[ -n $p ]] && out+="processes: $(echo "$p" | tr '\n' ' '); "
  grep -qE " ($STATE|$DATA)/" /proc/self/mounts && out+="mounts: $(grep -cE " ($STATE|$DATA)/" /proc/self/mounts); "
  [[ -n $(ls -A "$STATE" 2>/dev/null) || -n $(ls -A "$DATA" 2>/dev/null) ]] && out+="directories under $STATE or $DATA; "
  [[ -n $($DOCKER node ls -q --filter node.label=swarmml.node 2>/dev/null) ]] && out+="swarm nodes labelled swarmml.node; "
  echo "$out"
}

cmd_down() {
  local n
  for n in $(known_nodes); do down_node "$n"; done
  forget_stale_nodes
  ip link del "$BRIDGE" 2>/dev/null || true
  rmdir "$STATE" "$DATA" 2>/dev/null || true
  local left
  left=$(leftovers)
  [[ -z $left ]] || die "left behind: $left"
  say "down: no nodes, namespaces, links, processes or mounts left"
}

start_node() {
  local k=$1 mgr=$2 registry=$3 token=$4
  local n=n$k ns=swarmml-n$k dir=$STATE/n$k
  mkdir -p "$dir/exec" "$DATA/$n"
  ip netns add "$ns"
  ip link add "smlv$k" type veth peer name "smlp$k"
  ip link set "smlv$k" master "$BRIDGE" up
  ip link set "smlp$k" netns "$ns"
  ip -n "$ns" link set "smlp$k" name eth0
  ip -n "$ns" addr add "$NET.$k/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$NET.1"
  local args=(
    --data-root "$DATA/$n" --exec-root "$dir/exec" --pidfile "$dir/docker.pid"
    -H "unix://$dir/docker.sock" --bridge none --iptables=false --ip-masq=false
    --containerd-namespace "swarmml-$n" --containerd-plugins-namespace "swarmml-$n-plugins"
    --cgroup-parent "/swarmml-$n" --insecure-registry "$registry"
    --label "swarmml.node=$n"
  )
  [[ $k == 2 ]] && args+=(--node-generic-resource "NVIDIA-GPU=GPU-fake-$n")
  # nsenter, not `ip netns exec`: that remounts /sys and hides the cgroup v1 mounts dockerd
  # needs. Its own UTS namespace gives the node its own hostname in `docker node ls`.
  setsid nsenter --net="/run/netns/$ns" unshare --uts \
    sh -c "hostname swarmml-$n && exec $DOCKERD \"\$@\"" dockerd "${args[@]}" \
    </dev/null >"$dir/dockerd.log" 2>&1 &
  for _ in $(seq 1 150); do
    dk "$n" info >/dev/null 2>&1 && break
    sleep 0.2
  done
  dk "$n" info >/dev/null 2>&1 || die "$n: dockerd did not start: $(tail -5 "$dir/dockerd.log" | tr '\n' ' ')"
  dk "$n" swarm join --token "$token" --advertise-addr "$NET.$k" --listen-addr "$NET.$k:2377" \
    "$mgr:2377" >/dev/null || die "$n: swarm join failed"
  local id
  id=$(dk "$n" info -f '{{.Swarm.NodeID}}')
  local labels=(--label-add "swarmml.node=$n")
  [[ $k == 2 ]] && labels+=(--label-add gpu=true)
  [[ $k == 3 ]] && labels+=(--label-add priority=low)
  $DOCKER node update "${labels[@]}" "$id" >/dev/null
  echo "$id"
}

cmd_up() {
  local total=${1:-3}
  [[ $total =~ ^[0-9]+$ && $total -ge 1 && $total -le 9 ]] || die "up N: N is the node count, 1-9"
  [[ $(id -u) == 0 ]] || die "must run as root (namespaces, links, dockerd)"
  scripts/ensure-docker.sh || exit $?
  local mgr
  mgr=$($DOCKER info -f '{{.Swarm.NodeAddr}}')
  [[ $mgr != 127.* ]] || die "the swarm advertises $mgr, which no other node can reach: re-create it with SWARMML_ADVERTISE_ADDR (docker swarm leave --force; scripts/ensure-docker.sh)"
  local registry=${SWARMML_REGISTRY:-$mgr:5000}
  cmd_down >/dev/null 2>&1 || true
  trap 'say "up failed: removing what was made"; cmd_down || true' ERR
  ip link add "$BRIDGE" type bridge
  ip addr add "$NET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  local token ids=() k
  token=$($DOCKER swarm join-token -q worker)
  for ((k = 2; k <= total; k++)); do ids+=("$(start_node "$k" "$mgr" "$registry" "$token")"); done
  for id in "${ids[@]}"; do
    for _ in $(seq 1 150); do
      [[ $($DOCKER node inspect -f '{{.Status.State}}' "$id") == ready ]] && break
      sleep 0.2
    done
    [[ $($DOCKER node inspect -f '{{.Status.State}}' "$id") == ready ]] || die "node $id not ready"
  done
  trap - ERR
  say "up: $total nodes (manager $mgr, workers on $NET.0/24, registry $registry)"
  $DOCKER node ls >&2
}

cd "$(dirname "$0")/.."
case ${1:-} in
  up) cmd_up "${2:-3}" ;;
  down) cmd_down ;;
  kill)
    [[ ${2:-} =~ ^n[0-9]+$ ]] || die "kill nK"
    kill_node "$2" || die "$2: processes survived SIGKILL"
    say "$2: link down, every process killed"
    ;;
  sock) sock "${2:?node}" ;;
  check)
    left=$(leftovers)
    [[ -z $left ]] || die "left behind: $left"
    ;;
  *) die "usage: swarm-nodes.sh up N | down | kill nK | sock nK | check" ;;
esac
