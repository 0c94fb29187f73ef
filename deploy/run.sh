#!/usr/bin/env bash
# The README's "run" command, for a fresh Debian 12 machine: installs what is
# missing, builds the release preset, creates a local network in ./net (once:
# it is kept between runs, with its stores), starts the broker and a listening
# agent for police, licensing and children's services on 127.0.0.1, and has
# the Home Office publish a demo warning about taxi drivers and child sexual
# exploitation. The policy makes it reach licensing and children's services
# even though the Home Office addresses only the police.
#
# Then the Rotherham failure, replayed with vigil watching: police and
# children's services acknowledge, licensing does not. The demo network is
# made with a 20 s deadline for high-severity alerts (vigilctl init
# --deadline high=20s; a real network keeps the default 1 h; children's
# services count medium and low alerts in working days of England and
# Wales' calendar, imported with vigilctl calendar import) so the alert
# becomes overdue for licensing within the run: the script waits for that,
# then shows the Home Office's `outstanding --overdue`, the alert's `status`,
# the Home Office's event stream and the broker's unshared-alert report
# (`vigilctl report --unshared`). A ./net made by an older run keeps its
# deadline: the script says so, and skips the wait when it is too long.
#
# The Home Office also runs its HTTP gateway (vigil-gateway, docs/gateway.md):
# the script makes a fresh API token for it and prints the URL and the token,
# so its systems can publish and follow alerts with curl.
#
# Licensing's duty officers have the web console too: once the warning has
# reached licensing, the script starts licensing's gateway and makes (or
# renews) two officers with fresh passwords — Sam Patel, licensing's duty
# officer, and Alex Reid at the Home Office — and prints the console's URL
# (http://127.0.0.1:7702/console/ for a new ./net) and their logins. In a
# browser Sam sees the alert overdue for licensing and can acknowledge it;
# Alex sees it change on the Home Office's console (docs/console.md).
#
# It ends with `vigilctl audit verify` (the tamper-evident log of all of
# this checks out) and, on a terminal, opens licensing's duty officer console
# (vigil-console) showing the alert overdue for licensing; q quits it and
# stops the network. Without a terminal it shows the alerts and the Home
# Office's events as they arrive until Ctrl-C. VIGIL_RUN_ONCE=1 stops right
# after the demo (for scripts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=deploy/deps.sh
source deploy/deps.sh

vg_install_deps
cmake --preset release -DVG_BUILD_TESTS=OFF
cmake --build build/release -j"$(nproc)" --target vigilctl vigil-broker vigil-agent vigil-console \
  vigil-gateway

bin=build/release/bin
net=net
if [ -e "$net" ]; then
  echo "run: using the existing network in ./$net (remove it to start afresh)"
else
  # A 20 s deadline for high alerts, so that the demo shows one going overdue.
  "$bin/vigilctl" init "$net" --agencies police,licensing,childrens-services,home-office \
    --oversight oversight --deadline high=20s
  # England and Wales' bank holidays (the government's file, kept in the
  # repository; the next two years from the fixed rules), and working-day
  # deadlines for children's services' medium and low alerts: 2 and 5
  # working days (docs/network.md "Deadline units"). The demo's high alert
  # keeps its 20 s everywhere.
  "$bin/vigilctl" calendar import tests/vectors/gov-uk-bank-holidays.json --dir "$net" \
    --only england-and-wales --extend-to $(($(date +%Y) + 2)) >/dev/null
  python3 - "$net/network/network.json" <<'EOF'
import json, sys
path = sys.argv[1]
doc = json.load(open(path))
for card in doc["agencies"]:
    if card["id"] == "childrens-services":
        card["calendar"] = "england-and-wales"
        card["deadlines"] = {"medium": "2wd", "low": "5wd"}
json.dump(doc, open(path, "w"), indent=2)
EOF
  "$bin/vigilctl" network sign --dir "$net" >/dev/null
fi
"$bin/vigilctl" check "$net" >/dev/null

