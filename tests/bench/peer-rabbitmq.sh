#!/usr/bin/env bash
# The durable peer (issue 20): what a user who needs durable delivery would
# pick instead of vigil, in the shape of vigil-bench's full-load phase.
# Debian's rabbitmq-server on 127.0.0.1 (free ports, its own epmd, every file
# in a scratch directory), a durable fanout exchange to 4 durable queues,
# N persistent 1 KiB messages from one publisher with publisher confirms (at
# most 1000 unconfirmed, as mosquitto_pub -M 1000 in peer-mosquitto.sh),
# 4 consumers (prefetch 1000) acking manually with multiple=true every 128
# messages (vigil-bench's receipts are of 128 alerts); timed from the first
# publish until every consumer has acked all N. Once with classic queues,
# once with quorum queues, each on a fresh node.
#
#   tests/bench/peer-rabbitmq.sh BIN_DIR [N]        markdown, beside vigil-bench --only-full
#   tests/bench/peer-rabbitmq.sh --raw [N]          one line per queue type, for run-all.sh:
#       PEER rabbitmq-TYPE RATE PUB_RATE BROKER_CPU_S PEAK_RSS_MIB CLIENT_CPU_S OK
#
# Installs the peers' packages (deploy/deps.sh: rabbitmq-server, python3-pika,
# mosquitto) with apt-get when missing. The
# clients are Python (pika), one process each: their CPU is reported beside
# the broker's, since they share the machine's cores with it.
# Every process is started here and stopped by its pid; every wait is bounded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
raw=0
if [ "${1:-}" = --raw ]; then
  raw=1
  shift
  n=${1:-20000}
else
  bin=$(cd "${1:?usage: peer-rabbitmq.sh BIN_DIR [N] | --raw [N]}" && pwd)
  n=${2:-20000}
fi
queues=4
ack_every=128
window=1000
timeout_s=300
py=/usr/bin/python3 # Debian's, which python3-pika installs into
server=/usr/lib/rabbitmq/bin/rabbitmq-server

# The peers' packages (deploy/deps.sh), installed with apt-get when missing.
# shellcheck source=deploy/deps.sh
source "$(dirname "$0")/../../deploy/deps.sh"
vg_install_bench_peer_deps >&2
# The package's service may have been started by the install; this script
# never uses it and never stops it.

tmp=$(mktemp -d)
epmd_pid=
rabbit_pid=
client_pids=()
stop_node() {
  for p in "${client_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  client_pids=()
  if [ -n "$rabbit_pid" ]; then
    # The wrapper forwards TERM to the VM and waits for it; the VM's pid is
    # kept too in case the wrapper goes first.
    local vm
    vm=$(cat "$tmp/node/vm.pid" 2>/dev/null || true)
    kill "$rabbit_pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$rabbit_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$rabbit_pid" 2>/dev/null || true
    wait "$rabbit_pid" 2>/dev/null || true
    if [ -n "$vm" ] && kill -0 "$vm" 2>/dev/null; then kill -9 "$vm" 2>/dev/null || true; fi
    rabbit_pid=
  fi
  if [ -n "$epmd_pid" ]; then
    kill "$epmd_pid" 2>/dev/null || true
    wait "$epmd_pid" 2>/dev/null || true
    epmd_pid=
  fi
}
trap 'stop_node; rm -rf "$tmp"' EXIT

