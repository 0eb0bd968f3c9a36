#!/usr/bin/env bash
# bench-side-by-side.sh: the Neutron anchor load tool against the real Neutron (noauth, :9697)
# and against Bulwark on the same machine, one after the other, then both tables.
#
# It starts the Neutron anchor with ../shared/anchors/neutron-api/start.sh --noauth
# (state in a temp dir via NEUTRON_ANCHOR_RUN, since shared/ may be read-only; this also starts
# keystone :5000, neutron-server :9696 and PostgreSQL :5433) and bulwark on a free
# 127.0.0.1 port with a fresh SQLite file. It installs the Debian packages that the anchor's
# README lists when they are missing (apt-get update + install, needs root).
# Everything it started is stopped on exit (also on failure or Ctrl-C).
#
# Time: a few minutes of setup (more when packages are installed) plus about 11 minutes of
# Neutron bench at the default c=8 n=1000 list-n=100; Bulwark takes seconds.
#
# Env knobs:
#   BENCH_C=8 BENCH_N=1000 BENCH_LIST_N=100   anchor tool -c / -n / -list-n (both servers)
#   BENCH_TIMEOUT=120s                        per-request timeout of the anchor tool
#   BENCH_OUT=DIR                             also copy the results (json, md, logs) to DIR
#   BENCH_KEEP_TMP=1                          keep the temp dir (neutron state, logs, DB)
#   SHARED_DIR=PATH                           shared/ folder (default: ../shared relative to the repo root)
#   BULWARK_BIN=PATH                          use this prebuilt server binary instead of building bin/bulwark
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED_DIR=${SHARED_DIR:-$ROOT/../shared}
ANCHOR=$SHARED_DIR/anchors/neutron-api
ANCHOR_BENCH_DIR=$ANCHOR/bench

BENCH_C=${BENCH_C:-8}
BENCH_N=${BENCH_N:-1000}
BENCH_LIST_N=${BENCH_LIST_N:-100}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120s}
NEUTRON_BASE=http://127.0.0.1:9697

if command -v go >/dev/null 2>&1; then GO=$(command -v go); else GO=/usr/local/go/bin/go; fi
PY=/usr/bin/python3

log() { echo "[side-by-side] $*" >&2; }
die() { echo "[side-by-side] ERROR: $*" >&2; exit 1; }

{ [ -f "$ANCHOR/start.sh" ] && [ -f "$ANCHOR/stop.sh" ]; } || die "Neutron anchor not found at $ANCHOR (set SHARED_DIR)"
[ -f "$ANCHOR_BENCH_DIR/main.go" ] || die "anchor bench tool not found at $ANCHOR_BENCH_DIR/main.go"
[ "$(id -u)" = 0 ] || die "must run as root (apt-get, postgres via runuser)"

# ------------------------------------------------------------------ Debian packages (anchor README)
PKGS=(neutron-server python3-neutron python3-keystone python3-keystonemiddleware
      python3-openstackclient python3-neutronclient python3-psycopg2
      postgresql sqlite3 uwsgi-core uwsgi-plugin-python3 curl)
MISSING=()
for p in "${PKGS[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then MISSING+=("$p"); fi
done
if [ "${#MISSING[@]}" -gt 0 ]; then
  log "installing missing Debian packages: ${MISSING[*]}"
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${MISSING[@]}" >&2
fi
[ -x "$PY" ] || die "$PY is missing"

