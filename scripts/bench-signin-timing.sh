#!/usr/bin/env bash
# Whether sign-in timing tells known emails from unknown ones: wrong passwords for a real account
# and for an address with no account, interleaved, median and quartiles of each (release build).
# Usage: scripts/bench-signin-timing.sh   (HF_TRIES, default 90 each; HF_BIN runs that binary)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${HF_BIN:-target/release/holdfast}
[ -n "${HF_BIN:-}" ] || cargo build --release --quiet
data=$(mktemp -d /tmp/hf-bench-timing.XXXXXX)
port=18445
tries=${HF_TRIES:-90}
$bin --data-dir "$data" admin create-workspace --name Bench >/dev/null
echo "walrus ceiling paprika tundra" | $bin --data-dir "$data" admin create-user --workspace Bench \
  --email known@bench.example --name "Known Person" --role staff >/dev/null
# Measures the sign-in path itself, not the limiter that would stop this many failures.
$bin --data-dir "$data" admin settings set rate_limit.enabled false >/dev/null
$bin --data-dir "$data" serve --listen 127.0.0.1:$port --http-listen off >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
curl_() { curl -s --cacert "$data/tls/cert.pem" --resolve localhost:$port:127.0.0.1 "$@"; }
for _ in $(seq 100); do curl_ -f https://localhost:$port/health >/dev/null && break; sleep 0.05; done
attempt() {  # email → seconds the POST took
  local jar=$data/jar.$RANDOM csrf
  csrf=$(curl_ -c "$jar" -b "$jar" https://localhost:$port/login | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
  curl_ -c "$jar" -b "$jar" -o /dev/null -w '%{time_total}\n' -d "csrf_token=$csrf" \
    --data-urlencode "email=$1" --data-urlencode "password=not the right password" https://localhost:$port/login
  rm -f "$jar"
}
for _ in $(seq 5); do attempt known@bench.example >/dev/null; attempt nobody@bench.example >/dev/null; done
: >"$data/known"; : >"$data/unknown"
for _ in $(seq "$tries"); do
  attempt known@bench.example >>"$data/known"
  attempt nobody@bench.example >>"$data/unknown"
done
summary() {  # file → "p25 / median / p75 ms"
  sort -n "$1" | awk '{v[NR]=$1*1000} END {printf "p25 %.1f / median %.1f / p75 %.1f ms (%d tries)\n", v[int(NR*0.25)+1], v[int(NR*0.5)+1], v[int(NR*0.75)+1], NR}'
}
echo "known email, wrong password:   $(summary "$data/known")"
echo "unknown email:                 $(summary "$data/unknown")"
