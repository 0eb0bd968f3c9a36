#!/usr/bin/env bash
# bench-agent.sh: the agent dataplane benchmark behind `make bench-agent`.
#
# Builds bench/agent and runs it as root: for each N (default 100,1000,2000)
# the Neutron anchor workload (../shared/anchors/neutron-iptables, models.py
# bench_model: N ports in one group of 10 rules incl. one remote-group rule,
# one fixed IP + 2 address pairs each) goes through firewall.Compile and
# iptables.Applier into a scratch network namespace ("bwbench-*", created and
# deleted by the tool; the root namespace's firewall is never touched), and
# the floor (plain iptables-restore / ip6tables-restore of the same rendered
# ruleset into a fresh namespace, a one-line --noflush change) is measured in
# the same run. Prints a markdown table: Bulwark vs floor vs Neutron, and the
# targets of issue 3 (met / MISSED).
#
# Exits non-zero only when something failed to run; a missed target is
# reported, not an error.
#
# Env knobs:
#   BENCH_AGENT_N=100,1000,2000   port counts
#   BENCH_AGENT_REPS=7            repetitions of each change (median reported)
#   BENCH_AGENT_FLOOR_REPS=3      fresh namespaces for the floor (median)
#   BENCH_OUT=DIR                 also write the table and raw JSON to DIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH=/usr/local/go/bin:$PATH

if [[ $(id -u) -ne 0 ]]; then
	echo "bench-agent: needs root (creates network namespaces)" >&2
	exit 1
fi
for tool in ip ipset iptables-restore ip6tables-restore iptables-save ip6tables-save; do
	command -v "$tool" >/dev/null || { echo "bench-agent: $tool not installed (scripts/setup.sh installs it)" >&2; exit 1; }
done

go build -o bin/bench-agent ./bench/agent

args=(-n "${BENCH_AGENT_N:-100,1000,2000}" -reps "${BENCH_AGENT_REPS:-7}" -floor-reps "${BENCH_AGENT_FLOOR_REPS:-3}")
if [[ -n ${BENCH_OUT:-} ]]; then
	mkdir -p "$BENCH_OUT"
	args+=(-json "$BENCH_OUT/bench-agent.json")
fi

echo "## Machine"
echo
echo "| | |"
echo "|---|---|"
echo "| nproc | $(nproc) |"
echo "| cpu | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') |"
echo "| mem | $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) |"
echo "| kernel | $(uname -r) |"
echo "| iptables | $(iptables --version) |"
echo "| ipset | $(ipset --version | head -1) |"
echo "| go | $(go version | awk '{print $3}') |"
echo

if [[ -n ${BENCH_OUT:-} ]]; then
	./bin/bench-agent "${args[@]}" | tee "$BENCH_OUT/bench-agent.md"
else
	./bin/bench-agent "${args[@]}"
fi
