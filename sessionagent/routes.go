package sessionagent

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
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

// api is every endpoint of the agent, in one table as snapd's rest_api.go and Pebble's
// api.go list theirs; the handlers live in one file per topic. A new endpoint is one
// more line here (its Feature is then listed by session-info).
var api = []*Command{
	{Path: wire.PathSessionInfo, Feature: "session-info", GET: getSessionInfo},
	{Path: wire.PathServiceControl, Feature: "service-control", POST: postServiceControl},
	{Path: wire.PathServiceStatus, Feature: "service-status", GET: getServiceStatus},
	{Path: wire.PathAppControl, Feature: "app-control", POST: postAppControl},
	{Path: wire.PathAgentExit, Feature: "agent-exit", POST: postAgentExit},
	{Path: wire.PathNotifications, Feature: "notifications", POST: postNotification, GET: getNotification},
	{Path: wire.PathNotificationClose, POST: postNotificationClose},
	{Path: wire.PathPendingRefresh, Feature: "pending-refresh-notification", POST: postPendingRefresh},
	{Path: wire.PathFinishRefresh, Feature: "finish-refresh-notification", POST: postFinishRefresh},
}

// newRoutes returns the agent's route table, keyed by path, from api; it panics on a
// duplicate path.
func newRoutes() map[string]*Command {
	routes := make(map[string]*Command, len(api))
	for _, cmd := range api {
		addCommand(routes, cmd)
	}
	return routes
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
