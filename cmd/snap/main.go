// Command snap is this project's `snap` binary: the user session agent
// (`snap userd --agent`) and the root-side commands that address user sessions.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/jessevdk/go-flags"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

// command describes one subcommand; each cmd_*.go file adds its own in init().
type command struct {
	name      string
	shortHelp string
	longHelp  string
	data      func(env *cmdEnv) flags.Commander
}

var commands []command

func addCommand(name, shortHelp, longHelp string, data func(env *cmdEnv) flags.Commander) {
	commands = append(commands, command{name, shortHelp, longHelp, data})
}

// cmdEnv is what commands write to; tests give their own buffers.
type cmdEnv struct {
	stdout io.Writer
	stderr io.Writer
}

// envSetter is a command that gets its cmdEnv when it runs rather than when it is
// added (a subcommand, which go-flags builds inside its parent's struct).
type envSetter interface{ setEnv(*cmdEnv) }

// errExitStatus is returned by a command that already printed its results but must
// still exit non-zero (for instance when one of several sessions failed).
type errExitStatus struct{ code int }

func (e *errExitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// newParser returns the parser of every command.
func newParser(env *cmdEnv) *flags.Parser {
	return newParserOf(env, commands)
}

// newParserFor returns a parser for args: of the one command args[0] names, when it
// names one that neither lists nor describes the others, else of every command. go-flags
// scans a command's options by reflection as it is added; the socket-activated agent
// (`snap userd --agent`) starts on the path of a session's first request, and scanning
// every command cost about a fifth of its start (perf, cold starts through
// systemd-socket-activate).
func newParserFor(env *cmdEnv, args []string) *flags.Parser {
	if len(args) > 0 && args[0] != "help" && os.Getenv("GO_FLAGS_COMPLETION") == "" {
		for _, c := range commands {
			if c.name == args[0] {
				return newParserOf(env, []command{c})
			}
		}
	}
	return newParser(env)
}

func newParserOf(env *cmdEnv, cmds []command) *flags.Parser {
	parser := flags.NewNamedParser("snap", flags.HelpFlag|flags.PassDoubleDash)
	parser.ShortDescription = "Tool to interact with snap user sessions"
	parser.LongDescription = `
The snap command runs the user session agent and lets root address the agents of
every user session on the system.`
	for _, c := range cmds {
		if _, err := parser.AddCommand(c.name, c.shortHelp, c.longHelp, c.data(env)); err != nil {
			panic(fmt.Sprintf("cannot add command %q: %v", c.name, err))
		}
	}
	// Every command go-flags runs passes here: the one place a subcommand gets its
	// environment, so that none can be left without.
	parser.CommandHandler = func(cmd flags.Commander, args []string) error {
		if cmd == nil {
			return nil
		}
		if c, ok := cmd.(envSetter); ok {
			c.setEnv(env)
		}
		return cmd.Execute(args)
	}
	// Shell completion (GO_FLAGS_COMPLETION=1 snap ARGS..., as
	// data/completion/bash/snap-sessions runs it) writes one candidate a line; go-flags' own
	// handler would write to os.Stdout and exit the process.
	parser.CompletionHandler = func(items []flags.Completion) {
		for _, item := range items {
			fmt.Fprintln(env.stdout, item.Item)
		}
	}
	return parser
}

// run parses args and runs the chosen command; it returns the process exit status.
func run(args []string, env *cmdEnv) int {
	parser := newParserFor(env, args)
	_, err := parser.ParseArgs(args)
	if err == nil {
		return 0
	}
	var flagsErr *flags.Error
	if errors.As(err, &flagsErr) && flagsErr.Type == flags.ErrHelp {
		fmt.Fprintln(env.stdout, err)
		return 0
	}
	var exitErr *errExitStatus
	if errors.As(err, &exitErr) {
		return exitErr.code
	}
	fmt.Fprintf(env.stderr, "error: %v\n", err)
	return 1
}

func main() {
	os.Exit(run(os.Args[1:], &cmdEnv{stdout: os.Stdout, stderr: os.Stderr}))
}
