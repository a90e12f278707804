#!/usr/bin/env bash
# Client portal (release build): the home page of 16 clients, each of another company, in a
# workspace of 1,000 companies with 20 shared documents and 10 open requests each — cold (the
# first view of each client after a start), warm, and while the API writes at 8 connections.
# Usage: scripts/bench-portal.sh   (HF_BIN=PATH runs that binary; HF_COMPANIES / HF_SECONDS)
set -euo pipefail
command -v wrk >/dev/null || { echo "this benchmark needs wrk (apt-get install wrk)"; exit 1; }
cd "$(dirname "$0")/.."
bin=${HF_BIN:-${CARGO_TARGET_DIR:-target}/release/holdfast}
[ -n "${HF_BIN:-}" ] || cargo build --release --quiet
data=$(mktemp -d /tmp/hf-bench-portal.XXXXXX)
port=18447
base=https://localhost:$port
seconds=${HF_SECONDS:-10}
password="walrus ceiling paprika tundra"
export HF_WRK_DIR=$PWD/scripts/wrk
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$data"' EXIT
hf() { $bin --data-dir "$data" "$@"; }

hf admin create-workspace --name Bench >/dev/null
echo "$password" | hf admin create-user --workspace Bench --email owner@bench.example --name "Bench Owner" --role owner >/dev/null
# Load tests measure the portal, not the limiter or a scripted second factor.
hf admin settings set rate_limit.enabled false >/dev/null
hf admin settings set security.mfa_required_roles "" >/dev/null
echo "== seed"
hf dev seed --workspace Bench --contacts 0 --companies "${HF_COMPANIES:-1000}" --deals 0 \
  --portal-documents 20 --portal-requests 10 2>/dev/null
token=$(hf admin create-token --email owner@bench.example --label bench)

curl_() { curl -s --cacert "$data/tls/cert.pem" --resolve localhost:$port:127.0.0.1 "$@"; }
start() {
  $bin --data-dir "$data" serve --listen 127.0.0.1:$port --http-listen off >/dev/null 2>&1 &
  server=$!
  for _ in $(seq 200); do curl_ -f $base/health >/dev/null && return; sleep 0.05; done
  echo "the server did not start"; exit 1
}
stop() { kill $server; wait $server 2>/dev/null || true; server=""; }

# Sixteen clients, each of another company (made offline, so the server is stopped meanwhile).
start
companies=$(curl_ -H "Authorization: Bearer $token" "$base/api/v1/companies?limit=16" | grep -o '"id":"[0-9a-f]\{32\}"' | cut -d'"' -f4)
stop
n=0
for company in $companies; do
  n=$((n + 1))
  echo "$password" | hf admin create-user --workspace Bench --email "client$n@bench.example" --name "Client $n" \
    --role client --company "$company" >/dev/null
done
start
# The seeded companies are indexed for search first; measure on a settled server.
for _ in $(seq 600); do curl_ $base/health/detailed | grep -q '"backlog":0' && break; sleep 1; done

cookies=$data/cookies
: >"$cookies"
for i in $(seq "$n"); do
  jar=$data/jar$i
  csrf=$(curl_ -c "$jar" -b "$jar" $base/login | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
  curl_ -c "$jar" -b "$jar" -o /dev/null -d "csrf_token=$csrf" --data-urlencode "email=client$i@bench.example" \
    --data-urlencode "password=$password" $base/login
  awk '$6 ~ /holdfast/ {printf "%s=%s; ", $6, $7}' "$jar" >>"$cookies"
  echo >>"$cookies"
done
check=$(curl_ -H "Cookie: $(head -1 "$cookies")" $base/portal)
echo "$check" | grep -q "Waiting for you" || { echo "a client's home page did not render"; exit 1; }
echo "home page: $(echo "$check" | grep -o 'href="/portal/requests/' | wc -l) open requests listed, $(echo "$check" | grep -o 'href="/portal/documents/' | wc -l) new documents"

echo "== cold: each client's first home page after a restart (ms)"
stop; start
while read -r cookie; do
  curl_ -H "Cookie: $cookie" -o /dev/null -w '%{time_starttransfer}\n' $base/portal
done <"$cookies" | sort -n | awk '{t[NR]=$1*1000} END {printf "p50 %.2f ms  max %.2f ms  (%d clients, one view each, TLS handshake included)\n", t[int((NR+1)/2)], t[NR], NR}'

echo "== portal home, 16 clients in turn (16 connections, ${seconds}s)"
HF_COOKIES=$cookies HF_PATH=/portal wrk -t2 -c16 -d"${seconds}s" -s scripts/wrk/get-as-many.lua "https://127.0.0.1:$port" | tail -1
echo "== portal home while the API creates contacts at 8 connections (${seconds}s)"
HF_TOKEN=$token wrk -t1 -c8 -d"${seconds}s" -s scripts/wrk/create-contact.lua "https://127.0.0.1:$port" >"$data/writes" &
writer=$!
HF_COOKIES=$cookies HF_PATH=/portal wrk -t2 -c16 -d"${seconds}s" -s scripts/wrk/get-as-many.lua "https://127.0.0.1:$port" | tail -1
wait $writer
echo "   writes meanwhile: $(tail -1 "$data/writes")"
echo "== documents page, 16 clients in turn (${seconds}s)"
HF_COOKIES=$cookies HF_PATH=/portal/documents wrk -t2 -c16 -d"${seconds}s" -s scripts/wrk/get-as-many.lua "https://127.0.0.1:$port" | tail -1
echo "store: $(du -sh "$data/holdfast.redb" | cut -f1), files: $(ls "$data/files" | wc -l)"
