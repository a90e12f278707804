#!/usr/bin/env bash
# CRM performance on a seeded store (release build): list, record page and dashboard latency
# at 16 clients, API create throughput at 32 clients, compressed page weights.
# Usage: scripts/bench-crm.sh   (HF_CONTACTS / HF_COMPANIES / HF_DEALS / HF_SECONDS override)
set -euo pipefail
command -v wrk >/dev/null || { echo "this benchmark needs wrk (apt-get install wrk)"; exit 1; }
cd "$(dirname "$0")/.."
# HF_BIN=PATH runs that binary instead of building one.
bin=${HF_BIN:-target/release/holdfast}
[ -n "${HF_BIN:-}" ] || cargo build --release --quiet
data=$(mktemp -d /tmp/hf-bench-crm.XXXXXX)
port=18444
base=https://localhost:$port
seconds=${HF_SECONDS:-10}
export HF_WRK_DIR=$PWD/scripts/wrk
$bin --data-dir "$data" admin create-workspace --name Bench >/dev/null
echo "walrus ceiling paprika tundra" | $bin --data-dir "$data" admin create-user --workspace Bench \
  --email bench@bench.example --name "Load Tester" --role owner >/dev/null
# Load tests measure the CRM, not the limiter or the second factor of a scripted sign-in.
$bin --data-dir "$data" admin settings set rate_limit.enabled false >/dev/null
$bin --data-dir "$data" admin settings set security.mfa_required_roles "" >/dev/null
echo "== seed"
$bin --data-dir "$data" dev seed --workspace Bench --contacts "${HF_CONTACTS:-100000}" \
  --companies "${HF_COMPANIES:-20000}" --deals "${HF_DEALS:-50000}" 2>/dev/null
token=$($bin --data-dir "$data" admin create-token --email bench@bench.example --label bench)
$bin --data-dir "$data" serve --listen 127.0.0.1:$port --http-listen off >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
curl_() { curl -s --cacert "$data/tls/cert.pem" --resolve localhost:$port:127.0.0.1 "$@"; }
for _ in $(seq 100); do curl_ -f $base/health >/dev/null && break; sleep 0.05; done
# The seeded records are indexed for search first; measure the pages on a settled server.
for _ in $(seq 600); do
  curl_ $base/health/detailed | grep -q '"backlog":0' && break; sleep 1
done
echo "search backlog drained: $(curl_ $base/health/detailed | grep -o '"documents":[0-9]*')"
# ...and the index's segment merges after it: wait until the server idles (≤ 5 % of a core).
busy() { awk '{print $14 + $15}' "/proc/$server/stat"; }
for waited in $(seq 180); do
  before=$(busy); sleep 1
  [ $(($(busy) - before)) -le 5 ] && break
done
echo "server idle after ${waited}s more"

jar=$data/cookies
csrf=$(curl_ -c "$jar" -b "$jar" $base/login | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
curl_ -c "$jar" -b "$jar" -o /dev/null -d "csrf_token=$csrf" --data-urlencode "email=bench@bench.example" \
  --data-urlencode "password=walrus ceiling paprika tundra" $base/login
cookie=$(awk '$6 ~ /holdfast/ {printf "%s=%s; ", $6, $7}' "$jar")
contact=$(curl_ -H "Authorization: Bearer $token" "$base/api/v1/contacts?limit=1&q=n" | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)

page() {
  echo "== $1 (16 clients, ${seconds}s)"
  HF_COOKIE=$cookie HF_PATH=$2 wrk -t2 -c16 -d"${seconds}s" -s scripts/wrk/get-page.lua "https://127.0.0.1:$port" | tail -1
}
page "contacts list: 50 rows, tag=vip, sorted by name" "/contacts?tag=vip&sort=name"
# Every view above after the first is of a page kept since the last write. Here 400 different
# pages (the next links of four tags) are asked for in turn, more than the server keeps: each
# view is computed afresh, as the first view after a write would be.
pages=$data/pages
for tag in vip partner newsletter referral; do
  path="/contacts?tag=$tag&sort=name"
  for _ in $(seq 100); do
    echo "$path" >>"$pages"
    path=$(curl_ -b "$jar" "$base$path" | grep -o '<a href="[^"]*" rel="next"' | head -1 | sed 's/<a href="//; s/" rel="next"//; s/&#38;/\&/g')
    [ -n "$path" ] || break
  done
done
echo "== contacts list, $(wc -l <"$pages") different pages in turn: none kept (16 clients, ${seconds}s)"
HF_COOKIE=$cookie HF_PATHS=$pages wrk -t2 -c16 -d"${seconds}s" -s scripts/wrk/get-pages.lua "https://127.0.0.1:$port" | tail -1
page "contact page" "/contacts/$contact"
page "dashboard" "/"
page "deal board" "/deals"
echo "== API create contact (32 clients, ${seconds}s)"
HF_TOKEN=$token wrk -t2 -c32 -d"${seconds}s" -s scripts/wrk/create-contact.lua "https://127.0.0.1:$port" | grep -E "Requests/sec|p95"

echo "== compressed weight (HTML + CSS + JS, brotli/gzip as a browser asks)"
css=$(curl_ $base/login | grep -o '/static/app[^"]*\.css' | head -1)
js=$(curl_ $base/login | grep -o '/static/app[^"]*\.js' | head -1)
assets=$(( $(curl_ -H 'Accept-Encoding: br, gzip' -o /dev/null -w '%{size_download}' "$base$css") + $(curl_ -H 'Accept-Encoding: br, gzip' -o /dev/null -w '%{size_download}' "$base$js") ))
for path in "/" "/contacts?tag=vip&sort=name" "/contacts/$contact" "/companies" "/deals" "/deals/list" "/tasks" "/contacts/new"; do
  html=$(curl_ -b "$jar" -H 'Accept-Encoding: br, gzip' -o /dev/null -w '%{size_download}' "$base$path")
  echo "$path: $(( html + assets )) bytes (HTML $html + assets $assets)"
done
echo "server RSS: $(grep VmRSS /proc/$server/status | awk '{print $2, $3}')  peak: $(grep VmHWM /proc/$server/status | awk '{print $2, $3}')"
echo "store size: $(du -h "$data/holdfast.redb" | cut -f1)"
