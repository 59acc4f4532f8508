#!/bin/bash
# bench/compare.sh BEFORE AFTER: measure two builds of this project's snap binary as
# agents, each in a real user session on this machine, in one run, and print a
# markdown table (before is the baseline). As root. A change that must not cost the
# agent anything is measured this way, against the binary without the change.
#   BENCH_COLD_RUNS (default 30), BENCH_WARM_FOR (default 3s), BENCH_ROUNDS (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ $# = 2 ] || { echo "usage: bench/compare.sh BEFORE AFTER" >&2; exit 1; }
session=tests/lib/user-session
# Users of their own: bench/run.sh may run at the same time with sat-bench1..3.
before=sat-bench5 after=sat-bench6
out=${BENCH_OUT:-build/bench}
mkdir -p "$out"
go build -o build/agentbench ./bench/agentbench

# The agents run as the session users, who may not read a checkout under /root.
bins=$(mktemp -d)
chmod 0755 "$bins"
cleanup() {
    "$session" stop "$before" >/dev/null 2>&1 || true
    "$session" stop "$after" >/dev/null 2>&1 || true
    rm -rf "$bins"
}
trap cleanup EXIT
"$session" stop "$before" >/dev/null 2>&1 || true
"$session" stop "$after" >/dev/null 2>&1 || true
mkdir -p "$bins/before" "$bins/after"
install -m 0755 "$1" "$bins/before/snap"
install -m 0755 "$2" "$bins/after/snap"
SNAP_BINARY=$bins/before/snap "$session" start "$before"
SNAP_BINARY=$bins/after/snap "$session" start "$after"

args=(-cold-runs "${BENCH_COLD_RUNS:-30}" -warm-for "${BENCH_WARM_FOR:-3s}")
# Rounds alternate the two agents, so that a change in the machine's load shows as
# spread between rounds instead of as a difference between the agents.
for round in $(seq 1 "${BENCH_ROUNDS:-1}"); do
    echo "round $round: measuring before..." >&2
    build/agentbench -user "$before" -label "before" "${args[@]}" >"$out/before-$round.json"
    echo "round $round: measuring after..." >&2
    build/agentbench -user "$after" -label "after" "${args[@]}" >"$out/after-$round.json"
    echo
    echo "Round $round:"
    echo
    build/agentbench -table "$out/before-$round.json" "$out/after-$round.json"
done
