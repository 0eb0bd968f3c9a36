#!/usr/bin/env bash
# bench-scale.sh: the scale benchmark behind `make bench-scale`.
#
# For each size AGENTS/PORTS in BENCH_SCALE_SIZES it starts a private
# PostgreSQL cluster (pgtest: initdb in a temporary directory, 127.0.0.1 on a
# free port, run as the postgres user when root, fsync on), 3 real
# `bulwark server` processes on it, and bench/scale's N simulated agents (the
# real internal/agent sync loop with a recording Applier) that reach the
# servers round-robin; then the same on SQLite with one server. Prints one
# markdown row per run (columns in docs/scale.md) and, with BENCH_OUT=DIR,
# appends the raw JSON to DIR/bench-scale.jsonl.
#
# Env knobs:
#   BENCH_SCALE_SIZES=100/10000,300/30000,1000/100000   PostgreSQL runs
#   BENCH_SCALE_SQLITE=100/10000                        SQLite runs ("" for none)
#   BENCH_SCALE_SERVERS=3
#   BENCH_SCALE_ARGS="-rule-reps 5 -port-reps 30 -restart-reps 5"
#   BENCH_OUT=DIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH=/usr/local/go/bin:$PATH

ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || {
	echo "bench-scale: PostgreSQL server binaries not installed (scripts/setup.sh installs postgresql)" >&2
	exit 1
}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

go build -o bin/bulwark ./cmd/bulwark
go build -o bin/bench-scale ./bench/scale

json=()
if [[ -n ${BENCH_OUT:-} ]]; then
	mkdir -p "$BENCH_OUT"
	json=(-json "$BENCH_OUT/bench-scale.jsonl")
fi
# shellcheck disable=SC2206
extra=(${BENCH_SCALE_ARGS:-})

echo "| engine × servers | agents | ports | load | first sync | first 3 rule changes, slowest last agent | rule change, every agent: p50 / p99 (last) | one-port change p50 / p99 | agent restart p50 / max | server RSS (peak) | server CPU | PostgreSQL CPU | PostgreSQL load (measured phase) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
IFS=, read -ra sizes <<<"${BENCH_SCALE_SIZES:-100/10000,300/30000,1000/100000}"
for s in "${sizes[@]}"; do
	[[ -z $s ]] && continue
	bin/bench-scale -bin bin/bulwark -db postgres -servers "${BENCH_SCALE_SERVERS:-3}" -agents "${s%/*}" -ports "${s#*/}" "${json[@]}" "${extra[@]}"
done
IFS=, read -ra sizes <<<"${BENCH_SCALE_SQLITE-100/10000}"
for s in "${sizes[@]}"; do
	[[ -z $s ]] && continue
	bin/bench-scale -bin bin/bulwark -db sqlite -agents "${s%/*}" -ports "${s#*/}" "${json[@]}" "${extra[@]}"
done
