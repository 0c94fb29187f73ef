#!/usr/bin/env bash
# store-server: starts PostgreSQL servers (initdb, pg_ctl, pg_basebackup, psql) for a local
# two-broker network; the only SQL it runs is deploy/postgres/create.sql.
#
# deploy/ha-local.sh — a high-availability vigil network on one machine
# (docs/ha.md, "Try it on one machine"), as the invoking unprivileged user:
#
#   - PostgreSQL 15: a primary on 127.0.0.1:55432 and a synchronous standby
#     streaming from it on :55433 (pg_basebackup -R, synchronous_standby_names
#     = 'ANY 1 (db2)'), made by initdb in DIR/pg with trust authentication on
#     127.0.0.1; deploy/postgres/create.sql makes the roles and the database,
#     vigil-pg-migrate the schema;
#   - two brokers on tcp://127.0.0.1:7600 and :7610, both with
#     [store] backend = postgresql and a DSN naming both servers
#     (target_session_attrs=read-write): one leads, the other is a standby;
#   - a network (vigilctl init --endpoint A,B) whose agents know both
#     brokers, with licensing, police and children's services listening
#     (vigil-agent listen), and a first alert published by the Home Office.
#
#   deploy/ha-local.sh [start]   make (the first time) and start it all
#   deploy/ha-local.sh status    who leads; the servers
#   deploy/ha-local.sh stop      stop it all (DIR stays; start again resumes)
#
# DIR is ./ha-net (VIGIL_HA_DIR); binaries come from build/release/bin,
# built when missing (VIGIL_BIN names another directory, e.g. build/dev/bin).
# Ports: VIGIL_HA_PG1, VIGIL_HA_PG2, VIGIL_HA_BROKER1, VIGIL_HA_BROKER2.
# Logs are in DIR/log; remove DIR to start afresh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
cmd=${1:-start}
dir=${VIGIL_HA_DIR:-$root/ha-net}
bin=${VIGIL_BIN:-$root/build/release/bin}
pgbin=${VT_PG_BIN:-/usr/lib/postgresql/15/bin}
pg1=${VIGIL_HA_PG1:-55432}
pg2=${VIGIL_HA_PG2:-55433}
b1=${VIGIL_HA_BROKER1:-7600}
b2=${VIGIL_HA_BROKER2:-7610}
net=$dir/net
agencies=(licensing police childrens-services)

say() { printf 'ha-local: %s\n' "$*"; }
die() { printf 'ha-local: %s\n' "$*" >&2; exit 1; }

broker_conf() { # a | b
  if [ "$1" = a ]; then echo "$net/broker/broker.conf"; else echo "$net/broker-b/broker.conf"; fi
}