free_port() {
  "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A fresh node in $tmp/node: sets rabbit_pid, epmd_pid, port.
start_node() {
  rm -rf "$tmp/node"
  mkdir -p "$tmp/node/home" "$tmp/node/log" "$tmp/node/mnesia"
  port=$(free_port)
  local dist epmd_port
  dist=$(free_port)
  epmd_port=$(free_port)
  cat >"$tmp/node/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$port
loopback_users = none
log.console = false
log.file.level = warning
disk_free_limit.absolute = 50MB
EOF
  echo '[].' >"$tmp/node/enabled_plugins"
  : >"$tmp/node/rabbitmq-env.conf"
  epmd -port "$epmd_port" -address 127.0.0.1 &
  epmd_pid=$!
  (
    cd "$tmp/node"
    export HOME=$tmp/node/home ERL_EPMD_PORT=$epmd_port \
      RABBITMQ_NODENAME=vgpeer$$@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
      RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$dist \
      RABBITMQ_CONFIG_FILE=$tmp/node/rabbitmq.conf \
      RABBITMQ_ADVANCED_CONFIG_FILE=$tmp/node/advanced.config \
      RABBITMQ_CONF_ENV_FILE=$tmp/node/rabbitmq-env.conf \
      RABBITMQ_ENABLED_PLUGINS_FILE=$tmp/node/enabled_plugins \
      RABBITMQ_MNESIA_BASE=$tmp/node/mnesia RABBITMQ_LOG_BASE=$tmp/node/log \
      RABBITMQ_PID_FILE=$tmp/node/vm.pid
    exec "$server" >"$tmp/node/stdout.log" 2>&1
  ) &
  rabbit_pid=$!
  # Up when the AMQP port answers a handshake (the listener opens last).
  for _ in $(seq 600); do
    if "$py" -c "import pika,sys; pika.BlockingConnection(pika.ConnectionParameters('127.0.0.1', $port)).close()" 2>/dev/null; then
      return 0
    fi
    kill -0 "$rabbit_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "peer-rabbitmq: the node did not start; its log:" >&2
  cat "$tmp/node/stdout.log" "$tmp/node/log"/*.log >&2 2>/dev/null || true
  return 1
}

cpu_s() { # utime+stime of a pid, seconds
  awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' /proc/"$1"/stat 2>/dev/null || echo 0
}

# One queue type on a fresh node; prints the PEER line.
run_type() {
  local qtype=$1
  start_node
  local vm
  vm=$(cat "$tmp/node/vm.pid")
  "$py" "$here/peer_rabbitmq_client.py" setup "$port" "$queues" "$qtype"
  local i
  for i in $(seq 0 $((queues - 1))); do
    timeout "$timeout_s" "$py" "$here/peer_rabbitmq_client.py" sub "$port" "peer-$i" "$n" \
      "$ack_every" >"$tmp/sub-$i.out" &
    client_pids+=($!)
  done
  for _ in $(seq 100); do
    [ "$(cat "$tmp"/sub-*.out 2>/dev/null | grep -c ready)" = "$queues" ] && break
    sleep 0.1
  done
  local cpu0 go
  cpu0=$(cpu_s "$vm")
  echo 0 >"/proc/$vm/clear_refs" 2>/dev/null || true
  echo 5 >"/proc/$vm/clear_refs" 2>/dev/null || true # reset VmHWM
  mkfifo "$tmp/go"
  timeout "$timeout_s" "$py" "$here/peer_rabbitmq_client.py" pub "$port" "$n" "$window" \
    <"$tmp/go" >"$tmp/pub.out" &
  local pub=$!
  exec {go}>"$tmp/go"
  sleep 1 # the publisher is connected, its channel in confirm mode
  echo go >&"$go"
  local ok=1
  wait "$pub" || ok=0
  for p in "${client_pids[@]}"; do wait "$p" || ok=0; done
  exec {go}>&-
  rm -f "$tmp/go"
  local cpu1 rss start confirmed end bad nacked clients
  cpu1=$(cpu_s "$vm")
  rss=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' /proc/"$vm"/status)
  clients=$(cat "$tmp"/sub-*.out "$tmp/pub.out" | awk '/^(done|confirmed)/ {s += $4} END {printf "%.2f", s}')
  client_pids=()
  start=$(awk '/^start/ {print $2}' "$tmp/pub.out")
  confirmed=$(awk '/^confirmed/ {print $2}' "$tmp/pub.out")
  nacked=$(awk '/^confirmed/ {print $3}' "$tmp/pub.out")
  end=$(cat "$tmp"/sub-*.out | awk '/^done/ {if ($2 > m) m = $2} END {print m}')
  bad=$(cat "$tmp"/sub-*.out | awk '/^done/ {s += $3; k++} END {print s + 0, k + 0}')
  [ "${bad% *}" = 0 ] && [ "${bad#* }" = "$queues" ] && [ "${nacked:-1}" = 0 ] || ok=0
  if [ -z "$start" ] || [ -z "$confirmed" ] || [ -z "$end" ]; then ok=0; start=0; end=1; confirmed=1; fi
  stop_node
  rm -f "$tmp"/sub-*.out "$tmp/pub.out"
  "$py" -c "print('PEER rabbitmq-$qtype', round($n / ($end - $start)), round($n / ($confirmed - $start)),
    f'{$cpu1 - $cpu0:.2f}', '$rss', '$clients', '$ok')"
}

lines=$(run_type classic; run_type quorum)
if [ "$raw" = 1 ]; then
  echo "$lines"
  exit 0
fi

version=$(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo '?')
vigil_out=$("$bin/vigil-bench" --bin "$bin" --alerts "$n" --reps 1 --only-full 2>&1 >/dev/null)
vigil_rate=$(echo "$vigil_out" | awk '/^RESULT full_alerts_per_s/ {print $3}')
echo "### Peer: RabbitMQ $version vs vigil, $n messages of 1 KiB to 4 durable queues"
echo
echo "| broker | messages/s, every consumer has acked every message | notes |"
echo "|---|---:|---|"
echo "$lines" | while read -r _ name rate pub_rate cpu rss clients ok; do
  echo "| RabbitMQ, ${name#rabbitmq-} queues, persistent, publisher confirms | $rate |" \
    "publisher saw every confirm at $pub_rate/s; broker CPU $cpu s, peak RSS $rss MiB; the Python clients $clients s CPU$([ "$ok" = 1 ] || echo '; INCOMPLETE or errors') |"
done
echo "| vigil (vigil-bench full load, receipts of 128) | $vigil_rate | every envelope signature verified, every receipt verified and recorded, fsync before confirm |"
