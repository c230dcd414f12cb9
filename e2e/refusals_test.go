package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

func emitFrame(ref uint64, broadcast bool, ef *roomcastv1.EmitFrame) *roomcastv1.ClientFrame {
	if broadcast {
		return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Broadcast{Broadcast: ef}}
	}
	return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Emit{Emit: ef}}
}

func TestRefusedFramesAreAnsweredAndHarmless(t *testing.T) {
	srv := testkit.Start(t, nil, server.WithMaxPayloadBytes(100))
	st, sid := connected(t, srv, "/", "general")
	bob, bobSID := connected(t, srv, "/", "general")

	long := strings.Repeat("r", 257)
	cases := []struct {
		name  string
		frame func(ref uint64) *roomcastv1.ClientFrame
		code  string
	}{
		{"empty frame", func(ref uint64) *roomcastv1.ClientFrame { return &roomcastv1.ClientFrame{Ref: ref} }, server.CodeInvalidArgument},
		{"empty event", func(ref uint64) *roomcastv1.ClientFrame { return emit(ref, "/", "", "x", "general") }, server.CodeInvalidArgument},
		{"empty event broadcast", func(ref uint64) *roomcastv1.ClientFrame { return broadcast(ref, "/", "", "x") }, server.CodeInvalidArgument},
		{"reserved connect", func(ref uint64) *roomcastv1.ClientFrame { return emit(ref, "/", "connect", nil) }, server.CodeInvalidArgument},
		{"reserved disconnect", func(ref uint64) *roomcastv1.ClientFrame { return broadcast(ref, "/", "disconnect", nil) }, server.CodeInvalidArgument},
		{"reserved connect_error", func(ref uint64) *roomcastv1.ClientFrame { return emit(ref, "/", "connect_error", nil) }, server.CodeInvalidArgument},
		{"reserved disconnecting", func(ref uint64) *roomcastv1.ClientFrame { return emit(ref, "/", "disconnecting", nil) }, server.CodeInvalidArgument},
		{"event with control character", func(ref uint64) *roomcastv1.ClientFrame { return emit(ref, "/", "a\nb", nil) }, server.CodeInvalidArgument},
		{"event too long", func(ref uint64) *roomcastv1.ClientFrame { return emit(ref, "/", long, nil) }, server.CodeInvalidArgument},
		{"emit to empty room", func(ref uint64) *roomcastv1.ClientFrame { return emit(ref, "/", "e", nil, "general", "") }, server.CodeInvalidArgument},
		{"emit to room with control character", func(ref uint64) *roomcastv1.ClientFrame { return emit(ref, "/", "e", nil, "gen\x07eral") }, server.CodeInvalidArgument},
		{"emit to room too long", func(ref uint64) *roomcastv1.ClientFrame { return broadcast(ref, "/", "e", nil, long) }, server.CodeInvalidArgument},
		{"emit except empty room", func(ref uint64) *roomcastv1.ClientFrame {
			return emitFrame(ref, false, &roomcastv1.EmitFrame{Namespace: "/", Event: "e", ExceptRooms: []string{""}})
		}, server.CodeInvalidArgument},
		{"emit except room with control character", func(ref uint64) *roomcastv1.ClientFrame {
			return emitFrame(ref, true, &roomcastv1.EmitFrame{Namespace: "/", Event: "e", ExceptRooms: []string{"\x1b[31m"}})
		}, server.CodeInvalidArgument},
		{"join empty list", func(ref uint64) *roomcastv1.ClientFrame { return joinFrame(ref, "/") }, server.CodeInvalidArgument},
		{"leave empty list", func(ref uint64) *roomcastv1.ClientFrame { return leaveFrame(ref, "/") }, server.CodeInvalidArgument},
		{"join empty room", func(ref uint64) *roomcastv1.ClientFrame { return joinFrame(ref, "/", "a", "") }, server.CodeInvalidArgument},
		{"join room with control character", func(ref uint64) *roomcastv1.ClientFrame { return joinFrame(ref, "/", "a", "tab\there") }, server.CodeInvalidArgument},
		{"join room of 257 bytes", func(ref uint64) *roomcastv1.ClientFrame { return joinFrame(ref, "/", "a", long) }, server.CodeInvalidArgument},
		{"leave empty room", func(ref uint64) *roomcastv1.ClientFrame { return leaveFrame(ref, "/", "") }, server.CodeInvalidArgument},
		{"join another socket's room", func(ref uint64) *roomcastv1.ClientFrame { return joinFrame(ref, "/", "a", bobSID) }, server.CodePermissionDenied},
		{"leave another socket's room", func(ref uint64) *roomcastv1.ClientFrame { return leaveFrame(ref, "/", bobSID) }, server.CodePermissionDenied},
		{"leave own room", func(ref uint64) *roomcastv1.ClientFrame { return leaveFrame(ref, "/", sid) }, server.CodeInvalidArgument},
		{"payload too large", func(ref uint64) *roomcastv1.ClientFrame {
			return emit(ref, "/", "big", strings.Repeat("x", 101), "general")
		}, server.CodeResourceExhausted},
		{"binary too large", func(ref uint64) *roomcastv1.ClientFrame {
			return emitFrame(ref, true, &roomcastv1.EmitFrame{Namespace: "/", Event: "big", Binary: make([]byte, 101), Rooms: []string{"general"}})
		}, server.CodeResourceExhausted},
		{"data and binary together too large", func(ref uint64) *roomcastv1.ClientFrame {
			return emitFrame(ref, false, &roomcastv1.EmitFrame{Namespace: "/", Event: "big", Data: value(strings.Repeat("x", 50)), Binary: make([]byte, 50)})
		}, server.CodeResourceExhausted},
		{"nil emit", func(ref uint64) *roomcastv1.ClientFrame {
			return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Emit{}}
		}, server.CodeInvalidArgument},
		{"nil join", func(ref uint64) *roomcastv1.ClientFrame {
			return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Join{}}
		}, server.CodeInvalidArgument},
	}
	seq := 0.0
	for i, tc := range cases {
		for _, ref := range []uint64{0, uint64(100 + i)} {
			st.Send(tc.frame(ref))
			r := wantReply(t, st, ref, tc.code)
			if r.Data != nil {
				t.Fatalf("%s: refusal with data %v", tc.name, r.Data)
			}
			// The stream still works: the next emit is delivered.
			seq++
			st.Send(emit(0, "/", "after", seq, "general"))
			wantEvent(t, st, "/", "after", seq, sid)
			wantEvent(t, bob, "/", "after", seq, sid)
		}
	}
	// A refused join changed nothing, all or none.
	if rooms := sorted(srv.Of("/").Socket(sid).Rooms()); !slices.Equal(rooms, sorted([]string{sid, "general"})) {
		t.Fatalf("rooms after refused joins = %v", rooms)
	}
	// At the limit is fine: a 100-byte binary.
	st.Send(emitFrame(1, false, &roomcastv1.EmitFrame{Namespace: "/", Event: "limit", Binary: make([]byte, 100), Rooms: []string{"general"}}))
	wantEvent(t, st, "/", "limit", nil, sid)
	wantReply(t, st, 1, "")
	wantEvent(t, bob, "/", "limit", nil, sid)
	barrier(t, srv, "/", st, bob)
	if got := srv.Stats(); got.Clients != 2 || got.Sockets != 2 {
		t.Fatalf("stats = %+v", got)
	}
}

