# bench/lib.sh: what bench/run.sh and bench/services.sh share. Sourced from the top of
# the checkout, after `set -euo pipefail`.
session=tests/lib/user-session

# bench_require_snapd: exits unless run as root with Debian's snapd installed.
bench_require_snapd() {
    [ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
    [ -x /usr/bin/snap ] && [ -f /usr/lib/systemd/user/snapd.session-agent.socket ] ||
        { echo "bench: Debian's snapd is not installed (tests/lib/install-deps installs it)" >&2; exit 1; }
}

# bench_sessions USER...: stops the USERs' sessions now and when the script exits.
bench_sessions() {
    bench_users=("$@")
    trap bench_stop_sessions EXIT
    bench_stop_sessions
}

bench_stop_sessions() {
    local u
    for u in "${bench_users[@]}"; do "$session" stop "$u" >/dev/null 2>&1 || true; done
}

# bench_start USER UNITS: starts USER's session with its agent socket listening, from
# this build's units (UNITS "ours": build/snap), Debian's snapd's ("snapd": the
# manager finds them in /usr/lib/systemd/user) or those in the directory UNITS.
bench_start() {
    local user=$1 units=$2
    case "$units" in
    ours)
        SNAP_BINARY=$PWD/build/snap "$session" start "$user"
        return ;;
    snapd) "$session" start "$user" --no-agent ;;
    *) "$session" start "$user" --units-from "$units" ;;
    esac
    "$session" systemctl "$user" start snapd.session-agent.socket
}
