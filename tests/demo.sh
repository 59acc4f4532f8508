#!/bin/bash
# demo.sh: as root, bring up a throwaway user session on this machine, then show root
# talking to that user's session agent. Run through `make demo` (SNAP_BINARY is this
# build's snap).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
session="$here/lib/user-session"
user=${DEMO_USER:-snapdemo}
snap=${SNAP_BINARY:?SNAP_BINARY must name this build\'s snap binary}
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates a user and a user session)" >&2; exit 1; }

# The agent runs as the demo user, who may not be able to reach a checkout under /root.
bindir=$(mktemp -d)
chmod 0755 "$bindir"
install -m 0755 "$snap" "$bindir/snap"
snap=$bindir/snap
export SNAP_BINARY=$snap

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() { "$session" stop "$user" >/dev/null 2>&1 || true; rm -rf "$bindir"; }
trap cleanup EXIT

step "Bringing up a real systemd --user session for $user, with this build's agent units"
"$session" stop "$user" >/dev/null 2>&1 || true
"$session" start "$user"
uid=$(id -u "$user")
sock=/run/user/$uid/snapd-session-agent.socket
ls -l "$sock"
"$session" systemctl "$user" --no-pager list-units 'snapd.session-agent.*' --all

step "Root connects: the socket starts the agent, which answers as $user"
curl -sS --unix-socket "$sock" http://localhost/v1/session-info; echo
"$session" systemctl "$user" --no-pager status snapd.session-agent.service | head -n 5 || true

step "Root lists every session through the client library"
"$snap" sessions list

step "A user service, controlled by root through the agent and the user's manager"
home=$(getent passwd "$user" | cut -d: -f6)
install -d -o "$user" -g "$user" "$home/.config" "$home/.config/systemd" "$home/.config/systemd/user"
cat >"$home/.config/systemd/user/snap.demo.clock.service" <<'UNIT'
[Unit]
Description=demo snap service
[Service]
ExecStart=/bin/sh -c 'while :; do date; sleep 1; done'
UNIT
chown "$user:" "$home/.config/systemd/user/snap.demo.clock.service"
"$snap" sessions daemon-reload --users="$user"
"$snap" sessions start --users="$user" snap.demo.clock.service
"$snap" sessions status --users="$user" snap.demo.clock.service
"$snap" sessions stop --users="$user" snap.demo.clock.service
"$session" systemctl "$user" --no-pager is-active snap.demo.clock.service || true

step "Bad input is refused before anything runs, and the failing user is named"
"$snap" sessions stop --users="$user" 'snap.*' snap.demo.clock.service || echo "(exit status $?)"

step "Root asks the agents to exit (as after an upgrade); the next call starts a fresh one"
before=$(curl -sS --unix-socket "$sock" http://localhost/v1/session-info)
"$snap" sessions exit --users="$user"
after=$(curl -sS --unix-socket "$sock" http://localhost/v1/session-info)
echo "before: $before"
echo "after:  $after"

step "Done; the session is torn down"
