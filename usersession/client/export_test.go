package client

import (
	"context"
	"net"
	"time"
)

// DialForTest connects to s as a call with these limits would, identity check and
// deadline included.
func DialForTest(ctx context.Context, s Session, connect time.Duration, deadline time.Time) (net.Conn, error) {
	return dialAgent(s, connect, deadline)(ctx, "unix", "")
}
