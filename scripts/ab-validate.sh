#!/usr/bin/env bash
# A/B timing of `validate` builds on one file, runs interleaved so both see the same machine.
# The machine's speed drifts by ±10% within minutes: compare builds side by side, never against
# numbers from earlier.
#
#   scripts/ab-validate.sh RUNS FILE BINARY...
#   e.g. cp target/release/streak-import /tmp/before; (change, build); \
#        scripts/ab-validate.sh 4 target/bench-data/streaks-v1-1000000.csv /tmp/before target/release/streak-import
#
# Prints, per binary, the min and median wall and CPU (user+sys) seconds and the largest peak RSS.
# Needs GNU time (Debian: apt install time) and python3.
set -euo pipefail
runs=$1 file=$2
shift 2
log=$(mktemp)
report=$(mktemp --suffix=.json)
trap 'rm -f "$log" "$report"' EXIT
for _ in $(seq "$runs"); do
  for bin in "$@"; do
    /usr/bin/env time -f "$bin %e %U %S %M" -a -o "$log" \
      env STREAK_IMPORT_NOW=2026-07-01T09:00:00 "$bin" validate "$file" --report "$report" -q || true
  done
done
python3 - "$log" "$@" <<'PY'
import sys, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) == 5:
        runs[p[0]].append((float(p[1]), float(p[2]) + float(p[3]), int(p[4])))
for b in sys.argv[2:]:
    v = runs[b]
    w = sorted(x[0] for x in v)
    c = sorted(x[1] for x in v)
    print(f"{b}: wall min {w[0]:.2f} med {w[len(w)//2]:.2f} | cpu min {c[0]:.2f} med {c[len(c)//2]:.2f} | peak {max(x[2] for x in v)//1024} MB")
PY
