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
// progress for Config.IdleTimeout (at once when idle after a request with the header
// Snap-Agent-Exit-When-Idle: true, which root's one-shot calls send), when asked to
// (POST /v1/agent-exit, so that an upgraded binary answers the next call), and on
// SIGTERM, draining requests in progress in every case. The socket unit starts it again on the next connection.
// Its last step after a clean exit is to reset its own service unit's start limit in
// the user's manager (startlimit.go), so that only failures count towards it.
//
// Every endpoint is one line of the route table (api in routes.go); its handlers live in
// one file per topic (sessioninfo.go, services.go, exit.go, ...). Handlers return a
// Response built with SyncResponse, or ResponseForError for an error: backends return
// *apierror.Error (package internal/apierror), whose kind the agent maps to an HTTP
// status in one table (errors.go). Handlers decode request bodies with DecodeJSONBody.
package sessionagent
