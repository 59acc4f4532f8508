package main

import (
	"fmt"
	"runtime"

	"github.com/jessevdk/go-flags"
)

type cmdVersion struct {
	env *cmdEnv
}

func init() {
	addCommand("version", "Show version details", `
The version command displays the version of this snap binary and of the Go
toolchain that built it.`, func(env *cmdEnv) flags.Commander { return &cmdVersion{env: env} })
}

func (c *cmdVersion) Execute(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("too many arguments for command")
	}
	fmt.Fprintf(c.env.stdout, "snap    %s\ngo      %s\n", Version, runtime.Version())
	return nil
}
