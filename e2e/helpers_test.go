package e2e

import (
	"errors"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// emit builds an emit frame.
func emit(ref uint64, namespace, event string, data any, rooms ...string) *roomcastv1.ClientFrame {
	return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Emit{Emit: &roomcastv1.EmitFrame{
		Namespace: namespace, Event: event, Data: value(data), Rooms: rooms,
	}}}
}

// broadcast builds a broadcast frame.
func broadcast(ref uint64, namespace, event string, data any, rooms ...string) *roomcastv1.ClientFrame {
	return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Broadcast{Broadcast: &roomcastv1.EmitFrame{
		Namespace: namespace, Event: event, Data: value(data), Rooms: rooms,
	}}}
}

func connectFrame(ref uint64, namespace string, auth map[string]any) *roomcastv1.ClientFrame {
	cf := &roomcastv1.ConnectFrame{Namespace: namespace}
	if auth != nil {
		s, err := structpb.NewStruct(auth)
		if err != nil {
			panic(err)
		}
		cf.Auth = s
	}
	return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Connect{Connect: cf}}
}

func joinFrame(ref uint64, namespace string, rooms ...string) *roomcastv1.ClientFrame {
	return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Join{Join: &roomcastv1.RoomsFrame{
		Namespace: namespace, Rooms: rooms,
	}}}
}

func leaveFrame(ref uint64, namespace string, rooms ...string) *roomcastv1.ClientFrame {
	return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Leave{Leave: &roomcastv1.RoomsFrame{
		Namespace: namespace, Rooms: rooms,
	}}}
}

func disconnectFrame(ref uint64, namespace string) *roomcastv1.ClientFrame {
	return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Disconnect{Disconnect: &roomcastv1.DisconnectFrame{
		Namespace: namespace,
	}}}
}

func ackFrame(ref, ackID uint64, data any) *roomcastv1.ClientFrame {
	return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Ack{Ack: &roomcastv1.AckFrame{
		AckId: ackID, Data: value(data),
	}}}
}

func value(data any) *structpb.Value {
	if data == nil {
		return nil
	}
	v, err := structpb.NewValue(data)
	if err != nil {
		panic(err)
	}
	return v
}

// wantEvent reads the next event and checks its namespace, name, data
// (compared as JSON-like values; nil means none) and sender.
func wantEvent(t *testing.T, st *testkit.Stream, namespace, event string, data any, fromSID string) *roomcastv1.Event {
	t.Helper()
	e := st.Event()
	if e.Namespace != namespace || e.Event != event || e.FromSid != fromSID {
		t.Fatalf("got event %v, want %s %q from %q", e, namespace, event, fromSID)
	}
	if got, want := e.Data.AsInterface(), value(data).AsInterface(); !equalJSON(got, want) {
		t.Fatalf("event %q data = %v, want %v", event, got, want)
	}
	return e
}

func equalJSON(a, b any) bool {
	va, vb := value(a), value(b)
	if va == nil || vb == nil {
		return va == vb
	}
	ja, _ := va.MarshalJSON()
	jb, _ := vb.MarshalJSON()
	return string(ja) == string(jb)
}

// wantReply reads the next frame, which must be a reply to ref, refused
// with code (or accepted when code is empty).
func wantReply(t *testing.T, st *testkit.Stream, ref uint64, code string) *roomcastv1.Reply {
	t.Helper()
	r := st.Reply()
	if r.Ref != ref {
		t.Fatalf("reply ref = %d, want %d (%v)", r.Ref, ref, r)
	}
	if got := r.GetError().GetCode(); got != code {
		t.Fatalf("reply to ref %d: code %q, want %q (%v)", ref, got, code, r)
	}
	if code != "" && r.GetError().GetMessage() == "" {
		t.Fatalf("reply to ref %d: refusal without a message: %v", ref, r)
	}
	return r
}

// wantStatus checks how a stream ended.
func wantStatus(t *testing.T, err error, code codes.Code, message string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code || (message != "" && st.Message() != message) {
		t.Fatalf("stream ended with %v, want %v %q", err, code, message)
	}
}

// wantServerError checks an error returned by the server API.
func wantServerError(t *testing.T, err error, code string) {
	t.Helper()
	var e *server.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want a *server.Error with code %s", err, code)
	}
}

// roomsOf returns the rooms of a reply to join or leave, sorted.
func roomsOf(t *testing.T, r *roomcastv1.Reply) []string {
	t.Helper()
	var rooms []string
	for _, v := range r.GetData().GetStructValue().GetFields()["rooms"].GetListValue().GetValues() {
		rooms = append(rooms, v.GetStringValue())
	}
	slices.Sort(rooms)
	return rooms
}

// sorted returns a sorted copy.
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// connected opens a stream connected to namespace and returns it with the
// socket's sid.
func connected(t *testing.T, srv *testkit.Server, namespace string, rooms ...string) (*testkit.Stream, string) {
	t.Helper()
	st := srv.Open(t)
	sid := st.Connect(namespace)
	if len(rooms) > 0 {
		st.Join(namespace, rooms...)
	}
	return st, sid
}

// barrier proves that nothing else was queued for the streams: it emits a
// "barrier" event to the whole namespace from the server and checks that it
// is the next event of each stream. Frames that an earlier emit queued come
// first, so call it once that emit has been answered (its reply read).
func barrier(t *testing.T, srv *testkit.Server, namespace string, streams ...*testkit.Stream) {
	t.Helper()
	if _, err := srv.Of(namespace).Emit("barrier", nil); err != nil {
		t.Fatalf("barrier: %v", err)
	}
	for i, st := range streams {
		if e := st.Event(); e.Event != "barrier" || e.Namespace != namespace {
			t.Fatalf("stream %d: got %v, want the barrier of %s and nothing before it", i, e, namespace)
		}
	}
}

// call emits an event to a room nobody is in, so that only the server's
// handler sees it: Socket.IO's socket.emit(event, data, ack) to the server.
func call(ref uint64, namespace, event string, data any) *roomcastv1.ClientFrame {
	return emit(ref, namespace, event, data, "nobody")
}
