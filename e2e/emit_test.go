package e2e

import (
	"bytes"
	"testing"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

func TestEmitReachesRoomIncludingSender(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, bob := srv.Open(t), srv.Open(t)
	aliceSID := alice.Connect("/")
	bob.Connect("/")
	alice.Join("/", "general")
	bob.Join("/", "general")
	carol, _ := connected(t, srv, "/", "random")

	alice.SendJSON(`{"ref":"7","emit":{"namespace":"/","event":"chat message","data":"hello","rooms":["general"]}}`)
	for _, st := range []*testkit.Stream{alice, bob} {
		e := st.Events(1)[0]
		if e.Event != "chat message" || e.Data.GetStringValue() != "hello" || e.FromSid != aliceSID || e.Namespace != "/" || e.AckId != 0 {
			t.Fatalf("got %v", e)
		}
	}
	if r := wantReply(t, alice, 7, ""); r.Data != nil {
		t.Fatalf("reply to an emit without a handler carries data: %v", r)
	}
	// carol is in another room: the barrier is the first thing she gets.
	barrier(t, srv, "/", alice, bob, carol)
}

func TestEmitWithoutRoomsReachesTheWholeNamespaceOnly(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) { s.Of("/chat") })
	alice, aliceSID := connected(t, srv, "/")
	bob, _ := connected(t, srv, "/", "elsewhere")
	carol, _ := connected(t, srv, "/chat")
	// dave is in both namespaces on one stream.
	dave, _ := connected(t, srv, "/")
	dave.Connect("/chat")

	alice.Send(emit(1, "/", "news", map[string]any{"n": 1.0}))
	for _, st := range []*testkit.Stream{alice, bob, dave} {
		wantEvent(t, st, "/", "news", map[string]any{"n": 1.0}, aliceSID)
	}
	wantReply(t, alice, 1, "")
	barrier(t, srv, "/chat", carol, dave)
	barrier(t, srv, "/", alice, bob, dave)
}

func TestEmitToSeveralRoomsDeliversOneCopy(t *testing.T) {
	srv := testkit.Start(t, nil)
	x, _ := connected(t, srv, "/", "a")
	y, _ := connected(t, srv, "/", "b")
	z, _ := connected(t, srv, "/", "a", "b", "c")
	w, wSID := connected(t, srv, "/", "d")

	w.Send(emit(1, "/", "union", "u", "a", "b", "c"))
	for _, st := range []*testkit.Stream{x, y, z} {
		wantEvent(t, st, "/", "union", "u", wSID)
	}
	wantReply(t, w, 1, "")
	// z, in all three rooms, got one copy; w, in none, got nothing.
	barrier(t, srv, "/", x, y, z, w)
}

func TestEmitExceptRoomsRemovesSockets(t *testing.T) {
	srv := testkit.Start(t, nil)
	x, _ := connected(t, srv, "/", "a")
	z, _ := connected(t, srv, "/", "a", "vip")
	other, _ := connected(t, srv, "/", "b")
	sender, senderSID := connected(t, srv, "/", "a")

	// Rooms minus except rooms.
	sender.Send(&roomcastv1.ClientFrame{Ref: 1, Frame: &roomcastv1.ClientFrame_Emit{Emit: &roomcastv1.EmitFrame{
		Namespace: "/", Event: "plebs", Rooms: []string{"a"}, ExceptRooms: []string{"vip"},
	}}})
	wantEvent(t, x, "/", "plebs", nil, senderSID)
	wantEvent(t, sender, "/", "plebs", nil, senderSID)
	wantReply(t, sender, 1, "")
	barrier(t, srv, "/", x, z, other, sender)

	// The whole namespace minus except rooms; the sender's own sid-room
	// excludes the sender.
	sender.Send(&roomcastv1.ClientFrame{Ref: 2, Frame: &roomcastv1.ClientFrame_Emit{Emit: &roomcastv1.EmitFrame{
		Namespace: "/", Event: "not-vip", ExceptRooms: []string{"vip", senderSID},
	}}})
	wantEvent(t, x, "/", "not-vip", nil, senderSID)
	wantEvent(t, other, "/", "not-vip", nil, senderSID)
	wantReply(t, sender, 2, "")
	barrier(t, srv, "/", x, z, other, sender)
}

func TestPrivateMessageToSid(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, aliceSID := connected(t, srv, "/", "general")
	bob, bobSID := connected(t, srv, "/", "general")
	carol, _ := connected(t, srv, "/", "general")

	alice.Send(emit(1, "/", "whisper", "psst", bobSID))
	wantEvent(t, bob, "/", "whisper", "psst", aliceSID)
	wantReply(t, alice, 1, "")
	barrier(t, srv, "/", alice, bob, carol)

	// The server's emitter reaches the sid too.
	if n, err := srv.Of("/").To(aliceSID).Emit("from server", "hi"); err != nil || n != 1 {
		t.Fatalf("server emit to a sid: %d, %v", n, err)
	}
	wantEvent(t, alice, "/", "from server", "hi", "")
	barrier(t, srv, "/", alice, bob, carol)
}

func TestVolatileDeliveredWhenQueuesHaveSpace(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, aliceSID := connected(t, srv, "/", "live")
	bob, _ := connected(t, srv, "/", "live")

	for i := range 10 {
		alice.Send(&roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Emit{Emit: &roomcastv1.EmitFrame{
			Namespace: "/", Event: "tick", Data: value(float64(i)), Rooms: []string{"live"}, Volatile: true,
		}}})
	}
	for _, st := range []*testkit.Stream{alice, bob} {
		for i := range 10 {
			wantEvent(t, st, "/", "tick", float64(i), aliceSID)
		}
	}
	barrier(t, srv, "/", alice, bob)
	if got := srv.Stats().DroppedVolatile; got != 0 {
		t.Fatalf("DroppedVolatile = %d, want 0", got)
	}
}

func TestEmitCarriesBinary(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, aliceSID := connected(t, srv, "/", "files")
	bob, _ := connected(t, srv, "/", "files")

	blob := []byte{0, 1, 2, 0xff, 'x'}
	alice.Send(&roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Emit{Emit: &roomcastv1.EmitFrame{
		Namespace: "/", Event: "upload", Data: value("name.bin"), Binary: blob, Rooms: []string{"files"},
	}}})
	for _, st := range []*testkit.Stream{alice, bob} {
		e := wantEvent(t, st, "/", "upload", "name.bin", aliceSID)
		if !bytes.Equal(e.Binary, blob) {
			t.Fatalf("binary = %v, want %v", e.Binary, blob)
		}
	}

	// []byte from the server API goes in the binary field.
	if _, err := srv.Of("/").To("files").Emit("raw", []byte("bytes")); err != nil {
		t.Fatal(err)
	}
	for _, st := range []*testkit.Stream{alice, bob} {
		if e := wantEvent(t, st, "/", "raw", nil, ""); string(e.Binary) != "bytes" {
			t.Fatalf("binary = %q", e.Binary)
		}
	}
}

func TestEventsArriveInOrderPerSender(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, aliceSID := connected(t, srv, "/", "r")
	bob, _ := connected(t, srv, "/", "r")

	const n = 500
	for i := range n {
		alice.Send(emit(0, "/", "seq", float64(i), "r"))
	}
	for i := range n {
		wantEvent(t, bob, "/", "seq", float64(i), aliceSID)
	}
	for i := range n {
		wantEvent(t, alice, "/", "seq", float64(i), aliceSID)
	}
	barrier(t, srv, "/", alice, bob)
}
