#!/bin/bash
# notifications-screenshot.sh: as root, show what a user sees when root notifies them.
# A throwaway user session gets an X display (Xvfb) and a real notification server
# (dunst, D-Bus-activated by the session's manager); root sends a pending refresh, a
# finished refresh and a question with actions through `snap sessions`; a screenshot
# of the display is saved as docs/notifications.png; the user answers the question
# (dunst's menu, driven by a stand-in for dmenu) and root prints the answer.
# Run through `make screenshot` (SNAP_BINARY is this build's snap).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
session="$here/lib/user-session"
user=${SCREENSHOT_USER:-snapdemo}
out=${SCREENSHOT_OUT:-$top/docs/notifications.png}
# shellcheck source=lib/screenshot-prelude
. "$here/lib/screenshot-prelude"
screenshot_prelude Xvfb dunst dunstctl xwd xwdtopnm pnmcut pnmtopng
question_pid=
cleanup() {
    [ -z "$question_pid" ] || kill "$question_pid" 2>/dev/null || true
    "$session" stop "$user" >/dev/null 2>&1 || true
    rm -rf "$bindir"
}
trap cleanup EXIT

"$session" stop "$user" >/dev/null 2>&1 || true
"$session" start "$user" >/dev/null
uid=$(id -u "$user")
home=$(getent passwd "$user" | cut -d: -f6)
as_user() { "$session" run "$user" "$@"; }

# A display and dunst's look: wide enough for the refresh text, the question's
# actions behind dunst's menu, which a stand-in for dmenu answers with "Close now".
display=":$uid"
cat >"$home/dmenu" <<'DMENU'
#!/bin/sh
grep -m1 -F '#Close now ('
DMENU
chmod 0755 "$home/dmenu"
cat >"$bindir/dunstrc" <<RC
[global]
width = 460
origin = top-right
offset = 16x16
font = DejaVu Sans 10
frame_width = 2
gap_size = 8
padding = 10
horizontal_padding = 12
format = "<b>%s</b>\\n%b"
dmenu = $home/dmenu
[urgency_low]
background = "#2e3440"
foreground = "#eceff4"
frame_color = "#4c566a"
timeout = 0
[urgency_normal]
background = "#2e3440"
foreground = "#eceff4"
frame_color = "#88c0d0"
timeout = 0
[urgency_critical]
background = "#3b2226"
foreground = "#eceff4"
frame_color = "#e06c75"
timeout = 0
RC
"$session" desktop "$user" "$bindir/dunstrc"

echo "\$ snap sessions pending-refresh --time-remaining=3h --busy-app=firefox firefox"
"$snap" sessions pending-refresh --users="$user" --time-remaining=3h --busy-app=firefox firefox
echo "\$ snap sessions finish-refresh thunderbird"
"$snap" sessions finish-refresh --users="$user" thunderbird
echo "\$ snap sessions notify --action=close:'Close now' --action=later:Later --wait=2m ..."
"$snap" sessions notify --users="$user" --urgency=critical \
    --action=close:"Close now" --action=later:Later --wait=2m \
    "Chromium must close for an update" "Save your work: the update starts in 5 minutes." \
    >"$bindir/answer" 2>&1 &
question_pid=$!
for _ in $(seq 100); do
    [ "$(as_user dunstctl count displayed 2>/dev/null || echo 0)" = 3 ] && break
    sleep 0.1
done
sleep 0.5
as_user sh -c "xwd -root -silent -display $display" >"$bindir/screen.xwd"
xwdtopnm <"$bindir/screen.xwd" 2>/dev/null | pnmcut -left 524 -top 0 -width 500 -height 245 | pnmtopng >"$out"
echo "saved $out"

# The user picks "Close now" in the question's menu; root's command prints it.
as_user dunstctl action 0
wait "$question_pid"
question_pid=
cat "$bindir/answer"
