#!/usr/bin/env bash
# Regenerates docs/performance.md: builds the release binaries, records the
# machine, runs vigil-bench (3 repetitions, the offline-agency backlog, the
# scaling run, the national network's scaling row 3 times, a perf profile of
# the broker under full load), then the peers: 3 rounds, each of mosquitto
# (peer-mosquitto.sh), RabbitMQ with classic and quorum queues
# (peer-rabbitmq.sh) and vigil-bench --only-full, one after the other; and
# writes the figures with the commands that made them.
#
#   tests/bench/run-all.sh [BUILD_DIR]        (default build/release)
#
# Environment: VG_BENCH_ALERTS (20000), VG_BENCH_REPS (3), VG_BENCH_OFFLINE
# (100000), VG_BENCH_SCALE (10000,100000; add 1000000 for the 1M point, about
# five more minutes), VG_BENCH_NETWORK (2000 agencies; 0 skips the scaling
# row), VG_BENCH_WIDE (500 of them a wide alert reaches), VG_BENCH_CONNECTED
# (200 connected), VG_BENCH_PEER_ROUNDS (3), VG_BENCH_NO_BUILD=1 to use the binaries as
# they are.
# Everything runs on 127.0.0.1 with bounded waits; processes are stopped by pid.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/release}
alerts=${VG_BENCH_ALERTS:-20000}
reps=${VG_BENCH_REPS:-3}
offline=${VG_BENCH_OFFLINE:-100000}
scale=${VG_BENCH_SCALE:-10000,100000}
network=${VG_BENCH_NETWORK:-2000}
wide=${VG_BENCH_WIDE:-500}
connected=${VG_BENCH_CONNECTED:-200}
rounds=${VG_BENCH_PEER_ROUNDS:-3}
out=$root/docs/performance.md

if [ "${VG_BENCH_NO_BUILD:-0}" != 1 ]; then
  (cd "$root" && cmake --preset release -DVG_BUILD_TESTS=ON >/dev/null &&
    cmake --build "$build" -j2 --target vigil-broker vigilctl vigil-bench)
fi
bin=$build/bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

machine() {
  echo "- cores: $(nproc); CPU: $(lscpu | sed -n 's/^Model name: *//p')"
  echo "- kernel: $(uname -sr); memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  local dev
  dev=$(df --output=source "${TMPDIR:-/tmp}" | tail -1)
  echo "- store disk (TMPDIR): $dev, $(df --output=fstype "${TMPDIR:-/tmp}" | tail -1)," \
    "$(lsblk -dno ROTA "$dev" 2>/dev/null | awk '{print ($1 == "0" ? "non-rotational" : "rotational")}')" \
    "(a virtual disk: its fsync cost is the hypervisor's)"
  echo "- libsodium $(pkg-config --modversion libsodium), SQLite $(pkg-config --modversion sqlite3)," \
    "libzmq $(pkg-config --modversion libzmq), protobuf-c $(pkg-config --modversion libprotobuf-c 2>/dev/null || echo '?')"
  echo "- vigil: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- broker lib 2>/dev/null || echo ' + uncommitted changes in broker/ or lib/'), release build"
}

# What else ran meanwhile: every 15 s, processes other than ours above 20% CPU.
sample_others() {
  while :; do
    ps -eo pcpu=,pid=,comm= --sort=-pcpu | awk -v me="$$" '$1 > 20 && $3 !~ /^(vigil-bench|vigil-broker|perf|mosquitto|mosquitto_sub|mosquitto_pub|beam.smp|python3|ps)$/ {printf "%s(%s%%) ", $3, $1}'
    echo
    sleep 15
  done
}
sample_others >"$tmp/others.log" 2>/dev/null &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true; rm -rf "$tmp"' EXIT

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
netargs=()
[ "$network" = 0 ] || netargs=(--network "$network" --wide "$wide" --connected "$connected"
  --wide-alerts 200 --wide-rate 5)
