package server_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func assertSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("%s = %v, want %v", what, sorted(got), sorted(want))
	}
}

// eventually polls cond until it holds; the deadline only stops a hang.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testkit.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, testkit.Timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func emit(namespace, event string, ref uint64, rooms ...string) *roomcastv1.ClientFrame {
	return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Emit{Emit: &roomcastv1.EmitFrame{
		Namespace: namespace, Event: event, Rooms: rooms,
	}}}
}

// reply reads frames up to the reply to ref, skipping events.
func reply(t *testing.T, st *testkit.Stream, ref uint64) *roomcastv1.Reply {
	t.Helper()
	for {
		f := st.Next()
		if r := f.GetReply(); r != nil && r.Ref == ref {
			return r
		}
		if f.GetEvent() == nil && f.GetEvents() == nil {
			t.Fatalf("got %v while waiting for reply %d", f, ref)
		}
	}
}

// marker sends a private event to a socket and waits for it: whatever the
// stream had to receive before it has then arrived, so nothing in between
// shows that nothing else was sent.
func marker(t *testing.T, ns *server.Namespace, st *testkit.Stream, sid string) {
	t.Helper()
	if n, err := ns.To(sid).Emit("marker", nil); err != nil || n != 1 {
		t.Fatalf("marker emit: n=%d err=%v", n, err)
	}
	if e := st.Events(1)[0]; e.Event != "marker" {
		t.Fatalf("got event %q before the marker", e.Event)
	}
}

func TestRoomsLeftOnDisconnect(t *testing.T) {
	gone := make(chan string, 4)
	srv := testkit.StartInProcess(t, func(s *server.Server) {
		s.Of("/").OnDisconnect(func(s *server.Socket, reason string) { gone <- s.ID() })
	})
	ns := srv.Of("/")
	alice, bob := srv.Open(t), srv.Open(t)
	aliceSID, bobSID := alice.Connect("/"), bob.Connect("/")
	alice.Join("/", "general", "news")
	bob.Join("/", "general")

	sizes := ns.RoomSizes()
	if sizes["general"] != 2 || sizes["news"] != 1 || sizes[aliceSID] != 1 {
		t.Fatalf("RoomSizes before = %v", sizes)
	}

	alice.Cancel()
	select {
	case sid := <-gone:
		if sid != aliceSID {
			t.Fatalf("disconnected %s, want %s", sid, aliceSID)
		}
	case <-time.After(testkit.Timeout):
		t.Fatalf("alice's socket was not disconnected")
	}
	sizes = ns.RoomSizes()
	if _, ok := sizes["news"]; ok {
		t.Fatalf("room news outlived its only member: %v", sizes)
	}
	if _, ok := sizes[aliceSID]; ok {
		t.Fatalf("alice's own room outlived her: %v", sizes)
	}
	if sizes["general"] != 1 {
		t.Fatalf("general has %d members, want 1", sizes["general"])
	}
	assertSet(t, "general", ns.To("general").SocketIDs(), []string{bobSID})
	assertSet(t, "namespace", ns.To().SocketIDs(), []string{bobSID})
	if ns.Socket(aliceSID) != nil {
		t.Fatalf("namespace still lists alice's socket")
	}

	// A namespace disconnect from the client leaves the rooms too.
	bob.Send(&roomcastv1.ClientFrame{Ref: 5, Frame: &roomcastv1.ClientFrame_Disconnect{
		Disconnect: &roomcastv1.DisconnectFrame{Namespace: "/"}}})
	if r := reply(t, bob, 5); r.Error != nil {
		t.Fatalf("disconnect refused: %v", r.Error)
	}
	if sizes := ns.RoomSizes(); len(sizes) != 0 {
		t.Fatalf("RoomSizes after everyone left = %v", sizes)
	}
}

func TestSocketRoomsIncludeOwnSID(t *testing.T) {
	srv := testkit.StartInProcess(t, nil)
	st := srv.Open(t)
	sid := st.Connect("/")
	s := srv.Of("/").Socket(sid)
	if s == nil {
		t.Fatalf("no socket %s", sid)
	}
	assertSet(t, "Rooms after connect", s.Rooms(), []string{sid})
	st.Join("/", "a", "b")
	assertSet(t, "Rooms after join", s.Rooms(), []string{sid, "a", "b"})
	if err := s.Join("c"); err != nil {
		t.Fatal(err)
	}
	s.Leave("a")
	assertSet(t, "Rooms after Go join/leave", s.Rooms(), []string{sid, "b", "c"})

	// Leaving its own room is refused: it lasts as long as the socket.
	st.Send(&roomcastv1.ClientFrame{Ref: 9, Frame: &roomcastv1.ClientFrame_Leave{
		Leave: &roomcastv1.RoomsFrame{Namespace: "/", Rooms: []string{sid}}}})
	if r := reply(t, st, 9); r.Error == nil || r.Error.Code != server.CodeInvalidArgument {
		t.Fatalf("leaving the own room: reply %v, want %s", r, server.CodeInvalidArgument)
	}
	assertSet(t, "Rooms", s.Rooms(), []string{sid, "b", "c"})
}

