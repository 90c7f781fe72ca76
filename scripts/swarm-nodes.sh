#!/usr/bin/env bash
# A multi-node swarm on one machine: Docker engines, each in its own network namespace with its
# own data root, exec root and socket. n1 is the manager of a swarm of their own; n2..nN join it
# as workers. This host's own dockerd and swarm are left alone (other stacks and tests use them):
# it only builds the images and runs the registry every node pulls from.
#
#   scripts/swarm-nodes.sh up 3        # n1 (manager), n2 (fake GPU), n3 (low priority)
#   eval "$(scripts/swarm-nodes.sh env)"   # DOCKER_HOST etc. for swarm-up.sh / docker on n1
#   scripts/swarm-nodes.sh deploy [STACK [HOME [--no-build]]]   # swarm-up.sh on these nodes
#   scripts/swarm-nodes.sh down        # removes every engine, namespace, link and directory
#   scripts/swarm-nodes.sh kill n3     # simulates a crashed host: link down, every process SIGKILLed
#   scripts/swarm-nodes.sh sock n2     # prints n2's Docker socket (docker -H unix://$(...) ...)
#   scripts/swarm-nodes.sh check       # exits 1, listing them, if any of its leftovers remain
#
# Network: a private bridge on the host (10.213.0.1/24) and one veth pair per node; node k has
# 10.213.0.(10+k). Swarm traffic (2377, 7946, VXLAN 4789) stays between the namespaces and the
# bridge: it never leaves the machine. The nodes cannot see the host's images: they pull from the
# registry on this host (scripts/registry.sh), at the bridge address, as an insecure (HTTP)
# registry configured on each engine.
#
# Labels: every node gets swarmml.node=nK; n2 gets gpu=true and advertises a fake GPU (generic
# resource NVIDIA-GPU=GPU-fake-n2), n3 gets priority=low: the labels the placement rules use
# (services/event-handler/swarm/swarm-placement.ts).
#
# Env: SWARMML_NODES_SUBNET (first three octets, 10.213.0), SWARMML_REGISTRY_PORT (5000).
# Must run as root. `down` is safe to run at any time, and `up` runs it on failure.
set -euo pipefail
shopt -s inherit_errexit

DOCKER=/usr/bin/docker
DOCKERD=/usr/sbin/dockerd
NET=${SWARMML_NODES_SUBNET:-10.213.0}
BRIDGE=smlbr0
REG_PORT=${SWARMML_REGISTRY_PORT:-5000}
# Bridged frames pass the host's FORWARD chain (br_netfilter), whose policy dockerd sets to DROP.
FWD_RULE=(FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment swarmml-nodes -j ACCEPT)
addr() { echo "$NET.$((10 + ${1#n}))"; }
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
  local n=$1 pid
  if [[ -S $(sock "$n") ]] && dk "$n" info >/dev/null 2>&1; then
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
}

leftovers() {
  local out=""
  [[ -n $(ip netns list 2>/dev/null | grep -E '^swarmml-') ]] && out+="namespaces: $(ip netns list | grep -E '^swarmml-' | tr '\n' ' '); "
  [[ -n $(ip -o link show 2>/dev/null | grep -E ": (smlv[0-9]+|$BRIDGE)[@:]") ]] && out+="links: $(ip -o link show | grep -Eo "(smlv[0-9]+|$BRIDGE)[@:]" | tr '\n' ' '); "
  iptables -S FORWARD 2>/dev/null | grep -q swarmml-nodes && out+="iptables FORWARD rule; "
  local p
  p=$(pgrep -f "$STATE/" || true)
  [[ -n $p ]] && out+="processes: $(echo "$p" | tr '\n' ' '); "
  grep -qE " ($STATE|$DATA)/" /proc/self/mounts && out+="mounts: $(grep -cE " ($STATE|$DATA)/" /proc/self/mounts); "
  [[ -n $(ls -A "$STATE" 2>/dev/null) || -n $(ls -A "$DATA" 2>/dev/null) ]] && out+="directories under $STATE or $DATA; "
  echo "$out"
}

cmd_down() {
  local n
  # All nodes at once: the swarm goes with them, and deleting data roots is the slow part.
  local pids=()
  for n in $(known_nodes); do
    down_node "$n" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  ip link del "$BRIDGE" 2>/dev/null || true
  while iptables -D "${FWD_RULE[@]}" 2>/dev/null; do :; done
  rmdir "$STATE" "$DATA" 2>/dev/null || true
  local left
  # A killed process can take a moment to be reaped.
  for _ in $(seq 1 25); do
    left=$(leftovers)
    [[ -z $left ]] && break
    sleep 0.2
  done
  [[ -z $left ]] || die "left behind: $left"
  say "down: no nodes, namespaces, links, processes or mounts left"
}

