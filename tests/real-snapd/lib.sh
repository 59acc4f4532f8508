# lib.sh: what the in-container scripts of tests/real-snapd share.

# The lingering users whose sessions snapd drives (each a real user@UID.service): those
# named in /etc/real-snapd-users, one a line, if the container has that file
# (bench/real-snapd.sh writes it for its N users), else alice and bob.
if [ -s /etc/real-snapd-users ]; then
    mapfile -t USERS </etc/real-snapd-users
else
    USERS=(alice bob)
fi
# Where setup packs the snaps.
SNAPS=/var/tmp/real-snapd

# retry N CMD...: runs CMD every 0.1 s until it succeeds, at most N times. (Not
# tests/lib/tools/retry: CMD is often a function of these scripts.)
retry() {
    local n=$1 i
    shift
    for ((i = 0; i < n; i++)); do
        "$@" 2>/dev/null && return 0
        sleep 0.1
    done
    "$@"
}

# as_user USER CMD...: runs CMD as USER in that user's session (its manager, its bus).
as_user() {
    local u=$1 uid
    shift
    uid=$(id -u "$u")
    runuser -u "$u" -- env XDG_RUNTIME_DIR="/run/user/$uid" \
        DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" "$@"
}
