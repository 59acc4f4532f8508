#!/bin/bash
# bench/userd.sh: `snap userd` against Debian's snapd 2.57.6 userd, in one real user
# session, in one run; prints a markdown table for docs/benchmarks.md. As root, after
# `make build`.
#   BENCH_USERD_RUNS (default 15), BENCH_SNAP (default build/snap)
# Measured per service, runs alternating between the two: the time from a cold OpenURL call (no userd running) to the
# xdg-open it runs (a stand-in that notes the time), median of the runs; this build is
# started by D-Bus activation through systemd (SystemdService=snapd.userd.service),
# snapd's by dbus-daemon's Exec= (the only way it can be started); and the resident
# memory of the running service once idle.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ -f /usr/share/dbus-1/services/io.snapcraft.Launcher.service ] ||
    { echo "bench: Debian's snapd is not installed (tests/lib/install-deps installs it)" >&2; exit 1; }
session=tests/lib/user-session
user=sat-bench4
runs=${BENCH_USERD_RUNS:-15}
bindir=$(mktemp -d)
chmod 0755 "$bindir"
install -m 0755 "${BENCH_SNAP:-build/snap}" "$bindir/snap"
export SNAP_BINARY=$bindir/snap

cleanup() { "$session" stop "$user" >/dev/null 2>&1 || true; rm -rf "$bindir"; }
trap cleanup EXIT
"$session" stop "$user" >/dev/null 2>&1 || true
"$session" start "$user" >/dev/null
home=$(getent passwd "$user" | cut -d: -f6)
as_user() { "$session" run "$user" "$@"; }
services=$home/.local/share/dbus-1/services
install -d -o "$user" -g "$user" "$home/.local" "$home/.local/share" "$home/.local/share/dbus-1" "$home/bin"
printf '#!/bin/sh\ndate +%%s%%N > %s/opened\n' "$home" >"$home/bin/xdg-open"
chmod 0755 "$home/bin/xdg-open"
as_user dbus-update-activation-environment --systemd "PATH=$home/bin:/usr/bin:/bin"
# Both use the same zero-wait stand-in; xdg-mime is not reached for https.

reload() {
    as_user dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.ReloadConfig >/dev/null
}

# owner_pid: the pid of io.snapcraft.Launcher's owner, or nothing.
owner_pid() {
    as_user dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.GetConnectionUnixProcessID string:io.snapcraft.Launcher 2>/dev/null |
        awk '/uint32/ { print $2 }'
}

# cold_call: one OpenURL with no userd running; prints milliseconds to xdg-open.
cold_call() {
    rm -f "$home/opened" "$home/t0"
    as_user sh -c "date +%s%N > $home/t0; exec dbus-send --session --print-reply --reply-timeout=30000 \
        --dest=io.snapcraft.Launcher /io/snapcraft/Launcher io.snapcraft.Launcher.OpenURL \
        string:https://example.com/" >/dev/null
    echo $((($(cat "$home/opened") - $(cat "$home/t0")) / 1000)) | awk '{ printf "%.1f\n", $1 / 1000 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

rss_mib() { awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"; }

# Runs alternate between the two, so that the load of this shared machine falls on
# both alike. snapd's userd comes from Debian's service files (Exec=/usr/bin/snap
# userd); it never exits, so each run ends it by its pid. This build's comes from the
# user's own service files, which take precedence, and exits by systemctl stop.
use_ours() {
    install -d -o "$user" -g "$user" "$services"
    for f in data/dbus/io.snapcraft.{Launcher,Settings,PrivilegedDesktopLauncher}.service.in; do
        sed "s|@bindir@|$bindir|g" "$f" >"$services/$(basename "$f" .in)"
    done
    reload
}
use_theirs() { rm -rf "$services"; reload; }
# The same binary exec'd by dbus-daemon itself, as snapd's is: what the systemd
# activation path costs.
use_ours_direct() {
    use_ours
    sed -i -e "s|^Exec=.*|Exec=$bindir/snap userd|" -e '/^SystemdService=/d' "$services"/*.service
    reload
}
echo "measuring snapd's userd and this one, $runs runs each..." >&2
theirs=() ours=() direct=()
for _ in $(seq "$runs"); do
    use_theirs
    theirs+=("$(cold_call)")
    sleep 2
    pid=$(owner_pid)
    theirs_rss=$(rss_mib "$pid")
    kill "$pid"
    while [ -n "$(owner_pid)" ]; do sleep 0.05; done

    use_ours
    ours+=("$(cold_call)")
    sleep 2
    ours_rss=$(rss_mib "$(owner_pid)")
    "$session" systemctl "$user" stop snapd.userd.service

    use_ours_direct
    direct+=("$(cold_call)")
    pid=$(owner_pid)
    kill "$pid"
    while [ -n "$(owner_pid)" ]; do sleep 0.05; done
done

t_theirs=$(printf '%s\n' "${theirs[@]}" | median)
t_ours=$(printf '%s\n' "${ours[@]}" | median)
t_direct=$(printf '%s\n' "${direct[@]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", b / a }'; }
snapd_version=$(dpkg-query -W -f='${Version}' snapd)
our_version=$("$SNAP_BINARY" version | awk '$1 == "snap" { print $2 }')
echo "## snap userd (\`bench/userd.sh\`, $(date -u +%Y-%m-%d), $(nproc) cores)"
echo
echo "| measure | snapd userd ($snapd_version) | this userd ($our_version) | ratio | target |"
echo "|---|---:|---:|---:|---:|"
echo "| cold OpenURL to xdg-open run (median of $runs), ms | $t_theirs | $t_ours | $(ratio "$t_theirs" "$t_ours") | ≤ 0.50x |"
echo "| the same, this userd exec'd by dbus-daemon (no systemd), ms | $t_theirs | $t_direct | $(ratio "$t_theirs" "$t_direct") | |"
echo "| idle RSS, MiB | $theirs_rss | $ours_rss | $(ratio "$theirs_rss" "$ours_rss") | ≤ 0.50x |"
