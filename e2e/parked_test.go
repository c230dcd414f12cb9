package e2e

import (
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/roomcast/internal/testkit"
)

// parkTime is a little over how long roomcast's transport lets a
// connection be idle before its reader goroutine goes.
const parkTime = 1500 * time.Millisecond

// readers counts the goroutines of the in-process server that read a
// connection of its transport, or a client's stream.
func readers() int {
	var b strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	return strings.Count(b.String(), "transport.(*conn).readUntilParked") +
		strings.Count(b.String(), "server.(*client).readLoop")
}

// Clients quiet for longer than the park time have no goroutine reading
// their connections or their streams; events still reach them, and what
// they send next is read and answered, each time they have been quiet.
func TestQuietClientsStillReceiveAndAreHeard(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, aliceSID := connected(t, srv, "/", "general")
	bob, bobSID := connected(t, srv, "/", "general")
	for round := range 2 {
		time.Sleep(parkTime)
		if n := readers(); testkit.RoomcastTransport() && n != 0 {
			t.Fatalf("round %d: %d connection and stream readers after %v of quiet, want 0", round, n, parkTime)
		}
		alice.Send(broadcast(1, "/", "typing", "alice", "general"))
		wantEvent(t, bob, "/", "typing", "alice", aliceSID)
		wantReply(t, alice, 1, "")

		time.Sleep(parkTime)
		bob.Send(broadcast(2, "/", "reply", "bob", "general"))
		wantEvent(t, alice, "/", "reply", "bob", bobSID)
		wantReply(t, bob, 2, "")
		barrier(t, srv, "/", alice, bob)
	}
}
