#!/bin/bash
# bench/notifications.sh: measure notifications in real user sessions, in one run:
# the latency of snapd's pending-refresh request with dunst already running, this
# agent against Debian's snapd 2.57.6 agent, and this agent's idle RSS with its bus
# connection against without one and against the build before notifications. Prints
# markdown tables for docs/benchmarks.md. As root, after `make build` (or through
# `make bench-notifications`).
#   BENCH_POSTS (default 200), BENCH_BEFORE (default 7b9697d, the last commit
#   without notifications)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ -x /usr/bin/snap ] && [ -f /usr/lib/systemd/user/snapd.session-agent.socket ] ||
    { echo "bench: Debian's snapd is not installed (tests/lib/install-deps installs it)" >&2; exit 1; }
command -v dunst >/dev/null && command -v Xvfb >/dev/null ||
    { echo "bench: dunst and Xvfb are needed (tests/lib/install-deps installs them)" >&2; exit 1; }
session=tests/lib/user-session
ours=sat-bench1 theirs=sat-bench2 before=sat-bench4
out=${BENCH_OUT:-build/bench}
posts=${BENCH_POSTS:-200}
base=${BENCH_BEFORE:-7b9697d}
mkdir -p "$out" build/before
go build -o build/agentbench ./bench/agentbench

# The build before notifications, made as `make build` makes this one.
src=$(mktemp -d)
git archive "$base" | tar -x -C "$src"
(cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.Version=$base" -o "$OLDPWD/build/before/snap" ./cmd/snap)
rm -rf "$src"

cleanup() {
    for u in "$ours" "$theirs" "$before"; do "$session" stop "$u" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
cleanup
SNAP_BINARY=$PWD/build/snap "$session" start "$ours"
"$session" desktop "$ours"
"$session" start "$theirs" --no-agent
"$session" systemctl "$theirs" start snapd.session-agent.socket
"$session" desktop "$theirs"
SNAP_BINARY=$PWD/build/before/snap "$session" start "$before"

echo "measuring snapd's agent and this agent, taking turns..." >&2
build/agentbench -user "$theirs" -label "snapd" -and-user "$ours" -and-label "this agent" \
    -notify "$posts" >"$out/notify-pair.json"

echo "measuring this agent without a bus, and the build before notifications..." >&2
home=$(getent passwd "$ours" | cut -d: -f6)
dropin=$home/.config/systemd/user/snapd.session-agent.service.d
install -d -o "$ours" -g "$ours" "$home/.config" "$home/.config/systemd" "$home/.config/systemd/user" "$dropin"
printf '[Service]\nEnvironment=DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent\n' >"$dropin/no-bus.conf"
"$session" systemctl "$ours" daemon-reload
build/agentbench -user "$ours" -label "this agent" -notify 0 >"$out/notify-ours-nobus.json"
rm -r "$dropin"
build/agentbench -user "$before" -label "before" -notify 0 >"$out/notify-before.json"

echo "## Notifications (\`bench/notifications.sh\`, $(date -u +%Y-%m-%d), $(nproc) cores)"
echo
build/agentbench -notify-table "$out/notify-pair.json" "$out/notify-ours-nobus.json" "$out/notify-before.json"
