package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// hookCall is one run of a disconnect hook.
type hookCall struct {
	hook, namespace, sid, reason string
	rooms                        []string
	stillListed                  bool // the namespace still lists the socket
}

// recordHooks installs OnDisconnecting and OnDisconnect hooks on the
// namespaces and reports every call on the returned channel.
func recordHooks(s *server.Server, namespaces ...string) <-chan hookCall {
	calls := make(chan hookCall, 64)
	for _, name := range namespaces {
		ns := s.Of(name)
		ns.OnDisconnecting(func(sock *server.Socket, reason string) {
			calls <- hookCall{"disconnecting", name, sock.ID(), reason, sorted(sock.Rooms()), ns.Socket(sock.ID()) != nil}
		}).OnDisconnect(func(sock *server.Socket, reason string) {
			calls <- hookCall{"disconnect", name, sock.ID(), reason, sorted(sock.Rooms()), ns.Socket(sock.ID()) != nil}
		})
	}
	return calls
}

func nextHook(t *testing.T, calls <-chan hookCall) hookCall {
	t.Helper()
	select {
	case c := <-calls:
		return c
	case <-time.After(testkit.Timeout):
		t.Fatal("no disconnect hook ran")
		return hookCall{}
	}
}

// wantHooks reads the hooks of one socket's disconnect: disconnecting
// while it still has its rooms, then disconnect once it has left them.
func wantHooks(t *testing.T, calls <-chan hookCall, namespace, sid, reason string, rooms ...string) {
	t.Helper()
	ing := nextHook(t, calls)
	if ing.hook != "disconnecting" || ing.namespace != namespace || ing.sid != sid || ing.reason != reason ||
		!slices.Equal(ing.rooms, sorted(rooms)) || !ing.stillListed {
		t.Fatalf("got %+v, want disconnecting of %s in %s with reason %q and rooms %v", ing, sid, namespace, reason, sorted(rooms))
	}
	ed := nextHook(t, calls)
	if ed.hook != "disconnect" || ed.namespace != namespace || ed.sid != sid || ed.reason != reason ||
		len(ed.rooms) != 0 || ed.stillListed {
		t.Fatalf("got %+v, want disconnect of %s in %s with reason %q, out of every room", ed, sid, namespace, reason)
	}
}

func TestDisconnectFrameLeavesNamespace(t *testing.T) {
	var calls <-chan hookCall
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/chat")
		calls = recordHooks(s, "/", "/chat")
	})
	alice, aliceSID := connected(t, srv, "/", "general", "x")
	alice.Connect("/chat")
	bob, bobSID := connected(t, srv, "/", "general")

	alice.Send(disconnectFrame(1, "/"))
	wantReply(t, alice, 1, "")
	wantHooks(t, calls, "/", aliceSID, server.ReasonClientNamespaceDisconnect, aliceSID, "general", "x")
	if got := srv.Stats(); got.Sockets != 2 || got.Clients != 2 {
		t.Fatalf("stats = %+v, want 2 clients and 2 sockets", got)
	}
	if _, ok := srv.Of("/").RoomSizes()["x"]; ok {
		t.Fatalf("room x outlived its only member: %v", srv.Of("/").RoomSizes())
	}

	// Room emits no longer reach alice; bob still gets them.
	bob.Send(emit(2, "/", "msg", nil, "general"))
	wantEvent(t, bob, "/", "msg", nil, bobSID)
	wantReply(t, bob, 2, "")
	bob.Send(emit(3, "/", "to all", nil))
	wantEvent(t, bob, "/", "to all", nil, bobSID)
	wantReply(t, bob, 3, "")
	// The client asked, so it is not told: the barrier on /chat comes first.
	barrier(t, srv, "/chat", alice)

	// A second disconnect finds nothing to leave.
	alice.Send(disconnectFrame(4, "/"))
	wantReply(t, alice, 4, server.CodeFailedPrecondition)
	alice.Send(disconnectFrame(0, "/"))
	wantReply(t, alice, 0, server.CodeFailedPrecondition)
	select {
	case c := <-calls:
		t.Fatalf("unexpected hook %+v", c)
	default:
	}
}

