#!/usr/bin/env bash
# Requests/s of an authenticated API call with the rate limiter on (limits set high enough that
# nothing is refused) versus off. Usage: scripts/bench-limiter-overhead.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}; rounds=${2:-3}
cargo build --release --quiet
bin=target/release/holdfast
data=$(mktemp -d /tmp/hf-bench-limit.XXXXXX)
port=18446
server=""; trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
$bin admin create-workspace --name Bench --data-dir "$data" >/dev/null
echo "walrus ceiling paprika tundra" | $bin admin create-user --workspace Bench --email bench@bench.example \
  --name "Load Tester" --role staff --data-dir "$data" >/dev/null
token=$($bin admin create-token --email bench@bench.example --label bench --data-dir "$data")
for key in authenticated_per_minute authenticated_burst authenticated_per_hour; do
  $bin admin settings set rate_limit.$key 1000000 --data-dir "$data" >/dev/null
done
run() {
  $bin admin settings set rate_limit.enabled "$1" --data-dir "$data" >/dev/null
  $bin serve --data-dir "$data" --listen 127.0.0.1:$port --http-listen off 2>/dev/null &
  server=$!
  for _ in $(seq 100); do curl -sf --cacert "$data/tls/cert.pem" https://localhost:$port/health >/dev/null && break; sleep 0.05; done
  rps=$(wrk -t2 -c16 -d"${seconds}s" -H "Authorization: Bearer $token" "https://127.0.0.1:$port/api/v1/me" | awk '/Requests\/sec/ {print $2}')
  kill $server; wait $server 2>/dev/null || true
  echo "$rps"
}
for round in $(seq "$rounds"); do
  on=$(run true); off=$(run false)
  echo "round $round: limiter on $on req/s, off $off req/s"
done
