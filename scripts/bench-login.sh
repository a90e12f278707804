#!/usr/bin/env bash
# Sign-in throughput, latency and server memory under concurrent sign-ins (release build).
# Usage: scripts/bench-login.sh            (HF_CONCURRENCY / HF_REQUESTS override the levels)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo bench --bench login --no-run --quiet 2>/dev/null
data=$(mktemp -d /tmp/hf-bench-login.XXXXXX)
port=18443
bin=target/release/holdfast
$bin admin create-workspace --name Bench --data-dir "$data" >/dev/null
echo "walrus ceiling paprika tundra" | $bin admin create-user --workspace Bench --email bench@bench.example \
  --name "Load Tester" --role staff --data-dir "$data" >/dev/null
${HF_SERVER_ENV:-} $bin serve --data-dir "$data" --listen 127.0.0.1:$port --http-listen off 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf --cacert "$data/tls/cert.pem" https://localhost:$port/health >/dev/null && break; sleep 0.05; done
echo "server RSS before: $(grep VmRSS /proc/$server/status | awk '{print $2, $3}')"
HF_URL=https://localhost:$port HF_CERT="$data/tls/cert.pem" cargo bench --bench login --quiet 2>/dev/null
echo "server RSS after:  $(grep VmRSS /proc/$server/status | awk '{print $2, $3}')"
echo "server peak RSS:   $(grep VmHWM /proc/$server/status | awk '{print $2, $3}')"
