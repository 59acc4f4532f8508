package client

import (
	"fmt"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/runtimedir"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// SocketName is the agent socket's name in each runtime directory.
const SocketName = wire.SocketName

// Defaults of Options.
const (
	DefaultRuntimeDir      = runtimedir.Base
	DefaultConnectTimeout  = 1 * time.Second
	DefaultHeaderTimeout   = 5 * time.Second
	DefaultTimeout         = 10 * time.Second
	DefaultServiceTimeout  = 100 * time.Second
	DefaultMaxResponseSize = 1 << 20
	DefaultConcurrency     = 32
)

// Options configure a Client. Zero fields take the defaults above.
type Options struct {
	// RuntimeDir holds one directory per uid, each with the agent's socket; tests
	// point it elsewhere.
	RuntimeDir string

	// ConnectTimeout bounds connecting to one agent (including the identity check).
	ConnectTimeout time.Duration
	// HeaderTimeout bounds waiting for response headers once the request is sent,
	// for calls the agent answers at once (session info, status, notifications,
	// kill, exit). WithTimeout sets it to the whole-call deadline it gives.
	HeaderTimeout time.Duration
	// Timeout bounds one whole call to one agent for those calls.
	Timeout time.Duration
	// ServiceTimeout bounds one whole call to one agent for service start, stop,
	// restart and daemon-reload. The agent answers only when systemd's jobs are
	// done, which may take systemd's stop timeout (90s by default), so there the
	// response headers are bounded by this deadline too.
	ServiceTimeout time.Duration

	// MaxResponseSize caps the body of one answer.
	MaxResponseSize int64
	// Concurrency bounds how many agents are called at once.
	Concurrency int

	// RepairAgents: when an agent socket refuses connections (or a targeted uid has
	// none) while the user's verified manager runs, reset and restart the agent's
	// socket unit in that manager and call again, once (see Client.Repair). Off,
	// such a session fails with a *RepairError saying so.
	RepairAgents bool

	// ExitWhenIdle sends every request with the header Snap-Agent-Exit-When-Idle: true
	// (wire.HeaderExitWhenIdle): the agent may exit as soon as it is idle after it,
	// instead of lingering for its idle timeout. Requests that the same call follows
	// with another to that agent (a feature probe before its real request, a
	// notification's post and polls when Notify waits) go without it, so that one
	// agent answers them all. For one-shot callers across many sessions; not for a
	// caller that comes back to the same agent in a later call (a refresh
	// notification and its finish), since the next agent would not know what the
	// first did. snapd's agents ignore the header.
	ExitWhenIdle bool

	// Progress, if set, is called as each session's outcome is settled (every
	// session but those left out as not login sessions), with the number of sessions
	// settled and addressed. Calls are serialized; it must not block for long.
	Progress func(done, total int)
}

// Client calls session agents. It holds no connections between calls and is safe for
// concurrent use.
type Client struct {
	opts Options
}

// New returns a client with opts, defaults filled in.
func New(opts Options) *Client {
	setDefault(&opts.RuntimeDir, DefaultRuntimeDir)
	setDefault(&opts.ConnectTimeout, DefaultConnectTimeout)
	setDefault(&opts.HeaderTimeout, DefaultHeaderTimeout)
	setDefault(&opts.Timeout, DefaultTimeout)
	setDefault(&opts.ServiceTimeout, DefaultServiceTimeout)
	setDefault(&opts.MaxResponseSize, DefaultMaxResponseSize)
	setDefault(&opts.Concurrency, DefaultConcurrency)
	return &Client{opts: opts}
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Options returns the client's options, defaults filled in.
func (c *Client) Options() Options { return c.opts }

// WithTimeout returns a copy of c whose calls, of every kind, each take at most d
// per agent, and may wait that long for the response headers too: an agent answers
// status and kill calls only once its (serialised) systemd work is done, which can
// take longer than HeaderTimeout behind a long stop. The connect deadline is lowered
// to d when longer. A d of zero or less returns c.
func (c *Client) WithTimeout(d time.Duration) *Client {
	if d <= 0 {
		return c
	}
	opts := c.opts
	opts.Timeout = d
	opts.ServiceTimeout = d
	// min(d, whole-call deadline), and the whole-call deadline is now d.
	opts.HeaderTimeout = d
	opts.ConnectTimeout = min(opts.ConnectTimeout, d)
	return &Client{opts: opts}
}

// limits are the deadlines of one call to one agent.
type limits struct {
	connect, headers, total time.Duration
}

func (c *Client) quickLimits() limits {
	return limits{c.opts.ConnectTimeout, c.opts.HeaderTimeout, c.opts.Timeout}
}

func (c *Client) serviceLimits() limits {
	return limits{c.opts.ConnectTimeout, c.opts.ServiceTimeout, c.opts.ServiceTimeout}
}

// Targets says which sessions a call addresses: every discovered one, or the listed
// uids.
type Targets struct {
	all  bool
	uids []int
}

// AllSessions targets every session whose agent socket is found.
func AllSessions() Targets { return Targets{all: true} }

// UIDs targets the sessions of these users; a user without a usable agent gets a
// failed outcome, never silence.
func UIDs(uids ...int) Targets { return Targets{uids: append([]int(nil), uids...)} }

func (t Targets) validate() error {
	for _, uid := range t.uids {
		if uid < 0 || uid >= 1<<32-1 {
			return fmt.Errorf("cannot target uid %d: not a valid uid", uid)
		}
	}
	return nil
}