func TestStreamEndDisconnectsEverySocket(t *testing.T) {
	for _, end := range []string{"CloseSend", "Cancel", "close connection"} {
		t.Run(end, func(t *testing.T) {
			var calls <-chan hookCall
			srv := testkit.Start(t, func(s *server.Server) {
				s.Of("/chat")
				calls = recordHooks(s, "/", "/chat")
			})
			bob, bobSID := connected(t, srv, "/", "general")
			cc := srv.Conn(t)
			alice := testkit.OpenOn(t, cc)
			rootSID := alice.Connect("/")
			chatSID := alice.Connect("/chat")
			alice.Join("/", "general")
			if got := srv.Stats(); got.Clients != 2 || got.Sockets != 3 {
				t.Fatalf("stats = %+v", got)
			}

			switch end {
			case "CloseSend":
				alice.CloseSend()
				if err := alice.End(); err != nil {
					t.Fatalf("stream ended with %v, want OK", err)
				}
			case "Cancel":
				alice.Cancel()
				wantStatus(t, alice.End(), codes.Canceled, "")
			default:
				cc.Close()
				wantStatus(t, alice.End(), codes.Canceled, "")
			}
			want := map[string]string{rootSID: "/", chatSID: "/chat"}
			for range 2 {
				ing := nextHook(t, calls)
				ed := nextHook(t, calls)
				if ing.hook != "disconnecting" || ed.hook != "disconnect" || ing.sid != ed.sid || want[ing.sid] != ing.namespace ||
					ing.reason != server.ReasonTransportClose || ed.reason != server.ReasonTransportClose {
					t.Fatalf("hooks %+v then %+v", ing, ed)
				}
				delete(want, ing.sid)
			}
			testkit.Eventually(t, "alice's client and sockets are gone", func() bool {
				s := srv.Stats()
				return s.Clients == 1 && s.Sockets == 1
			})
			if got := srv.Of("/").RoomSizes()["general"]; got != 1 {
				t.Fatalf("general has %d members, want 1", got)
			}
			bob.Send(emit(1, "/", "anyone?", nil, "general"))
			wantEvent(t, bob, "/", "anyone?", nil, bobSID)
			wantReply(t, bob, 1, "")

			bob.CloseSend()
			if err := bob.End(); err != nil {
				t.Fatalf("bob's stream ended with %v", err)
			}
			testkit.Eventually(t, "no client left", func() bool {
				s := srv.Stats()
				return s.Clients == 0 && s.Sockets == 0
			})
		})
	}
}

func TestServerDisconnectsSocket(t *testing.T) {
	var calls <-chan hookCall
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/chat")
		calls = recordHooks(s, "/")
		s.Of("/").On("kick me", func(_ context.Context, sock *server.Socket, _ *server.Event) (any, error) {
			sock.Disconnect("kicked")
			return "bye", nil
		})
	})
	alice, aliceSID := connected(t, srv, "/", "general")
	alice.Connect("/chat")
	bob, bobSID := connected(t, srv, "/", "general")

	srv.Of("/").Socket(aliceSID).Disconnect("")
	d := alice.Next().GetDisconnected()
	if d == nil || d.Namespace != "/" || d.Reason != server.ReasonServerNamespaceDisconnect {
		t.Fatalf("got %v, want disconnected from / with reason %q", d, server.ReasonServerNamespaceDisconnect)
	}
	wantHooks(t, calls, "/", aliceSID, server.ReasonServerNamespaceDisconnect, aliceSID, "general")

	// The stream stays open: alice's other namespace still works, her
	// socket in / no longer gets room emits, and she may come back.
	bob.Send(emit(1, "/", "msg", nil, "general"))
	wantEvent(t, bob, "/", "msg", nil, bobSID)
	wantReply(t, bob, 1, "")
	barrier(t, srv, "/chat", alice)
	alice.Send(emit(2, "/", "e", nil))
	wantReply(t, alice, 2, server.CodeFailedPrecondition)
	again := alice.Connect("/")
	if again == aliceSID {
		t.Fatal("reconnect reused the sid")
	}

	// From a handler, with a reason of its own.
	alice.Send(call(3, "/", "kick me", nil))
	if d := alice.Next().GetDisconnected(); d == nil || d.Namespace != "/" || d.Reason != "kicked" {
		t.Fatalf("got %v, want disconnected with reason kicked", d)
	}
	if r := wantReply(t, alice, 3, ""); r.Data.GetStringValue() != "bye" {
		t.Fatalf("reply = %v", r)
	}
	wantHooks(t, calls, "/", again, "kicked", again)

	// Selected by room, through the operator.
	bob.Join("/", "doomed")
	if n, partial := srv.Of("/").To("doomed").DisconnectSockets(context.Background(), ""); n != 1 || len(partial.Missing) != 0 {
		t.Fatalf("DisconnectSockets = %d, %+v", n, partial)
	}
	if d := bob.Next().GetDisconnected(); d == nil || d.Reason != server.ReasonServerNamespaceDisconnect {
		t.Fatalf("got %v", d)
	}
	wantHooks(t, calls, "/", bobSID, server.ReasonServerNamespaceDisconnect, bobSID, "general", "doomed")
	if got := srv.Stats(); got.Clients != 2 || got.Sockets != 1 {
		t.Fatalf("stats = %+v, want 2 clients and alice's /chat socket", got)
	}
}

