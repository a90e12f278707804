#!/usr/bin/env bash
# Field encryption cost (release build): contact create/read throughput through the API with the
# sensitive fields filled (sealed) versus empty, then key rotation speed on N seeded contacts.
# Usage: scripts/bench-field-crypto.sh [SEED_CONTACTS]   (HF_CONTACTS/HF_CONCURRENCY/HF_ROUNDS too)
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-100000}
target=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --bin holdfast --bench field_crypto
bench=$(ls -t "$target"/release/deps/field_crypto-* | grep -v '\.d$' | head -1)
bin=$target/release/holdfast
data=$(mktemp -d /tmp/hf-bench-crypto.XXXXXX)
port=18447
server=""; trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
$bin admin create-workspace --name Bench --data-dir "$data" >/dev/null
echo "walrus ceiling paprika tundra" | $bin admin create-user --workspace Bench --email bench@bench.example \
  --name "Load Tester" --role staff --data-dir "$data" >/dev/null
token=$($bin admin create-token --email bench@bench.example --label bench --data-dir "$data")
$bin admin settings set rate_limit.enabled false --data-dir "$data" >/dev/null
$bin serve --data-dir "$data" --listen 127.0.0.1:$port --http-listen off 2>/dev/null &
server=$!
for _ in $(seq 100); do curl -sf --cacert "$data/tls/cert.pem" https://localhost:$port/health >/dev/null && break; sleep 0.05; done
HF_URL=https://localhost:$port HF_CERT="$data/tls/cert.pem" HF_TOKEN="$token" "$bench"
kill $server; wait $server 2>/dev/null || true; server=""

/usr/bin/time -f "seed: %e s, peak RSS %M KiB" $bin dev seed --workspace Bench --contacts "$seed" --data-dir "$data" >/dev/null
ls -l "$data/holdfast.redb" | awk '{print "store size before rotation: " $5 " bytes"}'
/usr/bin/time -f "keys rotate: %e s wall, peak RSS %M KiB" $bin keys rotate --data-dir "$data" | tail -2
