#!/usr/bin/env bash
# Quick end-to-end figures: a throw-away network on 127.0.0.1, the real
# broker, bench_delivery with N alerts and P publishers. Usage:
#   tests/bench/run-quick.sh BIN_DIR [N] [P]
set -euo pipefail
bin=$(cd "${1:?usage: run-quick.sh BIN_DIR [N] [P]}" && pwd)
n=${2:-2000}
p=${3:-4}
tmp=$(mktemp -d)
broker_pid=
cleanup() {
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/vigilctl" init "$tmp/net" --agencies police,licensing,childrens-services,home-office,education \
  --oversight oversight --endpoint "tcp://127.0.0.1:$port" \
  --limits publish_per_minute=1000000,publish_burst=1000000,stored_bytes_per_day=1024GiB >/dev/null
sed -i 's/^log_level = info/log_level = warn/' "$tmp/net/broker/broker.conf"
"$bin/vigil-broker" -c "$tmp/net/broker/broker.conf" 2>"$tmp/broker.log" &
broker_pid=$!
for _ in $(seq 100); do grep -q broker.ready "$tmp/broker.log" 2>/dev/null && break; sleep 0.1; done
echo "machine: $(nproc) cores, $(uname -r); store on $(df --output=source,fstype "$tmp" | tail -1)"
"$bin/bench_delivery" "$tmp/net" "$n" "$p"
ps -o rss=,time= -p "$broker_pid" | awk '{print "broker RSS " $1 " KiB, CPU time " $2}'
