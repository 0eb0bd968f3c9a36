#!/usr/bin/env bash
# bench-api.sh: the API benchmark behind `make bench-api`.
#
# 1. builds bin/bulwark, the Neutron anchor load tool (../shared/anchors/neutron-api/bench/main.go,
#    built from where it is, never copied), bench/floor and bench/getload;
# 2. starts `bulwark server` on a free 127.0.0.1 port with a fresh SQLite file in a mktemp dir;
# 3. runs the anchor tool against it with the parameters of Neutron's noauth row
#    (-noauth -c 8 -n 1000 -list-n 100) and prints its markdown table;
# 4. measures GET /v2.0/ports/{id} with bench/getload against Bulwark and against the
#    "HTTP floor" (bench/floor: bare net/http serving the same bytes);
# 5. prints Bulwark vs Neutron (noauth row of RESULTS.md) with the ratios and the targets:
#    req/s >= 100x Neutron, p99 <= Neutron/20 for every operation, GET port >= 0.5x the floor.
#
# Exits non-zero only when something failed to run (build, start, setup, a tool crashed);
# a missed target is reported, not an error.
#
# Env knobs:
#   BENCH_C=8 BENCH_N=1000 BENCH_LIST_N=100   anchor tool -c / -n / -list-n (GET load also uses BENCH_C)
#   BENCH_GET_SECONDS=10                      duration of each GET load run (bulwark, floor)
#   BENCH_WARMUP_SECONDS=2                    warm-up before each GET load run
#   BENCH_GET_ROUNDS=1                        alternate bulwark/floor GET runs this many times (median is used)
#   BENCH_TIMEOUT=120s                        per-request timeout of the anchor tool (its default)
#   BENCH_OUT=DIR                             also copy the raw results (json, md, server log) to DIR
#   BENCH_KEEP_TMP=1                          keep the temp dir (DB, logs) instead of deleting it
#   SHARED_DIR=PATH                           shared/ folder (default: ../shared relative to the repo root)
#   BULWARK_BIN=PATH                          use this prebuilt server binary instead of building bin/bulwark
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED_DIR=${SHARED_DIR:-$ROOT/../shared}
ANCHOR_BENCH_DIR=$SHARED_DIR/anchors/neutron-api/bench

BENCH_C=${BENCH_C:-8}
BENCH_N=${BENCH_N:-1000}
BENCH_LIST_N=${BENCH_LIST_N:-100}
BENCH_GET_SECONDS=${BENCH_GET_SECONDS:-10}
BENCH_WARMUP_SECONDS=${BENCH_WARMUP_SECONDS:-2}
BENCH_GET_ROUNDS=${BENCH_GET_ROUNDS:-1}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120s}

if command -v go >/dev/null 2>&1; then GO=$(command -v go); else GO=/usr/local/go/bin/go; fi
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

log() { echo "[bench-api] $*" >&2; }
die() { echo "[bench-api] ERROR: $*" >&2; exit 1; }

