// Package sessionagent is the user session agent (`snap userd --agent`): an HTTP/JSON
// server on a unix socket in the user's runtime directory, through which root (snapd)
// asks a user's session to act on its own services and applications.
//
// A request flows one way: the socket (socket-activated by a systemd user unit, or
// bound by the agent itself) -> the connection's peer credentials, read once when it is
// accepted -> the peer guard (only root and the agent's own user) -> the route table ->
// the endpoint's handler -> its answer in the snapd envelope of package wire.
//
// The agent lives only while it is useful: it exits when no request has been in
// progress for Config.IdleTimeout, when asked to (POST /v1/agent-exit, so that an
// upgraded binary answers the next call), and on SIGTERM, draining requests in progress
// in every case. The socket unit starts it again on the next connection.
//
// Endpoints live in one file per topic (sessioninfo.go, exit.go, ...). Each file
// registers its Command values in init() with register; handlers return a Response
// built with SyncResponse or ErrorResponse, and decode request bodies with
// DecodeJSONBody.
package sessionagent
