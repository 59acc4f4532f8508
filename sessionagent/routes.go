package sessionagent

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// HandlerFunc serves one method of one endpoint and returns its answer. It runs after
// the peer check, for a request whose body has been read in full (at most
// Config.MaxRequestBody bytes, ContentLength set to its size) and whose context ends
// at Config.RequestTimeout. It reaches the agent's dependencies through a.
type HandlerFunc func(a *Agent, r *http.Request) Response

// Command is one endpoint: its path and a handler per method it accepts. Other methods
// are answered 405.
type Command struct {
	Path string
	// Feature, when set, is listed by session-info so that clients can tell what
	// this agent supports.
	Feature string

	GET  HandlerFunc
	POST HandlerFunc
}

// handler returns the command's handler for method, or nil.
func (c *Command) handler(method string) HandlerFunc {
	switch method {
	case http.MethodGet:
		return c.GET
	case http.MethodPost:
		return c.POST
	}
	return nil
}

// allow is the value of the Allow header of a 405 answer.
func (c *Command) allow() string {
	var methods []string
	if c.GET != nil {
		methods = append(methods, http.MethodGet)
	}
	if c.POST != nil {
		methods = append(methods, http.MethodPost)
	}
	return strings.Join(methods, ", ")
}

// commands are the endpoints of every agent, each file adding its own in init() with
// register. It is written only during package initialisation.
var commands = map[string]*Command{}

// register adds an endpoint of every agent; it panics on a duplicate path.
func register(cmd *Command) {
	addCommand(commands, cmd)
}

// Handle adds an endpoint to this agent only (tests, embedders); it must be called
// before Run and panics on a duplicate path.
func (a *Agent) Handle(cmd *Command) {
	if a.running.Load() {
		panic(fmt.Sprintf("cannot add endpoint %q: the agent is running", cmd.Path))
	}
	addCommand(a.routes, cmd)
}

func addCommand(routes map[string]*Command, cmd *Command) {
	switch {
	case !strings.HasPrefix(cmd.Path, "/"):
		panic(fmt.Sprintf("cannot add endpoint %q: path must start with /", cmd.Path))
	case cmd.GET == nil && cmd.POST == nil:
		panic(fmt.Sprintf("cannot add endpoint %q: no handler", cmd.Path))
	case routes[cmd.Path] != nil:
		panic(fmt.Sprintf("cannot add endpoint %q: already added", cmd.Path))
	}
	routes[cmd.Path] = cmd
}

// features lists the Feature of every route, sorted.
func features(routes map[string]*Command) []string {
	var fs []string
	for _, cmd := range routes {
		if f := cmd.Feature; f != "" {
			fs = append(fs, f)
		}
	}
	slices.Sort(fs)
	return fs
}
