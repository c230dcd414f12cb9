package e2e

import (
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

const (
	queueBytes = 64 << 10
	chunk      = 16 // events sent between checks
	maxChunks  = 64 // 2 MiB of events: far more than a stalled client can hold
)

var payload = strings.Repeat("p", 2<<10)

// stalled opens a stream with the smallest flow-control windows grpc allows
// (which also turns off its dynamic window), connects it to / in room, and
// stops reading: the server's writes to it soon block.
func stalled(t *testing.T, srv *testkit.Server, room string) (*testkit.Stream, string) {
	t.Helper()
	cc := srv.Conn(t, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	st := testkit.OpenOn(t, cc)
	sid := st.Connect("/")
	st.Join("/", room)
	st.Pause()
	return st, sid
}

func seqEvent(ref uint64, seq int, volatile bool, room string) *roomcastv1.ClientFrame {
	return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Emit{Emit: &roomcastv1.EmitFrame{
		Namespace: "/", Event: "seq", Rooms: []string{room}, Volatile: volatile,
		Data: value(map[string]any{"seq": float64(seq), "pad": payload}),
	}}}
}

func seqOf(e *roomcastv1.Event) int {
	return int(e.Data.GetStructValue().GetFields()["seq"].GetNumberValue())
}

func TestSlowConsumerIsDisconnectedOthersGetEverything(t *testing.T) {
	var calls <-chan hookCall
	srv := testkit.Start(t, func(s *server.Server) { calls = recordHooks(s, "/") },
		server.WithMaxQueueBytes(queueBytes), server.WithDrainTimeout(testkit.Timeout))
	slow, slowSID := stalled(t, srv, "feed")
	pub, pubSID := connected(t, srv, "/", "feed")
	fast, _ := connected(t, srv, "/", "feed")

	// Publish in chunks; the fast clients read every event of a chunk
	// before the next one, the stalled client nothing.
	sent := 0
	publish := func() {
		t.Helper()
		for i := range chunk {
			ref := uint64(0)
			if i == chunk-1 {
				ref = uint64(sent + chunk)
			}
			pub.Send(seqEvent(ref, sent+i, false, "feed"))
		}
		for _, st := range []*testkit.Stream{pub, fast} {
			for i := range chunk {
				if e := st.Event(); e.Event != "seq" || seqOf(e) != sent+i || e.FromSid != pubSID {
					t.Fatalf("got %v, want seq %d", e, sent+i)
				}
			}
		}
		sent += chunk
		wantReply(t, pub, uint64(sent), "")
	}
	for range maxChunks {
		publish()
		if srv.Stats().SlowConsumers > 0 {
			break
		}
	}
	if got := srv.Stats().SlowConsumers; got != 1 {
		t.Fatalf("SlowConsumers = %d after %d events, want 1", got, sent)
	}
	wantHooks(t, calls, "/", slowSID, server.ReasonSlowConsumer, slowSID, "feed")

	// The stalled client, reading again within the drain timeout, finds a
	// prefix of the events in order, then why its socket ended, then the
	// end of its stream: the events it had not been sent were dropped.
	slow.Resume()
	frames, err := slow.Rest()
	if len(frames) < 2 {
		t.Fatalf("slow consumer got %d frames, want events and a disconnected frame", len(frames))
	}
	events, last := frames[:len(frames)-1], frames[len(frames)-1]
	for i, f := range events {
		if e := f.GetEvent(); e == nil || seqOf(e) != i {
			t.Fatalf("slow consumer's frame %d is %v, want event seq %d", i, f, i)
		}
	}
	if d := last.GetDisconnected(); d == nil || d.Namespace != "/" || d.Reason != server.ReasonSlowConsumer {
		t.Fatalf("slow consumer's last frame is %v, want disconnected from / with reason %q", last, server.ReasonSlowConsumer)
	}
	if len(events) >= sent {
		t.Fatalf("slow consumer got %d of %d events", len(events), sent)
	}
	t.Logf("the slow consumer got %d of %d events", len(events), sent)
	wantStatus(t, err, codes.ResourceExhausted, server.ReasonSlowConsumer)
	testkit.Eventually(t, "the slow consumer's client is gone", func() bool {
		s := srv.Stats()
		return s.Clients == 2 && s.Sockets == 2
	})
	// The others go on as before.
	publish()
	publish()
	if s := srv.Stats(); s.SlowConsumers != 1 || s.DroppedVolatile != 0 {
		t.Fatalf("stats = %+v", s)
	}
	barrier(t, srv, "/", pub, fast)
}

func TestVolatileEventsToStalledClientAreDropped(t *testing.T) {
	var calls <-chan hookCall
	srv := testkit.Start(t, func(s *server.Server) { calls = recordHooks(s, "/") }, server.WithMaxQueueBytes(queueBytes))
	slow, slowSID := stalled(t, srv, "live")
	pub, pubSID := connected(t, srv, "/")

	sent := 0
	publish := func() {
		t.Helper()
		for i := range chunk {
			ref := uint64(0)
			if i == chunk-1 {
				ref = uint64(sent + chunk)
			}
			pub.Send(seqEvent(ref, sent+i, true, "live"))
		}
		sent += chunk
		wantReply(t, pub, uint64(sent), "")
	}
	for range maxChunks {
		publish()
		if srv.Stats().DroppedVolatile > 0 {
			break
		}
	}
	publish() // more drops, still no disconnect
	s := srv.Stats()
	if s.DroppedVolatile == 0 || s.SlowConsumers != 0 || s.Clients != 2 || s.Sockets != 2 {
		t.Fatalf("stats = %+v after %d volatile events, want drops and nobody disconnected", s, sent)
	}
	if srv.Of("/").Socket(slowSID) == nil {
		t.Fatal("the stalled socket was disconnected")
	}

	// Reading again, the client gets exactly what was not dropped, in
	// order, and is still connected: a normal event reaches it.
	slow.Resume()
	delivered := sent - int(s.DroppedVolatile)
	last := -1
	for range delivered {
		e := slow.Event()
		if e.Event != "seq" || seqOf(e) <= last || e.FromSid != pubSID {
			t.Fatalf("got %v after seq %d", e, last)
		}
		last = seqOf(e)
	}
	pub.Send(emit(1, "/", "after", nil, "live"))
	wantReply(t, pub, 1, "")
	wantEvent(t, slow, "/", "after", nil, pubSID)
	barrier(t, srv, "/", slow, pub)
	select {
	case c := <-calls:
		t.Fatalf("unexpected hook %+v", c)
	default:
	}
	if got := srv.Stats(); got.SlowConsumers != 0 || got.DroppedVolatile != s.DroppedVolatile {
		t.Fatalf("stats = %+v, want %d drops and no slow consumer", got, s.DroppedVolatile)
	}
}
