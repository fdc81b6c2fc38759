#!/usr/bin/env bash
# The whole suite with the CPU oversubscribed: `make test-loaded` (LOAD=4 by default). Beside the
# suite's own workers (one a core) it runs (LOAD - 1) busy loops a core, so every core has LOAD
# runnable processes, as on a shared machine at load 4x its cores. Bounded: each loop ends by
# itself after LOADED_MAX_S (default 2 h), and all are killed when the suite ends, whatever
# happens. The suite's own limits are not raised: the tests wait on conditions, not on time.
set -euo pipefail
cd "$(dirname "$0")/.."
LOAD="${LOAD:-4}"
MAX_S="${LOADED_MAX_S:-7200}"
CORES="$(nproc)"
BURNERS=$(( (LOAD - 1) * CORES ))
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
for _ in $(seq 1 "$BURNERS"); do
  timeout "$MAX_S" python3 -c 'while True: pass' &
  pids+=("$!")
done
echo "test-loaded: $BURNERS busy loops beside the suite on $CORES cores (load about ${LOAD}x)"
# The starved tests' helper takes the load into account: 10x stays 10x, not 10x on top of it.
export RAMPART_TEST_LOAD="$LOAD"
.venv/bin/python -m pytest -n "$CORES" --dist worksteal "$@"
