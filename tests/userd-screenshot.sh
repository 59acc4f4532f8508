#!/bin/bash
# userd-screenshot.sh: as root, show what a user sees when a confined app asks to
# change a desktop setting. A throwaway user session gets an X display (Xvfb) and the
# real zenity; a process in a snap's scope (as `snap run` makes them) calls
# io.snapcraft.Settings.Set on the session bus; D-Bus activation starts
# snapd.userd.service, which asks the user; a screenshot of the dialog is saved as
# docs/userd-dialog.png, then the dialog is closed, which refuses the change.
# Run through `make screenshot` (SNAP_BINARY is this build's snap).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
session="$here/lib/user-session"
user=${SCREENSHOT_USER:-snapdemo}
out=${SCREENSHOT_OUT:-$top/docs/userd-dialog.png}
# shellcheck source=lib/screenshot-prelude
. "$here/lib/screenshot-prelude"
screenshot_prelude Xvfb zenity xwd xwdtopnm pnmcrop pnmtopng dbus-send
desktop=/var/lib/snapd/desktop/applications/firefox_firefox.desktop
cleanup() {
    "$session" stop "$user" >/dev/null 2>&1 || true
    rm -rf "$bindir"
    [ -z "${made_desktop:-}" ] || rm -f "$desktop"
}
trap cleanup EXIT

"$session" stop "$user" >/dev/null 2>&1 || true
"$session" start "$user" >/dev/null
uid=$(id -u "$user")
home=$(getent passwd "$user" | cut -d: -f6)
rm -f "$home/answer"
as_user() { "$session" run "$user" "$@"; }

# The desktop file snapd would have installed for the snap, if it is not there.
if [ ! -e "$desktop" ]; then
    install -d /var/lib/snapd/desktop/applications
    printf '[Desktop Entry]\nName=Firefox\nExec=/snap/bin/firefox %%u\n' >"$desktop"
    made_desktop=1
fi
# userd's D-Bus service files in the user's own service directory, and a stand-in
# xdg-settings that says the setting is not yet the snap's.
services=$home/.local/share/dbus-1/services
install -d -o "$user" -g "$user" "$home/.local" "$home/.local/share" "$home/.local/share/dbus-1" "$services" "$home/bin"
for f in "$top"/data/dbus/io.snapcraft.{Launcher,Settings,PrivilegedDesktopLauncher}.service.in; do
    sed "s|@bindir@|$bindir|g" "$f" >"$services/$(basename "$f" .in)"
done
printf '#!/bin/sh\n[ "$1" = check ] && echo no\nexit 0\n' >"$home/bin/xdg-settings"
chmod 0755 "$home/bin/xdg-settings"
"$session" systemctl "$user" set-environment "PATH=$home/bin:/usr/bin:/bin"
as_user dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.ReloadConfig >/dev/null

install -d -m 1777 /tmp/.X11-unix
display=":$uid"
as_user systemd-run --user --collect --quiet --unit=xvfb -- \
    Xvfb "$display" -screen 0 800x500x24 -nolisten tcp
"$session" systemctl "$user" set-environment "DISPLAY=$display"
for _ in $(seq 50); do [ -S "/tmp/.X11-unix/X$uid" ] && break; sleep 0.1; done

# The caller runs in a unit named as snapd names a snap's app units, which is how
# userd tells which snap calls.
echo "\$ (as snap firefox) dbus-send ... io.snapcraft.Settings.Set default-web-browser firefox.desktop"
as_user systemd-run --user --quiet --collect --wait --unit="snap.firefox.firefox-$$" \
    -p StandardOutput="file:$home/answer" -p StandardError="file:$home/answer" -- \
    dbus-send --session --print-reply --reply-timeout=120000 --dest=io.snapcraft.Settings \
    /io/snapcraft/Settings io.snapcraft.Settings.Set string:default-web-browser string:firefox.desktop \
    >/dev/null 2>&1 &
call=$!
for _ in $(seq 600); do
    pgrep -u "$user" -x zenity >/dev/null && break
    sleep 0.1
done
pgrep -u "$user" -x zenity >/dev/null || { echo "screenshot: no dialog after 60 s" >&2; cat "$home/answer" >&2; exit 1; }
# zenity maps its window a while after it starts: until then the screen is blank,
# and pnmcrop has nothing to keep.
for _ in $(seq 60); do
    sleep 0.5
    as_user sh -c "xwd -root -silent -display $display" >"$bindir/screen.xwd"
    xwdtopnm <"$bindir/screen.xwd" 2>/dev/null | pnmcrop 2>/dev/null >"$bindir/screen.pnm" || true
    [ -s "$bindir/screen.pnm" ] && break
done
sleep 1
as_user sh -c "xwd -root -silent -display $display" >"$bindir/screen.xwd"
xwdtopnm <"$bindir/screen.xwd" 2>/dev/null | pnmcrop 2>/dev/null | pnmtopng >"$out"
echo "saved $out"

# Closing the dialog is a "no": the call is refused.
zenity_pid=$(pgrep -u "$user" -x zenity)
kill "$zenity_pid"
wait "$call" || true
cat "$home/answer"
