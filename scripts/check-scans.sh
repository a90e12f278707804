#!/usr/bin/env bash
# The scans an auditor would run against a fresh server (release build, its own self-signed
# certificate, on 443/80 so the scanners see what users see): testssl.sh — no finding above
# LOW but the two documented below — and the MDN HTTP Observatory — score ≥ 130, no failed
# test. Needs root (ports 443/80), testssl.sh (Debian) and npm.
# Usage: scripts/check-scans.sh   (HF_BIN=PATH scans that binary; CI runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${HF_BIN:-${CARGO_TARGET_DIR:-target}/release/holdfast}
[ -x "$bin" ] || cargo build --release --locked
work=$(mktemp -d /tmp/hf-scans.XXXXXX)
"$bin" --data-dir "$work/data" serve --listen 127.0.0.1:443 --http-listen 127.0.0.1:80 >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -sf --cacert "$work/data/tls/cert.pem" --resolve localhost:443:127.0.0.1 https://localhost/health >/dev/null && break
  sleep 0.1
done
cert=$work/data/tls/cert.pem

echo "== testssl.sh"
# Allowed, with reasons (docs/security.md, "Scans"): a self-signed certificate has no CA to
# publish revocation (cert_revocation); pages are compressed and carry CSRF tokens masked
# afresh in every response, which is BREACH's mitigation (BREACH).
testssl --quiet --color 0 --warnings off --add-ca "$cert" --ip 127.0.0.1 --jsonfile "$work/testssl.json" \
  https://localhost:443 >"$work/testssl.out" 2>&1 || true
python3 - "$work/testssl.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))
items = items if isinstance(items, list) else items.get("scanResult", [])
allowed = {"cert_revocation", "BREACH"}
bad = [i for i in items if i.get("severity") in ("MEDIUM", "HIGH", "CRITICAL") and i.get("id") not in allowed]
for i in items:
    if i.get("severity") in ("MEDIUM", "HIGH", "CRITICAL"):
        print(f'{i["severity"]:8} {i["id"]}: {i.get("finding")}' + ("  (allowed, documented)" if i["id"] in allowed else ""))
print(f"{len(items)} results, {len(bad)} above LOW not allowed")
sys.exit(1 if bad or not items else 0)
PY

echo "== MDN HTTP Observatory"
npm install --prefix "$work/observatory" --no-audit --no-fund --ignore-scripts --loglevel=error @mdn/mdn-http-observatory >/dev/null
package=$work/observatory/node_modules/@mdn/mdn-http-observatory
# With its install scripts skipped: an empty HSTS preload list, and our certificate as the
# extra CA bundle the scanner loads (it trusts nothing else).
echo '{}' >"$package/conf/hsts-preload.json"
mkdir -p "$work/observatory/node_modules/node_extra_ca_certs_mozilla_bundle/ca_bundle"
cp "$cert" "$work/observatory/node_modules/node_extra_ca_certs_mozilla_bundle/ca_bundle/ca_intermediate_bundle.pem"
"$work/observatory/node_modules/.bin/mdn-http-observatory-scan" localhost 2>/dev/null >"$work/observatory.json"
python3 - "$work/observatory.json" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
scan = result.get("scan", {})
failed = [name for name, test in result.get("tests", {}).items() if not test.get("pass")]
print(f'score {scan.get("score")} ({scan.get("grade")}), {scan.get("testsPassed")} passed, failed: {failed or "none"}')
sys.exit(0 if (scan.get("score") or 0) >= 130 and not failed else 1)
PY
echo "scans passed"
