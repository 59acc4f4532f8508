package wire_test

import (
	"encoding/json"
	"syscall"
	"testing"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]wire.Signal{
		"SIGTERM": wire.Signal(syscall.SIGTERM), "TERM": wire.Signal(syscall.SIGTERM), "term": wire.Signal(syscall.SIGTERM),
		"KILL": wire.Signal(syscall.SIGKILL), "9": wire.Signal(syscall.SIGKILL), "SIGUSR1": wire.Signal(syscall.SIGUSR1), "64": 64,
	} {
		if got, err := wire.ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "65", "-9", "SIGFOO", "TERM ", "1.5"} {
		if got, err := wire.ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) = %v, want an error", in, got)
		}
	}
}

// snapd's client sends the signal as a number (a syscall.Signal), this project's first
// clients as a name: both decode. Out-of-range numbers decode too; Check refuses them.
func TestAppInstructionSignal(t *testing.T) {
	for body, want := range map[string]wire.Signal{
		`{"action":"kill","snaps":["foo"],"signal":9,"reason":"remove"}`: 9,
		`{"action":"kill","snaps":["foo"],"signal":"SIGKILL"}`:           9,
		`{"action":"kill","snaps":["foo"],"signal":"USR1"}`:              wire.Signal(syscall.SIGUSR1),
		`{"action":"kill","snaps":["foo"],"signal":"15"}`:                15,
		`{"action":"kill","snaps":["foo"]}`:                              0,
		`{"action":"kill","snaps":["foo"],"signal":null}`:                0,
		`{"action":"kill","snaps":["foo"],"signal":99}`:                  99,
	} {
		var inst wire.AppInstruction
		if err := json.Unmarshal([]byte(body), &inst); err != nil || inst.Signal != want {
			t.Errorf("%s: signal %d, %v; want %d", body, inst.Signal, err, want)
		}
	}
	for _, body := range []string{
		`{"signal":"SIGNOPE"}`, `{"signal":"0"}`, `{"signal":9.5}`, `{"signal":true}`, `{"signal":[9]}`, `{"signal":""}`,
	} {
		var inst wire.AppInstruction
		if err := json.Unmarshal([]byte(body), &inst); err == nil {
			t.Errorf("%s decoded into signal %d, want an error", body, inst.Signal)
		}
	}
	if err := wire.Signal(99).Check(); err == nil {
		t.Error("signal 99 passes Check")
	}
}

// What this project's client sends decodes in snapd's agent, which reads the signal
// into a syscall.Signal (snapd 2.65's usersession/client.AppInstruction).
func TestAppInstructionEncodesTheSignalAsANumber(t *testing.T) {
	body, err := json.Marshal(wire.AppInstruction{Action: wire.ActionKill, Snaps: []string{"foo"}, Signal: 9})
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != `{"action":"kill","snaps":["foo"],"signal":9}` {
		t.Errorf("encoded as %s", body)
	}
	var snapd struct {
		Action string         `json:"action"`
		Snaps  []string       `json:"snaps"`
		Signal syscall.Signal `json:"signal"`
	}
	if err := json.Unmarshal(body, &snapd); err != nil || snapd.Signal != syscall.SIGKILL {
		t.Errorf("snapd's shape decodes %s into %+v, %v", body, snapd, err)
	}
	if s := wire.Signal(syscall.SIGKILL).String(); s != "SIGKILL" {
		t.Errorf("SIGKILL is named %q", s)
	}
	if s := wire.Signal(40).String(); s != "signal 40" {
		t.Errorf("signal 40 is named %q", s)
	}
}