[ -f "$ANCHOR_BENCH_DIR/main.go" ] || die "anchor bench tool not found at $ANCHOR_BENCH_DIR/main.go (set SHARED_DIR)"
[ -f "$ANCHOR_BENCH_DIR/RESULTS.md" ] || log "warning: $ANCHOR_BENCH_DIR/RESULTS.md not found (Neutron numbers are hard-coded below anyway)"
command -v curl >/dev/null 2>&1 || die "curl is required"
"$PY" -c 'import json' 2>/dev/null || die "python3 is required ($PY)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-bench.XXXXXX")
PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local p
  for p in "${PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
      wait "$p" 2>/dev/null || true
    fi
  done
  if [ "$rc" -ne 0 ] && [ -f "$TMP/bulwark.log" ]; then
    echo "[bench-api] failed (exit $rc); last lines of the bulwark server log:" >&2
    tail -n 40 "$TMP/bulwark.log" >&2 || true
  fi
  if [ -n "${BENCH_OUT:-}" ]; then
    mkdir -p "$BENCH_OUT"
    cp -f "$TMP"/*.json "$TMP"/*.jsonl "$TMP"/*.md "$TMP"/*.log "$BENCH_OUT"/ 2>/dev/null || true
    echo "[bench-api] raw results copied to $BENCH_OUT" >&2
  fi
  if [ "${BENCH_KEEP_TMP:-0}" = 1 ]; then
    echo "[bench-api] kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL PID NAME: wait until URL answers 200 (max 60 s) while PID is alive
wait_http() {
  local url=$1 pid=$2 name=$3
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then die "$name exited before it answered $url"; fi
    if [ "$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$url" 2>/dev/null || true)" = 200 ]; then return 0; fi
    sleep 0.2
  done
  die "$name did not answer 200 on $url within 60 s"
}

# api METHOD PATH [JSON]: prints the response body; fails (with status and body) unless 2xx
api() {
  local method=$1 path=$2 data=${3:-} code
  local args=(-sS --noproxy '*' -o "$TMP/api.out" -w '%{http_code}' -X "$method" -H 'Accept: application/json')
  if [ -n "$data" ]; then args+=(-H 'Content-Type: application/json' --data "$data"); fi
  code=$(curl "${args[@]}" "$BASE$path") || die "$method $path: curl failed"
  case $code in
    2??) cat "$TMP/api.out" ;;
    *) die "$method $path -> HTTP $code: $(head -c 800 "$TMP/api.out")" ;;
  esac
}

# jget KEY1 KEY2 ...: read JSON from stdin and print d[KEY1][KEY2]...
jget() {
  "$PY" -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1:]: d=d[k]
print(d)' "$@"
}

# ------------------------------------------------------------------ machine info
echo "# Bulwark API benchmark"
echo
echo "* date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "* nproc: $(nproc)"
echo "* CPU: $(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | sed 's/^model name[[:space:]]*:[[:space:]]*//' || echo unknown)"
echo "* memory: $(awk '/^MemTotal:/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo 2>/dev/null || echo unknown)"
echo "* kernel: $(uname -srm)"
# shellcheck disable=SC1091
if [ -r /etc/os-release ]; then echo "* OS: $(. /etc/os-release && echo "${PRETTY_NAME:-unknown}")"; fi
echo "* Go: $("$GO" version)"
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no-commit")
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null | head -1)" ]; then REV="$REV+dirty"; fi
echo "* Bulwark: $REV"
echo

# ------------------------------------------------------------------ 1. build
log "building bin/bulwark, the anchor tool, bench/floor, bench/getload (tmp $TMP)"
mkdir -p "$TMP/bin"
if [ -n "${BULWARK_BIN:-}" ]; then
  [ -x "$BULWARK_BIN" ] || die "BULWARK_BIN=$BULWARK_BIN is not executable"
  log "using prebuilt server $BULWARK_BIN"
else
  mkdir -p "$ROOT/bin"
  (cd "$ROOT" && "$GO" build -o ./bin/bulwark ./cmd/bulwark) || die "go build ./cmd/bulwark failed"
  BULWARK_BIN=$ROOT/bin/bulwark
fi
(cd "$ROOT" && "$GO" build -o "$TMP/bin/floor" ./bench/floor) || die "go build ./bench/floor failed"
(cd "$ROOT" && "$GO" build -o "$TMP/bin/getload" ./bench/getload) || die "go build ./bench/getload failed"
# The anchor tool is a single stdlib-only file in a (possibly read-only) folder outside this module:
# GOPATH mode so that no go.mod (ours or any other) is consulted.
(cd "$ANCHOR_BENCH_DIR" && GO111MODULE=off GOFLAGS='' "$GO" build -o "$TMP/bin/neutron-bench" main.go) \
  || die "building the anchor tool from $ANCHOR_BENCH_DIR failed"

