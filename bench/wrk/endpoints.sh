#!/usr/bin/env bash
# Measures Puguh's simple endpoints with wrk (a C load generator, as the
# peers in the performance issue were measured) on SQLite:
#   bench/wrk/endpoints.sh ./puguh        # DUR=5s THREADS=2 CONNS=32 by default
# It starts the binary on 127.0.0.1:18299 with a fresh data directory,
# registers a platform operator, lifts its organization to the enterprise
# plan (the free plan's 60/min would answer 429), creates an API key and a
# client_credentials application (its per-client token budget lifted too),
# then runs wrk on each endpoint.
set -euo pipefail
bin=${1:?usage: endpoints.sh PUGUH_BINARY}
port=${PORT:-18299} dur=${DUR:-5s} threads=${THREADS:-2} conns=${CONNS:-32}
here=$(cd "$(dirname "$0")" && pwd)
data=$(mktemp -d)
PUGUH_ADDR=127.0.0.1:$port PUGUH_ADMIN_ADDR=off PUGUH_ISSUER=http://127.0.0.1:$port PUGUH_DATA_DIR=$data PUGUH_LOG_LEVEL=warn \
  PUGUH_TRUSTED_PROXIES=127.0.0.1/32 PUGUH_RATE_LIMIT_TOKEN_PER_CLIENT=1000000 \
  PUGUH_PLATFORM_OPERATORS=bench@example.com "$bin" serve 2>"$data/log" &
pid=$!
trap 'kill $pid; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null && break; sleep 0.1; done

api=http://127.0.0.1:$port/api/v1
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
org=$(curl -sf -XPOST "$api/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery staple","full_name":"Bench"}' | json "['organization_id']")
token=$(curl -sf -XPOST "$api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery staple"}' | json "['access_token']")
auth=(-H "Authorization: Bearer $token" -H "X-Organization-ID: $org" -H 'Content-Type: application/json')
curl -sf -XPATCH "$api/organizations/$org/plan" "${auth[@]}" -d '{"plan":"enterprise","rate_limit":1000000}' >/dev/null
key=$(curl -sf -XPOST "$api/api-keys" "${auth[@]}" -d '{"name":"bench"}' | json "['key']")
app=$(curl -sf -XPOST "$api/applications" "${auth[@]}" -d '{"name":"bench","grant_types":["client_credentials"],"scopes":["read:resources"],"token_endpoint_auth_method":"client_secret_post"}')
id=$(echo "$app" | json "['client_id']") secret=$(echo "$app" | json "['client_secret']")
cc="grant_type=client_credentials&client_id=$id&client_secret=$secret&scope=read:resources"
cctoken=$(curl -sf -XPOST "http://127.0.0.1:$port/oauth/token" -H 'Content-Type: application/x-www-form-urlencoded' -d "$cc" | json "['access_token']")
sleep 6 # plan changes reach the limiter within 5 s

run() {
  local name=$1; shift
  printf '%-28s' "$name"
  wrk -t"$threads" -c"$conns" -d"$dur" "$@" | awk '
    /^LATENCY/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); lat[kv[1]] = kv[2] / 1000 } }
    /Requests\/sec/ { rps = $2 }
    /Non-2xx/ { bad = $5 }
    END { printf "%10s req/s  p50 %6.2f ms  p99 %6.2f ms  p99.9 %6.2f ms  max %7.2f ms  %s\n",
      rps, lat["p50"], lat["p99"], lat["p99.9"], lat["max"], bad ? "NON-2XX: " bad : "" }'
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
get=(-s "$here/get.lua")
run "GET jwks" "${get[@]}" "http://127.0.0.1:$port/.well-known/jwks.json"
run "GET discovery" "${get[@]}" "http://127.0.0.1:$port/.well-known/openid-configuration"
run "GET health (API key)" "${get[@]}" -H "X-API-Key: $key" -H "X-Organization-ID: $org" "$api/health"
run "GET users/me (Bearer)" "${get[@]}" -H "Authorization: Bearer $token" "$api/iam/users/me"
BODY=$cc run "POST token (client_cred.)" -s "$here/post.lua" "http://127.0.0.1:$port/oauth/token"
BODY="token=$cctoken" run "POST introspect" -H "Authorization: Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)" \
  -s "$here/post.lua" "http://127.0.0.1:$port/oauth/introspect"