echo "vigil-bench: $alerts alerts x $reps repetitions, offline $offline, scale $scale, network $network" >&2
"$bin/vigil-bench" --bin "$bin" --alerts "$alerts" --reps "$reps" --offline "$offline" \
  --scale "$scale" "${netargs[@]}" --perf "$tmp/perf.data" >"$tmp/bench.md" 2>"$tmp/bench.log" ||
  { cat "$tmp/bench.log" >&2; exit 1; }
load_mid=$(cut -d' ' -f1-3 /proc/loadavg)

# The peers and vigil, round after round, so that each round's figures share
# the machine's conditions: lines "PEER name rate pub_rate cpu_s rss_mib
# clients_cpu_s ok" in $tmp/peers.
for r in $(seq "$rounds"); do
  echo "peers, round $r/$rounds: mosquitto, rabbitmq (classic, quorum), vigil; $alerts messages" >&2
  "$root/tests/bench/peer-mosquitto.sh" --raw "$alerts" >>"$tmp/peers" 2>>"$tmp/peer.log" ||
    { cat "$tmp/peer.log" >&2; exit 1; }
  "$root/tests/bench/peer-rabbitmq.sh" --raw "$alerts" >>"$tmp/peers" 2>>"$tmp/peer.log" ||
    { cat "$tmp/peer.log" >&2; exit 1; }
  "$bin/vigil-bench" --bin "$bin" --alerts "$alerts" --reps 1 --only-full >"$tmp/vigil-full.md" \
    2>>"$tmp/peer.log" || { cat "$tmp/peer.log" >&2; exit 1; }
  # Its delivery row: | phase | alerts/s | confirm | delivered | CPU s/1000 | peak RSS | check |
  awk -F'|' -v n="$alerts" '
    /^\| full load, receipts/ {rate = $3 + 0; cpu = $6 * n / 1000; rss = $7 + 0; ok = ($8 ~ /complete/ && $8 !~ /INCOMPLETE|errors/)}
    /the clients \(/ {c = $0; sub(/.*the clients \(.*\) /, "", c); clients = (c + 0) * n / 1000}
    END {printf "PEER vigil %d - %.2f %.1f %.2f %d\n", rate, cpu, rss, clients, ok}' \
    "$tmp/vigil-full.md" >>"$tmp/peers"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
vg_rate_med=$(awk '$2 == "vigil" {print $3}' "$tmp/peers" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
peer_row() { # NAME LABEL GUARANTEES: the median round of NAME by rate, as a table row
  awk -v name="$1" '$2 == name' "$tmp/peers" | sort -k3,3n |
    awk -v label="$2" -v what="$3" -v n="$alerts" -v vg="$vg_rate_med" '
      {line[NR] = $0; all = all (NR > 1 ? ", " : "") $3; bad += ($8 != 1)}
      END {
        split(line[int((NR + 1) / 2)], f, " ")
        printf "| %s | **%d** (%s) | %s | %s | %.3f | %s | %.3f | %.2f | %s |\n", label, f[3], all,
          (f[4] == "-" ? "-" : f[4]), (bad ? "**a round incomplete or with errors**" : "all delivered"),
          f[5] * 1000 / n, f[6], f[7] * 1000 / n, (f[3] > 0 ? vg / f[3] : 0), what
      }'
}
{
  echo "### The peers and vigil, same shape, same run ($rounds rounds)"
  echo
  echo "Each round runs mosquitto, RabbitMQ with classic queues, RabbitMQ with quorum queues (each on"
  echo "a fresh broker) and \`vigil-bench --only-full --reps 1\`, one after the other, all with $alerts"
  echo "messages of 1 KiB from one publisher to 4 receivers; the row is the median round by rate,"
  echo "the figure in brackets every round. Rate: first publish until every receiver has (and has"
  echo "acknowledged) every message. The clients share the 2 cores with the broker: mosquitto's are"
  echo "C (mosquitto_pub -M 1000, mosquitto_sub), RabbitMQ's Python (python3-pika: one publisher"
  echo "with at most 1000 unconfirmed, 4 consumers with prefetch 1000 acking every 128 with"
  echo "multiple=true), vigil's C (vigil-bench: 2000 unconfirmed, receipts of 128)."
  echo
  echo "| broker | messages/s, all 4 have all (each round) | publisher confirmed/s | check | broker CPU ms / message | broker peak RSS MiB | clients CPU ms / message | vigil / this | what it guarantees, and what not |"
  echo "|---|---:|---:|---|---:|---:|---:|---:|---|"
  peer_row mosquitto "mosquitto $(/usr/sbin/mosquitto -h 2>&1 | awk 'NR==1 {print $3}'), QoS 1, persistent sessions, persistence on" \
    "a PUBACK is sent before anything is on disk (persistence is written on autosave and at shutdown): a crash loses acknowledged messages; no signatures, no end-to-end encryption (the broker reads every payload); a subscriber's PUBACK is a transport ack the publisher never sees, nothing recorded"
  peer_row rabbitmq-classic "RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null), durable classic queues, persistent messages, publisher confirms, manual acks" \
    "a confirm comes once the message is fsynced in every queue's journal, or once it has been consumed and acked from every queue, whichever comes first (so an acked-before-persisted message was never on disk); one node, no replica; consumer acks are kept by the broker only to delete the message, the publisher never learns who got what, nothing is recorded; no signatures, no end-to-end encryption"
  peer_row rabbitmq-quorum "RabbitMQ, durable quorum queues (one node), persistent, publisher confirms, manual acks" \
    "a confirm comes after the Raft log's fdatasync (one node here, so no replication); the same as classic for acks, signatures and encryption"
  peer_row vigil "vigil (vigil-bench full load, receipts of 128)" \
    "a confirm comes after the alert is committed with fsync (SQLite WAL, synchronous=FULL); every envelope's Ed25519 signature checked by the broker, sealed end to end to each recipient (the broker cannot read it), every DELIVERED receipt signed by the agency, verified, recorded and audited (Merkle log), the sender told of each delivery"
  echo
  echo "Every round, as measured (PEER name messages/s publisher-confirmed/s broker-CPU-s peak-RSS-MiB clients-CPU-s ok):"
  echo
  echo '```'
  cat "$tmp/peers"
  echo '```'
} >"$tmp/peer.md"
kill "$sampler" 2>/dev/null || true
samples=$(wc -l <"$tmp/others.log")
busy=$(grep -c . "$tmp/others.log" || true)
others=$(tr ' ' '\n' <"$tmp/others.log" | sed -n 's/(.*//p' | sort | uniq -c | sort -rn | head -5 |
  awk '{printf "%s%s (%d samples)", (NR > 1 ? ", " : ""), $2, $1}')

profile_dso=$(perf report -i "$tmp/perf.data" --no-children --stdio --sort dso -g none 2>/dev/null |
  grep -E "^ +[0-9]" | head -8 || true)
profile_fn=$(perf report -i "$tmp/perf.data" --children --stdio --sort symbol -g none 2>/dev/null |
  grep -E '^ +[0-9]' | grep -E '\] (vgb_|vg_|s_[a-z_]+ |sqlite3_(step|exec)|zmq_)' |
  grep -vE 'vgb_broker_run|s_dispatch|s_recv_one|s_recv_batch|s_handle_one' | head -28 |
  awk '{printf "%8s  %s %s\n", $1, $4, ($5 == "(inlined)" ? $5 : "")}' || true)

cat >"$out" <<EOF
# vigil performance

Generated by \`tests/bench/run-all.sh\` on $(date -u +%Y-%m-%d) — do not edit by hand; change
the script and run it again. Issue 8 asks for these figures and sets the targets checked below.

## How it was measured

\`vigil-bench --alerts $alerts --reps $reps --offline $offline --scale $scale\`
(tests/bench/vigil_bench.c) makes a throw-away network with \`vigilctl init\` in a scratch
directory (police sends; licensing, childrens-services, home-office and education receive;
publish limits raised out of the way),
starts the real release \`vigil-broker\` on 127.0.0.1 (a free port; broker.conf as written by
vigilctl except \`inflight = 1024\`, so a receipt batch fits in the delivery window), and drives
it with raw ZeroMQ DEALER clients speaking the protocol over CurveZMQ with the agencies' own
keys:

- **Sender**: every envelope is sealed before the clock starts (\`vg_envelope_seal\`: 1 KiB
  description, 2–4 categories, 4 recipients — about 1.9 KB signed) and packed as a
  \`ClientFrame{Publish}\`; the timed loop only sends, keeping up to 2000 unconfirmed
  (full load) or sending on a schedule (paced at 50% of the full-load rate measured just
  before, same run).
- **Receivers**: one DEALER per recipient agency, \`Hello{receive}\`; each delivery is checked
  byte for byte against what was sealed (its BLAKE2b envelope hash), and in the
  *verify + open* row also \`vg_envelope_verify\` + \`vg_envelope_open\` as an agent does.
  DELIVERED receipts are **pre-signed**: one receipt over 128 consecutive alerts (alert id +
  envelope hash each), sent when the last of them arrives; the *one receipt per alert* row
  shows the cost of the alternative (5 signature checks per alert in the broker instead of
  1.03).
- **Throughput** is alerts / (first publish → the last receipt confirm at every receiving
  agency), so every alert counted is delivered to all 4 and its receipts committed; the
  store is read through its interface afterwards (pending rows) and around the full-load
  phase (the rows it wrote per alert, by kind). **Latency**: publish→Confirm at
  the sender; publish→Deliver at the last of the 4 agencies. **CPU**: utime+stime of the
  broker from /proc/PID/stat across the phase; **RSS**: VmHWM (reset before each phase via
  clear_refs) and VmRSS.
- Phases without *sealed* in the log (warm-up, one-receipt-per-alert, the offline backlog and
  the history fills) publish **re-signed copies** of one sealed envelope with their own id,
  sequence and signature: identical work for the broker (it verifies every signature and
  never decrypts) and much cheaper to prepare, but they would not open for a recipient, so
  they are never used with verify + open.
- **Ceilings** are measured in the same run on the same machine: \`vg_verify\` on one core
  over a 1.9 KB body; SQLite WAL, synchronous=FULL, 100 rows per COMMIT in the store's
  directory (1 KiB and 64-byte rows); a ZeroMQ ROUTER over CurveZMQ forwarding 1 KiB frames
  from one DEALER to 4 DEALERs that ack each one, answering the sender per frame (the
  broker's shape without its work).
- **Scaling**: one broker; its store is filled through the real publish path (re-signed
  copies, delivered and receipted) to each size, then 10 000 alerts are measured.
- The medians are over $reps repetitions, each on a fresh network; the offline phase and the
  scaling run are run once.

## The machine

$(machine)
- load average (1/5/15 min) before: $load_before; after vigil-bench: $load_mid; after the peers: $load_after.
- other processes above 20% of a core in $busy of $samples samples (every 15 s) during the run: ${others:-none}.
  This is a shared 2-core machine: other engineers' builds and tests may run at the same
  time, and a load above ~0.5 before the run means the figures were taken under contention.
  The clients (sender, 4 receivers, their ZeroMQ I/O threads) share the same 2 cores with the
  broker.

## Results

$(cat "$tmp/bench.md")

$(cat "$tmp/peer.md")

## Where the broker's time goes

\`perf record -e cpu-clock --call-graph dwarf\` on the broker during the first full-load phase
(\`perf stat -e instructions\` is not supported in this VM, so the sampling is on the CPU clock).

By library (self time):

\`\`\`
$profile_dso
\`\`\`

By broker function (inclusive: the function and everything it calls):

\`\`\`
$profile_fn
\`\`\`

## What bounds it

- **The broker's loop, by its work and its waits; not the signature check.** The loop
  handles every frame in order and commits once per poll batch. Envelope signatures are
  checked by a verifier thread (\`broker/verifier.c\`): under a backlog it checks the next
  batch while the loop stores the current one, otherwise the two share a batch's checks. WAL
  checkpoints run on a third thread (\`broker/store_sqlite_ckpt.c\`) and CurveZMQ on ZeroMQ's I/O
  thread. At full load \`perf report --sort pid\` splits the broker's samples about half to
  the loop, a third to the verifier, a seventh to the I/O thread: the loop is busy about
  two thirds of a core and the machine is short of its 2 cores (the *CPU* line under the
  delivery table). The rest of the loop's time is waiting: a batch's COMMIT blocks it for
  the WAL fsync (a few milliseconds on this disk, during which nothing is read or handled),
  and it may wait for the verifier. The serial loop, its work and that fsync together set
  the rate.
- **What the loop still does per alert** (the profile above): insert the alert and its 4
  recipient rows, append its ACCEPTED audit leaf (a leaf, a tree node, a link), and for each
  of the 4 DELIVERED receipt items one lookup, one update and one \`receipt_items\` row;
  events cost a fraction of a row (consecutive events of a stream are one row) and a
  receipt's 128 items share one receipt row and one audit leaf. That is the *rows written
  per alert* line above, and \`sqlite3_step\` is the largest share of the loop's time.
- **Why 80% of one core's verification rate is out of reach here.** At ~25 000
  verifications/s the target is ~20 000 alerts/s, a budget of ~50 µs of loop time per alert
  for everything above. The rows and statements a tracked, audited alert needs in SQLite
  take about that alone, before protobuf, the replies and the commit. Getting there would
  take a different store layout (state kept in memory, written as an append-only log,
  recipients as one row per alert) or the store's work spread over threads; neither was
  attempted.
- **Latency at 50% load** comes from the group commit and what shares its batch: a publish
  waits for the COMMIT of its poll batch (its WAL fsync: a few milliseconds at p99 on this
  disk; checkpoints are no longer inside it) and for whatever else the batch holds, chiefly
  the four agencies' receipts of 128 items, which arrive together (about a millisecond of
  per-item work each). Committing receipts in batches of their own would shorten the
  publishes' wait at the price of more fsyncs per second. At full load the latencies are
  queueing: the sender keeps 2000 alerts unconfirmed, so publish→confirm ≈ 2000 ÷
  throughput (Little's law); they say nothing about the loop.
- **Cost per alert and stored history.** What grows from 10 000 to 1 000 000 stored
  alerts is the broker's CPU per alert (the scaling table's last column), not its memory.
  The likely cause, not profiled at 1M: the indexes keyed by random alert ids (the alerts
  table's and the receipt lookups through it) no longer fit SQLite's page cache, so each
  insert and lookup reads more pages through the kernel.
- **Memory does not grow with the store.** Acknowledgement deadlines are kept in a bounded
  heap (\`timers\` in broker.conf, 4096 by default) refilled from an index on the store, the
  delivery window is bounded by \`inflight\`, and the caches of recent alerts (event
  audiences, packed Deliver frames) have fixed sizes. What moves the peak within a run is
  SQLite's page caches (about 2 MiB for each of the broker's two connections) filling and
  the allocator, not the backlog or the history: compare the offline and scaling rows.
- **The SQLite ceiling** is given at the broker's shape (small rows, large commits: a poll
  batch of up to 256 frames is one transaction); at 100 rows per commit it is lower than what
  the broker reaches, because the broker's commits are bigger.
- **The verify + open row is bound by the clients**: four receivers each doing an Ed25519
  verify, an X25519 unseal and an XChaCha20 decryption per alert on the same two cores.
- **The machine.** Two cores are shared by the broker's threads, its ZeroMQ I/O thread
  (CurveZMQ encryption of every frame), five client threads and their I/O threads. The
  ROUTER ceiling is measured under the same sharing.

## A national network and the peers: what bounds them (issue 20)

- **What grows with the agencies.** The signed document (about 150 bytes a card) and its
  verification (signature, parse, checks, and sorting the cards by id and by transport key),
  done once per document by the broker and by each agent. What is done per frame does not
  grow: ZAP admission and policy evaluation look cards up in those sorted indexes, and each
  policy rule's agencies are compiled once. Sealing a 4-recipient alert does not depend on
  the network; a wide alert costs one \`crypto_box_seal\` per recipient on the sender.
- **The broker's memory in a national network.** A card costs what the verified document
  holds; nothing else is made per agency until it connects (connection slots, its delivery
  window: 16 slots at first, doubling up to \`inflight\` as it fills, and event-stream slots
  at its first subscriber). A connection costs libzmq's CurveZMQ session and pipes — about
  32 KiB each, measured with a bare CurveZMQ ROUTER and 195 DEALERs on the same libzmq 4.3.4
  (not part of this script) — plus the broker's slot and window: about 60 KiB a connected
  agency in all (the *connected* row).
- **A wide alert** is one alert row, one recipient row per recipient, one receipt and one
  item per connected recipient that receipts, and its per-recipient events go to the
  sender, the recipient concerned and oversight, not to every other recipient (at 500
  recipients that would be 250 000 events an alert). Its delivery is bounded by the broker's
  CPU for it (the *broker CPU ms per alert* column: 0.13 to 0.18 ms a recipient so far) and by the
  bytes: the envelope sealed to 500 is about 47 KB, sent to each of the 200 connected, so
  about 9.4 MB an alert for ZeroMQ's I/O thread to encrypt with CurveZMQ. When the 2 cores
  are shared with other work, alerts offered at 5 a second queue behind each other and the
  p99 is that queue; on a quiet machine it is a small fraction of the 1 s target.
- **The peers.** mosquitto's rate is that of a broker that writes nothing before its
  PUBACK. RabbitMQ's is bound by its Erlang VM's CPU (the *broker CPU ms / message*
  column) and, here, partly by its Python clients (python3-pika, a Debian package), which
  use the same 2 cores: C clients would leave it more of them. vigil's clients are C; its
  broker verifies a signature per alert and per receipt and writes about 12 rows an alert:
  compare its CPU a message with what RabbitMQ spends keeping a persistent message in 4
  queues.

## Audit verification at scale

Issue 13 (item 8): \`vigilctl audit verify\` on a 1M-alert store. Not produced by this
script: measured by hand with \`bench_audit_verify\` (tests/bench/bench_audit_verify.c) on
2026-12-03, vigil a720a14, release build, on the machine above (2 shared cores); the figures
stay until someone measures again.

**The store.** \`build/release/bin/bench_audit_verify --alerts N --keep DIR --verify none\`
builds N alerts through the store and audit APIs in the order the broker's handlers call
them: each a sealed envelope from one of three senders to one required recipient, its
DELIVERED receipt and, for every second alert, an ACKNOWLEDGED receipt (2.5 leaves an
alert), their events, a signed checkpoint every 256 leaves, 1000 alerts a transaction with
the WAL checkpointer running; and DIR/broker.conf for vigilctl. Generating took 63 s for
100 000 alerts, 160 s for 300 000 and 633 s for 1 000 000 (454 s of it sealing and signing,
176 s the store); vigil.db is 272 MiB, 820 MiB and 2.7 GiB. \`ctest -L bench -R
audit_verify\` runs it at 20 000 alerts and checks both verifications pass.

**The command**, twice per size, the store in the page cache:

    /usr/bin/time -v build/release/bin/vigilctl audit verify -c DIR/broker.conf

| alerts | leaves | checkpoints | wall (s) | CPU user+sys (s) | CPU µs a leaf | peak RSS | load before |
| ---: | ---: | ---: | --- | --- | --- | ---: | --- |
| 100 000 | 250 000 | 976 | 4.93, 3.50 | 3.80, 3.44 | 15.2, 13.8 | 12 MiB | 2.18, 2.25 |
| 300 000 | 750 000 | 2 929 | 12.14, 11.04 | 11.29, 10.87 | 15.1, 14.5 | 18 MiB | 2.15, 2.27 |
| 1 000 000 | 2 500 000 | 9 765 | 82.33, 62.93 | 45.27, 40.73 | 18.1, 16.3 | 42 MiB | 1.99, 7.18 |

- **Nearly linear in CPU, not in wall time here.** 1M costs 11.8–11.9× the CPU of 100k
  (10× is linear): 14–15 µs a leaf at 100k, 16–18 µs at 1M. Wall time grew 13–24× because
  at 1M the command got only 55–65% of a core (other work raised the load to 7). Split
  in-process (\`bench_audit_verify --existing DIR --verify inproc\`), CPU µs a leaf at
  100k / 300k / 1M: \`vgb_audit_verify\` 6.8 / 7.0 / 7.4, \`vgb_audit_check_state\`
  7.4 / 7.8 / 8.6. Peak RSS grows with the alerts: check_state keeps 16 bytes per alert
  id (the trade-off ctl_audit.c states), plus every checkpoint's note.
- **No statement is prepared per leaf any more**: the profile has no sample in
  \`sqlite3_prepare*\` (the store's statement cache, \`vgb_sqlite_stmt\`). Every per-leaf
  query uses an index (EXPLAIN QUERY PLAN).
- **Where the time goes** (\`perf record --call-graph dwarf\`, 1M, inclusive): 23% is
  \`vg_merkle_range_root\` called by \`s_check_at_size\` (broker/audit_verify.c) after *every*
  leaf, though a checkpoint exists only every 256 leaves; it folds popcount(size) − 1
  SHA-256 nodes, so it grows with log n. \`vgb_audit_check_state\` is 55%: per leaf it finds
  the alert by its random id (\`vgb_sqlite_alert_by_id\`, 14%, two statements: the id lookup,
  then \`vgb_store_alert_meta\` re-reads the same row by seq), the receipt by its random hash
  (\`vgb_sqlite_receipt_names\`, 18%) and the recipient row (\`vgb_sqlite_rrow\`, 7%). The
  indexes on random keys (alerts.alert_id 26 MiB, receipts.receipt_hash 66 MiB at 1M) miss
  SQLite's 2 MiB page cache, so 19% of the time is the kernel copying pages for \`pread\`.
  Each leaf is also parsed twice (\`vg_audit_leaf_parse\`, 10%, hex decoding most of it).
- **What would fix it** (measured on patched copies of broker/, not committed; CPU at 1M,
  two runs each): computing the root in \`s_check_at_size\` only when a stored or given
  checkpoint has the current size: 31.1 and 29.8 s (−30%; 1M/100k 10.5–10.9×). With it,
  \`vgb_sqlite_alert_by_id\` in one statement and \`s_check_receipt\` taking the alert's seq
  from the accepted leaves it already holds (no second random lookup): 27.8 and 27.7 s
  (−35 to −39%, 11 µs a leaf, 29.5 s wall; RSS 61 MiB). A 128 MiB page cache for
  read-only connections on top of the root fix saved only 5% more CPU (RSS 177 MiB).
  Left after those: the receipt lookup by hash, two passes that parse every leaf (one
  pass could feed both checks), and hex decoding.
- **A transaction that writes more WAL frames than \`wal_checkpoint_pages\` stops the WAL
  from ever starting again** (broker/store_sqlite_ckpt.c \`s_next_op\` asks for a rewind only
  when, right after a commit, fewer than that many frames are left to copy): with 1000
  alerts a transaction (~1800 frames) and the default 1000 pages, the WAL held the whole
  history. The bench therefore runs with 4000 pages; a reader of such a store recovers
  and searches the whole WAL.

EOF
echo "wrote $out" >&2
