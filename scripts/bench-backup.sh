#!/usr/bin/env bash
# Backups on a seeded store (release build): offline create / verify / restore time and size,
# then API write throughput with and without an online backup running ("Back up now").
# Usage: scripts/bench-backup.sh   (HF_CONTACTS overrides the size; companies = /5, deals = /2)
set -euo pipefail
command -v wrk >/dev/null || { echo "this benchmark needs wrk (apt-get install wrk)"; exit 1; }
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/holdfast
data=$(mktemp -d /tmp/hf-bench-backup.XXXXXX)
port=18445
base=https://localhost:$port
export HF_WRK_DIR=$PWD/scripts/wrk
pass="$data/passphrase"; echo "ochre lantern gravel whisper harbour tundra 1987" > "$pass"
$bin --data-dir "$data/live" admin create-workspace --name Bench >/dev/null
echo "walrus ceiling paprika tundra" | $bin --data-dir "$data/live" admin create-user --workspace Bench \
  --email bench@bench.example --name "Load Tester" --role owner >/dev/null
$bin --data-dir "$data/live" admin settings set rate_limit.enabled false >/dev/null
$bin --data-dir "$data/live" admin settings set security.mfa_required_roles "" >/dev/null
contacts=${HF_CONTACTS:-100000}
$bin --data-dir "$data/live" dev seed --workspace Bench --contacts "$contacts" 2>/dev/null
echo "store: $(du -h "$data/live/holdfast.redb" | cut -f1)"
t() { local start=$(date +%s.%N); "$@" >/dev/null; echo "$(echo "$(date +%s.%N) - $start" | bc) s"; }
echo "backup create:  $(t $bin --data-dir "$data/live" backup create --out "$data/b.hfb" --passphrase-file "$pass")"
echo "backup size:    $(du -h "$data/b.hfb" | cut -f1)"
echo "backup verify:  $(t $bin backup verify "$data/b.hfb" --passphrase-file "$pass")"
echo "backup restore: $(t $bin --data-dir "$data/restored" backup restore "$data/b.hfb" --passphrase-file "$pass")"

token=$($bin --data-dir "$data/live" admin create-token --email bench@bench.example --label bench)
$bin --data-dir "$data/live" serve --listen 127.0.0.1:$port --http-listen off >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
curl_() { curl -s --cacert "$data/live/tls/cert.pem" --resolve localhost:$port:127.0.0.1 "$@"; }
for _ in $(seq 100); do curl_ -f $base/health >/dev/null && break; sleep 0.05; done
# Let the search indexer take in the seeded records first, so it doesn't share the measurement.
for _ in $(seq 600); do curl_ $base/health/detailed | grep -q '"backlog":0' && break; sleep 1; done
jar=$data/cookies
token_of() { curl_ -c "$jar" -b "$jar" "$base$1" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//'; }
curl_ -c "$jar" -b "$jar" -o /dev/null -d "csrf_token=$(token_of /login)" --data-urlencode "email=bench@bench.example" \
  --data-urlencode "password=walrus ceiling paprika tundra" $base/login
saved=$(curl_ -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}' -d "csrf_token=$(token_of /settings/backups)" \
  --data-urlencode "passphrase=$(cat "$pass")" -d "hour=3&keep_daily=7&keep_weekly=4&keep_monthly=6&second_dir=" \
  $base/settings/backups)
[ "$saved" = 303 ] || { echo "saving the backup settings answered $saved"; exit 1; }

echo "== API creates, no backup running (32 clients, 15 s)"
HF_TOKEN=$token wrk -t2 -c32 -d15s -s scripts/wrk/create-contact.lua "https://127.0.0.1:$port" | grep -E "Requests/sec|p95"
echo "== API creates while 'Back up now' runs (32 clients, 15 s)"
(sleep 1; start=$(date +%s.%N); curl_ -c "$jar" -b "$jar" -o /dev/null -d "csrf_token=$(token_of /settings/backups)" $base/settings/backups/run;
 echo "online backup took $(echo "$(date +%s.%N) - $start" | bc) s") &
HF_TOKEN=$token wrk -t2 -c32 -d15s -s scripts/wrk/create-contact.lua "https://127.0.0.1:$port" | grep -E "Requests/sec|p95"
wait
ls -la "$data/live/backups" | tail -n +2
