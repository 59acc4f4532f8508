// Package clienttest runs fake session agents for tests of the client and of the
// commands built on it: well-behaved ones that speak this project's or snapd's
// dialect, and hostile ones that hang, trickle, flood, lie or die mid-answer.
//
// An agent's identity is only real if a process of that uid serves the socket, so a
// Fleet runs each agent as a child process with that uid: the test binary itself,
// re-executed in agent mode. A test binary using Fleet must call MaybeRunAgent first
// thing, from TestMain or from an init function in one of its _test.go files.
package clienttest
