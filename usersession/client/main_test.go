package client_test

import "github.com/snapcore-ng/usersession-agent/usersession/client/clienttest"

// Fleets re-execute this test binary as agents of other uids.
func init() { clienttest.MaybeRunAgent() }
