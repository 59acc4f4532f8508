package usersessiontest

// Unit fixtures, one per kind of test unit, for WriteUserUnit under a snap unit name
// ("snap.foo.svc.service"). Tests of every layer use these, so that a behaviour is set
// up one way.
const (
	// SimpleUnit runs until stopped; once enabled it is wanted by default.target.
	SimpleUnit = "[Unit]\nDescription=a simple service that runs until stopped\n" +
		"[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=default.target\n"
	// TemplateUnit is a template whose instances run until stopped.
	TemplateUnit = "[Unit]\nDescription=a template; instance %i\n[Service]\nExecStart=/bin/sleep infinity\n"
	// FailingUnit's start job fails, every time: its oneshot start command exits 3.
	FailingUnit = "[Unit]\nDescription=a service whose start job fails\n" +
		"[Service]\nType=oneshot\nExecStart=/bin/sh -c 'exit 3'\n[Install]\nWantedBy=default.target\n"
	// StubbornUnit's main process is a sleep that SIGTERM cannot end (the shell ignores
	// TERM and execs sleep, which inherits the disposition; wait for it with
	// testenv.WaitIgnoresTERM), and the manager is told not to SIGKILL it: after
	// TimeoutStopSec it gives up (twice: stop-sigterm, then final-sigterm) and marks the
	// unit stopped with the process still running. Only the agent's kill ends it.
	StubbornUnit = "[Unit]\nDescription=ignores SIGTERM, and the manager is told not to SIGKILL it\n" +
		"[Service]\nExecStart=/bin/sh -c \"trap '' TERM; exec sleep infinity\"\nTimeoutStopSec=1\nSendSIGKILL=no\n"
	// SlowStopUnit ignores SIGTERM and has a stop timeout longer than any request
	// deadline.
	SlowStopUnit = "[Unit]\nDescription=ignores SIGTERM and has a stop timeout longer than any request deadline\n" +
		"[Service]\nExecStart=/bin/sh -c \"trap '' TERM; exec sleep infinity\"\nTimeoutStopSec=120\n"
)
