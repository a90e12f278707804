#!/usr/bin/env bash
# Builds the Debian package, installs it, and checks what an IT contractor would: the packaged
# config passes `holdfast check-config` as the `holdfast` user, the packaged binary serves
# /health with that config, the units verify and expose at most 2.0 (`systemd-analyze
# security`), and purging the package keeps the data. Needs root (dpkg) and cargo-deb.
# Usage: scripts/check-deb.sh   (CI runs it; HF_DEB=FILE checks a package already built)
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${HF_DEB:-}
if [ -z "$deb" ]; then
  cargo deb --locked
  deb=$(ls -t "${CARGO_TARGET_DIR:-target}"/debian/holdfast_*.deb | head -1)
fi
echo "== install $deb"
dpkg -i "$deb"
getent passwd holdfast >/dev/null || { echo "no holdfast user"; exit 1; }
[ "$(stat -c %U:%a /var/lib/holdfast)" = "holdfast:700" ] || { echo "/var/lib/holdfast is not holdfast's, 0700"; exit 1; }

[ -s /usr/share/doc/holdfast/holdfast.cdx.json ] || { echo "the package carries no SBOM"; exit 1; }

echo "== check-config as the holdfast user"
runuser -u holdfast -- holdfast check-config --config /etc/holdfast/holdfast.toml

echo "== /health from the packaged binary and config"
port=18543
runuser -u holdfast -- holdfast serve --config /etc/holdfast/holdfast.toml \
  --listen 127.0.0.1:$port --http-listen off >/tmp/holdfast-deb.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf --cacert /var/lib/holdfast/tls/cert.pem --resolve localhost:$port:127.0.0.1 \
    https://localhost:$port/health && break
  sleep 0.1
done
echo
curl -sf --cacert /var/lib/holdfast/tls/cert.pem --resolve localhost:$port:127.0.0.1 \
  https://localhost:$port/health | grep -q '"status":"ok"' || { cat /tmp/holdfast-deb.log; exit 1; }
kill $server; wait $server 2>/dev/null || true
trap - EXIT

echo "== the units"
systemd-analyze verify /lib/systemd/system/holdfast.service
for unit in holdfast.service holdfast@.service; do
  systemd-analyze security --offline=yes --threshold=20 "/lib/systemd/system/$unit" | tail -1
done

echo "== purge keeps the data"
dpkg --purge holdfast
[ -f /var/lib/holdfast/holdfast.redb ] || { echo "purging deleted the data"; exit 1; }
echo "package checks passed"
