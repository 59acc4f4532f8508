#!/bin/bash
# bench/real-snapd.sh: what real snapd's install, refresh and remove of a snap with
# user daemons cost in wall time with N lingering users, for each of three agents in
# the users' sessions (issue 18, item 4):
#   distro  Debian 12's own agent, `snap userd --agent` of snapd 2.57.6 on its own units
#   ours    this project's agent (build/snap), installed by `make install`
#   floor   bench/floor on this project's units: it answers every request at once with
#           a fixed body and does nothing, so that what snapd itself costs shows apart
#           from what an agent costs
# and, in the same rounds, "jobs": the jobs a refresh makes snapd ask each agent for
# (stop both daemons, daemon-reload twice, start both), issued straight on each user
# manager, every user at once: what the managers themselves take, the part of a
# refresh no agent can save.
#
# Run (as root, after `make build`; needs what tests/real-snapd/run needs:
# systemd-nspawn, debootstrap, /dev/fuse, and go to build the floor):
#   bench/real-snapd.sh
# Environment:
#   BENCH_REAL_SNAPD_USERS   the Ns, lingering users each (default "2 20 100")
#   BENCH_REAL_SNAPD_ROUNDS  rounds per N (default 5): each round times install,
#                            refresh and remove once with each agent, and the jobs once
#   BENCH_OUT                where the results go (default build/bench): real-snapd.tsv
#                            (one line a measurement) and real-snapd.md (the table)
#
# How, and why so:
# - Debian 12's snapd (2.57.6), in the booted container of tests/real-snapd
#   (tests/lib/nspawn-debian), made ready by tests/real-snapd/setup for N users (the
#   users come from /etc/real-snapd-users, see tests/real-snapd/lib.sh). 2.57.6 sends
#   the agents only POST /v1/service-control (stop, start, daemon-reload) and reads no
#   answer body but an error's, so the floor's fixed body serves it. Debian 13's 2.68
#   also sends GET /v1/service-status and decodes a list from the answer: the floor's
#   body would fail that, so it is not measured here.
# - One container per N, the three agents taking turns in it, round by round, each
#   round in another order: load that comes and goes on a shared machine hits all
#   three alike, and the ratios come from one run. A switch puts the agent's units in
#   place (ours: the units `make install` wrote, moved aside while they are not in
#   use; floor: ours plus a drop-in that runs build/floor; distro: neither, so
#   /usr/lib/systemd/user's own units) and, in every manager, stops the agent and its
#   socket, reloads and starts the socket again: the takeover step of the README,
#   made in all managers at once. Every user's agent must then answer session-info
#   with that agent's version, or the run stops (this also stops a run whose
#   build/snap was rebuilt under it: each N copies it anew).
# - Before each timed command every agent is stopped (the socket stays): snapd talks
#   to the agents seldom (a refresh from its timer comes hours after the last one), so
#   each starts cold, by socket activation, as it would. Stopping also leaves no
#   agent of one command alive into the next, which distro's 30 s idle timeout would.
# - Each command is timed from outside (date before and after): `snap install
#   --devmode --dangerous ticker_1.0` (install, the snap's two daemon-scope: user
#   daemons started in every session), `snap install ... ticker_2.0` (refresh: stopped,
#   reloaded, started again), `snap remove --purge ticker` (remove). After an install
#   and a refresh with distro or ours, both daemons must be active in every session
#   (the floor starts nothing, by design).
# - jobs: in the same rounds, with ticker 2.0 installed and running under ours, each
#   user's four systemctl calls one after the other (`stop clock pulse`,
#   `daemon-reload` twice, `start clock pulse`, as snapd's refresh asks the agent in
#   that order), all users side by side. systemctl as the user (setpriv) straight
#   on its manager's private socket (XDG_RUNTIME_DIR=/run/user/UID): no runuser, no
#   bus bridge of `systemctl --user -M USER@` (which starts a transient unit and a
#   systemd-stdio-bridge for every call). What is left of process overhead, 4N
#   systemctl processes, is measured as "jobs-noop": the same processes each asking
#   one property.
# - Medians and spread (min to max) over the rounds; `uptime` before and after.
set -euo pipefail

