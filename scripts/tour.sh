#!/usr/bin/env bash
# The README's "A five-minute tour", run top to bottom with every exit code checked.
#
#   bash scripts/tour.sh             # CI runs it after `make test`
#   TOUR_PLAN=1 bash scripts/tour.sh # the commands it would run, one per line; runs nothing
#
# The commands are read from README.md's tour block, not kept here: a command added to,
# changed in or removed from the README is what the tour runs (tests/test_readme_tour.py holds
# the two to each other). Comments are dropped and lines ending in "\" joined, as a reader
# copying them would. Only what the README cannot fix is substituted (see `adapt`): the ports
# (8080, 8900, 8899: the tour picks free ones), the fixed path /tmp/prom, the project root of
# `make setup`, and what a step prints for a later one (VERSION1/VERSION2, <alice's public key>).
#
# Every command runs from a scratch directory that looks like the project root to it (.venv
# and ../shared are links): `rampart run`, `replay` and `report` write var/ and out/ beside
# the current directory, and the developer's var/ must stay untouched. State lives in
# $TOUR_DIR: its own SQLite store, backup folder, model folder and free API port; inherited
# RAMPART_* variables and a ./rampart.yaml of the developer are ignored.
#
# The README runs `make run` "in another terminal" while it operates the service: the tour
# starts it in the background before the first command that talks to it and stops it (SIGTERM,
# it must exit 0) once it has traded, before the reports. The simulator and the Solana
# stand-in, which the README starts and leaves running, are started in the background, asked
# once they answer, and stopped the same way.
#
# One line per step: exit code, seconds, the command. A step fails on an unexpected exit code,
# on a check of its output, or on a Python traceback anywhere in its output; the first failure
# prints its last 30 lines and the tour exits 1 (background processes are stopped on exit).
# TOUR_KEEP=1 keeps $TOUR_DIR (logs, store, reports) after a passing run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# The tour block's commands: the fenced bash block after "## A five-minute tour".
readme_commands() {
  awk '
    /^## A five-minute tour/ { tour = 1; next }
    tour && !block && /^```bash/ { block = 1; next }
    block && /^```/ { exit }
    block {
      line = $0
      sub(/[ \t]+#[ \t].*$/, "", line)   # a trailing comment
      sub(/^[ \t]+/, "", line); sub(/[ \t]+$/, "", line)
      if (line == "" || line ~ /^#/) next
      if (line ~ /\\$/) { sub(/[ \t]*\\$/, "", line); pending = pending line " "; next }
      print pending line
      pending = ""
    }
  ' README.md
}
mapfile -t COMMANDS < <(readme_commands)
if [ "${#COMMANDS[@]}" -eq 0 ]; then
  echo "tour: README.md has no tour block (a \`\`\`bash block after '## A five-minute tour')" >&2
  exit 1
fi

# adapt COMMAND: the README's command with the tour's ports, paths and printed values.
adapt() {
  local c=$1
  c=${c//localhost:8080/localhost:$API_PORT}
  c=${c//--port 8900/--port $SIM_PORT}
  c=${c//--port 8899/--port $SOLANA_PORT}
  c=${c//\/tmp\/prom/$TOUR_DIR/prom}
  c=${c//VERSION1/$V1}
  c=${c//VERSION2/$V2}
  c=${c//<alice\'s public key>/$WALLET}
  if [ "$c" = "make setup" ]; then c="make setup -C $ROOT"; fi
  printf '%s' "$c"
}

if [ -n "${TOUR_PLAN:-}" ]; then
  API_PORT='$API_PORT' SIM_PORT='$SIM_PORT' SOLANA_PORT='$SOLANA_PORT' TOUR_DIR='$TOUR_DIR'
  V1='$V1' V2='$V2' WALLET='$WALLET'
  for command in "${COMMANDS[@]}"; do printf 'run  %s\n' "$(adapt "$command")"; done
  exit 0
fi

if [ ! -d "$ROOT/../shared/data" ]; then
  echo "tour: ../shared/data (the real candle files) is missing beside $ROOT" >&2
  exit 1
fi

# CI-like conditions: nothing from the caller's RAMPART_* settings, no terminal.
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^RAMPART_' || true)
unset TOKEN
export CI="${CI:-true}" COLUMNS=160 PYTHONUNBUFFERED=1

TOUR_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rampart-tour.XXXXXX")
WORK="$TOUR_DIR/root"
LOGS="$TOUR_DIR/logs"
mkdir -p "$WORK" "$LOGS"
ln -s "$ROOT/.venv" "$WORK/.venv"
ln -s "$(cd "$ROOT/../shared" && pwd)" "$TOUR_DIR/shared" # so ../shared/data works from $WORK

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

export RAMPART_STORE__URL="sqlite:///$TOUR_DIR/tour.db"
export RAMPART_BACKUP__DIR="$TOUR_DIR/backups"
export RAMPART_ML__MODELS_DIR="$TOUR_DIR/models"
export RAMPART_API__PORT
STEP_TIMEOUT=${STEP_TIMEOUT:-600}
SERVICE_PID=""
SIM_PID=""
SOLANA_PID=""
STEPS=0
LAST_LOG=""
TOUR_START=$EPOCHREALTIME
V1="" V2="" WALLET=""

cleanup() {
  local rc=$?
  for pid in $SIM_PID $SOLANA_PID $SERVICE_PID; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [ "$rc" -eq 0 ] && [ -z "${TOUR_KEEP:-}" ]; then
    rm -rf "$TOUR_DIR"
  else
    echo "tour: logs and state kept in $TOUR_DIR" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { # fail STEP RC WHY
  echo "tour: FAILED at step '$1' (exit code $2): $3" >&2
  if [ -n "$LAST_LOG" ] && [ -f "$LAST_LOG" ]; then
    echo "--- last 30 lines of $LAST_LOG" >&2
    tail -n 30 "$LAST_LOG" >&2
    echo "---" >&2
  fi
  exit 1
}

seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# step NAME EXPECTED COMMAND...  runs COMMAND in $WORK with its output in a log of its own.
# EXPECTED is the exit code the README promises (a comma list when more than one is
# documented). COMMAND may be a function below: it runs in a subshell with `set -e`, so its
# first failing command ends it. After the step, $LAST_LOG and $STEP_RC describe it.
# step_here is the same in this shell (for what must set a variable or wait on a background
# process it started); such functions check every command themselves.
step() { _step subshell "$@"; }
step_here() { _step here "$@"; }
_step() {
  local how=$1 name=$2 expected=$3
  shift 3
  STEPS=$((STEPS + 1))
  LAST_LOG="$LOGS/$(printf '%02d' "$STEPS")-${name//[^A-Za-z0-9_.-]/_}"
  LAST_LOG="${LAST_LOG:0:200}.log"
  local start=$EPOCHREALTIME
  set +e
  if [ "$how" = here ]; then
    "$@" >"$LAST_LOG" 2>&1 </dev/null
  else
    # A program gets at most STEP_TIMEOUT seconds (exit 124 past it); a function bounds each
    # of its own waits.
    if [ "$(type -t "$1")" = file ]; then set -- timeout -k 10 "$STEP_TIMEOUT" "$@"; fi
    (set -e; cd "$WORK"; "$@") >"$LAST_LOG" 2>&1 </dev/null
  fi
  STEP_RC=$?
  set -e
  printf '%2d  exit %3d  %6s s  %s\n' "$STEPS" "$STEP_RC" "$(seconds_since "$start")" "${name:0:110}"
  case ",$expected," in
    *",$STEP_RC,"*) ;;
    *)
      if [ "$STEP_RC" -eq 124 ]; then fail "$name" "$STEP_RC" "still running after $STEP_TIMEOUT s"; fi
      fail "$name" "$STEP_RC" "expected exit code $expected"
      ;;
  esac
  if grep -q 'Traceback' "$LAST_LOG"; then
    fail "$name" "$STEP_RC" "a Python traceback in the output"
  fi
}

# expect_in STEP PATTERN WHY: the last step's output must match the extended regex PATTERN.
expect_in() {
  grep -Eq -- "$2" "$LAST_LOG" || fail "$1" "$STEP_RC" "$3"
}

# A README command as typed (after `adapt`), from the scratch root, bounded in time.
sh_command() { timeout -k 10 "$STEP_TIMEOUT" bash -c "$1"; }
# `export NAME=$(…)`: in this shell, so later commands see it; the value must not be empty.
export_command() {
  local name=${1#export }
  name=${name%%=*}
  cd "$WORK"
  eval "$1"
  local rc=$?
  cd "$ROOT"
  [ "$rc" -eq 0 ] || return "$rc"
  [ -n "${!name:-}" ] || { echo "$name is empty after: $1"; return 1; }
  echo "$name is set"
}

# --- the service the README runs in another terminal ------------------------------------
service_start() { # `make run` in another terminal: here in the background, without the view
  (cd "$WORK" && exec .venv/bin/rampart run --no-view) >"$LOGS/service.log" 2>&1 </dev/null &
  SERVICE_PID=$!
}
wait_ready() { # at most 60 tries half a second apart
  for _ in $(seq 1 60); do
    kill -0 "$SERVICE_PID" 2>/dev/null || { echo "rampart run exited early:"; cat "$LOGS/service.log"; return 1; }
    if curl -s --max-time 20 "$API/health/ready" | grep -q '"ready":true'; then
      curl -s --max-time 20 "$API/health/ready"
      return 0
    fi
    sleep 0.5
  done
  echo "not ready after 30 s:"
  curl -s --max-time 20 "$API/health/ready" || true
  return 1
}
# The operating steps take a few seconds; the demo's agents need about an hour of candles (a
# dozen wall seconds at 300x) before their first entry. Wait for one, bounded, before stopping.
wait_traded() { # at most 240 tries half a second apart
  for _ in $(seq 1 240); do
    kill -0 "$SERVICE_PID" 2>/dev/null || { echo "rampart run exited early:"; cat "$LOGS/service.log"; return 1; }
    if curl -s --max-time 20 "$API/metrics" | grep '^rampart_orders_total' \
      | awk '{n += $NF} END {exit !(n > 0)}'; then
      curl -s --max-time 20 "$API/metrics" | grep '^rampart_orders_total'
      return 0
    fi
    sleep 0.5
  done
  echo "no order after 120 s:"
  tail -n 5 "$LOGS/service.log"
  return 1
}
service_stop() { # Ctrl-C / SIGTERM: exit 0 within ops.shutdown_timeout_s (20 s), + 10 s slack
  kill -TERM "$SERVICE_PID" || return 1
  for _ in $(seq 1 150); do
    kill -0 "$SERVICE_PID" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$SERVICE_PID" 2>/dev/null; then
    echo "rampart run still running 30 s after SIGTERM"
    return 1
  fi
  local rc=0
  wait "$SERVICE_PID" || rc=$?
  SERVICE_PID=""
  cat "$LOGS/service.log" # the traceback check covers the whole run's output
  echo "rampart run exited $rc"
  return "$rc"
}
service_up() {
  [ -z "$SERVICE_PID" ] && [ "$SERVICE_STATE" = before ] || return 0
  service_start
  SERVICE_STATE=running
  step "make run (in another terminal): ready" 0 wait_ready
}
service_down() {
  [ "$SERVICE_STATE" = running ] || return 0
  step "make run: the service trades (rampart_orders_total > 0)" 0 wait_traded
  step_here "make run: Ctrl-C, exits 0" 0 service_stop
  expect_in "rampart run stop" 'Stopped cleanly' "no clean-stop line"
  SERVICE_STATE=after
}

# --- what the README leaves running in its own terminal ----------------------------------
background() { # background VAR LOG COMMAND: start COMMAND from the scratch root
  (cd "$WORK" && exec bash -c "exec $3") >"$2" 2>&1 </dev/null &
  printf -v "$1" '%s' "$!"
}
# stop_bg VAR LOG NAME: SIGTERM the background process whose pid is in $VAR, as Ctrl-C would;
# it must exit 0 within 10 s. Run with step_here, so that clearing $VAR is seen by cleanup.
stop_bg() {
  local var=$1 log=$2 name=$3 pid=${!1}
  kill -TERM "$pid" || return 1
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then echo "$name still running 10 s after SIGTERM"; return 1; fi
  local rc=0
  wait "$pid" || rc=$?
  printf -v "$var" '%s' ""
  cat "$log"
  echo "$name exited $rc"
  return "$rc"
}
simulator_answers() { # at most 60 tries half a second apart
  for _ in $(seq 1 60); do
    kill -0 "$SIM_PID" 2>/dev/null || { echo "the simulator exited early"; cat "$LOGS/simulator.log"; return 1; }
    if curl -sS --max-time 20 --fail-with-body "localhost:$SIM_PORT/api/v3/time" 2>/dev/null; then
      echo
      cat "$LOGS/simulator.log"
      return 0
    fi
    sleep 0.5
  done
  echo "the simulator did not answer /api/v3/time within 30 s"
  return 1
}
simulator_stop() { stop_bg SIM_PID "$LOGS/simulator.log" simulator; }
solana_answers() { # getBalance of the funded wallet, at most 60 tries half a second apart
  local body='{"jsonrpc":"2.0","id":1,"method":"getBalance","params":["'"$WALLET"'"]}'
  for _ in $(seq 1 60); do
    kill -0 "$SOLANA_PID" 2>/dev/null || { echo "the stand-in exited early"; cat "$LOGS/solana-sim.log"; return 1; }
    if curl -sS --max-time 20 --fail-with-body -H 'content-type: application/json' \
      -d "$body" "localhost:$SOLANA_PORT/rpc/a" 2>/dev/null; then
      echo
      cat "$LOGS/solana-sim.log"
      return 0
    fi
    sleep 0.5
  done
  echo "the Solana stand-in did not answer within 30 s"
  return 1
}
solana_stop() { stop_bg SOLANA_PID "$LOGS/solana-sim.log" solana-sim; }

incidents_until_kill_switch() { # the alert engine evaluates every 5 s: up to 20 tries
  for _ in $(seq 1 20); do
    sh_command "$1" >"$LOGS/incidents.last" 2>&1 || { cat "$LOGS/incidents.last"; return 1; }
    if grep -q KillSwitchEngaged "$LOGS/incidents.last"; then
      cat "$LOGS/incidents.last"
      return 0
    fi
    sleep 1
  done
  cat "$LOGS/incidents.last"
  echo "no KillSwitchEngaged incident after 20 s"
  return 1
}
production() { # the version in production, from `models list --json`
  .venv/bin/rampart models list --json >"$LOGS/models.json"
  python3 - "$LOGS/models.json" "$1" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
live = [r["version"] for r in rows if r["stage"] == "production"]
print("production:", live)
sys.exit(0 if live == [sys.argv[2]] else f"expected {sys.argv[2]} in production, not {live}")
EOF
}

# The developer's var/ (and a fresh clone's absence of one) must survive the tour.
VAR_WAS_THERE=$([ -e "$ROOT/var" ] && echo yes || echo no)
RAMPART_API__PORT=$(free_port)
API_PORT=$RAMPART_API__PORT
SIM_PORT=$(free_port)
SOLANA_PORT=$(free_port)
API="localhost:$API_PORT"
SERVICE_STATE=before
echo "tour: ${#COMMANDS[@]} commands from README.md; scratch root $WORK, API port $API_PORT"

# --- the README's commands, in order ------------------------------------------------------
for readme in "${COMMANDS[@]}"; do
  case "$readme" in
    *"token create"* | *localhost:8080* | *"rampart incidents"*) service_up ;;
    *"rampart report "*) service_down ;;
  esac
  command=$(adapt "$readme")
  case "$readme" in
    "export "*=*)
      step_here "$command" 0 export_command "$command"
      ;;
    *"rampart simulator "*)
      background SIM_PID "$LOGS/simulator.log" "$command"
      step "$command (its terminal): answers" 0 simulator_answers
      expect_in "simulator" 'serverTime' "no server time from the simulator"
      step_here "simulator: Ctrl-C, exits 0" 0 simulator_stop
      expect_in "simulator stop" 'Simulator stopped' "no clean-stop line"
      ;;
    *"rampart solana-sim "*)
      background SOLANA_PID "$LOGS/solana-sim.log" "$command"
      step "$command (its terminal): the wallet holds its gas" 0 solana_answers
      expect_in "solana-sim" '"value": ?1000000000' "the funded wallet does not hold 1 SOL of gas"
      step_here "solana-sim: Ctrl-C, exits 0" 0 solana_stop
      expect_in "solana-sim stop" 'Solana stand-in stopped' "no clean-stop line"
      ;;
    *"rampart incidents"*)
      step "$command" 0 incidents_until_kill_switch "$command"
      ;;
    *"rampart data download"*)
      # Offline (CI, this machine) the download fails with the CLI's error code, 2 (one
      # sentence, docs/operators/running.md) saying there is no network; online it writes
      # the file under the scratch root's var/data and exits 0.
      step "$command" 0,2 sh_command "$command"
      if [ "$STEP_RC" -eq 2 ]; then
        expect_in "data download" 'network' "the offline error does not say there is no network"
      else
        expect_in "data download" '^Wrote .* candles' "exit 0 without writing candles"
      fi
      ;;
    *"rampart go-nogo"*)
      # 0 only on GO, 1 on NO-GO, 2 when it cannot tell (its --help). A fresh store has no
      # restored backup yet, so NO-GO (1) is what the tour sees; the verdict must match.
      step "$command" 0,1 sh_command "$command"
      if [ "$STEP_RC" -eq 1 ]; then
        expect_in "go-nogo" '^NO-GO' "exit 1 without a NO-GO verdict"
      else
        expect_in "go-nogo" '^GO' "exit 0 without a GO verdict"
      fi
      ;;
    *"rampart doctor"*)
      # 1 on a FAIL line, else 0 (its --help): before the tour's first backup it fails
      # "backups: no backup was ever made"; the code must match the lines.
      step "$command" 0,1 sh_command "$command"
      if grep -q '^FAIL' "$LAST_LOG"; then
        [ "$STEP_RC" -eq 1 ] || fail "doctor" "$STEP_RC" "a FAIL line but exit code $STEP_RC"
      else
        [ "$STEP_RC" -eq 0 ] || fail "doctor" "$STEP_RC" "no FAIL line but exit code $STEP_RC"
      fi
      ;;
    *)
      step "$command" 0 sh_command "$command"
      ;;
  esac
  # What the README promises each command shows, and what a later one needs from it.
  case "$readme" in
    *"rampart --help"*) expect_in "--help" 'replay' "the command list lacks replay" ;;
    *"rampart config show"*)
      expect_in "config show" "$TOUR_DIR/tour.db" "the tour's store URL is not the effective one" ;;
    *"rampart agents"*) expect_in "agents" 'breakout' "the built-in agents are not listed" ;;
    *"rampart replay "*) expect_in "replay" 'final equity' "no figures printed" ;;
    *"rampart data inspect"*) expect_in "data inspect" 'Verdict' "no verdict printed" ;;
    *"rampart optimize"*) expect_in "optimize" "(out-of-sample Sharpe|Out-of-sample the best settings' Sharpe)" "no out-of-sample verdict printed" ;;
    *"rampart check-lookahead"*)
      expect_in "check-lookahead" 'No lookahead' "the trend agent did not pass the lookahead check" ;;
    *"rampart check-warmup"*) expect_in "check-warmup" 'bars of history' "no warm-up table printed" ;;
    *"token create"*)
      TOKEN=$(grep -Eo 'rp_[A-Za-z0-9_-]{20,}' "$LAST_LOG" | head -1 || true)
      [ -n "$TOKEN" ] || fail "token create" "$STEP_RC" "no token printed"
      export TOKEN
      ;;
    *"/health/ready"*) expect_in "/health/ready" '"ready":true' "the service is not ready" ;;
    *"/metrics"*) expect_in "/metrics" 'rampart_orders_total' "no order metric" ;;
    *"kill-switch/release"*)
      expect_in "release" '"engaged":false' "the answer does not say released"
      expect_in "release" '"changed":true' "the release changed nothing"
      ;;
    *"kill-switch"*) expect_in "kill-switch" '"engaged":true' "the answer does not say engaged" ;;
    *"ops export"*)
      ls "$TOUR_DIR/prom"/* >/dev/null 2>&1 || fail "ops export" "$STEP_RC" "no files written" ;;
    *"alerts test"*) expect_in "alerts test" 'delivered' "the test alert was not delivered" ;;
    *"rampart report daily"*)
      expect_in "report daily" 'Stored as report #' "the report was not stored"
      ls "$WORK"/var/reports/daily-*/report.md >/dev/null 2>&1 \
        || fail "report daily" "$STEP_RC" "no Markdown written under var/reports"
      ;;
    *"backup restore"*)
      [ -s "$WORK/var/restored.db" ] || fail "backup restore" "$STEP_RC" "no restored database" ;;
    *"models train"*)
      version=$(grep -Eo 'Registered model [^ ]+' "$LAST_LOG" | awk '{print $3}' | head -1)
      [ -n "$version" ] || fail "models train" "$STEP_RC" "no version registered"
      if [ -z "$V1" ]; then V1=$version; else V2=$version; fi
      ;;
    *"models promote VERSION2"*) expect_in "promote" "was $V1" "the second promotion did not replace the first" ;;
    *"models rollback"*) step "models list --json: VERSION1 serves again" 0 production "$V1" ;;
    *"rampart soak "*)
      if grep -q '^FAIL' "$LAST_LOG"; then fail "soak" "$STEP_RC" "a criterion failed"; fi ;;
    *"wallet create"*)
      expect_in "wallet create" 'public key [1-9A-HJ-NP-Za-km-z]{32,44}' "no public key printed"
      WALLET=$(grep -Eo 'public key [1-9A-HJ-NP-Za-km-z]+' "$LAST_LOG" | awk '{print $3}' | head -1)
      ;;
  esac
done
service_down

if [ "$VAR_WAS_THERE" = no ] && [ -e "$ROOT/var" ]; then
  LAST_LOG=""
  fail "isolation" 0 "the tour created $ROOT/var: a command wrote beside the project, not in $WORK"
fi
echo "tour: $STEPS steps (${#COMMANDS[@]} README commands) passed in $(seconds_since "$TOUR_START") s"
