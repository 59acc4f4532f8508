package sessionagent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// fakeNotifier records posts and answers what it is told.
type fakeNotifier struct {
	mu    sync.Mutex
	posts map[string]*notification.Message
	order []string
	err   error
}

func (f *fakeNotifier) Post(_ context.Context, id string, msg *notification.Message) (notification.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return notification.Status{}, f.err
	}
	if f.posts == nil {
		f.posts = map[string]*notification.Message{}
	}
	f.posts[id] = msg
	f.order = append(f.order, id)
	return notification.Status{ID: id, State: notification.StateShown, Server: "fake"}, nil
}

func (f *fakeNotifier) Status(id string) (notification.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return notification.Status{}, f.err
	}
	if f.posts[id] == nil {
		return notification.Status{}, &notification.Error{Kind: notification.KindUnknown, Message: "cannot find notification " + id}
	}
	return notification.Status{ID: id, State: notification.StateShown}, nil
}

func (f *fakeNotifier) Wait(_ context.Context, id string) (notification.Status, error) {
	return f.Status(id)
}

func (f *fakeNotifier) Close(_ context.Context, id string) (notification.Status, error) {
	st, err := f.Status(id)
	st.State = notification.StateClosed
	return st, err
}

func (f *fakeNotifier) BusyUntil() time.Time { return time.Time{} }

func post(ta *testAgent, path, body string) *answer {
	ta.t.Helper()
	return ta.do("POST", path, jsonHeader(), strings.NewReader(body))
}

// The bodies snapd's client sends (usersession/client in snapd 2.57 to today), byte
// for byte.
func TestSnapdRefreshBodiesAreAccepted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "foo_foo.desktop"), []byte("[Desktop Entry]\nName=Foo Browser\nIcon=foo-icon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fake := &fakeNotifier{}
	ta := startAgent(t, sessionagent.Config{Notifications: fake, DesktopDir: dir})

	a := post(ta, wire.PathPendingRefresh, `{"instance-name":"foo","time-remaining":7200000000000,"busy-app-name":"foo","busy-app-desktop-entry":"foo_foo"}`)
	if a.rsp.StatusCode != 200 {
		t.Fatalf("pending-refresh: %d %s", a.rsp.StatusCode, a.body)
	}
	msg := fake.posts["refresh:foo"]
	if msg == nil || msg.Title != "Update available for Foo Browser" || msg.Icon != "foo-icon" ||
		!strings.Contains(msg.Body, "2 hours") || msg.Urgency != notification.UrgencyNormal {
		t.Fatalf("pending-refresh posted %+v", msg)
	}
	if a := post(ta, wire.PathPendingRefresh, `{"instance-name":"foo"}`); a.rsp.StatusCode != 200 {
		t.Fatalf("pending-refresh with only the name: %d %s", a.rsp.StatusCode, a.body)
	}
	a = post(ta, wire.PathFinishRefresh, `{"instance-name":"foo"}`)
	if a.rsp.StatusCode != 200 {
		t.Fatalf("finish-refresh: %d %s", a.rsp.StatusCode, a.body)
	}
	var st wire.NotificationStatus
	if err := json.Unmarshal(a.env.Result, &st); err != nil || st.ID != "refresh:foo" {
		t.Fatalf("finish-refresh answered %s", a.env.Result)
	}
	if fake.posts["refresh:foo"].Title != "foo was updated" {
		t.Fatalf("finish did not replace pending: %+v", fake.posts)
	}
}

func TestBadRefreshRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	fake := &fakeNotifier{}
	ta := startAgent(t, sessionagent.Config{Notifications: fake})
	for _, tc := range []struct{ path, body string }{
		{wire.PathPendingRefresh, `{"instance-name":"Foo"}`},
		{wire.PathPendingRefresh, `{"instance-name":""}`},
		{wire.PathPendingRefresh, `{"instance-name":"foo","time-remaining":9223372036854775807}`},
		{wire.PathPendingRefresh, `{"instance-name":"foo","busy-app-desktop-entry":"../../etc/passwd"}`},
		{wire.PathPendingRefresh, `{"instance-name":"foo","time-remaining":"2h"}`},
		{wire.PathFinishRefresh, `{"instance-name":"foo_BAD"}`},
		{wire.PathFinishRefresh, `{}`},
		{wire.PathNotifications, `{"title":""}`},
		{wire.PathNotifications, `{"title":"t","urgency":"loud"}`},
		{wire.PathNotifications, `{"title":"t","actions":[{"id":"a b","label":"x"}]}`},
	} {
		a := post(ta, tc.path, tc.body)
		if a.rsp.StatusCode != 400 || a.errorResult(t).Kind != wire.ErrorKindBadRequest {
			t.Errorf("%s %s: %d %s, want 400 bad-request", tc.path, tc.body, a.rsp.StatusCode, a.body)
		}
	}
	if len(fake.order) != 0 {
		t.Fatalf("bad requests posted %v", fake.order)
	}
}