# The anchor uses fixed ports; refuse to run next to another instance instead of fighting over them.
port_busy() { "$PY" -c 'import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"; }
for p in 5000 5433 9696 9697; do
  if port_busy "$p"; then die "127.0.0.1:$p is already in use (another Neutron anchor running?); stop it first"; fi
done

# ------------------------------------------------------------------ temp dir + cleanup
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-side-by-side.XXXXXX")
chmod 755 "$TMP"   # the anchor runs postgres as user postgres under $TMP/neutron-run/pg
RUN=$TMP/neutron-run
mkdir -p "$RUN"
NEUTRON_STARTED=0
BULWARK_PID=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$BULWARK_PID" ] && kill -0 "$BULWARK_PID" 2>/dev/null; then
    log "stopping bulwark (pid $BULWARK_PID)"
    kill -TERM "$BULWARK_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$BULWARK_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$BULWARK_PID" 2>/dev/null && kill -KILL "$BULWARK_PID" 2>/dev/null
    wait "$BULWARK_PID" 2>/dev/null || true
  fi
  if [ "$NEUTRON_STARTED" = 1 ]; then
    log "stopping the Neutron anchor"
    NEUTRON_ANCHOR_RUN=$RUN bash "$ANCHOR/stop.sh" >&2 || log "warning: stop.sh failed"
  fi
  if [ "$rc" -ne 0 ]; then
    log "failed (exit $rc)"
    [ -f "$TMP/bulwark.log" ] && { log "bulwark log tail:"; tail -n 20 "$TMP/bulwark.log" >&2 || true; }
    [ -d "$RUN/logs" ] && log "neutron logs were in $RUN/logs (use BENCH_KEEP_TMP=1 to keep them)"
  fi
  if [ -n "${BENCH_OUT:-}" ]; then
    mkdir -p "$BENCH_OUT"
    cp -f "$TMP"/*.json "$TMP"/*.md "$TMP"/*.log "$BENCH_OUT"/ 2>/dev/null || true
    if [ -d "$RUN/logs" ]; then cp -rf "$RUN/logs" "$BENCH_OUT/neutron-logs" 2>/dev/null || true; fi
  fi
  if [ "${BENCH_KEEP_TMP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_http() { # URL PID NAME
  for _ in $(seq 1 300); do
    if [ -n "$2" ] && ! kill -0 "$2" 2>/dev/null; then die "$3 exited before it answered $1"; fi
    if [ "$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$1" 2>/dev/null || true)" = 200 ]; then return 0; fi
    sleep 0.2
  done
  die "$3 did not answer 200 on $1 within 60 s"
}

echo "# Side by side: Neutron anchor vs Bulwark"
echo
echo "* date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "* nproc: $(nproc), CPU: $(grep -m1 '^model name' /proc/cpuinfo | sed 's/^model name[[:space:]]*:[[:space:]]*//' || echo unknown)"
echo "* memory: $(awk '/^MemTotal:/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel: $(uname -sr)"
echo "* neutron-server: $(dpkg-query -W -f='${Version}' neutron-server 2>/dev/null || echo '?')"
echo

# ------------------------------------------------------------------ build
log "building the anchor tool and bulwark"
mkdir -p "$TMP/bin"
(cd "$ANCHOR_BENCH_DIR" && GO111MODULE=off GOFLAGS='' "$GO" build -o "$TMP/bin/neutron-bench" main.go) \
  || die "building the anchor tool failed"
if [ -n "${BULWARK_BIN:-}" ]; then
  [ -x "$BULWARK_BIN" ] || die "BULWARK_BIN=$BULWARK_BIN is not executable"
else
  mkdir -p "$ROOT/bin"
  (cd "$ROOT" && "$GO" build -o ./bin/bulwark ./cmd/bulwark) || die "go build ./cmd/bulwark failed"
  BULWARK_BIN=$ROOT/bin/bulwark
fi

# ------------------------------------------------------------------ start both
log "starting the Neutron anchor (state in $RUN; a minute or more the first time)"
NEUTRON_STARTED=1
NEUTRON_ANCHOR_RUN=$RUN bash "$ANCHOR/start.sh" --noauth >&2 || die "the anchor's start.sh failed (logs: $RUN/logs)"
wait_http "$NEUTRON_BASE/" "" "neutron-server (noauth)"

PORT=${BENCH_PORT:-$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')}
BULWARK_BASE=http://127.0.0.1:$PORT
log "starting bulwark on $BULWARK_BASE"
"$BULWARK_BIN" server --listen "127.0.0.1:$PORT" --db "sqlite:$TMP/bulwark.sqlite" --auth noauth >"$TMP/bulwark.log" 2>&1 &
BULWARK_PID=$!
wait_http "$BULWARK_BASE/v2.0/extensions" "$BULWARK_PID" bulwark

# ------------------------------------------------------------------ bench both
# Bulwark first (seconds), then Neutron (minutes); the idle one keeps running meanwhile.
bench() { # NAME BASE LABEL
  log "anchor tool against $1 ($2): c=$BENCH_C n=$BENCH_N list-n=$BENCH_LIST_N"
  "$TMP/bin/neutron-bench" -base "$2" -noauth -c "$BENCH_C" -n "$BENCH_N" -list-n "$BENCH_LIST_N" \
    -timeout "$BENCH_TIMEOUT" -label "$3" -json "$TMP/$1.json" -v >"$TMP/$1.md" || die "the anchor tool failed against $1"
}
bench bulwark "$BULWARK_BASE" "(Bulwark, noauth, SQLite)"
bench neutron "$NEUTRON_BASE" "(real Neutron $(dpkg-query -W -f='${Version}' neutron-server 2>/dev/null), noauth, PostgreSQL)"

cat "$TMP/neutron.md"
echo
cat "$TMP/bulwark.md"
echo
"$PY" - "$TMP/neutron.json" "$TMP/bulwark.json" <<'PYEOF'
import json, sys
ne = {r["name"].split(" (")[0]: r for r in json.load(open(sys.argv[1]))["results"]}
bw = {r["name"].split(" (")[0]: r for r in json.load(open(sys.argv[2]))["results"]}
print("### Ratios (Bulwark vs Neutron, this run)")
print()
print("| operation | Neutron req/s | Bulwark req/s | req/s ratio | Neutron p99 ms | Bulwark p99 ms | p99 Neutron/Bulwark | errors N/B |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for k, n in ne.items():
    b = bw.get(k)
    if not b:
        print(f"| {k} | {n['req_per_s']:.1f} | - | - | {n['p99_ms']:.1f} | - | - | {n['errors']}/- |")
        continue
    tr = b["req_per_s"] / n["req_per_s"] if n["req_per_s"] else float("inf")
    pr = n["p99_ms"] / b["p99_ms"] if b["p99_ms"] else float("inf")
    print(f"| {k} | {n['req_per_s']:.1f} | {b['req_per_s']:.1f} | {tr:.0f}x | {n['p99_ms']:.1f} | {b['p99_ms']:.2f} | {pr:.0f}x | {n['errors']}/{b['errors']} |")
PYEOF
log "done"
