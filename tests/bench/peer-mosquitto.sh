#!/usr/bin/env bash
# The broker a user would pick instead, same shape as vigil-bench's full-load
# phase: N messages of 1 KiB from one publisher at QoS 1 to 4 subscribers
# with persistent sessions (clean session off), mosquitto on 127.0.0.1 (a
# free port) with persistence on; timed from the first publish until every
# subscriber has all N. Then vigil-bench --only-full with the same N; prints
# both and the ratio.
#
#   tests/bench/peer-mosquitto.sh BIN_DIR [N]      (BIN_DIR holds vigil-bench)
#   tests/bench/peer-mosquitto.sh --raw [N]        one line for run-all.sh, no vigil-bench:
#       PEER mosquitto RATE PUB_RATE BROKER_CPU_S PEAK_RSS_MIB CLIENT_CPU_S OK
#
# Installs the peers' packages (deploy/deps.sh) with apt-get when missing. The
# clients are mosquitto_pub -l (one message per stdin line, -M in flight) and
# mosquitto_sub -C N: both C, so the peer is not held back by its clients.
# Every process is started here and stopped by its pid; every wait is bounded.
set -euo pipefail
raw=0
if [ "${1:-}" = --raw ]; then
  raw=1
  n=${2:-20000}
else
  bin=$(cd "${1:?usage: peer-mosquitto.sh BIN_DIR [N] | --raw [N]}" && pwd)
  n=${2:-20000}
fi
subs=4
timeout_s=300

# The peers' packages (deploy/deps.sh), installed with apt-get when missing.
# shellcheck source=deploy/deps.sh
source "$(dirname "$0")/../../deploy/deps.sh"
vg_install_bench_peer_deps >&2
mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)

tmp=$(mktemp -d)
mosq_pid=
sub_pids=()
cleanup() {
  for p in "${sub_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$mosq_pid" ]; then kill "$mosq_pid" 2>/dev/null && wait "$mosq_pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
user $(id -un)
persistence true
persistence_location $tmp/
max_queued_messages 0
max_inflight_messages 1000
log_dest file $tmp/mosquitto.log
EOF
"$mosq" -c "$tmp/mosquitto.conf" &
mosq_pid=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
  sleep 0.1
done

# N lines of 1024 characters: each line is one 1 KiB message.
python3 -c "
import sys
line = ('x' * 1024 + '\n').encode()
sys.stdout.buffer.write(line * $n)" >"$tmp/messages"

# Persistent sessions: subscribe once and disconnect, so the sessions exist
# before the first publish (as vigil's agencies exist in its store).
for i in $(seq 0 $((subs - 1))); do
  timeout 10 mosquitto_sub -h 127.0.0.1 -p "$port" -q 1 -c -i "peer-sub-$i" -t alerts -E
done
# The clients' CPU: bash's `times` in the subshell that ran each one.
client_cpu() {
  sed -n 2p "$1" | awk '{gsub(/[ms]/, " "); print $1 * 60 + $2 + $3 * 60 + $4}'
}
for i in $(seq 0 $((subs - 1))); do
  (
    rc=0
    timeout "$timeout_s" mosquitto_sub -h 127.0.0.1 -p "$port" -q 1 -c -i "peer-sub-$i" \
      -t alerts -C "$n" >/dev/null || rc=$?
    times >"$tmp/cpu-sub-$i"
    exit $rc
  ) &
  sub_pids+=($!)
done
sleep 1
start=$(date +%s.%N)
(
  timeout "$timeout_s" mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -M 1000 -i peer-pub -t alerts \
    -l <"$tmp/messages"
  times >"$tmp/cpu-pub"
)
pub_done=$(date +%s.%N)
ok=1
for p in "${sub_pids[@]}"; do wait "$p" || ok=0; done
sub_pids=()
end=$(date +%s.%N)
mosq_rate=$(python3 -c "print(round($n / ($end - $start)))")
pub_rate=$(python3 -c "print(round($n / ($pub_done - $start)))")
mosq_rss=$(awk '/VmHWM/ {print $2}' /proc/"$mosq_pid"/status)
mosq_cpu=$(awk '{print ($14 + $15)}' /proc/"$mosq_pid"/stat)
tck=$(getconf CLK_TCK)
kill "$mosq_pid"
wait "$mosq_pid" || true
mosq_pid=
persisted=$(stat -c %s "$tmp/mosquitto.db" 2>/dev/null || echo 0)
clients=$(for f in "$tmp"/cpu-*; do client_cpu "$f"; done | awk '{s += $1} END {printf "%.2f", s}')
if [ "$raw" = 1 ]; then
  python3 -c "print('PEER mosquitto', $mosq_rate, $pub_rate, f'{$mosq_cpu / $(getconf CLK_TCK):.2f}',
    f'{$mosq_rss / 1024:.1f}', '$clients', '$ok')"
  exit 0
fi

vigil_out=$("$bin/vigil-bench" --bin "$bin" --alerts "$n" --reps 1 --only-full 2>&1 >/dev/null)
vigil_rate=$(echo "$vigil_out" | awk '/^RESULT full_alerts_per_s/ {print $3}')
ratio=$(python3 -c "print(f'{$vigil_rate / $mosq_rate:.2f}')")

echo "### Peer: mosquitto $("$mosq" -h 2>&1 | awk 'NR==1 {print $3}') vs vigil, $n messages of 1 KiB to 4 subscribers"
echo
echo "| broker | messages/s, all 4 subscribers have every message | notes |"
echo "|---|---:|---|"
echo "| mosquitto, QoS 1, persistent sessions, persistence on | $mosq_rate | publisher saw all PUBACKs at $pub_rate/s; broker CPU $(python3 -c "print(f'{$mosq_cpu / $tck:.2f}')") s, peak RSS $((mosq_rss / 1024)) MiB; persistence file written at shutdown: $persisted bytes$([ $ok = 1 ] || echo '; a subscriber did not get all messages') |"
echo "| vigil (vigil-bench full load, receipts of 128) | $vigil_rate | every envelope signature verified, every receipt verified and recorded, fsync before confirm |"
echo
echo "vigil / mosquitto = **$ratio**."
echo
echo "What mosquitto does not do here: no signatures (nothing proves who sent a message or"
echo "that it was not altered), no end-to-end encryption (the broker reads every payload), no"
echo "durable confirm before PUBACK (persistence writes its database on autosave and at"
echo "shutdown, not per message: a crash loses what was acknowledged), and no per-agency"
echo "acknowledgement (a QoS 1 PUBACK from a subscriber is a transport ack to the broker; the"
echo "publisher never learns which subscribers got what, and nothing is recorded)."
