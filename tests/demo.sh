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

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() { "$session" stop "$user" >/dev/null 2>&1 || true; }
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
"$snap" sessions list || true

step "Root asks the agents to exit (as after an upgrade); the next call starts a fresh one"
"$snap" sessions exit || true
sleep 0.5
curl -sS --unix-socket "$sock" http://localhost/v1/session-info; echo

step "A bad request gets a clear error"
curl -sS --unix-socket "$sock" -H 'Content-Type: application/json' \
    -d '{"action":"start","services":["snap.*"],"bogus":1}' http://localhost/v1/service-control; echo

step "Done; the session is torn down"