# ------------------------------------------------------------------ 2. start bulwark
PORT=${BENCH_PORT:-$(free_port)}
BASE=http://127.0.0.1:$PORT
DB=$TMP/bulwark.sqlite
log "starting bulwark on $BASE (db $DB)"
"$BULWARK_BIN" server --listen "127.0.0.1:$PORT" --db "sqlite:$DB" --auth noauth >"$TMP/bulwark.log" 2>&1 &
BULWARK_PID=$!
PIDS+=("$BULWARK_PID")
wait_http "$BASE/v2.0/extensions" "$BULWARK_PID" bulwark
log "bulwark is up (pid $BULWARK_PID)"

# ------------------------------------------------------------------ 3. anchor tool
echo "## Neutron anchor tool against Bulwark"
echo
echo '```'
echo "neutron-bench -base $BASE -noauth -c $BENCH_C -n $BENCH_N -list-n $BENCH_LIST_N"
echo '```'
log "running the anchor tool (c=$BENCH_C n=$BENCH_N list-n=$BENCH_LIST_N)"
"$TMP/bin/neutron-bench" -base "$BASE" -noauth -c "$BENCH_C" -n "$BENCH_N" -list-n "$BENCH_LIST_N" \
  -timeout "$BENCH_TIMEOUT" -label "(Bulwark $REV, noauth, SQLite)" -json "$TMP/anchor.json" -v \
  >"$TMP/anchor.md" || die "the anchor tool failed (see its messages above)"
cat "$TMP/anchor.md"
echo
kill -0 "$BULWARK_PID" 2>/dev/null || die "bulwark died during the anchor run"

# ------------------------------------------------------------------ 4. GET port vs HTTP floor
log "creating a network, subnet and port for the GET load"
TAG=getload-$$
NET_ID=$(api POST /v2.0/networks "{\"network\": {\"name\": \"$TAG-net\"}}" | jget network id)
SUBNET_ID=$(api POST /v2.0/subnets "{\"subnet\": {\"name\": \"$TAG-subnet\", \"network_id\": \"$NET_ID\", \"ip_version\": 4, \"cidr\": \"10.210.0.0/24\"}}" | jget subnet id)
PORT_ID=$(api POST /v2.0/ports "{\"port\": {\"name\": \"$TAG-port\", \"network_id\": \"$NET_ID\"}}" | jget port id)
GET_URL=$BASE/v2.0/ports/$PORT_ID
read -r GET_CODE GET_CTYPE < <(curl -sS --noproxy '*' -H 'Accept: application/json' -o "$TMP/port-body.json" \
  -w '%{http_code} %{content_type}\n' "$GET_URL") || die "GET $GET_URL: curl failed"
[ "$GET_CODE" = 200 ] || die "GET /v2.0/ports/$PORT_ID -> HTTP $GET_CODE: $(head -c 800 "$TMP/port-body.json")"
case $GET_CTYPE in application/json*) ;; *) log "warning: GET port Content-Type is '$GET_CTYPE'";; esac
BODY_BYTES=$(wc -c <"$TMP/port-body.json")
log "GET port body: $BODY_BYTES bytes, Content-Type '$GET_CTYPE'"

FLOOR_PORT=$(free_port)
FLOOR_URL=http://127.0.0.1:$FLOOR_PORT/v2.0/ports/$PORT_ID
"$TMP/bin/floor" -listen "127.0.0.1:$FLOOR_PORT" -body "$TMP/port-body.json" -content-type "${GET_CTYPE:-application/json}" \
  >"$TMP/floor.log" 2>&1 &
FLOOR_PID=$!
PIDS+=("$FLOOR_PID")
wait_http "$FLOOR_URL" "$FLOOR_PID" floor
cmp -s "$TMP/port-body.json" <(curl -sS --noproxy '*' "$FLOOR_URL") || die "the floor server does not return the same body"

