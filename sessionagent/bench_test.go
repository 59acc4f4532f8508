package sessionagent_test

import (
	"io"
	"testing"

	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// BenchmarkSessionInfo measures a full call as root's client makes it: connect, ask,
// read the answer, close.
func BenchmarkSessionInfo(b *testing.B) {
	ta := startAgent(b, sessionagent.Config{})
	client := ta.client()
	b.ReportAllocs()
	for b.Loop() {
		rsp, err := client.Get("http://agent" + wire.PathSessionInfo)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, rsp.Body)
		rsp.Body.Close()
		if rsp.StatusCode != 200 {
			b.Fatalf("status %d", rsp.StatusCode)
		}
	}
}