# ---- inside the container: bench/real-snapd.sh --inside N ROUNDS RESULTS VERSION ----
inside_main() {
    local n=$1 rounds=$2 results=$3
    # A failure says where: retry and setup's waits fail quietly.
    trap 'echo "real-snapd bench: inside: line $LINENO failed: $BASH_COMMAND" >&2' ERR
    version=$4
    here=/root/project/tests/real-snapd
    local i u
    : >/etc/real-snapd-users
    for ((i = 1; i <= n; i++)); do printf 'bench%03d\n' "$i" >>/etc/real-snapd-users; done
    . "$here/lib.sh"
    # The users and their managers, started side by side before setup (whose restart
    # of logind would start them too, and then wait for each in turn: a minute at
    # N = 100); setup then finds them running.
    install -d /var/lib/systemd/linger
    for u in "${USERS[@]}"; do
        useradd -m -s /bin/bash "$u"
        touch "/var/lib/systemd/linger/$u"
    done
    for u in "${USERS[@]}"; do systemctl start --no-block "user@$(id -u "$u").service"; done
    for u in "${USERS[@]}"; do retry 600 test -S "/run/user/$(id -u "$u")/bus"; done
    # Traced, so that a failure's log ends with the command that failed.
    bash -x "$here/setup" >/root/setup.log 2>&1 || { tail -n 20 /root/setup.log >&2; exit 1; }
    ours_units=/root/ours-units
    make -s -C /root/project install VERSION="$version" >/dev/null
    install -d "$ours_units"
    mv /etc/systemd/user/snapd.session-agent.service /etc/systemd/user/snapd.session-agent.socket "$ours_units/"
    install -m 0755 /root/project/build/floor /usr/local/lib/real-snapd/floor

    declare -gA uid_of=() gid_of=()
    for u in "${USERS[@]}"; do
        uid_of[$u]=$(id -u "$u")
        gid_of[${uid_of[$u]}]=$(id -g "$u")
    done

    local order=(distro ours floor) r k v
    for ((r = 1; r <= rounds; r++)); do
        for ((k = 0; k < 3; k++)); do
            v=${order[(r + k) % 3]}
            switch_to "$v"
            timed "$v" install "$r" snap install --devmode --dangerous "$SNAPS/ticker_1.0_all.snap"
            [ "$v" = floor ] || all_active "$v install"
            timed "$v" refresh "$r" snap install --devmode --dangerous "$SNAPS/ticker_2.0_all.snap"
            if [ "$v" != floor ]; then all_active "$v refresh"; fi
            if [ "$v" = ours ]; then
                # The managers' own jobs, with the daemons of 2.0 running as after a
                # refresh; then their state as the refresh left it.
                timed_jobs jobs "$r" refresh_jobs
                timed_jobs jobs-noop "$r" noop_jobs
                all_active "jobs"
            fi
            timed "$v" remove "$r" snap remove --purge ticker
        done
    done >>"$results"
}

# sysctl_user UID ARGS...: systemctl --user as UID on its manager's private socket.
# Root may not use it (systemd 252's systemctl says "Failed to connect to bus:
# Operation not permitted"); setpriv changes the ids and execs, no PAM session as
# with runuser.
sysctl_user() {
    local uid=$1
    shift
    XDG_RUNTIME_DIR=/run/user/$uid setpriv --reuid="$uid" --regid="${gid_of[$uid]}" --clear-groups \
        systemctl --user "$@"
}

# each_user FUNC: runs FUNC UID for every user side by side; fails if any failed.
each_user() {
    local u pids=() bad=0 p
    for u in "${USERS[@]}"; do
        "$1" "${uid_of[$u]}" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || bad=1; done
    return $bad
}

