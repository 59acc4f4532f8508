package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/snapcore-ng/usersession-agent/usersession/client"
)

// table says how a subcommand shows a successful session: its columns after UID and
// User, and one or more rows per result. A failed session gets one row with "-" in
// every column but the last, which holds the failure's kind; the full error goes to
// stderr, naming the user.
type table[T any] struct {
	headers []string
	rows    func(T) [][]string
}

// sessionJSON is one element of --json output. Its fields are stable: uid (null only
// for a socket in a directory that does not name a uid), user (null for a uid with no
// entry in the user database), ok, and either result, error, or skipped (why a
// session was left out without being a failure).
type sessionJSON struct {
	UID     *int       `json:"uid"`
	User    *string    `json:"user"`
	Socket  string     `json:"socket,omitempty"`
	OK      bool       `json:"ok"`
	Result  any        `json:"result,omitempty"`
	Error   *errorJSON `json:"error,omitempty"`
	Skipped string     `json:"skipped,omitempty"`
	// Repaired says how the agent's socket was repaired before it answered.
	Repaired *client.RepairResult `json:"repaired,omitempty"`
}

// notLoginSession is the table's and JSON's word for a session left out because its
// uid is in systemd's dynamic-user range.
const notLoginSession = "not a login session"

type errorJSON struct {
	// Kind is the outcome kind (client.Kind*), Message the full error.
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// The agent's own error, for kind agent-error.
	AgentKind  string                       `json:"agent-kind,omitempty"`
	StatusCode int                          `json:"status-code,omitempty"`
	Value      json.RawMessage              `json:"value,omitempty"`
	Failures   map[string]map[string]string `json:"failures,omitempty"`
	// PeerUID is who served the socket, for kind refused.
	PeerUID *int `json:"peer-uid,omitempty"`
}

// report prints res as a table or JSON on stdout and each failure on stderr, and
// returns errExitStatus 1 if any session failed (sessions that are gone, or left out
// as not login sessions, are no failure).
func report[T any](o *sessionsOptions, res *client.Results[T], tbl table[T], names *userNames) error {
	w := tabwriter.NewWriter(o.env.stdout, 0, 4, 2, ' ', 0)
	if !o.JSON {
		fmt.Fprintln(w, strings.Join(append([]string{"UID", "User"}, tbl.headers...), "\t"))
	}
	out := []sessionJSON{}
	var notes []string
	var failures []error
	for _, oc := range res.Outcomes {
		uidCell, user := "-", ""
		js := sessionJSON{Socket: oc.Socket, OK: oc.OK(), Repaired: oc.Repaired}
		if oc.UID >= 0 {
			uidCell, js.UID = strconv.Itoa(oc.UID), &oc.UID
		}
		if name, ok := names.name(oc.UID); ok {
			user, js.User = name, &name
		}
		switch oc.State {
		case client.StateAnswered:
			js.Result = oc.Result
			for _, r := range tbl.rows(oc.Result) {
				fmt.Fprintln(w, strings.Join(append([]string{uidCell, orDash(printable(user))}, r...), "\t"))
			}
		case client.StateNotLoginSession:
			js.Skipped = notLoginSession
			fmt.Fprintln(w, strings.Join(append(dashes(uidCell, user, tbl), "skipped: "+notLoginSession), "\t"))
		default:
			// JSON carries the agent's text as sent (escaped by escapeJSON);
			// stderr, like the table, only a printable copy.
			js.Error = errorToJSON(userError(res.Op, oc.UID, user, oc.Err), oc.Err)
			if oc.Failed() {
				failures = append(failures, userError(res.Op, oc.UID, printable(user), printableCause(oc.Err)))
			}
			fmt.Fprintln(w, strings.Join(append(dashes(uidCell, user, tbl), kindLabel(oc.Kind())), "\t"))
		}
		if oc.Repaired != nil {
			notes = append(notes, fmt.Sprintf("repaired the session agent socket of %s: its socket unit was %s, now %s",
				userLabel(oc.UID, printable(user)), printable(oc.Repaired.Before.String()), printable(oc.Repaired.After.String())))
		}
		out = append(out, js)
	}

	if o.JSON {
		data, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return fmt.Errorf("cannot encode results: %w", err)
		}
		if _, err := o.env.stdout.Write(append(escapeJSON(data), '\n')); err != nil {
			return fmt.Errorf("cannot write results: %w", err)
		}
	} else if len(out) > 0 {
		if err := w.Flush(); err != nil {
			return fmt.Errorf("cannot write results: %w", err)
		}
	}
	if len(out) == 0 {
		fmt.Fprintln(o.env.stderr, "No user session agents found.")
	}
	for _, note := range notes {
		fmt.Fprintf(o.env.stderr, "note: %s\n", note)
	}
	for _, err := range failures {
		fmt.Fprintf(o.env.stderr, "error: %v\n", err)
	}
	if len(failures) > 0 {
		return &errExitStatus{code: 1}
	}
	return nil
}

// dashes are the cells of a row without a result: uid, user, and "-" in every column
// but the last, which the caller fills with what happened.
func dashes[T any](uidCell, user string, tbl table[T]) []string {
	cells := []string{uidCell, orDash(printable(user))}
	for range len(tbl.headers) - 1 {
		cells = append(cells, "-")
	}
	return cells
}