# Each round: bulwark, then the floor (same c, same duration). With BENCH_GET_ROUNDS > 1 the two
# alternate, and the report uses the median round of each (less sensitive to other load on the box).
GL=("$TMP/bin/getload" -c "$BENCH_C" -d "${BENCH_GET_SECONDS}s" -warmup "${BENCH_WARMUP_SECONDS}s" -json)
: >"$TMP/get-bulwark.jsonl"
: >"$TMP/get-floor.jsonl"
for r in $(seq 1 "$BENCH_GET_ROUNDS"); do
  log "round $r/$BENCH_GET_ROUNDS: GET load on bulwark $GET_URL (c=$BENCH_C, ${BENCH_GET_SECONDS}s)"
  "${GL[@]}" -label "bulwark round $r" -url "$GET_URL" >>"$TMP/get-bulwark.jsonl" || die "getload against bulwark failed"
  kill -0 "$BULWARK_PID" 2>/dev/null || die "bulwark died during the GET load"
  log "round $r/$BENCH_GET_ROUNDS: GET load on the floor $FLOOR_URL (c=$BENCH_C, ${BENCH_GET_SECONDS}s)"
  "${GL[@]}" -label "floor round $r" -url "$FLOOR_URL" >>"$TMP/get-floor.jsonl" || die "getload against the floor failed"
done

# tidy up the objects (best effort; the DB is thrown away anyway)
(api DELETE "/v2.0/ports/$PORT_ID" >/dev/null) || log "warning: deleting the GET-load port failed (see above)"
(api DELETE "/v2.0/subnets/$SUBNET_ID" >/dev/null) || log "warning: deleting the GET-load subnet failed (see above)"
(api DELETE "/v2.0/networks/$NET_ID" >/dev/null) || log "warning: deleting the GET-load network failed (see above)"

# ------------------------------------------------------------------ 5. report
"$PY" - "$TMP/anchor.json" "$TMP/get-bulwark.jsonl" "$TMP/get-floor.jsonl" "$BENCH_C" "$BENCH_N" "$BENCH_LIST_N" \
  "$BENCH_GET_SECONDS" "$BODY_BYTES" <<'PYEOF' | tee "$TMP/report.md"
import json, sys

anchor = json.load(open(sys.argv[1]))
def median_round(path):
    rounds = [json.loads(l) for l in open(path) if l.strip()]
    return rounds, sorted(rounds, key=lambda g: g["req_per_s"])[(len(rounds) - 1) // 2]
gb_all, gb = median_round(sys.argv[2])
gf_all, gf = median_round(sys.argv[3])
c, n, list_n, secs, body_bytes = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7], sys.argv[8]

# Neutron 21.0.0 (Zed), noauth, api_workers=2, PostgreSQL 15, c=8 n=1000 list-n=100, same 2-vCPU machine kind:
# the "noauth" table of shared/anchors/neutron-api/bench/RESULTS.md
# (raw: shared/anchors/neutron-api/bench/results/noauth-c8-n1000.json).
# (operation name prefix in the anchor tool's JSON, label, Neutron req/s, Neutron p99 ms)
NEUTRON = [
    ("POST /v2.0/ports", "POST port", 5.5, 5171.6),
    ("GET /v2.0/ports/{id}", "GET port", 53.4, 491.3),
    ("GET /v2.0/ports?network_id", "GET ports?network_id (list)", 3.1, 5380.6),
    ("PUT /v2.0/ports/{id} allowed_address_pairs", "PUT port allowed_address_pairs", 8.2, 2191.4),
    ("POST /v2.0/security-group-rules", "POST security-group-rule", 7.3, 3226.5),
    ("DELETE /v2.0/ports/{id}", "DELETE port", 5.9, 3091.5),
]
TPUT_X, P99_X, FLOOR_X = 100.0, 20.0, 0.5

def find(prefix):
    for r in anchor["results"]:
        name = r["name"]
        if name == prefix or (prefix.endswith("network_id") and name.startswith(prefix)):
            return r
    return None

def yn(ok):
    return "yes" if ok else "**no**"

