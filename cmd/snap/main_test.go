package main

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/jessevdk/go-flags"
)

// A parser of the one command named answers as the parser of every command does: the
// same help and the same errors, for every command.
func TestOneCommandParserAnswersAsTheFullParser(t *testing.T) {
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "--no-such-option"}} {
			answer := func(p *flags.Parser) string {
				_, err := p.ParseArgs(args)
				return fmt.Sprint(err)
			}
			env := &cmdEnv{stdout: io.Discard, stderr: io.Discard}
			full, one := answer(newParser(env)), answer(newParserFor(env, args))
			if one != full {
				t.Errorf("snap %s: the one-command parser says\n%s\nthe full parser says\n%s", strings.Join(args, " "), one, full)
			}
		}
	}
}
