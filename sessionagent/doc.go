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
// one file per topic (sessioninfo.go, services.go, exit.go, ...). They act through the
// backends passed in Config (backend.go): Services and Notifications, which
// NewBackends builds for a user's session and tests replace with fakes; a backend that
// lives on the session bus (BusBackend) is started on the agent's connection, and
// while there is none its endpoints get the one no-session-bus answer (dbus.go).
// Handlers return a Response built with SyncResponse, or ResponseForError for an error:
// the service backend returns *apierror.Error (package internal/apierror), the
// notification backend *notification.Error, and errors.go holds both tables, from a
// notification kind to a wire kind and from a wire kind to an HTTP status. Handlers
// decode request bodies with DecodeJSONBody.
package sessionagent
