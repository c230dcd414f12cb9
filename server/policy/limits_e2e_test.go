package policy_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/policy"
)

// Burst 5 and a rate so low that no token comes back during the test:
// exactly 5 of 10 quick emits pass, whatever the machine's speed.
func TestE2ERateLimit(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{Limits: policy.Limits{EventsPerSecond: 0.001, Burst: 5}}
		p.Apply(srv.Of("/secure"))
	})
	st := srv.Open(t)
	mustConnect(t, st, "/secure", "")
	other := srv.Open(t)
	mustConnect(t, other, "/secure", "") // its bucket is its own

	for ref := uint64(1); ref <= 10; ref++ {
		st.Send(emitFrame(ref, "/secure", "msg", nil, true))
	}
	ok, limited := 0, 0
	for ref := uint64(1); ref <= 10; ref++ {
		r := st.Reply()
		if r.Ref != ref {
			t.Fatalf("reply to %d, want %d", r.Ref, ref)
		}
		if r.Error == nil {
			ok++
			continue
		}
		if r.Error.Code != server.CodeResourceExhausted || dataCode(r.Error.Data) != policy.CodeRateLimited {
			t.Fatalf("ref %d: %v", ref, r.Error)
		}
		// A token comes every 1000 s: the client is told to wait about that.
		retry := r.Error.Data.GetStructValue().GetFields()["retry_after_ms"].GetNumberValue()
		if retry < 900_000 || retry > 1_000_000 {
			t.Fatalf("retry_after_ms = %v", retry)
		}
		limited++
	}
	if ok != 5 || limited != 5 {
		t.Fatalf("%d passed and %d were limited, want 5 and 5", ok, limited)
	}
	if evs := other.Events(5); len(evs) != 5 {
		t.Fatalf("other got %d events", len(evs))
	}
	other.Send(emitFrame(1, "/secure", "msg", nil, true))
	wantReply(t, other, 1, "", "")
}

func TestE2EStrikesDisconnect(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{
			Limits: policy.Limits{MaxPayloadBytes: 16, MaxStrikes: 3, EventsPerSecond: 0.001, Burst: 3},
			Rooms:  policy.Rooms{MaxPerSocket: 1},
			Events: policy.Events{Deny: []string{"forbidden"}},
		}
		p.Apply(srv.Of("/secure"))
	})
	st := srv.Open(t)
	sid := mustConnect(t, st, "/secure", "")
	st.Connect("/") // the client stream and its other namespaces stay

	// Every event takes a token, whatever else is wrong with it.
	big := strings.Repeat("x", 32)
	st.Send(emitFrame(1, "/secure", "msg", big, true)) // token 1, strike 1: payload
	wantReply(t, st, 1, server.CodeResourceExhausted, policy.CodePayloadTooLarge)
	st.Send(roomsFrame(2, "/secure", true, "a", "b")) // strike 2: rooms
	wantReply(t, st, 2, server.CodeResourceExhausted, policy.CodeTooManyRooms)
	// Refusals for permissions are not strikes: only broken limits are.
	st.Send(emitFrame(3, "/secure", "forbidden", nil, true)) // token 2
	wantReply(t, st, 3, server.CodePermissionDenied, policy.CodeEventNotAllowed)
	st.Send(emitFrame(4, "/secure", "msg", nil, true)) // token 3
	wantReply(t, st, 4, "", "")
	st.Send(emitFrame(5, "/secure", "msg", nil, true)) // strike 3: rate
	var disconnected *roomcastv1.Disconnected
	var reply *roomcastv1.Reply
	for disconnected == nil || reply == nil {
		f := st.Next()
		switch {
		case f.GetDisconnected() != nil:
			disconnected = f.GetDisconnected()
		case f.GetReply() != nil:
			reply = f.GetReply()
		default:
			t.Fatalf("unexpected %v", f)
		}
	}
	if disconnected.Namespace != "/secure" || disconnected.Reason != policy.ReasonPolicyViolation {
		t.Fatalf("disconnected = %v", disconnected)
	}
	if reply.Ref != 5 || dataCode(reply.Error.GetData()) != policy.CodeRateLimited {
		t.Fatalf("reply = %v", reply)
	}
	if srv.Of("/secure").Socket(sid) != nil {
		t.Fatal("socket still in the namespace")
	}
	st.Send(emitFrame(6, "/secure", "msg", nil, true))
	wantReply(t, st, 6, server.CodeFailedPrecondition, "")
	st.Send(emitFrame(7, "/", "msg", nil, true))
	wantReply(t, st, 7, "", "")

	// A new socket starts with no strikes and a full bucket.
	mustConnect(t, st, "/secure", "")
	st.Send(emitFrame(8, "/secure", "msg", big, true))
	wantReply(t, st, 8, server.CodeResourceExhausted, policy.CodePayloadTooLarge)
	st.Send(emitFrame(9, "/secure", "msg", nil, true))
	wantReply(t, st, 9, "", "")
}

