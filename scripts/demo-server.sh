# Sourced by scripts/lighthouse.sh and scripts/screenshots.sh: starts a seeded demo server in a
# fresh data dir and signs its owner in. Deterministic: the same seed gives the same records
# (their dates are relative to today).
# Sets: bin, data, port, base (https://localhost:PORT), cert (the server's self-signed
# certificate), cookie ("Cookie" header value of a signed-in owner), contact (the id of a contact
# with a note, a task and deals), company (its company). Kills the server and removes the data dir on exit.
# Env: HF_BIN=PATH uses that binary instead of building a release one; HF_PORT (default 18645).

bin=${HF_BIN:-${CARGO_TARGET_DIR:-target}/release/holdfast}
if [ -z "${HF_BIN:-}" ]; then
  cargo build --release --locked --quiet
fi
data=$(mktemp -d /tmp/hf-demo.XXXXXX)
port=${HF_PORT:-18645}
base=https://localhost:$port
cert=$data/tls/cert.pem
email=owner@northwind.example
password="harbour lantern meadow quartz"

"$bin" --data-dir "$data" admin create-workspace --name Northwind >/dev/null
echo "$password" | "$bin" --data-dir "$data" admin create-user --workspace Northwind \
  --email "$email" --name "Alex Morgan" --role owner >/dev/null
# A team, so records have several owners and Settings → Users has people in it.
for who in "priya.shah:Priya Shah:admin" "tom.becker:Tom Becker:manager" "lena.fischer:Lena Fischer:staff" \
  "omar.haddad:Omar Haddad:staff"; do
  IFS=: read -r login name role <<<"$who"
  echo "$password" | "$bin" --data-dir "$data" admin create-user --workspace Northwind \
    --email "$login@northwind.example" --name "$name" --role "$role" >/dev/null
done
# A scripted sign-in has no authenticator: the owner is not made to enrol one first.
"$bin" --data-dir "$data" admin settings set security.mfa_required_roles "" >/dev/null
"$bin" --data-dir "$data" dev seed --workspace Northwind --contacts 240 --companies 40 --deals 90 \
  --seed 20 >/dev/null 2>&1
token=$("$bin" --data-dir "$data" admin create-token --email "$email" --label demo)
"$bin" --data-dir "$data" serve --listen 127.0.0.1:"$port" --http-listen off >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data"' EXIT

curl_() { curl -s --cacert "$cert" --resolve "localhost:$port:127.0.0.1" "$@"; }
for _ in $(seq 300); do curl_ -f "$base/health" >/dev/null && break; sleep 0.1; done
curl_ -f "$base/health" >/dev/null || { cat "$data/server.log"; echo "the server did not start"; exit 1; }
# Let the seeded records be indexed for search first: pages are measured on a settled server.
for _ in $(seq 120); do
  curl_ "$base/health/detailed" | grep -q '"backlog":0' && break
  sleep 0.5
done

jar=$data/cookies
csrf=$(curl_ -c "$jar" -b "$jar" "$base/login" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 |
  sed 's/.*value="//; s/"$//')
curl_ -c "$jar" -b "$jar" -o /dev/null -d "csrf_token=$csrf" --data-urlencode "email=$email" \
  --data-urlencode "password=$password" "$base/login"
cookie=$(awk '$6 ~ /holdfast_session/ {printf "%s=%s", $6, $7}' "$jar")
[ -n "$cookie" ] || { echo "signing in failed: no session cookie"; exit 1; }

api() { curl_ -f -H "Authorization: Bearer $token" "$@"; }
# The contact page shown: the first seeded contact with a note (every fifth has one, every tenth a
# task), given a second note and a deal so the page is as full as a real one.
contact=$(api "$base/api/v1/notes?limit=1" | grep -o '"subject_id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
company=$(api "$base/api/v1/contacts/$contact" | grep -o '"company_id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
[ -n "$contact" ] && [ -n "$company" ] || { echo "no seeded contact with a note and a company"; exit 1; }
api -o /dev/null -H 'Content-Type: application/json' "$base/api/v1/notes" -d "{\"subject_kind\":\"contact\",\"subject_id\":\"$contact\",\"body\":\"Call went well: they want the **annual plan** for 25 seats. Send the quote by Friday and loop in finance.\"}"
api -o /dev/null -H 'Content-Type: application/json' "$base/api/v1/deals" -d "{\"name\":\"Annual plan, 25 seats\",\"company_id\":\"$company\",\"contact_ids\":[\"$contact\"],\"stage\":\"proposal\",\"expected_close\":\"$(date -d "+21 days" +%F)\",\"amount\":\"18750.00\",\"currency\":\"EUR\",\"probability\":60}"
