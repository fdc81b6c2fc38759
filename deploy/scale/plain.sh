#!/usr/bin/env bash
# The scale-out stack of deploy/scale/docker-compose.yml as plain processes, for machines
# without containers (docs/operators/scale.md): one `rampart feed`, three `rampart worker`s and
# two `rampart serve`s, sharing one PostgreSQL (store.url in the settings) and one NATS server
# with JetStream (started here when none answers on NATS_PORT).
#
#   RAMPART_CONFIG=deploy/scale/rampart-scale.yaml deploy/scale/plain.sh start
#   deploy/scale/plain.sh status
#   deploy/scale/plain.sh stop           # SIGTERM, newest first: the workers hand their shards back
#
# Settings come from RAMPART_CONFIG and RAMPART_… variables, as for every rampart command.
# Each process logs to RUN_DIR/var/ and leaves its pid in RUN_DIR/pids/.
set -euo pipefail

RUN_DIR="${RAMPART_RUN_DIR:-var/scale}"
RAMPART="${RAMPART_BIN:-rampart}"
NATS_PORT="${NATS_PORT:-4222}"
WORKERS="${WORKERS:-worker-1 worker-2 worker-3}"
SERVE_PORTS="${SERVE_PORTS:-8081 8082}"

# The processes of the stack: a name, then the rampart arguments (compose runs the same ones).
processes() {
  echo "feed feed"
  for name in $WORKERS; do echo "$name worker --name $name"; done
  for port in $SERVE_PORTS; do echo "serve-$port serve"; done
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  mkdir -p "$RUN_DIR/pids" "$RUN_DIR/var"
  if ! answers "$NATS_PORT"; then
    command -v nats-server >/dev/null || { echo "nats-server is not installed and nothing answers on port $NATS_PORT." >&2; exit 2; }
    nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$RUN_DIR/nats" >"$RUN_DIR/var/nats.log" 2>&1 &
    echo $! >"$RUN_DIR/pids/nats"
    for _ in $(seq 50); do answers "$NATS_PORT" && break; sleep 0.1; done
  fi
  export RAMPART_SCALE__NATS_URL="${RAMPART_SCALE__NATS_URL:-nats://127.0.0.1:$NATS_PORT}"
  if [ -n "${RAMPART_CONFIG:-}" ]; then RAMPART_CONFIG="$(cd "$(dirname "$RAMPART_CONFIG")" && pwd)/$(basename "$RAMPART_CONFIG")"; export RAMPART_CONFIG; fi
  processes | while read -r name args; do
    port=""
    case "$name" in serve-*) port="${name#serve-}";; esac
    # shellcheck disable=SC2086 # the arguments are words
    (cd "$RUN_DIR" && exec env ${port:+RAMPART_API__PORT=$port} "$RAMPART" $args >"var/$name.out" 2>&1) &
    echo $! >"$RUN_DIR/pids/$name"
    echo "started $name (pid $!)"
  done
}

stop() {
  [ -d "$RUN_DIR/pids" ] || { echo "Nothing runs from $RUN_DIR."; return 0; }
  # The serve processes, then every worker at once (each hands its shards back; none takes
  # another's while stopping), then the feed, then NATS if it was started here.
  serves="$(processes | awk '$2 == "serve" {print $1}')"
  workers="$(processes | awk '$2 == "worker" {print $1}')"
  for group in "$serves" "$workers" feed nats; do
    for name in $group; do
      [ -e "$RUN_DIR/pids/$name" ] && kill -TERM "$(cat "$RUN_DIR/pids/$name")" 2>/dev/null || true
    done
    for name in $group; do wait_gone "$name"; done
  done
  echo "stopped"
}

wait_gone() {
  pidfile="$RUN_DIR/pids/$1"
  [ -e "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$pidfile"
}

status() {
  for pidfile in "$RUN_DIR/pids"/*; do
    [ -e "$pidfile" ] || continue
    name="$(basename "$pidfile")"
    if kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "$name running"; else echo "$name stopped"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  processes) processes ;;
  *) echo "usage: $0 start|stop|status|processes" >&2; exit 2 ;;
esac