# The deadline of high alerts in this network, in seconds (0 when unknown).
deadline_text=$("$bin/vigilctl" network show --dir "$net" --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin).get("deadlines", {}).get("high", ""))')
deadline_s=$(python3 -c '
import re, sys
m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", sys.argv[1])
print(0 if not m else -(-int(m[1]) * {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}[m[2]] // 1000))
' "$deadline_text")
wait_max_s=120 # the longest the demo waits for a deadline
if [ "$deadline_text" != 20s ]; then
  echo "run: ./$net was made by an older run: high alerts have a ${deadline_text:-unknown}" \
    "deadline, not the demo's 20s. Remove ./$net (rm -rf $net) to get the short demo deadline."
fi

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
  if ! kill -0 "${pids[0]}" 2>/dev/null; then
    cat "$logs/broker.log" >&2
    echo "run: the broker stopped at start (above); if ./$net was made by an older vigil," \
      "remove it (rm -rf $net) and run again" >&2
    exit 1
  fi
  sleep 0.1
done
grep -q broker.ready "$logs/broker.log" || { echo "run: the broker did not start" >&2; exit 1; }
echo "run: broker up ($(grep -o 'endpoint=[^ ]*' "$logs/broker.log" | head -1)), log in $logs/broker.log"

agent() { # agent AGENCY ARGS...: vigil-agent as that agency
  local agency=$1
  shift
  "$bin/vigil-agent" -c "$net/agents/$agency/agent.conf" "$@"
}

listeners=(police licensing childrens-services)
for agency in "${listeners[@]}"; do
  # The binary itself in the background (not the function: $! would be a
  # subshell, and stopping it would leave vigil-agent running).
  "$bin/vigil-agent" -c "$net/agents/$agency/agent.conf" listen >"$logs/$agency.alerts" \
    2>"$logs/$agency.log" &
  pids+=($!)
done
"$bin/vigil-agent" -c "$net/agents/home-office/agent.conf" events >"$logs/home-office.events" \
  2>"$logs/home-office-events.log" &
pids+=($!)
echo "run: listening as ${listeners[*]}; following the Home Office's events"

# The Home Office's HTTP gateway, with a fresh token (printed once; only its
# hash is kept). The gateway is the Home Office's receiver while it runs.
gw_conf="$net/agents/home-office/agent.conf"
"$bin/vigil-gateway" -c "$gw_conf" token revoke demo >/dev/null 2>&1 || true
gw_token=$("$bin/vigil-gateway" -c "$gw_conf" token add demo --scopes publish,read,receipt \
  2>/dev/null) || gw_token="(none: see vigil-gateway token add)"
"$bin/vigil-gateway" -c "$gw_conf" run 2>"$logs/gateway-home-office.log" &
pids+=($!)
gw_url=
for _ in $(seq 100); do
  gw_url=$(grep -o 'gateway.ready .*url=[^ ]*' "$logs/gateway-home-office.log" 2>/dev/null |
    sed 's/.*url=//' | head -1) || true
  [ -n "$gw_url" ] && break
  sleep 0.1
done
if [ -n "$gw_url" ]; then
  echo "run: the Home Office's HTTP gateway is at $gw_url (docs/gateway.md), token $gw_token"
else
  echo "run: the Home Office's gateway did not start; see $logs/gateway-home-office.log" >&2
fi
sleep 0.5 # let the event stream subscribe before the demo alert

published_at=$(date +%s)
id=$(agent home-office publish \
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

# The web console: licensing's gateway (it reads the inbox licensing's
# listen filled, and from now on it is licensing's receiver), and an
# officer at licensing and at the Home Office, each with a fresh password
# (printed here, kept only as an Argon2id hash).
officer() { # officer AGENCY NAME: makes the officer, or gives it a new password; prints it
  local conf="$net/agents/$1/agent.conf" pw
  pw=$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')
  if "$bin/vigil-gateway" -c "$conf" officer list 2>/dev/null | grep -q "^$2 "; then
    printf '%s\n' "$pw" | "$bin/vigil-gateway" -c "$conf" officer passwd "$2" >/dev/null
  else
    printf '%s\n' "$pw" | "$bin/vigil-gateway" -c "$conf" officer add "$2" --role duty >/dev/null
  fi
  printf '%s' "$pw"
}
lic_pw=$(officer licensing "Sam Patel") || lic_pw="(none: see vigil-gateway officer add)"
ho_pw=$(officer home-office "Alex Reid") || ho_pw="(none: see vigil-gateway officer add)"
"$bin/vigil-gateway" -c "$net/agents/licensing/agent.conf" run 2>"$logs/gateway-licensing.log" &
pids+=($!)
lic_url=
for _ in $(seq 100); do
  lic_url=$(grep -o 'gateway.ready .*url=[^ ]*' "$logs/gateway-licensing.log" 2>/dev/null |
    sed 's/.*url=//' | head -1) || true
  [ -n "$lic_url" ] && break
  sleep 0.1
done
web_console() {
  if [ -n "$lic_url" ]; then
    echo "run: the duty officer's web console: $lic_url/console/"
    echo "     licensing:   log in as \"Sam Patel\" with the password $lic_pw"
    [ -n "$gw_url" ] && echo "     Home Office: $gw_url/console/ as \"Alex Reid\" with the password $ho_pw"
  else
    echo "run: licensing's gateway did not start; see $logs/gateway-licensing.log" >&2
  fi
}
web_console

# Police and children's services acknowledge; licensing does not.
agent police ack "$id" --officer "DS Khan" --note "Strategy meeting called"
agent childrens-services ack "$id" --officer "SW Hughes" --note "Children identified and visited"
echo "run: licensing has not acknowledged alert $id"

if [ "$deadline_s" -gt 0 ] && [ "$deadline_s" -le "$wait_max_s" ]; then
  wait_s=$((published_at + deadline_s + 2 - $(date +%s)))
  if [ "$wait_s" -gt 0 ]; then
    echo "run: waiting ${wait_s}s for its ${deadline_text} deadline to pass"
    sleep "$wait_s"
  fi
  echo
  echo "=== home-office: outstanding --overdue ==="
  agent home-office outstanding --overdue
else
  echo "run: not waiting ${deadline_text:-an unknown time} for the deadline (remove ./$net for" \
    "the 20s demo deadline); showing what is outstanding now"
  echo
  echo "=== home-office: outstanding ==="
  agent home-office outstanding
fi
echo
echo "=== home-office: status $id ==="
agent home-office status "$id"
echo
echo "=== home-office: event stream so far ==="
cat "$logs/home-office.events"
echo
echo "=== vigilctl report --unshared ==="
if "$bin/vigilctl" report --help >/dev/null 2>&1; then
  "$bin/vigilctl" report -c "$net/broker/broker.conf" --unshared ||
    echo "run: vigilctl report failed (status $?)" >&2
else
  echo "run: 'vigilctl report' is not available in this build; skipping the unshared-alert report"
fi

# Warning memory (docs/network.md, "Link tags"): the police warn about the
# same licence, written their own way. The broker links the two warnings by
# keyed tags it cannot read; licensing, which never acknowledged the first,
# gets a repeat warning, and so do the police and oversight.
echo
if "$bin/vigilctl" network show --dir "$net" | grep -q '^link keys   0'; then
  echo "run: ./$net has no link key (made by an older vigil): remove it (rm -rf $net) to see" \
    "a repeat warning"
else
  id2=$(agent police publish \
    --severity high --category taxi,cse --to home-office \
    --headline "Same drivers seen again with missing girls" \
    --subject "taxi-licence:tl 2002 0417" --timeout 10s)
  echo "run: police published alert $id2 about the same licence, written 'tl 2002 0417'"
  echo
  echo "=== licensing: status $id2 (the chain) ==="
  agent licensing status "$id2"
  echo
  echo "=== police: repeat warnings in its event stream ==="
  agent police events --since 0 --timeout 1s | grep repeat_warning ||
    echo "(none: licensing's first deadline has not passed yet)"
  echo
  echo "=== vigilctl report --linked ==="
  "$bin/vigilctl" report -c "$net/broker/broker.conf" --linked ||
    echo "run: vigilctl report --linked failed (status $?)" >&2
fi
echo
echo "=== vigilctl audit verify ==="
if "$bin/vigilctl" audit --help >/dev/null 2>&1; then
  "$bin/vigilctl" audit verify -c "$net/broker/broker.conf" ||
    { echo "run: the audit log did not verify" >&2; exit 1; }
else
  echo "run: 'vigilctl audit' is not available in this build; skipping the audit check"
fi
echo
web_console
if [ "${VIGIL_RUN_ONCE:-0}" = 1 ]; then
  exit 0
fi
if [ -t 0 ] && [ -t 1 ]; then
  echo "run: opening licensing's duty officer console (q quits and stops the network)..."
  sleep 2
  "$bin/vigil-console" -c "$net/agents/licensing/agent.conf" || true
  exit 0
fi
echo "run: the network is running. Acknowledge as licensing with:"
echo "  $bin/vigil-agent -c $net/agents/licensing/agent.conf ack $id --officer NAME"
echo "run: publish more with:"
echo "  $bin/vigil-agent -c $net/agents/home-office/agent.conf publish --severity high --category cse --headline '...'"
if [ -n "$gw_url" ]; then
  echo "run: or over HTTP through the Home Office's gateway at $gw_url:"
  echo "  curl -s '$gw_url/v1/alerts?outstanding=1' -H 'Authorization: Bearer $gw_token'"
  echo "  curl -s -X POST $gw_url/v1/alerts -H 'Authorization: Bearer $gw_token' \\"
  echo "    -H 'Content-Type: application/json' -d '{\"severity\":\"high\",\"categories\":[\"cse\"],\"headline\":\"...\"}'"
fi
echo "run: new alerts and the Home Office's events appear below; Ctrl-C stops the network."
tail -n0 -q -f "$logs"/*.alerts "$logs/home-office.events"
