#!/usr/bin/env bash
# A/B runs of the load harness, interleaved (A, B, A, B, …) so both sides see
# the same machine: on a shared or noisy machine, runs minutes apart are not
# comparable, runs side by side are. Prints every run and the medians.
#   bench/ab.sh ROUNDS 'A label' 'A puguh-bench args' 'B label' 'B puguh-bench args'
# e.g. the signing algorithm of client_credentials tokens, one binary:
#   bench/ab.sh 5 rs256 '-bin /tmp/puguh -scenarios client_credentials -token-alg RS256' \
#                 es256 '-bin /tmp/puguh -scenarios client_credentials -token-alg ES256'
# or an old and a new binary: '-bin /tmp/puguh-old …' and '-bin /tmp/puguh-new …'.
# DURATION (8s), CONCURRENCY (32) and USERS (160) apply to both sides.
set -euo pipefail
rounds=${1:?usage: ab.sh ROUNDS LABEL_A ARGS_A LABEL_B ARGS_B} la=${2:?} aa=${3:?} lb=${4:?} ab=${5:?}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
go build -o "$out/puguh-bench" "$here/cmd/puguh-bench"
for i in $(seq "$rounds"); do
  for side in a b; do
    if [ $side = a ]; then label=$la args=$aa; else label=$lb args=$ab; fi
    # shellcheck disable=SC2086 # args are words on purpose
    "$out/puguh-bench" $args -duration "${DURATION:-8s}" -concurrency "${CONCURRENCY:-32}" -users "${USERS:-160}" \
      -json "$out/$label-$i.json" >/dev/null
    python3 - "$out/$label-$i.json" "$label" "$i" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for x in r["results"]:
    print(f'{sys.argv[2]:>10} run {sys.argv[3]}  {x["name"]:<22} {x["rps"]:8.0f}/s  p50 {x["p50_ms"]:7.2f}  p99 {x["p99_ms"]:7.2f}  '
          f'p99.9 {x["p999_ms"]:7.2f}  peak {x["peak_rss_mb"]:6.1f} MB  load {x.get("load_avg", 0):5.2f}  {x.get("note", "")}')
PY
  done
done
python3 - "$out" "$la" "$lb" <<'PY'
import glob, json, statistics, sys
out, labels = sys.argv[1], sys.argv[2:]
print("\nmedians (req/s, p50, p99, p99.9 ms, peak RSS MB, load):")
rows = {}
for label in labels:
    for f in sorted(glob.glob(f"{out}/{label}-*.json")):
        for x in json.load(open(f))["results"]:
            rows.setdefault((x["name"], label), []).append(x)
for (name, label), xs in sorted(rows.items()):
    m = lambda k: statistics.median(x.get(k, 0) for x in xs)
    print(f'{name:<22} {label:>10}  n={len(xs)}  {m("rps"):8.0f}/s  p50 {m("p50_ms"):7.2f}  p99 {m("p99_ms"):7.2f}  '
          f'p99.9 {m("p999_ms"):7.2f}  peak {m("peak_rss_mb"):6.1f}  load {m("load_avg"):5.2f}')
PY
rm -rf "$out"