func TestBroadcastOperatorIsImmutable(t *testing.T) {
	srv := testkit.StartInProcess(t, nil)
	ns := srv.Of("/")
	sids := map[string]string{}
	for _, who := range []string{"r1", "r2", "r3", "x", "y"} {
		st := srv.Open(t)
		sids[who] = st.Connect("/")
		st.Join("/", who)
	}

	// Three To calls leave spare capacity behind the rooms slice, which
	// derived operators must not share.
	base := ns.To("r1").To("r2").To("r3")
	withX := base.To("x")
	withY := base.To("y")
	assertSet(t, "base", base.SocketIDs(), []string{sids["r1"], sids["r2"], sids["r3"]})
	assertSet(t, "base.To(x)", withX.SocketIDs(), []string{sids["r1"], sids["r2"], sids["r3"], sids["x"]})
	assertSet(t, "base.To(y)", withY.SocketIDs(), []string{sids["r1"], sids["r2"], sids["r3"], sids["y"]})

	all := ns.Except("x").Except("y").Except("r3")
	butR1 := all.Except("r1")
	butR2 := all.Except("r2")
	assertSet(t, "except x y r3", all.SocketIDs(), []string{sids["r1"], sids["r2"]})
	assertSet(t, "... and r1", butR1.SocketIDs(), []string{sids["r2"]})
	assertSet(t, "... and r2", butR2.SocketIDs(), []string{sids["r1"]})

	// Volatile and To on a copy leave the shared base as it was.
	_ = base.Volatile().To("x", "y")
	assertSet(t, "base afterwards", base.SocketIDs(), []string{sids["r1"], sids["r2"], sids["r3"]})
	assertSet(t, "base.To(x) afterwards", withX.SocketIDs(), []string{sids["r1"], sids["r2"], sids["r3"], sids["x"]})
}

func TestNamespaceEmitFromGo(t *testing.T) {
	srv := testkit.StartInProcess(t, nil)
	ns := srv.Of("/")
	alice, bob, carol := srv.Open(t), srv.Open(t), srv.Open(t)
	aliceSID, bobSID, carolSID := alice.Connect("/"), bob.Connect("/"), carol.Connect("/")
	alice.Join("/", "general")
	bob.Join("/", "general")

	n, err := ns.To("general").Emit("headline", map[string]any{"text": "hello"})
	if err != nil || n != 2 {
		t.Fatalf("Emit to general: n=%d err=%v, want 2", n, err)
	}
	for _, st := range []*testkit.Stream{alice, bob} {
		e := st.Events(1)[0]
		if e.Event != "headline" || e.Namespace != "/" || e.FromSid != "" ||
			e.Data.GetStructValue().GetFields()["text"].GetStringValue() != "hello" {
			t.Fatalf("got %v", e)
		}
	}
	marker(t, ns, carol, carolSID) // carol is not in general

	if n, err := ns.Except("general").Emit("blob", []byte{1, 2, 3}); err != nil || n != 1 {
		t.Fatalf("Emit except general: n=%d err=%v, want 1", n, err)
	}
	if e := carol.Events(1)[0]; e.Event != "blob" || string(e.Binary) != "\x01\x02\x03" || e.Data != nil {
		t.Fatalf("got %v", e)
	}
	marker(t, ns, alice, aliceSID)
	marker(t, ns, bob, bobSID)

	if n, err := ns.Emit("all", 1); err != nil || n != 3 {
		t.Fatalf("Emit to the namespace: n=%d err=%v, want 3", n, err)
	}
	for _, st := range []*testkit.Stream{alice, bob, carol} {
		if e := st.Events(1)[0]; e.Event != "all" || e.Data.GetNumberValue() != 1 {
			t.Fatalf("got %v", e)
		}
	}

	if _, err := ns.Emit("connect", nil); err == nil {
		t.Fatalf("emitting a reserved event name succeeded")
	}
}

