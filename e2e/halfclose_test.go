package e2e

import (
	"context"
	"testing"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// A client that sends its frames and half-closes at once, as grpcurl does
// with frames from a file or a heredoc, still gets every answer: the end
// of its sending is not the end of its reading.
func TestHalfCloseStillDeliversTheAnswers(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/locked").Use(func(_ context.Context, _ *server.ConnectRequest) error {
			return &server.Error{Code: server.CodePermissionDenied, Message: "locked"}
		})
	})
	for range 20 { // the queue used to be dropped only when the close won the race
		st := srv.Open(t)
		st.Send(connectFrame(0, "/", nil))
		st.Send(joinFrame(1, "/", "general"))
		st.Send(emit(2, "/", "hello", "world", "general"))
		st.Send(connectFrame(0, "/locked", nil))
		st.CloseSend()

		sid := st.Next().GetConnected().GetSid()
		if sid == "" {
			t.Fatal("no connected frame")
		}
		if r := st.Reply(); r.Ref != 1 || r.Error != nil {
			t.Fatalf("join: %v", r)
		}
		wantEvent(t, st, "/", "hello", "world", sid)
		if r := st.Reply(); r.Ref != 2 || r.Error != nil {
			t.Fatalf("emit: %v", r)
		}
		if ce := st.Next().GetConnectError(); ce.GetMessage() != "locked" {
			t.Fatalf("got %v, want the refusal of /locked", ce)
		}
		if err := st.End(); err != nil {
			t.Fatalf("stream ended with %v, want OK", err)
		}
	}
}