func TestJoinAndLeaveAnswerWithRooms(t *testing.T) {
	srv := testkit.Start(t, nil)
	st, sid := connected(t, srv, "/")
	st.Send(joinFrame(1, "/", "a", "b", "a"))
	if got := roomsOf(t, wantReply(t, st, 1, "")); !slices.Equal(got, sorted([]string{sid, "a", "b"})) {
		t.Fatalf("rooms after join = %v", got)
	}
	st.Send(leaveFrame(2, "/", "a", "never-joined"))
	if got := roomsOf(t, wantReply(t, st, 2, "")); !slices.Equal(got, sorted([]string{sid, "b"})) {
		t.Fatalf("rooms after leave = %v", got)
	}
	// Joining without a ref is not answered; the room is joined.
	st.Send(joinFrame(0, "/", "c"))
	st.Send(emit(0, "/", "in c", nil, "c"))
	wantEvent(t, st, "/", "in c", nil, sid)
	// A left room no longer delivers.
	st.Send(emit(3, "/", "in a", nil, "a"))
	wantReply(t, st, 3, "")
	barrier(t, srv, "/", st)
}

// rawCodec sends bytes as they are, to put frames on the wire that no
// generated client would send.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*(v.(*[]byte)) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

func TestMalformedAndOversizeMessagesEndOnlyThatStream(t *testing.T) {
	srv := testkit.Start(t, nil)
	bob, bobSID := connected(t, srv, "/", "general")

	// Bytes that are not a ClientFrame: grpc itself ends the stream with
	// INTERNAL when it cannot decode a message.
	cc := srv.Conn(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	raw, err := cc.NewStream(ctx, &roomcastv1.ChatService_ServiceDesc.Streams[0],
		roomcastv1.ChatService_Connect_FullMethodName, grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.SendMsg([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}); err != nil {
		t.Fatal(err)
	}
	var reply []byte
	err = raw.RecvMsg(&reply)
	wantStatus(t, err, codes.Internal, "")

	// A message beyond the server's receive limit (4 MiB).
	big := srv.Open(t)
	big.Connect("/")
	big.Send(emitFrame(0, false, &roomcastv1.EmitFrame{Namespace: "/", Event: "huge", Binary: make([]byte, 5<<20), Rooms: []string{"general"}}))
	wantStatus(t, big.End(), codes.ResourceExhausted, "")

	// Bob noticed nothing.
	bob.Send(emit(1, "/", "still", nil, "general"))
	wantEvent(t, bob, "/", "still", nil, bobSID)
	wantReply(t, bob, 1, "")
	testkit.Eventually(t, "one client left", func() bool {
		s := srv.Stats()
		return s.Clients == 1 && s.Sockets == 1
	})
}