# (systemctl warns that the socket can start the service again: it is meant to.)
stop_agent() {
    sysctl_user "$1" stop snapd.session-agent.service 2>/dev/null &&
        { sysctl_user "$1" reset-failed snapd.session-agent.service 2>/dev/null || true; }
}
restart_socket() {
    sysctl_user "$1" stop snapd.session-agent.service snapd.session-agent.socket 2>/dev/null &&
        sysctl_user "$1" daemon-reload &&
        { sysctl_user "$1" reset-failed snapd.session-agent.service 2>/dev/null || true; } &&
        sysctl_user "$1" start snapd.session-agent.socket
}
refresh_jobs() {
    sysctl_user "$1" stop snap.ticker.clock.service snap.ticker.pulse.service &&
        sysctl_user "$1" daemon-reload && sysctl_user "$1" daemon-reload &&
        sysctl_user "$1" start snap.ticker.clock.service snap.ticker.pulse.service
}
noop_jobs() {
    local i
    for i in 1 2 3 4; do sysctl_user "$1" show -p Version >/dev/null || return 1; done
}

# switch_to VARIANT: every session's agent becomes VARIANT's (see the header).
switch_to() {
    local v=$1 dropin=/etc/systemd/user/snapd.session-agent.service.d want u got
    rm -f /etc/systemd/user/snapd.session-agent.service /etc/systemd/user/snapd.session-agent.socket
    rm -rf "$dropin"
    case "$v" in
    ours | floor) cp "$ours_units"/* /etc/systemd/user/ ;;
    esac
    if [ "$v" = floor ]; then
        # The floor never calls sd_notify: a notify service would time out on it.
        install -d "$dropin"
        printf '[Service]\nType=simple\nExecStart=\nExecStart=/usr/local/lib/real-snapd/floor\n' >"$dropin/floor.conf"
    fi
    each_user restart_socket
    case "$v" in
    distro) want='"version":"2.57.6' ;;
    ours) want="\"version\":\"$version\"" ;;
    floor) want='"version":"floor"' ;;
    esac
    for u in "${USERS[@]}"; do
        got=$(curl -sS --max-time 10 --unix-socket "/run/user/${uid_of[$u]}/snapd-session-agent.socket" http://localhost/v1/session-info)
        [[ "$got" == *"$want"* ]] || { echo "real-snapd bench: $u's agent answered $got, want $want ($v)" >&2; exit 1; }
    done
}

# timed VARIANT OP ROUND CMD...: CMD with every agent stopped first; prints the result line.
timed() {
    local v=$1 op=$2 r=$3 t0 t1 out
    shift 3
    each_user stop_agent
    t0=$(date +%s.%N)
    out=$("$@" 2>&1) || { echo "real-snapd bench: $v $op failed: $out" >&2; exit 1; }
    t1=$(date +%s.%N)
    printf '%s\t%s\t%s\t%s\t%.3f\n' "${#USERS[@]}" "$v" "$op" "$r" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}

# timed_jobs NAME ROUND FUNC: FUNC for every user side by side; prints the result line.
timed_jobs() {
    local t0 t1
    t0=$(date +%s.%N)
    each_user "$3" || { echo "real-snapd bench: $1 failed" >&2; exit 1; }
    t1=$(date +%s.%N)
    printf '%s\t%s\t%s\t%s\t%.3f\n' "${#USERS[@]}" "$1" refresh "$2" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}

# all_active WHAT: both daemons of ticker are active in every session, within 10 s:
# in this container snap-confine fails a snap's first starts at times (see
# tests/real-snapd/scenario) and the daemons restart on failure.
both_active() { retry 100 sysctl_user "$1" is-active --quiet snap.ticker.clock.service snap.ticker.pulse.service; }
all_active() {
    each_user both_active || { echo "real-snapd bench: after $1 the daemons are not active in every session" >&2; exit 1; }
}

# table TSV: per N and operation, the median (min-max) of each agent, and the ratios;
# "jobs - noop" takes the systemctl processes' own cost out of the managers' jobs.
table() {
awk -F'\t' '
    { k = $1 SUBSEP $2 SUBSEP $3; v[k, ++c[k]] = $5; ns[$1] = 1 }
    function med(k,   n, i, j, t, a) {
        n = c[k]; if (!n) return ""
        for (i = 1; i <= n; i++) a[i] = v[k, i]
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        lo[k] = a[1]; hi[k] = a[n]
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function cell(k,   m) { m = med(k); return m == "" ? "n/a" : sprintf("%.2f s (%.2f-%.2f)", m, lo[k], hi[k]) }
    END {
        print "| N | operation | distro agent | this agent | floor agent | jobs (noop) | ours/distro | ours/(floor+jobs) | ours/(floor+jobs-noop) |"
        print "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
        split("install refresh remove", ops, " ")
        for (n in ns) nl[++nn] = n + 0
        for (i = 1; i <= nn; i++) for (j = i + 1; j <= nn; j++) if (nl[j] < nl[i]) { t = nl[i]; nl[i] = nl[j]; nl[j] = t }
        for (i = 1; i <= nn; i++) for (o = 1; o <= 3; o++) {
            n = nl[i]; op = ops[o]
            d = med(n SUBSEP "distro" SUBSEP op); u = med(n SUBSEP "ours" SUBSEP op); f = med(n SUBSEP "floor" SUBSEP op)
            jobs = "";  fj = ""; fjn = ""
            if (op == "refresh") {
                jm = med(n SUBSEP "jobs" SUBSEP op)
                jobs = cell(n SUBSEP "jobs" SUBSEP op) " (" sprintf("%.2f", med(n SUBSEP "jobs-noop" SUBSEP op)) ")"
                fj = sprintf("%.2fx", u / (f + jm))
                fjn = sprintf("%.2fx", u / (f + jm - med(n SUBSEP "jobs-noop" SUBSEP op)))
            }
            printf "| %d | %s | %s | %s | %s | %s | %.2fx | %s | %s |\n", n, op,
                cell(n SUBSEP "distro" SUBSEP op), cell(n SUBSEP "ours" SUBSEP op), cell(n SUBSEP "floor" SUBSEP op),
                jobs, u / d, fj, fjn
        }
    }' "$1"
}

if [ "${1:-}" = --inside ]; then
    shift
    inside_main "$@"
    exit 0
fi
# bench/real-snapd.sh --table TSV: the table of an earlier run's results.
if [ "${1:-}" = --table ]; then
    table "$2"
    exit 0
fi

# ---- on the host ----
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "real-snapd bench: run as root" >&2; exit 1; }
[ -x build/snap ] && [ -f build/snap.8 ] || { echo "real-snapd bench: build/snap is missing: make build" >&2; exit 1; }
command -v systemd-nspawn >/dev/null && command -v debootstrap >/dev/null && [ -c /dev/fuse ] ||
    { echo "real-snapd bench: needs systemd-nspawn, debootstrap and /dev/fuse (tests/lib/install-deps)" >&2; exit 1; }
ns=(${BENCH_REAL_SNAPD_USERS:-2 20 100})
# What the agent of build/snap reports in session-info.
version=$(build/snap version | awk '$1 == "snap" { print $2 }')
rounds=${BENCH_REAL_SNAPD_ROUNDS:-5}
out=${BENCH_OUT:-build/bench}
mkdir -p "$out"
tsv=$out/real-snapd.tsv
: >"$tsv"
# The floor as bench/run.sh builds it, static: the container has no Go.
CGO_ENABLED=0 go build -o build/floor ./bench/floor
export NSPAWN_DEBIAN_SUITE=bookworm NSPAWN_DEBIAN_SNAPD=1
tests/lib/nspawn-debian build
addr=
trap '[ -z "$addr" ] || tests/lib/nspawn-debian discard "$addr"' EXIT
echo "real-snapd bench: uptime before: $(uptime)" | tee "$out/real-snapd.uptime"
for n in "${ns[@]}"; do
    addr=$(tests/lib/nspawn-debian allocate)
    start=$SECONDS
    git ls-files -co --exclude-standard | grep -v '^build/' | tar -c -T - build/snap build/snap.8 build/floor |
        tests/lib/nspawn-debian exec "$addr" sh -c 'mkdir -p /root/project && tar -C /root/project -x'
    tests/lib/nspawn-debian exec "$addr" /root/project/bench/real-snapd.sh --inside "$n" "$rounds" /root/results "$version"
    tests/lib/nspawn-debian exec "$addr" cat /root/results >>"$tsv"
    tests/lib/nspawn-debian discard "$addr"
    addr=
    echo "real-snapd bench: N=$n done in $((SECONDS - start)) s; uptime: $(uptime)" | tee -a "$out/real-snapd.uptime"
done
table "$tsv" | tee "$out/real-snapd.md"
