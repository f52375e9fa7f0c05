#!/usr/bin/env bash
# One replica against two on PostgreSQL + Redis, behind the same HAProxy, with
# the same load: how close to twice one replica's throughput do the shared
# stores let two replicas get?
#   bench/scaleout.sh /tmp/puguh        # DURATION=6s CONC=32 USERS=60 by default
# For N in 1 and 2 it creates a fresh PostgreSQL database, flushes a Redis
# database, starts N replicas on 127.0.0.1:18401.. sharing both, HAProxy on
# 127.0.0.1:18400 balancing them round robin (the harness's X-Forwarded-For
# passes through; the replicas trust 127.0.0.1), and runs cmd/puguh-bench
# against HAProxy. Everything (generator, HAProxy, replicas, PostgreSQL, Redis)
# shares this machine's cores: read the figure with docs/performance.md's
# capacity model. Needs haproxy, psql/createdb/dropdb, redis-cli and Go.
set -euo pipefail
bin=${1:?usage: scaleout.sh PUGUH_BINARY}
dur=${DURATION:-6s} conc=${CONC:-32} users=${USERS:-60}
scenarios=${SCENARIOS:-client_credentials,bearer_iam_users_me,apikey_health,jwks}
pg=${PG:-postgres://postgres@127.0.0.1:5432} redis_db=${REDIS_DB:-13}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
(cd "$root" && go build -o "$work/puguh-bench" ./cmd/puguh-bench)

for n in 1 2; do
  db=puguh_scaleout
  dropdb -h 127.0.0.1 -U postgres --if-exists "$db"
  createdb -h 127.0.0.1 -U postgres "$db"
  redis-cli -n "$redis_db" flushdb >/dev/null
  servers=""
  for i in $(seq 1 "$n"); do
    port=$((18400 + i))
    PUGUH_ADDR=127.0.0.1:$port PUGUH_ADMIN_ADDR=off PUGUH_ISSUER=http://127.0.0.1:18400 \
      PUGUH_DATA_DIR="$work/data$i" PUGUH_LOG_LEVEL=warn PUGUH_SECRET=scaleout-secret-0123456789-abcdefghijklmnop \
      PUGUH_DATABASE_URL="$pg/$db?sslmode=disable" PUGUH_REDIS_URL="redis://127.0.0.1:6379/$redis_db" \
      PUGUH_TRUSTED_PROXIES=127.0.0.1/32 PUGUH_RATE_LIMIT_TOKEN_PER_CLIENT=1000000 \
      PUGUH_PLATFORM_OPERATORS=bench-operator@example.com "$bin" serve 2>"$work/replica$i.log" &
    pids+=($!)
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null && break; sleep 0.1; done
    servers+="    server r$i 127.0.0.1:$port
"
  done
  cat >"$work/haproxy.cfg" <<EOF
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
frontend puguh
    bind 127.0.0.1:18400
    default_backend replicas
backend replicas
    balance roundrobin
$servers
EOF
  haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do curl -sf http://127.0.0.1:18400/api/v1/health >/dev/null && break; sleep 0.1; done
  echo "== $n replica(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$work/puguh-bench" -target http://127.0.0.1:18400 -scenarios "$scenarios" -duration "$dur" \
    -concurrency "$conc" -users "$users" | grep -E '^[a-z_]+ +[0-9]+ req/s'
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
done
dropdb -h 127.0.0.1 -U postgres --if-exists puguh_scaleout
