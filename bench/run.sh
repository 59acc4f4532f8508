#!/bin/bash
# bench/run.sh: measure this project's agent against Debian's snapd agent and against the
# floor (bench/floor, the least a socket-activated responder can do), each in a
# real user session on this machine, in one run, and print markdown tables for
# docs/benchmarks.md. As root, after `make build` (or through `make bench`).
#   BENCH_COLD_RUNS (default 30), BENCH_WARM_FOR (default 3s)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_require_snapd
ours=sat-bench1 theirs=sat-bench2 floor=sat-bench4
out=${BENCH_OUT:-build/bench}
mkdir -p "$out"
go build -o build/agentbench ./bench/agentbench
# The floor is built as the agent is (Makefile's build): static, stripped.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o build/floor ./bench/floor

bench_sessions "$ours" "$theirs" "$floor"
bench_start "$ours" ours
bench_start "$theirs" snapd
# The floor runs from this project's units, with only what it cannot honour changed:
# it does not notify readiness.
floorunits=$out/units-floor
mkdir -p "$floorunits"
cp data/systemd-user/snapd.session-agent.socket "$floorunits/"
sed -e "s|^ExecStart=.*|ExecStart=$PWD/build/floor|" -e 's|^Type=notify|Type=simple|' -e '/^NotifyAccess=/d' \
    data/systemd-user/snapd.session-agent.service.in >"$floorunits/snapd.session-agent.service"
bench_start "$floor" "$floorunits"

args=(-cold-runs "${BENCH_COLD_RUNS:-30}" -warm-for "${BENCH_WARM_FOR:-3s}")
echo "measuring the floor..." >&2
build/agentbench -user "$floor" -label "floor" "${args[@]}" >"$out/floor.json"
echo "measuring snapd's agent..." >&2
build/agentbench -user "$theirs" -label "snapd" "${args[@]}" >"$out/snapd.json"
echo "measuring this agent..." >&2
build/agentbench -user "$ours" -label "this agent" "${args[@]}" >"$out/ours.json"

echo "## Agent core (\`bench/run.sh\`, $(date -u +%Y-%m-%d), $(nproc) cores)"
echo
build/agentbench -table "$out/floor.json" "$out/snapd.json" "$out/ours.json"

# Service control (10 units per request: snapd 2.57.6, Debian 13's snapd 2.68.3, this
# agent and its manager's floor): bench/services.sh brings up its own sessions, so that
# it also runs alone.
echo
bench/services.sh