met = missed = 0
print("## GET /v2.0/ports/{id}: Bulwark vs the HTTP floor")
print()
rounds = len(gb_all)
print(f"bench/getload, closed loop, concurrency {c}, {secs} s each (after warm-up), body {body_bytes} bytes, "
      "the load generator on the same cores"
      + (f"; {rounds} alternating rounds, the ratio uses the median round of each" if rounds > 1 else ""))
print()
print("| target | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
rows = [("Bulwark", gb), ("floor (bare net/http, same bytes)", gf)]
if rounds > 1:
    rows = [(f"Bulwark, round {i+1}", g) for i, g in enumerate(gb_all)] + \
           [(f"floor, round {i+1}", g) for i, g in enumerate(gf_all)]
for name, g in rows:
    print(f"| {name} | {g['requests']} | {g['errors']} | {g['req_per_s']:.0f} | {g['p50_ms']:.3f} | "
          f"{g['p90_ms']:.3f} | {g['p99_ms']:.3f} | {g['max_ms']:.3f} |")
floor_ratio = gb["req_per_s"] / gf["req_per_s"] if gf["req_per_s"] else 0.0
gb_errors = sum(g["errors"] for g in gb_all)
floor_ok = floor_ratio >= FLOOR_X and gb_errors == 0
met, missed = met + floor_ok, missed + (not floor_ok)
print()
print(f"Bulwark / floor throughput: **{floor_ratio:.2f}x** (target >= {FLOOR_X}x: {yn(floor_ok)})"
      + ("" if rounds == 1 else f" (median rounds: {gb['req_per_s']:.0f} / {gf['req_per_s']:.0f} req/s)")
      + ("" if gb_errors == 0 else f"; Bulwark had {gb_errors} errors, first: {next(g.get('first_error', '') for g in gb_all if g['errors'])}"))
print()

print("## Bulwark vs Neutron (noauth row of shared/anchors/neutron-api/bench/RESULTS.md)")
print()
if (c, n, list_n) != (8, 1000, 100):
    print(f"NOTE: this run used c={c} n={n} list-n={list_n}; Neutron's row is c=8 n=1000 list-n=100, "
          "so the comparison is not like for like.")
    print()
print(f"Targets: req/s >= {TPUT_X:.0f}x Neutron and p99 <= Neutron/{P99_X:.0f}, with no errors.")
print()
print("| operation | Neutron req/s | Bulwark req/s | req/s ratio | >= 100x | Neutron p99 ms | Bulwark p99 ms | p99 Neutron/Bulwark | p99 <= 1/20 | errors |")
print("|---|---:|---:|---:|:-:|---:|---:|---:|:-:|---:|")
for prefix, label, nt, np99 in NEUTRON:
    r = find(prefix)
    if r is None:
        print(f"| {label} | {nt} | - | - | **no** (missing) | {np99} | - | - | **no** (missing) | - |")
        missed += 2
        continue
    bt, bp99, errs = r["req_per_s"], r["p99_ms"], r["errors"]
    tr = bt / nt
    pr = np99 / bp99 if bp99 > 0 else float("inf")
    t_ok = tr >= TPUT_X and errs == 0
    p_ok = bp99 <= np99 / P99_X and errs == 0
    met += t_ok + p_ok
    missed += (not t_ok) + (not p_ok)
    print(f"| {label} | {nt} | {bt:.1f} | {tr:.0f}x | {yn(t_ok)} | {np99} | {bp99:.2f} | {pr:.0f}x | {yn(p_ok)} | {errs} |")
print()
print(f"Targets met: {met} of {met + missed}." + (" All met." if missed == 0 else f" Missed: {missed}."))
errs = [(r["name"], r["errors"], r.get("statuses")) for r in anchor["results"] if r["errors"]]
for name, e, st in errs:
    print(f"- errors in {name}: {e} (statuses {st}); the anchor tool printed the first error body above")
PYEOF
log "done"
