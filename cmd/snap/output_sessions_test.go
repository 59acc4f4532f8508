package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/client/clienttest"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

func TestPrintableEscapesControlsAndBoundsLength(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"fake-1.0", "fake-1.0"},
		{"", ""},
		{"a b\\c \"q\" é 日本", "a b\\c \"q\" é 日本"},
		{"a\tb\nc\rd", `a\tb\nc\rd`},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\a`},
		{"\x1b[2J\x7f", `\x1b[2J\x7f`},
		{"c1:\u0085\u009b", `c1:\u0085\u009b`},
		{"bidi:\u202eevil", `bidi:\u202eevil`},
		{"bad:\xff\xfe", `bad:\xff\xfe`},
		{strings.Repeat("x", maxPrintable), strings.Repeat("x", maxPrintable)},
		{strings.Repeat("é", maxPrintable+1), strings.Repeat("é", maxPrintable) + "…"},
		// An escape is never cut in half.
		{strings.Repeat("x", maxPrintable-2) + "\x1b", strings.Repeat("x", maxPrintable-2) + "…"},
	} {
		if got := printable(tc.in); got != tc.want {
			t.Errorf("printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A failed repair says why the agent was unreachable and why it was not repaired,
// each cut on its own: a long first part does not hide the second.
func TestPrintableCauseKeepsWhyARepairFailed(t *testing.T) {
	err := &client.SessionError{UID: 1001, Op: "repair session agent", Err: &client.RepairError{
		Cause: errors.New(strings.Repeat("unreachable ", 40)),
		Err:   errors.New("not served by the user's systemd manager: pid 42 is traced\x1b[2J"),
	}}
	got := printableCause(err).Error()
	if !strings.Contains(got, "…, and cannot repair it: not served by the user's systemd manager: pid 42 is traced\\x1b[2J") {
		t.Errorf("printableCause = %q", got)
	}
}

func TestEscapeJSONKeepsValuesAndEscapesEveryNonGraphicRune(t *testing.T) {
	in := []string{"c1:\u0085\u009b", "bidi:\u202e\u2066x\u200f", "tag:\U000E0001", "ok: é 日本 \"q\" \\", "del:\x7f"}
	data, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out := escapeJSON(data)
	var got []string
	if err := json.Unmarshal(out, &got); err != nil || strings.Join(got, "|") != strings.Join(in, "|") {
		t.Errorf("escapeJSON changed the values (%v): %q", err, got)
	}
	checkPrintable(t, "escaped JSON", string(out), strings.Count(string(data), "\n"))
	if !strings.Contains(string(out), `tag:\udb40\udc01`) {
		t.Errorf("a non-graphic rune past U+FFFF is not a surrogate pair: %s", out)
	}
}

// hostileText would forge a table row, retitle root's terminal (with ESC, and with
// the C1 control CSI) and reorder the text shown (with a bidi override) if printed
// raw.
const hostileText = "\n1234  root  fake\x1b]0;pwned\x07\u009b2J\u202eevil"

// hostileAgent answers every call with hostileText wherever the agent chooses the
// text: its version, unit ids and states, error messages and per-unit reasons. Unit
// names and killed units must be those asked, or the whole answer is refused.
func hostileAgent(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, typ string, result any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"type": typ, "status-code": status, "result": result})
	}
	var inst wire.ServiceInstruction
	switch r.URL.Path {
	case wire.PathSessionInfo:
		reply(http.StatusOK, wire.ResponseTypeSync, wire.SessionInfo{Version: hostileText})
	case wire.PathServiceStatus:
		reply(http.StatusOK, wire.ResponseTypeSync, []wire.ServiceUnitStatus{{
			Name: "a.service", ID: "a.service" + hostileText, ActiveState: hostileText, Installed: true,
		}})
	case wire.PathServiceControl:
		json.NewDecoder(r.Body).Decode(&inst)
		if inst.Action == wire.ActionStop {
			reply(http.StatusOK, wire.ResponseTypeSync, wire.ServiceControlResult{Killed: []string{"a.service"}})
			return
		}
		reply(http.StatusInternalServerError, wire.ResponseTypeError, map[string]any{
			"message": "cannot start" + hostileText, "kind": wire.ErrorKindServiceControl + hostileText,
			"value": map[string]any{wire.StartErrorsKey: map[string]string{"a.service" + hostileText: "fake" + hostileText}},
		})
	default:
		reply(http.StatusNotFound, wire.ResponseTypeError, map[string]any{"message": "not found" + hostileText})
	}
}

// checkPrintable fails if out has a control character or another non-graphic rune
// (a bidi override, ...) other than the newlines that end lines, bytes that are not
// UTF-8, or more lines than want.
func checkPrintable(t *testing.T, what, out string, lines int) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s is not UTF-8: %q", what, out)
	}
	for _, r := range out {
		if r != '\n' && !unicode.IsGraphic(r) {
			t.Errorf("%s has the raw non-graphic rune %U: %q", what, r, out)
			break
		}
	}
	if got := strings.Count(out, "\n"); got != lines {
		t.Errorf("%s has %d lines, want %d: %q", what, got, lines, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "1234") {
			t.Errorf("%s has a forged row %q", what, line)
		}
	}
}

func TestAHostileAgentCannotForgeRowsOrReachTheTerminal(t *testing.T) {
	// The agent of this process's own uid, served from this process, passes the
	// identity check without root.
	f := clienttest.NewFleet(t)
	uid := os.Getuid()
	_, socket := f.UserDir(uid)
	f.ServeInProcess(socket, http.HandlerFunc(hostileAgent))
	t.Setenv(envRuntimeDir, f.Base)
	users := "--users=" + strconv.Itoa(uid)
	escaped := `\n1234  root  fake\x1b]0;pwned\a\u009b2J\u202eevil`

	for _, tc := range []struct {
		args        []string
		status      int
		errLines    int
		stdoutHas   string
		stderrHas   string
		stdoutLines int
	}{
		{args: []string{"list"}, stdoutLines: 2, stdoutHas: "  " + escaped + "  ok\n"},
		{args: []string{"status", "a.service"}, stdoutLines: 2, stdoutHas: "a.service  disabled  " + escaped},
		// The units' rows are the units asked for: a killed unit the agent made up
		// is not one of them.
		{args: []string{"stop", "a.service"}, stdoutLines: 2, stdoutHas: "  a.service  killed\n"},
		{args: []string{"start", "a.service"}, status: 1, errLines: 1, stdoutLines: 2,
			stdoutHas: "error: agent error\n",
			stderrHas: "): cannot start" + escaped + " (a.service" + escaped + ": fake" + escaped + ")\n"},
		{args: []string{"kill", "foo"}, status: 1, errLines: 1, stdoutLines: 2, stderrHas: ": not found" + escaped + "\n"},
	} {
		stdout, stderr, status := runSnap(t, append([]string{"sessions", tc.args[0], users}, tc.args[1:]...)...)
		if status != tc.status {
			t.Errorf("%v: exit status %d, want %d", tc.args, status, tc.status)
		}
		checkPrintable(t, strings.Join(tc.args, " ")+" stdout", stdout, tc.stdoutLines)
		checkPrintable(t, strings.Join(tc.args, " ")+" stderr", stderr, tc.errLines)
		if !strings.Contains(stdout, tc.stdoutHas) {
			t.Errorf("%v: stdout does not show %q escaped:\n%s", tc.args, tc.stdoutHas, stdout)
		}
		if !strings.Contains(stderr, tc.stderrHas) {
			t.Errorf("%v: stderr does not show %q escaped: %q", tc.args, tc.stderrHas, stderr)
		}
	}

	// JSON carries the agent's text as sent, every non-graphic rune escaped.
	stdout, _, _ := runSnap(t, "sessions", "list", "--json", users)
	var got []struct{ Result wire.SessionInfo }
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || len(got) != 1 || got[0].Result.Version != hostileText {
		t.Errorf("JSON does not carry the version as sent (%v): %s", err, stdout)
	}
	checkPrintable(t, "JSON", stdout, strings.Count(stdout, "\n"))
}
