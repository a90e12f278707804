#!/usr/bin/env bash
# Files (release build): upload MB/s of a 20 MiB image without and with ClamAV's daemon, the
# server's memory while 8 clients upload 20 MiB at once, and download MB/s through signed links.
# Usage: scripts/bench-files.sh        (HF_BIN=PATH to measure a given binary; HF_ROUNDS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${HF_ROUNDS:-5}
bin=${HF_BIN:-${CARGO_TARGET_DIR:-target}/release/holdfast}
[ -n "${HF_BIN:-}" ] || cargo build --release --quiet
clamd_bin=$(command -v clamd || echo /usr/sbin/clamd)
[ -x "$clamd_bin" ] || { echo "this benchmark needs clamd (apt-get install clamav-daemon)"; exit 1; }
work=$(mktemp -d /tmp/hf-bench-files.XXXXXX)
data=$work/data
port=${HF_PORT:-18446}
base=https://localhost:$port
password="walrus ceiling paprika tundra"
server="" clamd=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$clamd" ] && kill $clamd 2>/dev/null; rm -rf "$work"' EXIT

$bin admin create-workspace --name Bench --data-dir "$data" >/dev/null
echo "$password" | $bin admin create-user --workspace Bench --email bench@bench.example \
  --name "Load Tester" --role manager --data-dir "$data" >/dev/null
$bin admin settings set rate_limit.enabled false --data-dir "$data" >/dev/null
token=$($bin admin create-token --email bench@bench.example --label bench --data-dir "$data")
auth="Authorization: Bearer $token"

# A 20 MiB "photo": a PNG's first bytes, then random bytes (nothing compresses or dedupes it).
photo=$work/photo.png
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89' > "$photo"
head -c $((20 * 1024 * 1024)) /dev/urandom >> "$photo"
size=$(stat -c %s "$photo")

start_server() { # [config file]
  if [ -n "${1:-}" ]; then
    $bin serve --data-dir "$data" --config "$1" --listen 127.0.0.1:$port --http-listen off >/dev/null 2>&1 &
  else
    $bin serve --data-dir "$data" --listen 127.0.0.1:$port --http-listen off >/dev/null 2>&1 &
  fi
  server=$!
  for _ in $(seq 200); do curl -sf --cacert "$data/tls/cert.pem" $base/health >/dev/null 2>&1 && return; sleep 0.05; done
  echo "the server did not start"; exit 1
}
stop_server() { kill $server; wait $server 2>/dev/null || true; server=""; }
api() { curl -sf --cacert "$data/tls/cert.pem" -H "$auth" "$@"; }
upload() { # prints seconds taken
  api -o /dev/null -w '%{time_total}\n' -F "file=@$photo;filename=photo.png" "$base/api/v1/contacts/$contact/files"
}
mbps() { echo "scale=1; $size * $1 / 1048576 / $2" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
uploads() { # label
  local times
  times=$(for _ in $(seq "$rounds"); do upload; done)
  local mid
  mid=$(echo "$times" | median)
  echo "upload 20 MiB, $1: median $(printf '%.3f' "$mid") s = $(mbps 1 "$mid") MB/s ($rounds uploads, one at a time)"
}

start_server
contact=$(api -H 'Content-Type: application/json' -d '{"first_name":"Bench"}' $base/api/v1/contacts |
  sed 's/.*"id":"\([0-9a-f]*\)".*/\1/')
uploads "no scanner"
stop_server

# ClamAV's daemon on a Unix socket, with a one-signature database (freshclam can't download here).
mkdir -p "$work/clamd"
echo "$(head -c 64 /dev/urandom | sha256sum | cut -d' ' -f1):64:Bench.Signature" > "$work/clamd/bench.hsb"
cat > "$work/clamd/clamd.conf" <<EOF
LocalSocket $work/clamd/clamd.sock
DatabaseDirectory $work/clamd
Foreground yes
StreamMaxLength 30M
User root
LogFile $work/clamd/clamd.log
EOF
"$clamd_bin" -c "$work/clamd/clamd.conf" >/dev/null 2>&1 &
clamd=$!
for _ in $(seq 300); do [ -S "$work/clamd/clamd.sock" ] && break; sleep 0.1; done
printf '[scan]\nclamd = "unix:%s"\n' "$work/clamd/clamd.sock" > "$work/holdfast.toml"
start_server "$work/holdfast.toml"
uploads "scanned by clamd"

echo "server RSS before concurrent uploads: $(grep VmRSS /proc/$server/status | awk '{print $2, $3}')"
for round in 1 2; do
  peak=0
  ( for _ in $(seq 8); do upload >/dev/null & done; wait ) &
  uploaders=$!
  t0=$(date +%s.%N)
  while kill -0 $uploaders 2>/dev/null; do
    rss=$(grep VmRSS /proc/$server/status | awk '{print $2}')
    [ "$rss" -gt "$peak" ] && peak=$rss
    sleep 0.05
  done
  elapsed=$(echo "$(date +%s.%N) - $t0" | bc)
  echo "round $round: 8 clients uploading 20 MiB at once (scanned): $(printf '%.2f' "$elapsed") s in all = $(mbps 8 "$elapsed") MB/s; server RSS peak while they ran: $peak kB"
done
echo "server RSS after: $(grep VmRSS /proc/$server/status | awk '{print $2, $3}')"

file=$(api "$base/api/v1/contacts/$contact/files" | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
times=$(for _ in $(seq "$rounds"); do
  url=$(api "$base/api/v1/files/$file/link" | sed 's/.*"url":"\([^"]*\)".*/\1/')
  api -o /dev/null -w '%{time_total}\n' "$base$url"
done)
mid=$(echo "$times" | median)
echo "download 20 MiB through a signed link: median $(printf '%.3f' "$mid") s = $(mbps 1 "$mid") MB/s ($rounds downloads)"
echo "stored: $(ls "$data/files" | wc -l) files, $(du -sh "$data/files" | cut -f1)"
