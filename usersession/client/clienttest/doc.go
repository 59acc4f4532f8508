// Package clienttest runs session agents for tests of the client and of the commands
// built on it: this project's agent itself (package sessionagent) with fake backends
// (Services, Notifications), for the well-behaved sessions; and, written by hand,
// snapd's dialects (Snapd, Snapd257) and hostile agents that hang, trickle, flood,
// lie or die mid-answer.
//
// An agent's identity is only real if a process of that uid serves the socket, so a
// Fleet runs each agent as a child process with that uid: the test binary itself,
// re-executed in agent mode. A test binary using Fleet must call MaybeRunAgent first
// thing, from TestMain or from an init function in one of its _test.go files.
// ServeAgent and ServeInProcess serve from the test process instead, as its own uid.
package clienttest
