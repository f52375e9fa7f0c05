#!/usr/bin/env bash
# Puguh against node-oidc-provider 9, one after the other on this machine with
# the same wrk settings, so every figure comes out as a ratio from one run:
#   bench/peer/compare.sh /tmp/puguh        # DUR=8s THREADS=2 CONNS=32 by default
# Puguh: bench/wrk/endpoints.sh (SQLite, a fresh data directory). The peer:
# bench/peer/oidc-provider.mjs (in-memory adapter, JWT access tokens, RS256
# with a 2048-bit key, one confidential client_credentials client), installed
# here from the npm registry on the first run (node_modules is not tracked).
# Rows: JWKS, discovery, client_credentials, and introspection (of a JWT access
# token at Puguh; node-oidc-provider introspects only opaque tokens, so of an
# opaque one there). Needs wrk, node >= 20, npm, curl, python3.
set -euo pipefail
bin=${1:?usage: compare.sh PUGUH_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
export DUR=${DUR:-8s} THREADS=${THREADS:-2} CONNS=${CONNS:-32}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== $(date -u +%FT%TZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); wrk -t$THREADS -c$CONNS -d$DUR"
echo "== Puguh ($bin)"
"$here/../wrk/endpoints.sh" "$bin" | tee "$out/puguh.txt"

echo "== node-oidc-provider"
[ -d "$here/node_modules/oidc-provider" ] || (cd "$here" && npm ci --no-audit --no-fund >/dev/null)
port=${PEER_PORT:-18300} secret=bench-secret-$RANDOM$RANDOM-0123456789abcdef0123456789abcdef
PORT=$port CLIENT_SECRET=$secret node "$here/oidc-provider.mjs" >"$out/peer.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 100); do grep -q "^oidc-provider http" "$out/peer.log" && break; sleep 0.1; done
base=http://127.0.0.1:$port
cc="grant_type=client_credentials&client_id=bench&client_secret=$secret&scope=read:resources"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
opaque=$(curl -sf -XPOST "$base/token" -d "$cc&resource=urn:puguh-bench:opaque" | json "['access_token']")
curl -sf -XPOST "$base/token/introspection" -d "token=$opaque&client_id=bench&client_secret=$secret" | grep -q '"active":true' ||
  { echo "the peer does not introspect its own token" >&2; exit 1; }
run() {
  local name=$1; shift
  printf '%-28s' "$name"
  wrk -t"$THREADS" -c"$CONNS" -d"$DUR" "$@" | awk '
    /^LATENCY/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); lat[kv[1]] = kv[2] / 1000 } }
    /Requests\/sec/ { rps = $2 }
    /Non-2xx/ { bad = $5 }
    END { printf "%10s req/s  p50 %6.2f ms  p99 %6.2f ms  p99.9 %6.2f ms  max %7.2f ms  %s\n",
      rps, lat["p50"], lat["p99"], lat["p99.9"], lat["max"], bad ? "NON-2XX: " bad : "" }'
}
{
  run "GET jwks" -s "$here/../wrk/get.lua" "$base/jwks"
  run "GET discovery" -s "$here/../wrk/get.lua" "$base/.well-known/openid-configuration"
  BODY=$cc run "POST token (client_cred.)" -s "$here/../wrk/post.lua" "$base/token"
  BODY="token=$opaque&client_id=bench&client_secret=$secret" run "POST introspect" -s "$here/../wrk/post.lua" "$base/token/introspection"
} | tee "$out/peer.txt"

echo "== Puguh / node-oidc-provider"
python3 - "$out/puguh.txt" "$out/peer.txt" <<'PY'
import re, sys
def rows(path):
    out = {}
    for line in open(path):
        m = re.match(r"(.{28})\s*([\d.]+) req/s\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms\s+p99\.9\s+([\d.]+) ms", line)
        if m:
            out[m.group(1).strip()] = [float(x) for x in m.groups()[1:]]
    return out
a, b = rows(sys.argv[1]), rows(sys.argv[2])
print(f"{'endpoint':<28}{'req/s':>22}{'ratio':>7}{'p99 ms':>18}{'p99.9 ms':>18}")
for name in b:
    if name in a:
        (ra, _, pa, qa), (rb, _, pb, qb) = a[name], b[name]
        print(f"{name:<28}{ra:>10.0f} vs {rb:>8.0f}{ra / rb:>7.2f}{pa:>8.1f} vs {pb:>6.1f}{qa:>8.1f} vs {qb:>6.1f}")
PY
