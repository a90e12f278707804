#!/usr/bin/env bash
# Lighthouse (npm, pinned in tests/browser-tools) on a seeded server, in Debian's Chromium: the
# sign-in page, the dashboard, the contacts list and a contact page, each as a phone (Lighthouse's
# mobile default: Moto G Power screen, slow 4G and a 4x slower CPU, simulated) and as a desktop
# (--preset=desktop). Prints the score table, keeps the JSON and HTML reports, and fails if any
# category (performance, accessibility, best practices, SEO) of any page scores under 95 (a
# performance under 95 is measured three times and the median counts). About two minutes.
# Needs chromium, curl, openssl, python3 and `npm ci --prefix tests/browser-tools`.
# Usage: scripts/lighthouse.sh   (HF_BIN=PATH measures that binary instead of building a release
# one; HF_LIGHTHOUSE_OUT=DIR keeps the reports there, default target/lighthouse)
set -euo pipefail
cd "$(dirname "$0")/.."
lighthouse=tests/browser-tools/node_modules/.bin/lighthouse
[ -x "$lighthouse" ] || npm ci --prefix tests/browser-tools --no-audit --no-fund --loglevel=error
out=${HF_LIGHTHOUSE_OUT:-${CARGO_TARGET_DIR:-target}/lighthouse}
rm -rf "$out" && mkdir -p "$out"
out=$(cd "$out" && pwd)
# shellcheck source=scripts/demo-server.sh
source scripts/demo-server.sh

# The certificate is self-signed. Chromium is told to accept exactly this server's key (its SPKI
# hash) — as a user who trusted the certificate once — rather than to ignore every certificate
# error: the page stays a secure context and best practices are judged as on a real certificate.
spki=$(openssl x509 -in "$cert" -pubkey -noout | openssl pkey -pubin -outform der |
  openssl dgst -sha256 -binary | base64)
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
flags="--headless=new --no-sandbox --host-resolver-rules='MAP localhost 127.0.0.1'"
flags+=" --ignore-certificate-errors-spki-list=$spki"
headers=$(printf '{"Cookie":"%s"}' "$cookie")

once() { # report-name url form-factor [signed-in]
  local report=$1 url=$2 form=$3 signed_in=${4:-}
  local args=(--quiet --output=json --output=html --output-path="$out/$report"
    --only-categories=performance,accessibility,best-practices,seo --chrome-flags="$flags")
  [ "$form" = desktop ] && args+=(--preset=desktop)
  [ -n "$signed_in" ] && args+=(--extra-headers="$headers")
  # A run that fails outright (now and then: "Something went wrong with recording the trace",
  # NO_NAVSTART) is tried again, twice at most.
  for try in 1 2 3; do
    "$lighthouse" "$url" "${args[@]}" 2>"$out/$report.log" && return
    echo "lighthouse failed on $url ($form), try $try: $(grep -m1 -i error "$out/$report.log" || true)"
  done
  cat "$out/$report.log"
  exit 1
}
performance() { python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["categories"]["performance"]["score"] * 100))' "$1"; }
run() { # name path form-factor [signed-in]
  local name=$1 path=$2 form=$3 signed_in=${4:-}
  once "$name-$form" "$base$path" "$form" "$signed_in"
  # Performance varies from run to run (more so on a busy machine: the simulated phone's CPU is
  # the real one, 4x slower). Under 95, the page is measured twice more and the median run of
  # the three counts, as Lighthouse's documentation advises. The other categories never vary.
  [ "$(performance "$out/$name-$form.report.json")" -ge 95 ] && return
  once "$name-$form-2" "$base$path" "$form" "$signed_in"
  once "$name-$form-3" "$base$path" "$form" "$signed_in"
  local median
  median=$(for r in "$name-$form" "$name-$form-2" "$name-$form-3"; do
    echo "$(performance "$out/$r.report.json") $r"; done | sort -n | sed -n 2p | cut -d' ' -f2)
  echo "$path ($form): performance $(for r in "$name-$form" "$name-$form-2" "$name-$form-3"; do
    performance "$out/$r.report.json"; done | tr '\n' ' ')in three runs; the median counts"
  if [ "$median" != "$name-$form" ]; then
    for ext in report.json report.html; do cp "$out/$median.$ext" "$out/$name-$form.$ext"; done
  fi
}
for form in mobile desktop; do
  run login /login "$form"
  run dashboard / "$form" signed-in
  run contacts /contacts "$form" signed-in
  run contact "/contacts/$contact" "$form" signed-in
done

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
cats = ["performance", "accessibility", "best-practices", "seo"]
print(f'{"page":10} {"form":8} ' + " ".join(f"{c:>14}" for c in cats))
failed = []
for form in ["mobile", "desktop"]:
    for page in ["login", "dashboard", "contacts", "contact"]:
        report = json.load(open(f"{out}/{page}-{form}.report.json"))
        if report.get("runtimeError"):
            failed.append(f'{page} {form}: {report["runtimeError"]["message"]}')
        scores = {c: report["categories"][c]["score"] for c in cats}
        print(f"{page:10} {form:8} " + " ".join(f"{round((scores[c] or 0) * 100):>14}" for c in cats))
        for c in cats:
            if (scores[c] or 0) < 0.95:
                lost = [a["id"] for a in report["categories"][c]["auditRefs"]
                        if a["weight"] > 0 and (report["audits"][a["id"]]["score"] or 0) < 1
                        and report["audits"][a["id"]]["scoreDisplayMode"] in ("binary", "numeric")]
                failed.append(f"{page} {form} {c}: {round((scores[c] or 0) * 100)} ({', '.join(lost)})")
print(f"reports: {out}/*.report.html")
for f in failed:
    print("under 95:", f)
sys.exit(1 if failed else 0)
PY
echo "lighthouse: every category of every page at 95 or more"