// Go code is held to the payload limit that clients are: an event too large
// for it is refused at its source rather than sent to every recipient.
func TestEmitFromGoOverPayloadLimit(t *testing.T) {
	srv := testkit.StartInProcess(t, func(s *server.Server) {
		s.Of("/").On("big answer", func(context.Context, *server.Socket, *server.Event) (any, error) {
			return strings.Repeat("x", 101), nil
		})
	}, server.WithMaxPayloadBytes(100))
	ns := srv.Of("/")
	alice := srv.Open(t)
	aliceSID := alice.Connect("/")
	s := ns.Socket(aliceSID)

	tooBig := make([]byte, 101)
	var refusal *server.Error
	if _, err := ns.Emit("big", tooBig); !errors.As(err, &refusal) || refusal.Code != server.CodeResourceExhausted {
		t.Fatalf("namespace Emit over the limit: %v, want %s", err, server.CodeResourceExhausted)
	}
	if err := s.Emit("big", strings.Repeat("x", 101)); !errors.As(err, &refusal) || refusal.Code != server.CodeResourceExhausted {
		t.Fatalf("socket Emit over the limit: %v, want %s", err, server.CodeResourceExhausted)
	}
	if n, err := ns.Emit("fits", make([]byte, 100)); err != nil || n != 1 {
		t.Fatalf("Emit at the limit: n=%d err=%v", n, err)
	}
	if e := alice.Events(1)[0]; e.Event != "fits" {
		t.Fatalf("first event %q, want fits: an event over the limit was sent", e.Event)
	}

	// A handler's answer too: the client gets an error, not a reply it
	// could not take.
	alice.Send(emit("/", "big answer", 7))
	r := reply(t, alice, 7)
	if r.Error.GetCode() != server.CodeInternal || !strings.Contains(r.Error.GetMessage(), "exceeds the limit of 100 bytes") || r.Data != nil {
		t.Fatalf("reply to an oversized answer: %v", r)
	}
}

func TestOperatorsJoinLeaveDisconnect(t *testing.T) {
	srv := testkit.StartInProcess(t, nil)
	ns := srv.Of("/")
	alice, bob, carol := srv.Open(t), srv.Open(t), srv.Open(t)
	aliceSID, bobSID, carolSID := alice.Connect("/"), bob.Connect("/"), carol.Connect("/")
	alice.Join("/", "a")
	bob.Join("/", "a")

	ctx := context.Background()
	if n, _, err := ns.To("a").SocketsJoin(ctx, "b", "c"); err != nil || n != 2 {
		t.Fatalf("SocketsJoin: n=%d err=%v, want 2 sockets", n, err)
	}
	assertSet(t, "b", ns.To("b").SocketIDs(), []string{aliceSID, bobSID})
	assertSet(t, "alice's rooms", ns.Socket(aliceSID).Rooms(), []string{aliceSID, "a", "b", "c"})
	if _, _, err := ns.To("a").SocketsJoin(ctx, ""); err == nil {
		t.Fatalf("SocketsJoin accepted an empty room name")
	}

	if n, _, err := ns.To(bobSID).SocketsLeave(ctx, "a", "c"); err != nil || n != 1 {
		t.Fatalf("SocketsLeave: n=%d err=%v, want 1 socket", n, err)
	}
	assertSet(t, "a", ns.To("a").SocketIDs(), []string{aliceSID})
	assertSet(t, "c", ns.To("c").SocketIDs(), []string{aliceSID})
	assertSet(t, "Sockets(b)", socketIDs(ns.To("b").Sockets()), []string{aliceSID, bobSID})

	// The events of a room reach who joined through the operator.
	if n, err := ns.To("b").Emit("to b", nil); err != nil || n != 2 {
		t.Fatalf("Emit to b: n=%d err=%v", n, err)
	}
	alice.Events(1)
	bob.Events(1)

	if n, _ := ns.To("b").DisconnectSockets(ctx, "kicked"); n != 2 {
		t.Fatalf("DisconnectSockets reached %d sockets, want 2", n)
	}
	for _, st := range []*testkit.Stream{alice, bob} {
		d := st.Next().GetDisconnected()
		if d == nil || d.Namespace != "/" || d.Reason != "kicked" {
			t.Fatalf("got %v, want disconnected / kicked", d)
		}
	}
	if ns.Socket(aliceSID) != nil || ns.Socket(bobSID) != nil {
		t.Fatalf("disconnected sockets are still listed")
	}
	assertSet(t, "namespace", ns.To().SocketIDs(), []string{carolSID})
	marker(t, ns, carol, carolSID)

	// The client stream outlives its socket: it is told it is not
	// connected, and may connect again.
	alice.Send(emit("/", "hello", 3))
	if r := reply(t, alice, 3); r.Error == nil || r.Error.Code != server.CodeFailedPrecondition {
		t.Fatalf("emit after a kick: reply %v, want %s", r, server.CodeFailedPrecondition)
	}
	if again := alice.Connect("/"); again == aliceSID {
		t.Fatalf("a new socket reused the sid %s", again)
	}

	ns.To(carolSID).DisconnectSockets(ctx, "")
	if d := carol.Next().GetDisconnected(); d == nil || d.Reason != server.ReasonServerNamespaceDisconnect {
		t.Fatalf("got %v, want reason %q", d, server.ReasonServerNamespaceDisconnect)
	}
}