// userError says what failed for whom: "cannot stop units for user alice (uid 1001):
// ...", or "for uid 1001" when the uid has no user name. err may be a *client.SessionError, whose own uid-only prefix is dropped.
func userError(op string, uid int, user string, err error) error {
	var se *client.SessionError
	if errors.As(err, &se) {
		err = se.Err
	}
	if uid < 0 {
		return fmt.Errorf("cannot %s: %w", op, err)
	}
	return fmt.Errorf("cannot %s for %s: %w", op, userLabel(uid, user), err)
}

// userLabel names a session's user in messages: "user alice (uid 1001)", or "uid
// 1001" when the uid has no user name.
func userLabel(uid int, user string) string {
	if user == "" {
		return fmt.Sprintf("uid %d", uid)
	}
	return fmt.Sprintf("user %s (uid %d)", user, uid)
}

func errorToJSON(full, cause error) *errorJSON {
	e := &errorJSON{Kind: string(client.KindOf(cause)), Message: full.Error()}
	if ae, ok := client.AsAgentError(cause); ok {
		e.AgentKind, e.StatusCode, e.Value, e.Failures = ae.AgentKind, ae.Status, ae.Value, ae.Failures
	}
	var ie *client.IdentityError
	if errors.As(cause, &ie) {
		e.PeerUID = &ie.PeerUID
	}
	return e
}

// kindLabel is the table's short word for an outcome kind.
func kindLabel(k client.Kind) string {
	if k == client.KindNoSession {
		// Listed, not a failure: the socket is what is left of a session gone.
		return "no session"
	}
	return "error: " + printable(strings.ReplaceAll(string(k), "-", " "))
}

// maxPrintable bounds, in runes, one piece of agent text in the table or on stderr.
const maxPrintable = 200

// printable makes s, which an agent (running as its user) may have chosen, safe for
// root's terminal and for the table: control characters (tab, newline, carriage
// return, ESC, the C1 controls, ...) and other non-graphic runes, such as bidi
// overrides, become Go escapes like \x1b or \u202e, bytes that are not UTF-8 become
// \xff, and the result is cut to maxPrintable runes, ending with "…". Every string from
// an agent goes through it before it is printed, except in JSON, which escapeJSON
// makes safe without changing its values.
func printable(s string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == utf8.RuneError && size == 1:
			piece = fmt.Sprintf(`\x%02x`, s[i])
		case unicode.IsGraphic(r):
			piece = s[i : i+size]
		default:
			// A quoted rune: \t, \x1b, \u0085, \u202e, ...
			q := strconv.QuoteRuneToGraphic(r)
			piece = q[1 : len(q)-1]
		}
		i += size
		if pn := utf8.RuneCountInString(piece); n+pn <= maxPrintable {
			b.WriteString(piece)
			n += pn
			continue
		}
		b.WriteString("…")
		break
	}
	return b.String()
}

// escapeJSON returns data, JSON from encoding/json, with every non-graphic rune but
// the newlines of its indentation written as a \uXXXX escape (a surrogate pair past
// U+FFFF). encoding/json escapes only the controls below U+0020 (and U+2028, U+2029);
// C1 controls such as CSI (U+009B) and bidi overrides (U+202E) from an agent would
// otherwise reach root's terminal raw. Outside strings encoding/json writes only
// ASCII punctuation, letters, digits, spaces and newlines, so every rune escaped here
// is inside a string and the values are unchanged.
func escapeJSON(data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(data))
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == '\n' || unicode.IsGraphic(r) {
			b.Write(data[i : i+size])
		} else if r1, r2 := utf16.EncodeRune(r); r1 != unicode.ReplacementChar {
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		} else {
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.Bytes()
}

// printableCause is err, less a *client.SessionError's own uid prefix, with the
// text an agent may have chosen made printable: an agent error's message, and each
// unit and reason of its per-unit failures, each on its own (so that one long reason
// does not hide the others); a failed repair's cause and failure each on its own;
// any other error as a whole.
func printableCause(err error) error {
	var se *client.SessionError
	if errors.As(err, &se) {
		err = se.Err
	}
	if re, ok := err.(*client.RepairError); ok && re.Err != nil {
		// Why the agent is unreachable and why it could not be repaired are each
		// cut on their own, so that a long first one does not hide the second.
		return &client.RepairError{Cause: errors.New(printable(re.Cause.Error())), Err: errors.New(printable(re.Err.Error()))}
	}
	ae, ok := err.(*client.AgentError)
	if !ok {
		return errors.New(printable(err.Error()))
	}
	clean := &client.AgentError{Status: ae.Status, AgentKind: printable(ae.AgentKind), Message: printable(ae.Message)}
	for key, reasons := range ae.Failures {
		if clean.Failures == nil {
			clean.Failures = map[string]map[string]string{}
		}
		m := map[string]string{}
		for unit, reason := range reasons {
			m[printable(unit)] = printable(reason)
		}
		clean.Failures[printable(key)] = m
	}
	return clean
}
