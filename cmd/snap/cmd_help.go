package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/jessevdk/go-flags"
)

// cmdHelp is `snap help`, as snap has it: the overview, one command's help, or the
// whole manual page.
type cmdHelp struct {
	env *cmdEnv

	Man        bool `long:"man" description:"Write the manual page (groff), as installed as snap(8)"`
	Positional struct {
		Command []string `positional-arg-name:"<command>"`
	} `positional-args:"yes"`
}

func init() {
	addCommand("help", "Show help about a command", `
The help command shows help about snap or one of its commands, as --help
does ("snap help sessions stop" is "snap sessions stop --help"). With --man it
writes the manual page instead, in groff, for "man -l -" or for installing as
snap(8).`, func(env *cmdEnv) flags.Commander { return &cmdHelp{env: env} })
}

func (c *cmdHelp) Execute(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("too many arguments for command")
	}
	if c.Man {
		if len(c.Positional.Command) > 0 {
			return fmt.Errorf("cannot use --man with a command: the manual page covers all of them")
		}
		return writeManPage(c.env)
	}
	// Parsing "<command>... --help" again gives exactly what --help prints, and
	// go-flags' own error for a command that does not exist.
	_, err := newParser(c.env).ParseArgs(append(append([]string(nil), c.Positional.Command...), "--help"))
	var flagsErr *flags.Error
	if errors.As(err, &flagsErr) && flagsErr.Type == flags.ErrHelp {
		fmt.Fprintln(c.env.stdout, flagsErr.Message)
		return nil
	}
	if err == nil {
		// Unreachable with go-flags' HelpFlag: --help always ends the parse.
		return fmt.Errorf("cannot show help for %q", strings.Join(c.Positional.Command, " "))
	}
	return err
}

// writeManPage writes go-flags' manual page of the whole command line, in section 8
// (system administration commands, where the units' Documentation=man:snap(8) points):
// go-flags always writes section 1. SOURCE_DATE_EPOCH, when set, dates the page (go-flags
// reads it), so that builds are reproducible.
func writeManPage(env *cmdEnv) error {
	var page bytes.Buffer
	newParser(env).WriteManPage(&page)
	out, ok := bytes.CutPrefix(page.Bytes(), []byte(".TH snap 1 "))
	if !ok {
		return fmt.Errorf("cannot write the manual page: unexpected title line from go-flags")
	}
	if _, err := fmt.Fprintf(env.stdout, ".TH snap 8 %s", out); err != nil {
		return fmt.Errorf("cannot write the manual page: %w", err)
	}
	return nil
}