func TestNotificationErrorsHaveTheirOwnStatusAndKind(t *testing.T) {
	t.Parallel()
	for kind, want := range map[notification.Kind]struct {
		status int
		kind   string
	}{
		notification.KindInvalid:  {400, wire.ErrorKindBadRequest},
		notification.KindUnknown:  {404, wire.ErrorKindUnknownNotification},
		notification.KindTooMany:  {429, wire.ErrorKindTooManyNotifications},
		notification.KindNoServer: {503, wire.ErrorKindNoNotificationServer},
		notification.KindServer:   {502, wire.ErrorKindNotificationServer},
		notification.KindTimeout:  {504, wire.ErrorKindNotificationTimeout},
	} {
		fake := &fakeNotifier{err: &notification.Error{Kind: kind, Message: "cannot post notification: " + string(kind)}}
		ta := startAgent(t, sessionagent.Config{Notifications: fake})
		a := post(ta, wire.PathNotifications, `{"title":"hello"}`)
		if res := a.errorResult(t); a.rsp.StatusCode != want.status || res.Kind != want.kind || !strings.Contains(res.Message, string(kind)) {
			t.Errorf("%s: %d %s, want %d %s", kind, a.rsp.StatusCode, a.body, want.status, want.kind)
		}
	}
}

func TestNotificationReadWaitAndClose(t *testing.T) {
	t.Parallel()
	fake := &fakeNotifier{}
	ta := startAgent(t, sessionagent.Config{Notifications: fake})
	a := post(ta, wire.PathNotifications, `{"title":"hello","body":"b","icon":"i","urgency":"low","category":"device","expiry":2000000000,"actions":[{"id":"yes","label":"Yes"}]}`)
	var st wire.NotificationStatus
	if err := json.Unmarshal(a.env.Result, &st); err != nil || st.ID == "" || st.State != "shown" {
		t.Fatalf("post answered %d %s", a.rsp.StatusCode, a.body)
	}
	want := notification.Message{Title: "hello", Body: "b", Icon: "i", Urgency: notification.UrgencyLow,
		Category: "device", Expire: 2 * time.Second, Actions: []notification.Action{{ID: "yes", Label: "Yes"}}}
	if got := fake.posts[st.ID]; got == nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("posted %+v, want %+v", got, want)
	}
	if a := ta.do("GET", wire.PathNotifications+"?id="+st.ID+"&wait=10ms", nil, nil); a.rsp.StatusCode != 200 {
		t.Fatalf("read: %d %s", a.rsp.StatusCode, a.body)
	}
	for _, q := range []string{"", "?id=" + st.ID + "&wait=61s", "?id=" + st.ID + "&wait=-1s", "?id=" + st.ID + "&wait=soon"} {
		if a := ta.do("GET", wire.PathNotifications+q, nil, nil); a.rsp.StatusCode != 400 {
			t.Errorf("GET %q: %d %s, want 400", q, a.rsp.StatusCode, a.body)
		}
	}
	if a := post(ta, wire.PathNotifications, `{"title":"again","replaces":"nope"}`); a.rsp.StatusCode != 404 || a.errorResult(t).Kind != wire.ErrorKindUnknownNotification {
		t.Errorf("replacing an unknown id: %d %s", a.rsp.StatusCode, a.body)
	}
	if a := post(ta, wire.PathNotifications, `{"title":"again","replaces":"`+st.ID+`"}`); a.rsp.StatusCode != 200 || !strings.Contains(string(a.body), st.ID) {
		t.Errorf("replacing: %d %s", a.rsp.StatusCode, a.body)
	}
	a = post(ta, wire.PathNotificationClose, `{"id":"`+st.ID+`"}`)
	if a.rsp.StatusCode != 200 || !strings.Contains(string(a.env.Result), `"state":"closed"`) {
		t.Fatalf("close: %d %s", a.rsp.StatusCode, a.body)
	}
}

// Without a session bus the notification endpoints say so, with their own kind, and
// every other endpoint keeps working.
func TestNoBusIsAnErrorOfItsOwnKind(t *testing.T) {
	for name, addr := range map[string]string{
		"unreachable": "unix:path=" + filepath.Join(t.TempDir(), "no-bus"),
		"no address":  "",
	} {
		t.Run(name, func(t *testing.T) {
			if addr == "" {
				t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
				t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
			}
			ta := startAgent(t, sessionagent.Config{SessionBusAddress: addr,
				Notifications: notification.New(notification.Config{AppID: sessionagent.BusName})})
			for _, req := range []struct{ path, body string }{
				{wire.PathPendingRefresh, `{"instance-name":"foo"}`},
				{wire.PathFinishRefresh, `{"instance-name":"foo"}`},
				{wire.PathNotifications, `{"title":"hello"}`},
			} {
				a := post(ta, req.path, req.body)
				if res := a.errorResult(t); a.rsp.StatusCode != http.StatusServiceUnavailable || res.Kind != wire.ErrorKindNoSessionBus {
					t.Errorf("%s: %d %s, want 503 %s", req.path, a.rsp.StatusCode, a.body, wire.ErrorKindNoSessionBus)
				} else if !strings.HasPrefix(res.Message, "cannot use the session bus: ") {
					t.Errorf("%s: %q, want the agent's one answer without a bus (SessionBus's)", req.path, res.Message)
				}
			}
			ta.sessionInfo()
		})
	}
}

func TestNotificationEndpointsWithoutABackend(t *testing.T) {
	t.Parallel()
	ta := startAgent(t, sessionagent.Config{})
	for _, tc := range []struct{ method, path, body string }{
		{"POST", wire.PathNotifications, `{"title":"hello"}`},
		{"GET", wire.PathNotifications + "?id=x", ""},
		{"POST", wire.PathNotificationClose, `{"id":"x"}`},
		{"POST", wire.PathFinishRefresh, `{"instance-name":"foo"}`},
	} {
		a := ta.do(tc.method, tc.path, jsonHeader(), strings.NewReader(tc.body))
		if a.rsp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(a.errorResult(t).Message, "no notification backend") {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, a.rsp.StatusCode, a.body)
		}
	}
}
