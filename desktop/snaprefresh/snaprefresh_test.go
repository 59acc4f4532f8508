package snaprefresh_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/desktop/snaprefresh"
)

func TestPendingMessageFollowsTheTimeLeft(t *testing.T) {
	l := snaprefresh.Lookup{DesktopDir: t.TempDir()}
	for _, tc := range []struct {
		left    time.Duration
		title   string
		body    string
		urgency notification.Urgency
	}{
		{14 * 24 * time.Hour, "Update available for firefox", "automatically in 14 days.", notification.UrgencyLow},
		{24 * time.Hour, "Update available for firefox", "automatically in 1 day.", notification.UrgencyLow},
		{24*time.Hour - time.Nanosecond, "Update available for firefox", "automatically in 23 hours.", notification.UrgencyNormal},
		{time.Hour, "Update available for firefox", "automatically in 1 hour.", notification.UrgencyNormal},
		{59*time.Minute + 59*time.Second, "Update available for firefox", "automatically in 59 minutes.", notification.UrgencyCritical},
		{time.Minute, "Update available for firefox", "automatically in 1 minute.", notification.UrgencyCritical},
		{59 * time.Second, "firefox is being updated now", "may close", notification.UrgencyCritical},
		{0, "firefox is being updated now", "may close", notification.UrgencyCritical},
		{-time.Hour, "firefox is being updated now", "may close", notification.UrgencyCritical},
		{snaprefresh.MaxTimeRemaining, "Update available for firefox", "automatically in 28 days.", notification.UrgencyLow},
	} {
		msg, err := l.PendingMessage(snaprefresh.Pending{InstanceName: "firefox", TimeRemaining: tc.left})
		if err != nil {
			t.Fatalf("%v left: %v", tc.left, err)
		}
		if msg.Title != tc.title || !strings.Contains(msg.Body, tc.body) || msg.Urgency != tc.urgency {
			t.Errorf("%v left: %q / %q / %v, want %q / ...%q... / %v", tc.left, msg.Title, msg.Body, msg.Urgency, tc.title, tc.body, tc.urgency)
		}
		if msg.DesktopEntry != "io.snapcraft.SessionAgent" {
			t.Errorf("desktop entry hint %q", msg.DesktopEntry)
		}
	}
}

func TestPendingMessageRefusesBadInput(t *testing.T) {
	l := snaprefresh.Lookup{DesktopDir: t.TempDir()}
	for _, p := range []snaprefresh.Pending{
		{InstanceName: ""},
		{InstanceName: "a"},
		{InstanceName: "Firefox"},
		{InstanceName: "fire--fox"},
		{InstanceName: "-firefox"},
		{InstanceName: "123"},
		{InstanceName: strings.Repeat("a", 41)},
		{InstanceName: "firefox_"},
		{InstanceName: "firefox_KEY"},
		{InstanceName: "firefox_12345678901"},
		{InstanceName: "firefox_a_b"},
		{InstanceName: "../etc"},
		{InstanceName: "firefox", TimeRemaining: snaprefresh.MaxTimeRemaining + time.Nanosecond},
		{InstanceName: "firefox", TimeRemaining: time.Duration(1<<63 - 1)},
		{InstanceName: "firefox", BusyAppDesktopEntry: "../../etc/passwd"},
		{InstanceName: "firefox", BusyAppDesktopEntry: ".hidden"},
		{InstanceName: "firefox", BusyAppDesktopEntry: "a/b"},
	} {
		if msg, err := l.PendingMessage(p); err == nil {
			t.Errorf("%+v accepted: %+v", p, msg)
		}
	}
	for _, name := range []string{"go", "firefox", "firefox_1", "snap-store_abc123", "0ad", "a-b-c"} {
		if _, err := l.PendingMessage(snaprefresh.Pending{InstanceName: name}); err != nil {
			t.Errorf("%q refused: %v", name, err)
		}
	}
}

func TestPendingMessageNamesTheAppFromItsDesktopEntry(t *testing.T) {
	dir := t.TempDir()
	entry := `[Desktop Entry]
Name=Firefox Web Browser
Name[de]=Firefox-Webbrowser
Name[pt_BR]=Navegador Firefox
Icon=/snap/firefox/current/default256.png
Exec=firefox %u

[Desktop Action new-window]
Name=New Window
Icon=other
`
	if err := os.WriteFile(filepath.Join(dir, "firefox_firefox.desktop"), []byte(entry), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ locale, instance, title string }{
		{"", "firefox", "Update available for Firefox Web Browser"},
		{"C.UTF-8", "firefox", "Update available for Firefox Web Browser"},
		{"de_AT.UTF-8", "firefox", "Update available for Firefox-Webbrowser"},
		{"pt_BR.UTF-8", "firefox", "Update available for Navegador Firefox"},
		{"pt_PT.UTF-8", "firefox", "Update available for Firefox Web Browser"},
		{"de_DE@euro", "firefox_work", "Update available for Firefox-Webbrowser (work)"},
	} {
		msg, err := snaprefresh.Lookup{DesktopDir: dir, Locale: tc.locale}.PendingMessage(snaprefresh.Pending{
			InstanceName: tc.instance, TimeRemaining: 2 * time.Hour, BusyAppName: "firefox", BusyAppDesktopEntry: "firefox_firefox",
		})
		if err != nil {
			t.Fatal(err)
		}
		if msg.Title != tc.title || msg.Icon != "/snap/firefox/current/default256.png" || msg.AppName != "firefox" {
			t.Errorf("locale %q: %q icon %q app %q, want %q", tc.locale, msg.Title, msg.Icon, msg.AppName, tc.title)
		}
	}
	// A missing entry falls back to the instance name.
	msg, err := snaprefresh.Lookup{DesktopDir: dir}.PendingMessage(snaprefresh.Pending{
		InstanceName: "chromium_x1", TimeRemaining: 2 * time.Hour, BusyAppDesktopEntry: "chromium_chromium",
	})
	if err != nil || msg.Title != "Update available for chromium (x1)" || msg.Icon != "" {
		t.Fatalf("missing entry: %+v, %v", msg, err)
	}
}

func TestFinishMessage(t *testing.T) {
	msg, err := snaprefresh.FinishMessage("firefox_work")
	if err != nil || msg.Title != "firefox (work) was updated" || msg.Urgency != notification.UrgencyLow {
		t.Fatalf("%+v, %v", msg, err)
	}
	if _, err := snaprefresh.FinishMessage("Firefox"); err == nil {
		t.Fatal("a bad instance name is accepted")
	}
	if snaprefresh.ID("firefox") == snaprefresh.ID("firefox_work") {
		t.Fatal("two instances share a notification")
	}
}
