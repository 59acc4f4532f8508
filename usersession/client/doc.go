// Package client talks, as root, to the user session agents of the users logged in on
// this machine: it finds their sockets, checks who serves each one, and calls every
// agent with its own deadlines, returning one typed outcome per user.
//
// It is wire-compatible with snapd's session agents and improves on snapd's own client
// in the ways a root process addressing untrusted per-user servers needs:
//
//   - a socket is used only if its directory and the socket itself belong to the user
//     and nobody else can replace them (see [Client.Discover]);
//   - after connecting, the server's SO_PEERCRED must name the same user, so a socket
//     planted by someone else, or served by another user's process, is refused;
//   - every call has a connect, response-header and whole-call deadline under the
//     caller's context, and every answer is read through a size cap;
//   - calls fan out to all agents with bounded concurrency, a fresh connection per
//     agent, and no redirects;
//   - results are kept per user: one hanging or hostile agent never hides what the
//     others answered ([Results], [Outcome]).
package client
