#!/bin/bash
# bench/userd-flood.sh: `snap userd` under a flood of OpenFile calls from one confined
# app (issue 19, item 4), against the same service with no flood, in one real user
# session, in one run; prints a markdown table for docs/benchmarks.md. As root, after
# `make build`.
#   BENCH_SNAP (default build/snap), BENCH_FLOOD_CALLS (default 1000),
#   BENCH_FLOOD_SECONDS (default 3: how long the question stays open and the other
#   caller keeps calling)
# Measured: with userd already running, another caller (unconfined, dbus-send) calls
# OpenURL back to back for BENCH_FLOOD_SECONDS, first with no flood (the baseline),
# then from the moment an app of snap "flooder" (in a scope named as `snap run` names
# them) makes BENCH_FLOOD_CALLS OpenFile calls at once on one connection; meanwhile
# the number of dialogs open (stand-in zenitys that stay open, without CPU, until
# released), userd's threads and descriptors are sampled every 20 ms. Then the
# questions are released and the flooding client reports its answers.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
session=tests/lib/user-session
user=sat-bench-flood
calls=${BENCH_FLOOD_CALLS:-1000}
seconds=${BENCH_FLOOD_SECONDS:-3}
bindir=$(mktemp -d)
chmod 0755 "$bindir"
install -m 0755 "${BENCH_SNAP:-build/snap}" "$bindir/snap"
CGO_ENABLED=0 go build -o "$bindir/openfile" ./tests/lib/openfile

sampler=""
cleanup() {
    [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
    "$session" stop "$user" >/dev/null 2>&1 || true
    rm -rf "$bindir"
}
trap cleanup EXIT
"$session" stop "$user" >/dev/null 2>&1 || true
SNAP_BINARY=$bindir/snap "$session" start "$user" >/dev/null
home=$(getent passwd "$user" | cut -d: -f6)
as_user() { "$session" run "$user" "$@"; }
work=$home/flood
rm -rf "$work"
install -d -o "$user" -g "$user" "$work" "$work/bin" "$home/.local" "$home/.local/share" \
    "$home/.local/share/dbus-1" "$home/.local/share/dbus-1/services"
for f in data/dbus/io.snapcraft.{Launcher,Settings,PrivilegedDesktopLauncher}.service.in; do
    sed "s|@bindir@|$bindir|g" "$f" >"$home/.local/share/dbus-1/services/$(basename "$f" .in)"
done
# A dialog stays open until the FIFO is opened for writing (all of them at once),
# blocked in open(2), using no CPU.
mkfifo "$work/release"
chown "$user:" "$work/release"
printf '#!/bin/sh\nread _ <%s/release\nexit 0\n' "$work" >"$work/bin/zenity"
printf '#!/bin/sh\nexit 0\n' >"$work/bin/xdg-open"
chmod 0755 "$work/bin/zenity" "$work/bin/xdg-open"
echo flood >"$work/file.txt"
chown "$user:" "$work/file.txt"
as_user dbus-update-activation-environment --systemd "PATH=$work/bin:/usr/bin:/bin"
as_user dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.ReloadConfig >/dev/null

# probe: OpenURL back to back for $seconds; prints each call's time in ms.
probe() {
    as_user sh -c 'end=$(($(date +%s) + $1)); while [ "$(date +%s)" -lt "$end" ]; do
        t0=$(date +%s%N)
        dbus-send --session --print-reply --reply-timeout=30000 --dest=io.snapcraft.Launcher \
            /io/snapcraft/Launcher io.snapcraft.Launcher.OpenURL string:https://example.com/ >/dev/null 2>&1 || echo fail
        echo $((($(date +%s%N) - t0) / 1000)) | awk "{ printf \"%.1f\\n\", \$1 / 1000 }"
    done' sh "$seconds"
}

# sample PID OUT: every 20 ms, the dialogs open, PID's threads and descriptors; OUT
# holds the largest of each so far.
sample() {
    local pid=$1 out=$2 d t f md=0 mt=0 mf=0
    while :; do
        d=$(pgrep -c -u "$user" -f "$work/bin/zenity" || true)
        t=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        f=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
        [ "$d" -gt "$md" ] && md=$d
        [ "$t" -gt "$mt" ] && mt=$t
        [ "$f" -gt "$mf" ] && mf=$f
        echo "$md $mt $mf" >"$out"
        sleep 0.02
    done
}

stats() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%s %s %d\n", m, v[NR], NR }'; }

# userd runs before either measure: the cold start is bench/userd.sh's.
probe >/dev/null
pid=$("$session" systemctl "$user" show -p MainPID --value snapd.userd.service)
[ "$pid" != 0 ] || { echo "bench: snapd.userd.service is not running" >&2; exit 1; }

echo "baseline: OpenURL for ${seconds}s with no flood..." >&2
sample "$pid" "$work/max.base" & sampler=$!
base=$(probe)
kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=""

echo "flood: $calls OpenFile calls at once, OpenURL for ${seconds}s meanwhile..." >&2
sample "$pid" "$work/max.flood" & sampler=$!
as_user systemd-run --user --quiet --collect --pipe --wait --unit=bench-flooder -- \
    /usr/bin/systemd-run --user --quiet --scope --unit=snap.flooder.app-1.scope -- \
    "$bindir/openfile" -n "$calls" "$work/file.txt" >"$work/flood.out" 2>&1 &
flood=$!
flooded=$(probe)
# Every dialog open goes (again for those that opened since), and the flooding client
# gets its last answers.
for _ in $(seq 30); do
    [ -n "$(pgrep -u "$user" -f "$work/bin/zenity" || true)" ] || break
    timeout 5 sh -c ": >$work/release" || true
    sleep 0.2
done
wait "$flood" || true
kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=""

read -r base_md base_mt base_mf <"$work/max.base"
read -r flood_md flood_mt flood_mf <"$work/max.flood"
read -r base_med base_max base_n < <(echo "$base" | grep -v fail | stats)
read -r flood_med flood_max flood_n < <(echo "$flooded" | grep -v fail | stats)
base_fail=$(echo "$base" | grep -c fail || true)
flood_fail=$(echo "$flooded" | grep -c fail || true)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", b / a }'; }
version=$("$bindir/snap" version | awk '$1 == "snap" { print $2 }')
echo "## snap userd under an OpenFile flood (\`bench/userd-flood.sh\`, $(date -u +%Y-%m-%d), $(nproc) cores, build $version)"
echo
echo "| measure | no flood (baseline) | $calls OpenFile calls from one snap | ratio |"
echo "|---|---:|---:|---:|"
echo "| dialogs open at once, most | $base_md | $flood_md | |"
echo "| userd threads, most | $base_mt | $flood_mt | $(ratio "$base_mt" "$flood_mt") |"
echo "| userd descriptors, most | $base_mf | $flood_mf | $(ratio "$base_mf" "$flood_mf") |"
echo "| another caller's OpenURL, median of $base_n / $flood_n, ms | $base_med | $flood_med | $(ratio "$base_med" "$flood_med") |"
echo "| the same, slowest, ms | $base_max | $flood_max | $(ratio "$base_max" "$flood_max") |"
echo "| the same, failed | $base_fail | $flood_fail | |"
echo
echo "The flooding app's answers (\`openfile -n $calls\`):"
echo
sed 's/^/    /' "$work/flood.out"
