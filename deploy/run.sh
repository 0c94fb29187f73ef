#!/usr/bin/env bash
# The README's "run" command, for a fresh Debian 12 machine: installs what is
# missing, builds the release preset, creates a local network in ./net (once:
# it is kept between runs, with its stores), starts the broker and a listening
# agent for police, licensing and children's services on 127.0.0.1, and has
# the Home Office publish a demo warning about taxi drivers and child sexual
# exploitation. The policy makes it reach licensing even though the Home
# Office addresses only the police.
#
# It then shows the alerts as they arrive until Ctrl-C, which stops the
# network. VIGIL_RUN_ONCE=1 stops it right after the demo alert has been
# delivered everywhere (for scripts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=deploy/deps.sh
source deploy/deps.sh

vg_install_deps
cmake --preset release -DVG_BUILD_TESTS=OFF
cmake --build build/release -j"$(nproc)" --target vigilctl vigil-broker vigil-agent

bin=build/release/bin
net=net
if [ -e "$net" ]; then
  echo "run: using the existing network in ./$net (remove it to start afresh)"
else
  "$bin/vigilctl" init "$net" --agencies police,licensing,childrens-services,home-office \
    --oversight oversight
fi
"$bin/vigilctl" check "$net" >/dev/null

logs="$net/logs"
mkdir -p "$logs"
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "run: network stopped (data kept in ./$net)"
}
trap stop EXIT
trap 'exit 0' INT TERM

"$bin/vigil-broker" -c "$net/broker/broker.conf" 2>"$logs/broker.log" &
pids+=($!)
for _ in $(seq 100); do
  grep -q broker.ready "$logs/broker.log" 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$logs/broker.log" >&2; exit 1; }
  sleep 0.1
done
grep -q broker.ready "$logs/broker.log" || { echo "run: the broker did not start" >&2; exit 1; }
echo "run: broker up ($(grep -o 'endpoint=[^ ]*' "$logs/broker.log" | head -1)), log in $logs/broker.log"

listeners=(police licensing childrens-services)
for agency in "${listeners[@]}"; do
  "$bin/vigil-agent" -c "$net/agents/$agency/agent.conf" listen \
    >"$logs/$agency.alerts" 2>"$logs/$agency.log" &
  pids+=($!)
done
echo "run: listening as ${listeners[*]}"

id=$("$bin/vigil-agent" -c "$net/agents/home-office/agent.conf" publish \
  --severity high --category taxi,cse --to police \
  --event "Child sexual exploitation" \
  --headline "Taxi drivers linked to child sexual exploitation" \
  --description "Intelligence links several licensed taxi drivers to the sexual exploitation of children in the borough. Licensing must review the named licences; police and children's services must assess the children at risk." \
  --instruction "Acknowledge, review the licences named in the attached subject references, and record the action taken." \
  --subject taxi-licence:TL-2002-0417 --incident rotherham-taxi-cse --timeout 10s)
echo "run: home-office published alert $id"

for agency in "${listeners[@]}"; do
  for _ in $(seq 100); do
    grep -q "$id" "$logs/$agency.alerts" 2>/dev/null && break
    sleep 0.1
  done
  if grep -q "$id" "$logs/$agency.alerts"; then
    echo "run: delivered to $agency"
  else
    echo "run: NOT delivered to $agency within 10 s; see $logs/$agency.log" >&2
    exit 1
  fi
done
echo
echo "=== what licensing received ==="
cat "$logs/licensing.alerts"
echo
if [ "${VIGIL_RUN_ONCE:-0}" = 1 ]; then
  exit 0
fi
echo "run: the network is running. Publish more with:"
echo "  $bin/vigil-agent -c $net/agents/home-office/agent.conf publish --severity high --category cse --headline '...'"
echo "run: new alerts appear below; Ctrl-C stops the network."
tail -n0 -q -f "$logs"/*.alerts