func TestPanickingHandlerEndsOnlyThatClient(t *testing.T) {
	var calls <-chan hookCall
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/chat")
		calls = recordHooks(s, "/")
		s.Of("/").On("boom", func(context.Context, *server.Socket, *server.Event) (any, error) {
			panic("boom")
		})
	})
	alice, aliceSID := connected(t, srv, "/", "general")
	alice.Connect("/chat")
	bob, bobSID := connected(t, srv, "/", "general")

	alice.Send(call(1, "/", "boom", nil))
	// alice is told why, for each namespace, then her stream ends.
	reasons := map[string]string{}
	for range 2 {
		d := alice.Next().GetDisconnected()
		if d == nil {
			t.Fatal("want disconnected")
		}
		reasons[d.Namespace] = d.Reason
	}
	if reasons["/"] != server.ReasonInternalError || reasons["/chat"] != server.ReasonInternalError {
		t.Fatalf("disconnected reasons = %v", reasons)
	}
	wantStatus(t, alice.End(), codes.Internal, "")
	wantHooks(t, calls, "/", aliceSID, server.ReasonInternalError, aliceSID, "general")

	// bob keeps working.
	bob.Send(emit(2, "/", "still here", nil, "general"))
	wantEvent(t, bob, "/", "still here", nil, bobSID)
	wantReply(t, bob, 2, "")
	testkit.Eventually(t, "alice is gone", func() bool {
		s := srv.Stats()
		return s.Clients == 1 && s.Sockets == 1
	})
	// A new client works too.
	carol, carolSID := connected(t, srv, "/", "general")
	carol.Send(emit(3, "/", "hi", nil, "general"))
	wantEvent(t, carol, "/", "hi", nil, carolSID)
	wantEvent(t, bob, "/", "hi", nil, carolSID)
	wantReply(t, carol, 3, "")
}

func TestPanickingMiddlewareEndsOnlyThatClient(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/bad-connect").Use(func(context.Context, *server.ConnectRequest) error { panic("connect middleware") })
		s.Of("/bad-event").UseEvent(func(context.Context, *server.Socket, *server.Event) error { panic("event middleware") })
		s.Of("/bad-hook").OnConnection(func(*server.Socket) { panic("connection hook") })
	})
	bob, bobSID := connected(t, srv, "/", "general")
	for _, ns := range []string{"/bad-connect", "/bad-event", "/bad-hook"} {
		st := srv.Open(t)
		st.Send(connectFrame(0, ns, nil))
		if ns == "/bad-event" {
			st.Next() // connected
			st.Send(emit(0, ns, "e", nil))
		}
		_, err := st.Rest()
		wantStatus(t, err, codes.Internal, "")
		bob.Send(emit(1, "/", "still here", nil, "general"))
		wantEvent(t, bob, "/", "still here", nil, bobSID)
		wantReply(t, bob, 1, "")
	}
	testkit.Eventually(t, "only bob is left", func() bool {
		s := srv.Stats()
		return s.Clients == 1 && s.Sockets == 1
	})
}
