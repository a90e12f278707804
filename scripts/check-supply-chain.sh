#!/usr/bin/env bash
# Supply chain: `cargo deny` (advisories from a RustSec snapshot, offline; licence allow-list;
# bans; sources — deny.toml) must pass, then the CycloneDX SBOM of the shipped binary's
# dependencies is written to target/sbom/holdfast.cdx.json (the Debian package carries it).
# Needs cargo-deny and cargo-cyclonedx.
# Usage: scripts/check-supply-chain.sh   (HOLDFAST_ADVISORY_DB=DIR: the snapshot, by default
# ../shared/advisory-db)
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}

snapshot=${HOLDFAST_ADVISORY_DB:-../shared/advisory-db}
if [ -d "$snapshot/crates" ]; then
  # cargo-deny reads a git checkout named after the database URL: make one from the snapshot,
  # dated by its SNAPSHOT file so the age shown is the data's.
  dbs=$(mktemp -d)
  trap 'rm -rf "$dbs"' EXIT
  db="$dbs/advisory-db-3157b0e258782691"
  mkdir -p "$db" && cp -r "$snapshot/." "$db/"
  date=$(grep -oE '\(20[0-9]{2}-[0-9]{2}-[0-9]{2}\)' "$snapshot/SNAPSHOT" 2>/dev/null | tr -d '()' || true)
  date=${date:-$(date -u +%F)}T00:00:00Z
  (cd "$db" && git init -q && git add -A \
    && GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date \
       git -c user.name=holdfast-ci -c user.email=ci@localhost commit -qm "advisory-db snapshot")
  echo "== cargo deny (advisories from $snapshot, $(find "$db/crates" -name '*.md' | wc -l) advisories)"
  HOLDFAST_ADVISORY_DBS=$dbs cargo deny --offline --locked check
else
  # Without the snapshot there is nothing to compare against offline: say so loudly, and still
  # hold licences, bans and sources.
  echo "WARNING: no advisory database at $snapshot (set HOLDFAST_ADVISORY_DB); advisories NOT checked"
  dbs=$(mktemp -d)
  trap 'rm -rf "$dbs"' EXIT
  HOLDFAST_ADVISORY_DBS=$dbs cargo deny --offline --locked check bans licenses sources
fi

echo "== CycloneDX SBOM"
cargo cyclonedx --format json --spec-version 1.5 --no-build-deps \
  --target x86_64-unknown-linux-gnu --override-filename holdfast.cdx
mkdir -p "$target/sbom"
mv holdfast.cdx.json "$target/sbom/holdfast.cdx.json"
python3 - "$target/sbom/holdfast.cdx.json" <<'PY'
import json, sys
sbom = json.load(open(sys.argv[1]))
names = {c["name"] for c in sbom["components"]}
assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5", "not a CycloneDX 1.5 document"
assert sbom["metadata"]["component"]["name"] == "holdfast"
for needed in ("ring", "rustls", "redb", "tantivy", "instant-acme"):
    assert needed in names, f"{needed} missing from the SBOM"
for absent in ("aws-lc-rs", "openssl", "fantoccini"):
    assert absent not in names, f"{absent} must not ship"
print(f"{sys.argv[1]}: {len(names)} components")
PY