// With StrikesResetAfter, strikes further apart than it never add up to
// MaxStrikes.
func TestE2EStrikesReset(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{Limits: policy.Limits{MaxPayloadBytes: 16, MaxStrikes: 2, StrikesResetAfter: 100 * time.Millisecond}}
		p.Apply(srv.Of("/secure"))
	})
	st := srv.Open(t)
	sid := mustConnect(t, st, "/secure", "")
	big := strings.Repeat("x", 32)
	for ref := uint64(1); ref <= 3; ref++ {
		st.Send(emitFrame(ref, "/secure", "msg", big, true))
		wantReply(t, st, ref, server.CodeResourceExhausted, policy.CodePayloadTooLarge)
		time.Sleep(200 * time.Millisecond) // twice the reset: the next strike is the first again
	}
	if srv.Of("/secure").Socket(sid) == nil {
		t.Fatal("disconnected by strikes that were reset")
	}
	// Two strikes close together still end it.
	st.Send(emitFrame(4, "/secure", "msg", big, true))
	st.Send(emitFrame(5, "/secure", "msg", big, true))
	for disconnected := false; !disconnected; {
		f := st.Next()
		disconnected = f.GetDisconnected().GetReason() == policy.ReasonPolicyViolation
	}
}

func TestE2EMaxSockets(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{Limits: policy.Limits{MaxSockets: 2}}
		p.Apply(srv.Of("/secure"))
	})
	a, b, c := srv.Open(t), srv.Open(t), srv.Open(t)
	mustConnect(t, a, "/secure", "")
	mustConnect(t, b, "/secure", "")
	wantConnectError(t, connectWith(c, "/secure", ""), policy.MessageTooManySockets, policy.CodeTooManySockets)

	// A socket that leaves frees its place.
	a.Send(&roomcastv1.ClientFrame{Ref: 1, Frame: &roomcastv1.ClientFrame_Disconnect{
		Disconnect: &roomcastv1.DisconnectFrame{Namespace: "/secure"}}})
	wantReply(t, a, 1, "", "")
	mustConnect(t, c, "/secure", "")
	wantConnectError(t, connectWith(a, "/secure", ""), policy.MessageTooManySockets, policy.CodeTooManySockets)

	// So does a client that goes away.
	b.Cancel()
	testkit.Eventually(t, "b's place to free", func() bool {
		f := connectWith(a, "/secure", "")
		if f.GetConnectError() != nil {
			wantConnectError(t, f, policy.MessageTooManySockets, policy.CodeTooManySockets)
			return false
		}
		return f.GetConnected() != nil
	})
}

// Connects that race for the last places never leave more sockets than
// the limit: a socket admitted over it is disconnected again. An
// embedder's middleware after the policy holds every connect until all
// have passed the policy, so that all of them race.
func TestE2EMaxSocketsUnderRacingConnects(t *testing.T) {
	const limit, clients = 3, 12
	var arrived, settled atomic.Int32
	all := make(chan struct{})
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{Limits: policy.Limits{MaxSockets: limit}}
		p.Apply(srv.Of("/secure"))
		srv.Of("/secure").Use(func(context.Context, *server.ConnectRequest) error {
			if arrived.Add(1) == clients {
				close(all)
			}
			select {
			case <-all:
			case <-time.After(testkit.Timeout):
			}
			return nil
		}).OnConnection(func(*server.Socket) {
			settled.Add(1) // after the policy's hook, which may have disconnected the socket
		})
	})
	streams := make([]*testkit.Stream, clients)
	for i := range streams {
		streams[i] = srv.Open(t)
		streams[i].Send(connectFrame("/secure", nil))
	}
	sids := make([]string, clients)
	for i, st := range streams {
		if sids[i] = st.Next().GetConnected().GetSid(); sids[i] == "" {
			t.Fatal("a racing connect was not admitted")
		}
	}
	testkit.Eventually(t, "every connection hook to run", func() bool { return settled.Load() == clients })
	stayed := 0
	for i, st := range streams {
		sid := sids[i]
		if srv.Of("/secure").Socket(sid) != nil {
			stayed++
			continue
		}
		if d := st.Next().GetDisconnected(); d == nil || d.Reason != policy.ReasonTooManySockets {
			t.Fatalf("socket %s left with %v", sid, d)
		}
	}
	if n := len(srv.Of("/secure").Sockets()); n != limit || stayed != limit {
		t.Fatalf("%d sockets stayed (%d seen), want %d", n, stayed, limit)
	}
	// The places are taken: the next connect is refused outright.
	wantConnectError(t, connectWith(srv.Open(t), "/secure", ""), policy.MessageTooManySockets, policy.CodeTooManySockets)
}

func TestE2EMaxNamespacesPerClient(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{Limits: policy.Limits{MaxNamespacesPerClient: 2}}
		p.Apply(srv.Of("/secure"))
		srv.Of("/other")
	})
	st := srv.Open(t)
	st.Connect("/")
	mustConnect(t, st, "/secure", "") // the second namespace
	st.Send(&roomcastv1.ClientFrame{Ref: 1, Frame: &roomcastv1.ClientFrame_Disconnect{
		Disconnect: &roomcastv1.DisconnectFrame{Namespace: "/secure"}}})
	wantReply(t, st, 1, "", "")
	st.Connect("/other")
	wantConnectError(t, connectWith(st, "/secure", ""), policy.MessageTooManyNamespaces, policy.CodeTooManyNamespaces)
}
