#!/bin/bash
# bench/services.sh: measure service control (start, status, restart, stop and
# daemon-reload of 10 units, one request each) through snapd 2.57.6's agent, snapd
# 2.68.3's and this project's, each in a real user session, and, in the same rounds as
# this agent's, the same jobs issued directly on its manager (the floor). Prints
# markdown tables for docs/benchmarks.md. As root, after `make build`; bench/run.sh
# runs it after the agent core.
#   BENCH_SERVICE_ROUNDS (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_require_snapd
[ -x build/snap ] || { echo "bench: build/snap is missing: run make build first" >&2; exit 1; }
ours=sat-bench1 theirs=sat-bench2 newest=sat-bench3
out=${BENCH_OUT:-build/bench}
rounds=${BENCH_SERVICE_ROUNDS:-10}
mkdir -p "$out"
go build -o build/agentbench ./bench/agentbench

# Debian 13's snapd 2.68.3 (the first of the two with service-status) runs unpacked.
snapd268=$(bench/fetch-snapd-trixie.sh build/snapd-2.68)
units268=$out/units-2.68
mkdir -p "$units268"
sed "s|/usr/bin/snap|$snapd268|" /usr/lib/systemd/user/snapd.session-agent.service >"$units268/snapd.session-agent.service"
cp /usr/lib/systemd/user/snapd.session-agent.socket "$units268/"

bench_sessions "$ours" "$theirs" "$newest"
bench_start "$ours" ours
bench_start "$theirs" snapd
bench_start "$newest" "$units268"

echo "measuring service control: snapd 2.57.6, snapd 2.68.3, this agent and its manager's floor..." >&2
echo "load before: $(uptime)" >&2
build/agentbench -user "$theirs" -label "snapd" -services "$rounds" >"$out/svc-snapd.json"
build/agentbench -user "$newest" -label "snapd" -services "$rounds" >"$out/svc-snapd268.json"
build/agentbench -user "$ours" -label "this agent" -services "$rounds" -floor >"$out/svc-ours.json"
echo "load after: $(uptime)" >&2
echo
echo "## Service control (\`bench/services.sh\`, same run)"
echo
echo "Against the manager's floor (the same jobs issued directly on the private socket of"
echo "this agent's manager, in the same rounds):"
echo
build/agentbench -floor-table "$out/svc-ours.json"
echo
echo "Against snapd 2.57.6 (no \`service-status\` endpoint):"
echo
build/agentbench -services-table "$out/svc-snapd.json" "$out/svc-ours.json"
echo
echo "Against snapd 2.68.3 (the first of the two with \`service-status\`):"
echo
build/agentbench -services-table "$out/svc-snapd268.json" "$out/svc-ours.json"
