#!/usr/bin/env bash
# Screenshots for the README: a seeded demo firm (scripts/demo-server.sh, fixed seed), signed in
# as its owner, in Debian's Chromium driven by puppeteer-core (pinned in tests/browser-tools):
# the dashboard, the contacts list, a contact, the deals board and Settings → Users, each at
# 1366×900 (desktop) and 390×844 (phone), light and dark, as docs/screenshots/PAGE-FORM-SCHEME.png
# (the viewport only; squeezed with pngquant/optipng when installed).
# Needs chromium, curl, openssl and `npm ci --prefix tests/browser-tools`.
# Usage: scripts/screenshots.sh   (HF_BIN=PATH shows that binary instead of building a release
# one; HF_SCREENSHOTS=DIR writes there instead of docs/screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d tests/browser-tools/node_modules/puppeteer-core ] ||
  npm ci --prefix tests/browser-tools --no-audit --no-fund --loglevel=error
out=${HF_SCREENSHOTS:-docs/screenshots}
# shellcheck source=scripts/demo-server.sh
source scripts/demo-server.sh

# The pages; each screenshot is named after its line's first word.
pages="dashboard=/
contacts=/contacts
contact=/contacts/$contact
deals=/deals
settings=/settings/users"
mkdir -p "$out"
rm -f "$out"/*.png
HF_BASE=$base HF_COOKIE=$cookie HF_PAGES=$pages HF_OUT=$out \
  HF_SPKI=$(openssl x509 -in "$cert" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64) \
  node tests/browser-tools/screenshots.mjs >/dev/null
if command -v pngquant >/dev/null; then
  pngquant --force --skip-if-larger --quality 80-95 --strip --ext .png "$out"/*.png || true
elif command -v optipng >/dev/null; then
  optipng -quiet -o2 "$out"/*.png
fi
ls -l "$out"/*.png | awk '{printf "%7d  %s\n", $5, $9}'
echo "$(ls "$out"/*.png | wc -l) screenshots in $out ($(du -ch "$out"/*.png | tail -1 | cut -f1))"
