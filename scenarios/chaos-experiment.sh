#!/usr/bin/env bash
# A scripted chaos experiment: runs chaos-resilience.yaml headless against the chaos service and
# switches its faults on at set times from the start of the run, then prints the report's totals.
#
#   targets chaos &                                  # or: targets all
#   scenarios/chaos-experiment.sh                    # LT=path/to/load-tester CHAOS_URL=http://host:port
#
# Schedule (seconds after the start): 20 hang for 10 s; 45 Redis "network block" for 15 s;
# 75 error burst (60% answer 503) for 15 s; 105 CPU load for 15 s; the run lasts 2m30s.
# Every fault ends by itself; Ctrl-C stops the run (its report is still written) and the faults.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
LT="${LT:-load-tester}"
CHAOS_URL="${CHAOS_URL:-http://127.0.0.1:8001}"
REPORT="${REPORT:-chaos-report.json}"

curl -sf "$CHAOS_URL/health" >/dev/null || { echo "the chaos service does not answer at $CHAOS_URL" >&2; exit 1; }

pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  curl -s -XPOST "$CHAOS_URL/chaos/stop" >/dev/null || true
}
trap cleanup EXIT

# at SECONDS PATH JSON: POST the fault at that time (in the background).
at() {
  (sleep "$1" && echo "chaos +$1s: POST $2 $3 -> $(curl -s -XPOST "$CHAOS_URL$2" -H 'content-type: application/json' -d "$3")" >&2) &
  pids+=($!)
}
at 20 /chaos/hang '{"seconds": 10, "scope": "requests"}'
at 45 /chaos/dependency '{"state": "down", "seconds": 15}'
at 75 /chaos/error '{"rate": 0.6, "status": 503, "seconds": 15}'
at 105 /chaos/load '{"seconds": 15, "intensity": 1.0}'

status=0
"$LT" run "$here/chaos-resilience.yaml" --target "$CHAOS_URL" --duration 2m30s --report "$REPORT" || status=$?
echo "load-tester exited $status; report: $REPORT"
exit "$status"
