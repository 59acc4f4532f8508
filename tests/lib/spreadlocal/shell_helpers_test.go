package main

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// helperCases run spread's shell helpers in bash. The statuses and outputs are those
// of spread's own definitions (spread/client.go, runPart, at the commit jobs_test.go
// names), run the same way here; SPREAD_HELPERS=FILE runs the cases with the
// definitions in FILE instead (copy them there from that runPart to check again).
var helperCases = []struct {
	name, stdin, script string
	status              int
	stdout, stderr      string
}{
	{name: "match", stdin: "hello world\n", script: "MATCH wor"},
	{name: "a line of many", stdin: "one\ntwo\nthree\n", script: "MATCH '^two$'"},
	{name: "extended regexp", stdin: "a123\n", script: "MATCH 'a[0-9]+$'"},
	{name: "extended grouping", stdin: "ab\n", script: "MATCH '(x|a)b'"},
	{name: "arguments go to grep", stdin: "Hello\n", script: "MATCH -i hello"},
	{name: "no trailing newline", stdin: "abc", script: "MATCH 'c$'"},
	{name: "no match", stdin: "hello\n", script: "MATCH bye", status: 1,
		stderr: "grep error: pattern not found, got:\nhello\n"},
	{name: "no match shows the input without its last newlines", stdin: "a\nb\n\n\n", script: "MATCH c", status: 1,
		stderr: "grep error: pattern not found, got:\na\nb\n"},
	{name: "empty input", script: "MATCH x", status: 1, stderr: "grep error: pattern not found, got:\n\n"},
	{name: "BRE syntax is literal", stdin: "a{2}\n", script: `MATCH 'a\{2\}'`},
	{name: "missing regexp", stdin: "x\n", script: "MATCH", status: 1, stdout: "error: missing regexp argument\n"},
	{name: "invalid regexp", stdin: "x\n", script: "MATCH '('", status: 1,
		stdout: "unexpected grep exit status: 2\n", stderr: "grep: MESSAGE\ngrep error: pattern not found, got:\nx\n"},
	{name: "a failing MATCH ends the script", stdin: "x\n", script: "MATCH y\necho after", status: 1,
		stderr: "grep error: pattern not found, got:\nx\n"},
	{name: "MATCH is not traced", script: "set -x\nMATCH x <<<x\nMATCH y <<<x", status: 1,
		stderr: "+ MATCH x\n+ MATCH y\ngrep error: pattern not found, got:\nx\n"},
	{name: "nomatch", stdin: "hello\n", script: "NOMATCH bye"},
	{name: "nomatch found", stdin: "hello\n", script: "NOMATCH ell", status: 1,
		stderr: "NOMATCH pattern='ell' found in:\nhello\n"},
	{name: "nomatch arguments", stdin: "Hello\n", script: "NOMATCH -i hello", status: 1,
		stderr: "NOMATCH pattern='-i hello' found in:\nHello\n"},
	{name: "nomatch arguments, another IFS", stdin: "Hello\n", script: "IFS=:\nNOMATCH -i hello", status: 1,
		stderr: "NOMATCH pattern='-i hello' found in:\nHello\n"},
	{name: "nomatch missing regexp", stdin: "x\n", script: "NOMATCH", status: 1, stdout: "error: missing regexp argument\n"},
	// grep fails, which NOMATCH does not tell from "not found"
	{name: "nomatch invalid regexp", stdin: "x\n", script: "NOMATCH '('", stderr: "grep: MESSAGE\n"},
	{name: "error", script: "ERROR 'bad thing' here\necho after", status: 213, stdout: "<ERROR bad thing here>\n"},
	{name: "error without a message", script: "ERROR", status: 213, stdout: "<ERROR>\n"},
}

// grepMessage is grep's own complaint, which differs between grep versions.
var grepMessage = regexp.MustCompile(`(?m)^grep: .*$`)

func runHelper(t *testing.T, helpers, script, stdin string) (status int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command("/bin/bash", "-c", "set -eu\n"+helpers+script)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		status = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return status, out.String(), grepMessage.ReplaceAllString(errOut.String(), "grep: MESSAGE")
}

func TestHelpersBehaveAsSpreads(t *testing.T) {
	helpers := scriptHelpers
	if f := os.Getenv("SPREAD_HELPERS"); f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		helpers = string(data)
	}
	for _, c := range helperCases {
		status, stdout, stderr := runHelper(t, helpers, c.script, c.stdin)
		if status != c.status || stdout != c.stdout || stderr != c.stderr {
			t.Errorf("%s: %q <<<%q:\n got status %d, stdout %q, stderr %q\nwant status %d, stdout %q, stderr %q",
				c.name, c.script, c.stdin, status, stdout, stderr, c.status, c.stdout, c.stderr)
		}
	}
}

// REBOOT is spread's one helper the runner cannot honour: it fails the script and
// says why, instead of rebooting.
func TestRebootFailsTheScript(t *testing.T) {
	status, stdout, stderr := runHelper(t, scriptHelpers, "set -x\nREBOOT\necho after", "")
	if status != 1 || stdout != "" || stderr != "+ REBOOT\nspreadlocal: REBOOT is not implemented by the local runner\n" {
		t.Errorf("got status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
}