running() { # pidfile
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

pg_up() { # data dir, log name
  if "$pgbin/pg_ctl" -D "$1" status >/dev/null 2>&1; then
    return
  fi
  "$pgbin/pg_ctl" -D "$1" -l "$dir/log/$2.log" -w -t 60 start >/dev/null
}

make_primary() {
  say "PostgreSQL primary on 127.0.0.1:$pg1 ($dir/pg/primary)"
  "$pgbin/initdb" -D "$dir/pg/primary" -U postgres --auth=trust -E UTF8 --locale=C \
    --no-instructions >"$dir/log/initdb.log" 2>&1
  cat >>"$dir/pg/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $pg1
unix_socket_directories = '$dir/pg'
max_wal_senders = 5
wal_keep_size = 256MB
log_line_prefix = '%m [%p] '
EOF
  pg_up "$dir/pg/primary" pg-primary
  "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg1" -U postgres -d postgres \
    -f deploy/postgres/create.sql >>"$dir/log/initdb.log"
  "$bin/vigil-pg-migrate" "host=127.0.0.1 port=$pg1 dbname=vigil user=vigil_owner" \
    >>"$dir/log/initdb.log" 2>&1
}

make_standby() {
  say "PostgreSQL synchronous standby db2 on 127.0.0.1:$pg2 ($dir/pg/standby)"
  "$pgbin/pg_basebackup" -D "$dir/pg/standby" -R -X stream --checkpoint=fast \
    -d "host=127.0.0.1 port=$pg1 user=postgres application_name=db2" >>"$dir/log/initdb.log" 2>&1
  cat >>"$dir/pg/standby/postgresql.auto.conf" <<EOF
port = $pg2
cluster_name = 'db2'
hot_standby = on
EOF
}

make_network() {
  say "network in $net (agents follow tcp://127.0.0.1:$b1 and tcp://127.0.0.1:$b2)"
  "$bin/vigilctl" init "$net" --agencies police,licensing,childrens-services,home-office \
    --oversight oversight --endpoint "tcp://127.0.0.1:$b1,tcp://127.0.0.1:$b2" >/dev/null
  mkdir -p "$net/broker-b"
  cp -p "$net/broker/broker.key" "$net/broker/network.signed" "$net/broker/broker.conf" \
    "$net/broker-b/"
  sed -i "s|^bind = .*|bind = tcp://127.0.0.1:$b2|" "$net/broker-b/broker.conf"
  local dsn="host=127.0.0.1,127.0.0.1 port=$pg1,$pg2 dbname=vigil user=vigil_broker"
  dsn="$dsn target_session_attrs=read-write connect_timeout=3"
  for b in a b; do
    local port=$b1
    [ "$b" = b ] && port=$b2
    cat >>"$(broker_conf "$b")" <<EOF

[store]
backend = postgresql
dsn = $dsn

[ha]
advertise = tcp://127.0.0.1:$port
EOF
  done
}

start_broker() { # a | b
  if running "$dir/run/broker-$1.pid"; then
    return
  fi
  nohup "$bin/vigil-broker" -c "$(broker_conf "$1")" >>"$dir/log/broker-$1.log" 2>&1 &
  echo $! >"$dir/run/broker-$1.pid"
}

role_of() { # a | b
  "$bin/vigilctl" broker status -c "$(broker_conf "$1")" 2>/dev/null |
    sed -n 's/.*role=\([a-z]*\).*/\1/p' || true
}

wait_leader() {
  for _ in $(seq 1 100); do
    if [ "$(role_of a)" = leader ] || [ "$(role_of b)" = leader ]; then
      return 0
    fi
    sleep 0.1
  done
  die "no broker became the leader within 10 s: see $dir/log/broker-a.log and broker-b.log"
}

start() {
  [ "$(id -u)" -ne 0 ] || die "run me as an unprivileged user: PostgreSQL refuses to run as root"
  [ -x "$pgbin/initdb" ] || die "$pgbin/initdb not found: install postgresql-15 (or set VT_PG_BIN)"
  if [ ! -x "$bin/vigil-broker" ]; then
    say "building the release preset into build/release"
    cmake --preset release -DVG_BUILD_TESTS=OFF >/dev/null
    cmake --build build/release -j"$(nproc)" --target vigilctl vigil-broker vigil-agent \
      vigil-pg-migrate >/dev/null
  fi
  mkdir -p "$dir/log" "$dir/run"
  local fresh=0
  if [ ! -d "$dir/pg/primary" ]; then
    fresh=1
    make_primary
    make_standby
    make_network
  fi
  pg_up "$dir/pg/primary" pg-primary
  pg_up "$dir/pg/standby" pg-standby
  if [ "$fresh" = 1 ]; then
    # Only now that db2 streams: before, every commit would wait for it.
    # From here a commit returns once the standby db2 has flushed it (docs/ha.md).
    "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg1" -U postgres -d postgres \
      -c "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (db2)'" -c "SELECT pg_reload_conf()" \
      >>"$dir/log/initdb.log"
  fi
  start_broker a
  start_broker b
  wait_leader
  for a in "${agencies[@]}"; do
    if ! running "$dir/run/listen-$a.pid"; then
      nohup "$bin/vigil-agent" -c "$net/agents/$a/agent.conf" listen \
        >>"$dir/log/listen-$a.log" 2>&1 &
      echo $! >"$dir/run/listen-$a.pid"
    fi
  done
  if [ "$fresh" = 1 ]; then
    "$bin/vigil-agent" -c "$net/agents/home-office/agent.conf" publish --severity high \
      --category taxi --headline "Taxi drivers linked to child sexual exploitation" \
      --description "Local high-availability demo: two brokers, one PostgreSQL primary and its synchronous standby." \
      >/dev/null
    say "the Home Office published a first alert (licensing, police and children's services receive it)"
  fi
  status
  cat <<EOF

Try a failover:  kill -9 \$(cat $dir/run/broker-X.pid)   (X: the leader, a or b)
  then           deploy/ha-local.sh status      (the other leads within seconds)
  publish        $bin/vigil-agent -c $net/agents/home-office/agent.conf publish --severity high --category taxi --headline test
  receipts       tail -f $dir/log/listen-licensing.log
Stop it all:     deploy/ha-local.sh stop
EOF
}

status() {
  for b in a b; do
    local line
    line=$("$bin/vigilctl" broker status -c "$(broker_conf "$b")" 2>/dev/null || echo "not running")
    say "broker $b: $line"
  done
  for s in primary standby; do
    local state
    state=$("$pgbin/pg_ctl" -D "$dir/pg/$s" status >/dev/null 2>&1 && echo running || echo stopped)
    say "PostgreSQL $s: $state"
  done
}

stop() {
  for f in "$dir"/run/*.pid; do
    [ -e "$f" ] || continue
    if running "$f"; then
      kill "$(cat "$f")" 2>/dev/null || true
    fi
    rm -f "$f"
  done
  sleep 1
  for s in standby primary; do
    if [ -d "$dir/pg/$s" ]; then
      "$pgbin/pg_ctl" -D "$dir/pg/$s" -m fast -w stop >/dev/null 2>&1 || true
    fi
  done
  say "stopped (the network, its stores and logs stay in $dir)"
}

case "$cmd" in
start) start ;;
status) status ;;
stop) stop ;;
*) die "usage: deploy/ha-local.sh [start|status|stop]" ;;
esac
