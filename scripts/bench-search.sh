#!/usr/bin/env bash
# Search latency (API and as-you-type suggestions, p95 at 8 concurrent clients), rebuild time,
# index size and server memory on seeded data (release build).
# Usage: scripts/bench-search.sh            (HF_CONTACTS=100000 HF_DURATION=20s override)
# HF_DATA=DIR keeps the seeded data dir for the next run, which then skips seeding and rebuilding.
set -euo pipefail
command -v wrk >/dev/null || { echo "this benchmark needs wrk (apt-get install wrk)"; exit 1; }
cd "$(dirname "$0")/.."
contacts=${HF_CONTACTS:-100000}
duration=${HF_DURATION:-20s}
# HF_BIN=PATH runs that binary instead of building one.
bin=${HF_BIN:-${CARGO_TARGET_DIR:-target}/release/holdfast}
[ -n "${HF_BIN:-}" ] || cargo build --release --quiet
data=${HF_DATA:-$(mktemp -d /tmp/hf-bench-search.XXXXXX)}
port=${HF_PORT:-18444}
password="walrus ceiling paprika tundra"
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "${HF_DATA:-}" ] || rm -rf "$data"' EXIT
if [ ! -f "$data/holdfast.redb" ]; then
  $bin admin create-workspace --name Bench --data-dir "$data" >/dev/null
  echo "$password" | $bin admin create-user --workspace Bench --email bench@bench.example \
    --name "Load Tester" --role staff --data-dir "$data" >/dev/null
  $bin admin settings set rate_limit.enabled false --data-dir "$data" >/dev/null
  # The benchmark's browser session signs in with a password only.
  $bin admin settings set security.mfa_required_roles owner,admin --data-dir "$data" >/dev/null
  echo "seeding $contacts contacts (with companies, deals, notes, tasks)"
  $bin dev seed --workspace Bench --contacts "$contacts" --data-dir "$data" 2>&1 | tail -1
  start=$(date +%s.%N)
  $bin search rebuild --data-dir "$data" 2>&1 | tail -1
  echo "rebuild wall time: $(echo "$(date +%s.%N) - $start" | bc) s"
fi
token=$($bin admin create-token --email bench@bench.example --label bench --data-dir "$data")
echo "index size: $(du -sh "$data/search" | cut -f1)   store size: $(du -sh "$data/holdfast.redb" | cut -f1)"
$bin serve --data-dir "$data" --listen 127.0.0.1:$port --http-listen off >/dev/null 2>&1 &
server=$!
base=https://localhost:$port
for _ in $(seq 200); do curl -sf --cacert "$data/tls/cert.pem" $base/health >/dev/null && break; sleep 0.05; done
echo "server RSS at start: $(grep VmRSS /proc/$server/status | awk '{print $2, $3}')"
# A browser session for the HTML suggestions: sign in with the login form's CSRF token.
jar="$data/cookies"
csrf=$(curl -sf --cacert "$data/tls/cert.pem" -c "$jar" $base/login | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -sf --cacert "$data/tls/cert.pem" -b "$jar" -c "$jar" -o /dev/null --data-urlencode "csrf_token=$csrf" \
  --data-urlencode "email=bench@bench.example" --data-urlencode "password=$password" $base/login
cookie="__Host-holdfast_session=$(awk '$6 == "__Host-holdfast_session" {print $7}' "$jar")"
status=$(curl -s --cacert "$data/tls/cert.pem" -H "Cookie: $cookie" -o /dev/null -w '%{http_code}' "$base/search/suggest?q=ada")
[ "$status" = 200 ] || { echo "the benchmark session cannot reach /search/suggest ($status)"; exit 1; }
# Write-to-searchable latency: create a contact with a unique name, poll until the API finds it.
auth="Authorization: Bearer $token"
export HF_WRK_DIR=$PWD/scripts/wrk
probe() {
  local lat=() name t0 sorted id
  for i in $(seq 30); do
    name="Fresh$RANDOM$i"
    t0=$(date +%s%N)
    id=$(curl -sf --cacert "$data/tls/cert.pem" -H "$auth" -H 'Content-Type: application/json' \
      -d "{\"first_name\":\"Latency\",\"last_name\":\"$name\"}" $base/api/v1/contacts | grep -o '"id":"[0-9a-f]*"')
    until curl -sf --cacert "$data/tls/cert.pem" -H "$auth" "$base/api/v1/search?q=$name" | grep -q "$id"; do :; done
    lat+=($(( ($(date +%s%N) - t0) / 1000000 )))
  done
  sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
  echo "write→searchable ($1, 30 writes): median $(echo "$sorted" | sed -n 15p) ms, max $(echo "$sorted" | tail -1) ms"
}
probe "idle server"
HF_TOKEN=$token wrk -t1 -c4 -d120s -s scripts/wrk/create-contact.lua $base > "$data/write-load.txt" &
load=$!
sleep 2
probe "under 4 concurrent API writers"
kill $load 2>/dev/null || true
wait $load 2>/dev/null || true
echo "GET /api/v1/search (8 clients, $duration):"
HF_PATH=/api/v1/search HF_TOKEN=$token wrk -t2 -c8 -d"$duration" -s scripts/wrk/search.lua $base | tail -1
echo "GET /search/suggest (8 clients, $duration):"
HF_PATH=/search/suggest HF_COOKIE=$cookie wrk -t2 -c8 -d"$duration" -s scripts/wrk/search.lua $base | tail -1
echo "server RSS after:  $(grep VmRSS /proc/$server/status | awk '{print $2, $3}')"
echo "server peak RSS:   $(grep VmHWM /proc/$server/status | awk '{print $2, $3}')"
