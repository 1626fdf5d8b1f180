#!/usr/bin/env bash
# Fuzzes the control API from its own OpenAPI document with Schemathesis: generated and mutated
# requests (bad queries, paths, bodies, methods, missing tokens) against a real `load-tester
# serve`; every answer must be a status its operation lists, with the documented content type and
# schema, never a 5xx; secured operations must refuse calls without the token.
#
#   tests/api-fuzz.sh path/to/load-tester        (needs `pip install schemathesis`)
#
# Left out: the SSE streams (they never end), and `PATCH /api/settings` (fuzzed values would
# change the rate limit and caps of the server under test mid-run; tests/e2e covers it). The
# `positive_data_acceptance` check is off: a scenario's YAML, its durations ("30s") and its
# cross-field rules are checked by the server beyond what a JSON schema can say, and answer 422.
set -euo pipefail

LT="${1:?usage: tests/api-fuzz.sh path/to/load-tester}"
cd "$(dirname "$0")/.."
command -v schemathesis >/dev/null || { echo "schemathesis is not installed: pip install schemathesis" >&2; exit 1; }

work="$(mktemp -d)"
token="fuzz-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LT_API_TOKEN="$token" LT_RATE_LIMIT=0 LT_MAX_SESSIONS=2 LT_MAX_USERS_PER_SESSION=5 \
  "$LT" serve --no-targets --bind "127.0.0.1:$port" --data-dir "$work/data" \
  --scenarios-dir scenarios >"$work/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/api/health" >/dev/null || { cat "$work/serve.log"; exit 1; }

schemathesis run "http://127.0.0.1:$port/api/openapi.json" \
  --header "Authorization: Bearer $token" \
  --exclude-path-regex '/events$' \
  --exclude-operation-id change_settings \
  --checks all --exclude-checks positive_data_acceptance \
  --phases examples,coverage,fuzzing \
  --max-examples 50 --seed 20261201 --workers 1 \
  --no-color --output-truncate false