start_node() {
  local k=$1 n=n$1 ns=swarmml-n$1 dir=$STATE/n$1 ip
  ip=$(addr "n$k")
  mkdir -p "$dir/exec" "$DATA/$n"
  ip netns add "$ns"
  ip link add "smlv$k" type veth peer name "smlp$k"
  ip link set "smlv$k" master "$BRIDGE" up
  ip link set "smlp$k" netns "$ns"
  ip -n "$ns" link set "smlp$k" name eth0
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$NET.1"
  local args=(
    --data-root "$DATA/$n" --exec-root "$dir/exec" --pidfile "$dir/docker.pid"
    -H "unix://$dir/docker.sock" --bridge none --iptables=false --ip-masq=false
    --containerd-namespace "swarmml-$n" --containerd-plugins-namespace "swarmml-$n-plugins"
    --cgroup-parent "/swarmml-$n" --insecure-registry "$NET.1:$REG_PORT"
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
}

# Labels the placement rules read, set on the manager.
label_node() {
  local n=$1 id
  id=$(dk "$n" info -f '{{.Swarm.NodeID}}')
  local labels=(--label-add "swarmml.node=$n")
  [[ $n == n2 ]] && labels+=(--label-add gpu=true)
  [[ $n == n3 ]] && labels+=(--label-add priority=low)
  dk n1 node update "${labels[@]}" "$id" >/dev/null
  echo "$id"
}

cmd_up() {
  local total=${1:-3}
  [[ $total =~ ^[0-9]+$ && $total -ge 1 && $total -le 9 ]] || die "up N: N is the node count, 1-9"
  [[ $(id -u) == 0 ]] || die "must run as root (namespaces, links, dockerd)"
  [[ -x $DOCKERD ]] || die "no $DOCKERD (apt-get install docker.io)"
  cmd_down >/dev/null 2>&1 || true
  trap 'say "up failed: removing what was made"; cmd_down || true' EXIT
  ip link add "$BRIDGE" type bridge
  iptables -I "${FWD_RULE[@]}"
  ip addr add "$NET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  local k ids=()
  # Engines start in parallel; each waits for its own socket.
  local pids=()
  for ((k = 1; k <= total; k++)); do
    start_node "$k" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || die "an engine did not start"; done
  # Its own address pool: no overlap with the bridge or the host swarm's networks.
  dk n1 swarm init --advertise-addr "$(addr n1)" --listen-addr "$(addr n1):2377" \
    --default-addr-pool 10.214.0.0/16 >/dev/null
  local token
  token=$(dk n1 swarm join-token -q worker)
  for ((k = 2; k <= total; k++)); do
    dk "n$k" swarm join --token "$token" --advertise-addr "$(addr "n$k")" \
      --listen-addr "$(addr "n$k"):2377" "$(addr n1):2377" >/dev/null || die "n$k: swarm join failed"
  done
  for ((k = 1; k <= total; k++)); do ids+=("$(label_node "n$k")"); done
  for id in "${ids[@]}"; do
    for _ in $(seq 1 150); do
      [[ $(dk n1 node inspect -f '{{.Status.State}}' "$id") == ready ]] && break
      sleep 0.2
    done
    [[ $(dk n1 node inspect -f '{{.Status.State}}' "$id") == ready ]] || die "node $id not ready"
  done
  trap - EXIT
  say "up: $total nodes (manager n1 at $(addr n1), nodes on $NET.0/24, registry $NET.1:$REG_PORT)"
  dk n1 node ls >&2
}

# What swarm-up.sh and docker need to act on this swarm instead of the host's.
cmd_env() {
  [[ -S $(sock n1) ]] || die "no nodes: swarm-nodes.sh up N first"
  echo "export DOCKER_HOST=unix://$(sock n1)"
  echo "export SWARMML_BUILD_HOST=unix:///var/run/docker.sock"
  echo "export SWARMML_REGISTRY_HOST=$NET.1"
  echo "export SWARMML_PUBLIC_HOST=$(addr n1)"
}

# swarm-up.sh against these nodes: one serving replica per node unless told otherwise.
cmd_deploy() {
  local env
  env=$(cmd_env) || exit 1
  eval "$env"
  export SWARMML_STACK=${1:-swarmml}
  [[ -n ${2:-} ]] && export SWARMML_HOME=$2
  SWARMML_SERVING_REPLICAS=${SWARMML_SERVING_REPLICAS:-$(known_nodes | wc -l)}
  export SWARMML_SERVING_REPLICAS
  exec scripts/swarm-up.sh "${@:3}"
}

cd "$(dirname "$0")/.."
case ${1:-} in
  deploy)
    shift
    cmd_deploy "$@"
    ;;
  up) cmd_up "${2:-3}" ;;
  down) cmd_down ;;
  kill)
    [[ ${2:-} =~ ^n[0-9]+$ ]] || die "kill nK"
    kill_node "$2" || die "$2: processes survived SIGKILL"
    say "$2: link down, every process killed"
    ;;
  sock) sock "${2:?node}" ;;
  env) cmd_env ;;
  check)
    left=$(leftovers)
    [[ -z $left ]] || die "left behind: $left"
    ;;
  *) die "usage: swarm-nodes.sh up N | env | deploy [STACK [HOME]] | down | kill nK | sock nK | check" ;;
esac
