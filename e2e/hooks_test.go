package e2e

import (
	"testing"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// A panic in a user's disconnect hook must not stop the teardown half way:
// every socket of the client still leaves its namespace and rooms.
func TestPanickingDisconnectHooksStillTearDown(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/").OnDisconnecting(func(*server.Socket, string) { panic("disconnecting hook") })
		s.Of("/").OnDisconnect(func(*server.Socket, string) { panic("disconnect hook") })
		s.Of("/chat")
	})
	st := srv.Open(t)
	st.Connect("/")
	st.Connect("/chat")
	st.Join("/chat", "room")
	st.CloseSend()
	if err := st.End(); err != nil {
		t.Fatalf("stream ended with %v, want OK", err)
	}
	testkit.Eventually(t, "every socket torn down", func() bool {
		return srv.Stats().Sockets == 0 && srv.Stats().Clients == 0
	})
	if sizes := srv.Of("/chat").RoomSizes(); len(sizes) != 0 {
		t.Fatalf("rooms of /chat after the client left: %v", sizes)
	}
	if sizes := srv.Of("/").RoomSizes(); len(sizes) != 0 {
		t.Fatalf("rooms of / after the client left: %v", sizes)
	}
}