func socketIDs(sockets []*server.Socket) []string {
	var out []string
	for _, s := range sockets {
		out = append(out, s.ID())
	}
	return out
}

func namespaceNames(srv *server.Server) []string {
	var out []string
	for _, ns := range srv.Namespaces() {
		out = append(out, ns.Name())
	}
	return out
}

func TestNamespacesListsDynamicOnFirstConnect(t *testing.T) {
	srv := testkit.StartInProcess(t, func(s *server.Server) {
		s.Of("/chat")
		s.OfPattern(regexp.MustCompile(`^/tenant-[0-9]+$`))
	})
	if got := namespaceNames(srv.Server); !slices.Equal(got, []string{"/", "/chat"}) {
		t.Fatalf("Namespaces before any connect = %v", got)
	}
	st := srv.Open(t)
	sid := st.Connect("/tenant-42")
	if got := namespaceNames(srv.Server); !slices.Equal(got, []string{"/", "/chat", "/tenant-42"}) {
		t.Fatalf("Namespaces after a connect = %v", got)
	}
	if s := srv.Of("/tenant-42").Socket(sid); s == nil {
		t.Fatalf("the dynamic namespace does not list its socket")
	}

	st.Send(&roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Connect{
		Connect: &roomcastv1.ConnectFrame{Namespace: "/elsewhere"}}})
	if ce := st.Next().GetConnectError(); ce == nil || ce.Message != server.MessageInvalidNamespace {
		t.Fatalf("connect to an unknown namespace: got %v", ce)
	}
	if got := namespaceNames(srv.Server); !slices.Equal(got, []string{"/", "/chat", "/tenant-42"}) {
		t.Fatalf("Namespaces after a refused connect = %v", got)
	}
}

func TestStatsCounters(t *testing.T) {
	srv := testkit.StartInProcess(t, nil)
	alice, bob, carol := srv.Open(t), srv.Open(t), srv.Open(t)
	alice.Connect("/")
	bob.Connect("/")
	carol.Connect("/")
	for _, st := range []*testkit.Stream{alice, bob, carol} {
		st.Join("/", "general")
	}
	if s := srv.Stats(); s.Clients != 3 || s.Sockets != 3 || s.EventsIn != 0 || s.Deliveries != 0 {
		t.Fatalf("Stats after connects = %+v", s)
	}

	alice.Send(emit("/", "hello", 1, "general"))
	if r := reply(t, alice, 1); r.Error != nil {
		t.Fatalf("emit refused: %v", r.Error)
	}
	bob.Events(1)
	carol.Events(1)
	// alice's copy came before her reply.
	if s := srv.Stats(); s.EventsIn != 1 || s.Deliveries != 3 {
		t.Fatalf("Stats after one emit to 3 = %+v", s)
	}

	alice.Send(&roomcastv1.ClientFrame{Ref: 2, Frame: &roomcastv1.ClientFrame_Broadcast{
		Broadcast: &roomcastv1.EmitFrame{Namespace: "/", Event: "hi", Rooms: []string{"general"}}}})
	if r := reply(t, alice, 2); r.Error != nil {
		t.Fatalf("broadcast refused: %v", r.Error)
	}
	bob.Events(1)
	carol.Events(1)
	if s := srv.Stats(); s.EventsIn != 2 || s.Deliveries != 5 {
		t.Fatalf("Stats after a broadcast to 2 more = %+v", s)
	}

	// A refused event is neither received nor delivered.
	alice.Send(emit("/", "disconnect", 3, "general"))
	if r := reply(t, alice, 3); r.Error == nil {
		t.Fatalf("a reserved event name was accepted")
	}
	if s := srv.Stats(); s.EventsIn != 2 || s.Deliveries != 5 {
		t.Fatalf("Stats after a refused emit = %+v", s)
	}

	carol.Cancel()
	eventually(t, "carol's client gone", func() bool {
		s := srv.Stats()
		return s.Clients == 2 && s.Sockets == 2
	})
	if s := srv.Stats(); s.DroppedVolatile != 0 || s.SlowConsumers != 0 {
		t.Fatalf("Stats = %+v, want no drops", s)
	}
}
