package server_test

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// fuzzServer has something behind most frames a fuzzer can make up: a
// handler that answers, one that fails, event and room middleware that
// refuse, a namespace with connect middleware and a namespace pattern.
func fuzzServer(s *server.Server) {
	s.Of("/").
		On("echo", func(_ context.Context, _ *server.Socket, e *server.Event) (any, error) { return e.Data, nil }).
		On("fail", func(context.Context, *server.Socket, *server.Event) (any, error) { return nil, errors.New("nope") }).
		UseEvent(func(_ context.Context, _ *server.Socket, e *server.Event) error {
			if e.Name == "forbidden" {
				return server.Errorf(server.CodePermissionDenied, "not allowed")
			}
			return nil
		}).
		UseRooms(func(_ context.Context, _ *server.Socket, r *server.RoomChange) error {
			if r.Join && slices.Contains(r.Rooms, "vip") {
				return server.Errorf(server.CodePermissionDenied, "members only")
			}
			return nil
		})
	s.Of("/chat").Use(func(_ context.Context, req *server.ConnectRequest) error {
		if req.Handshake.Auth.GetFields()["token"].GetStringValue() != "secret" {
			return &server.Error{Code: server.CodePermissionDenied, Message: "bad token", Data: map[string]any{"hint": "token"}}
		}
		return nil
	})
	s.OfPattern(regexp.MustCompile(`^/tenant-[0-9]+$`))
}

func fuzzSeeds(t testing.TB) [][]byte {
	t.Helper()
	str := func(v string) *structpb.Value { return structpb.NewStringValue(v) }
	auth, err := structpb.NewStruct(map[string]any{"token": "secret"})
	if err != nil {
		t.Fatal(err)
	}
	connect := func(ref uint64, ns string, auth *structpb.Struct) *roomcastv1.ClientFrame {
		return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Connect{
			Connect: &roomcastv1.ConnectFrame{Namespace: ns, Auth: auth}}}
	}
	join := func(ref uint64, ns string, rooms ...string) *roomcastv1.ClientFrame {
		return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Join{
			Join: &roomcastv1.RoomsFrame{Namespace: ns, Rooms: rooms}}}
	}
	leave := func(ref uint64, ns string, rooms ...string) *roomcastv1.ClientFrame {
		return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Leave{
			Leave: &roomcastv1.RoomsFrame{Namespace: ns, Rooms: rooms}}}
	}
	emitF := func(ref uint64, ef *roomcastv1.EmitFrame) *roomcastv1.ClientFrame {
		return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Emit{Emit: ef}}
	}
	broadcast := func(ref uint64, ef *roomcastv1.EmitFrame) *roomcastv1.ClientFrame {
		return &roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Broadcast{Broadcast: ef}}
	}
	frames := []*roomcastv1.ClientFrame{
		connect(0, "/", nil),
		connect(1, "", nil),
		connect(2, "/chat", auth),
		connect(3, "/chat", nil),
		connect(0, "/chat", nil),
		connect(4, "/tenant-7", nil),
		connect(5, "/nowhere", nil),
		connect(0, "no-slash", nil),
		join(6, "/", "general"),
		join(0, "/", "general", "news"),
		join(7, "/", ""),
		join(8, "/"),
		join(9, "/chat", "general"),
		join(0, "/", "lobby", "vip"),
		leave(10, "/", "general"),
		leave(0, "/", "never-joined"),
		emitF(11, &roomcastv1.EmitFrame{Namespace: "/", Event: "chat message", Data: str("hello")}),
		emitF(0, &roomcastv1.EmitFrame{Namespace: "/", Event: "chat message", Rooms: []string{"general"}, ExceptRooms: []string{"news"}}),
		emitF(12, &roomcastv1.EmitFrame{Namespace: "/", Event: "file", Binary: []byte{0, 1, 2}, Volatile: true}),
		emitF(13, &roomcastv1.EmitFrame{Namespace: "/", Event: "echo", Data: str("ping")}),
		emitF(0, &roomcastv1.EmitFrame{Namespace: "/", Event: "fail"}),
		emitF(14, &roomcastv1.EmitFrame{Namespace: "/", Event: "forbidden"}),
		emitF(15, &roomcastv1.EmitFrame{Namespace: "/", Event: "connect"}),
		emitF(0, &roomcastv1.EmitFrame{Namespace: "/", Event: ""}),
		emitF(16, &roomcastv1.EmitFrame{Namespace: "/chat", Event: "hello"}),
		emitF(17, &roomcastv1.EmitFrame{Namespace: "/", Event: "x", Rooms: []string{""}}),
		broadcast(18, &roomcastv1.EmitFrame{Namespace: "/", Event: "chat message", Data: str("to others")}),
		broadcast(0, &roomcastv1.EmitFrame{Namespace: "", Event: "chat message", Rooms: []string{"general"}}),
		{Ref: 19, Frame: &roomcastv1.ClientFrame_Ack{Ack: &roomcastv1.AckFrame{AckId: 5, Data: str("ok")}}},
		{Frame: &roomcastv1.ClientFrame_Ack{Ack: &roomcastv1.AckFrame{AckId: 1, Error: "refused"}}},
		{Ref: 20, Frame: &roomcastv1.ClientFrame_Disconnect{Disconnect: &roomcastv1.DisconnectFrame{Namespace: "/"}}},
		{Frame: &roomcastv1.ClientFrame_Disconnect{Disconnect: &roomcastv1.DisconnectFrame{Namespace: "/chat"}}},
		{Ref: 21}, // no frame at all
		{},
	}
	var seeds [][]byte
	for _, f := range frames {
		b, err := proto.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	// Garbage: an unknown field (parses as an empty frame), and bytes that
	// do not parse at all.
	seeds = append(seeds,
		protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 7),
		[]byte{0xff, 0xff, 0xff},
		[]byte("not a frame"),
	)
	return seeds
}

// outcome is what one stream got in answer to one fuzzed frame, events
// aside.
type outcome struct {
	replies      []*roomcastv1.Reply
	connectError *roomcastv1.ConnectError
	connected    *roomcastv1.Connected
	sid          string // a new socket in "/" that the sentinel connected
}

// FuzzClientFrame sends each frame that the fuzzer's bytes parse into on
// two fresh streams of one shared server: once without a ref and once with
// one. The server must not crash or end either stream; the frame with a ref
// must get exactly one reply with that ref; the frame without must be
// answered exactly when the one with a ref was refused, with the same code;
// and each stream must still deliver an event to its own room afterwards.
func FuzzClientFrame(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	// The server logs to a recorder rather than through f, which may not be
	// used inside the fuzz target; an error it logs (a recovered panic, a
	// stream ended as internal error) fails the input.
	logs := &errorLog{}
	srv := testkit.StartInProcess(f, fuzzServer, server.WithLogger(slog.New(logs)))
	cc := srv.Conn(f)

	f.Fuzz(func(t *testing.T, data []byte) {
		frame := new(roomcastv1.ClientFrame)
		if err := proto.Unmarshal(data, frame); err != nil {
			return
		}
		if _, err := proto.Marshal(frame); err != nil {
			return // a client could not send it either
		}
		plain := proto.CloneOf(frame)
		plain.Ref = 0
		withRef := proto.CloneOf(frame)
		if withRef.Ref == 0 {
			withRef.Ref = 1 << 40
		}
		sentinel := uint64(1 << 63)
		if withRef.Ref == sentinel {
			sentinel++
		}

		a, b := testkit.OpenOn(t, cc), testkit.OpenOn(t, cc)
		sidA, sidB := a.Connect("/"), b.Connect("/")
		a.Send(plain)
		b.Send(withRef)
		outA := settle(t, a, sentinel)
		outB := settle(t, b, sentinel)

		// Answers to the frame with a ref.
		if len(outB.replies) != 1 || outB.replies[0].Ref != withRef.Ref {
			t.Fatalf("frame %v: replies %v, want exactly one with ref %d", withRef, outB.replies, withRef.Ref)
		}
		refused := outB.replies[0].Error
		if outB.connectError != nil && refused == nil {
			t.Fatalf("frame %v: connect_error %v but a successful reply", withRef, outB.connectError)
		}

		// Answers to the same frame without one.
		if len(outA.replies) > 1 {
			t.Fatalf("frame %v: %d replies, want at most one", plain, len(outA.replies))
		}
		var replyA *roomcastv1.Reply
		if len(outA.replies) == 1 {
			replyA = outA.replies[0]
			if replyA.Ref != 0 || replyA.Error == nil {
				t.Fatalf("frame %v: unexpected reply %v; only refusals of frames without a ref are answered", plain, replyA)
			}
		}
		switch {
		case outB.connectError != nil:
			if outA.connectError == nil || outA.connectError.Message != outB.connectError.Message {
				t.Fatalf("frame %v: connect_error %v without a ref, %v with one", plain, outA.connectError, outB.connectError)
			}
		case refused != nil:
			if replyA == nil || replyA.Error.Code != refused.Code {
				t.Fatalf("frame %v: refused with %v when it had a ref, answered %v without", plain, refused, replyA)
			}
		default:
			if replyA != nil || outA.connectError != nil {
				t.Fatalf("frame %v: accepted with a ref, refused without: %v %v", plain, replyA, outA.connectError)
			}
		}
		if (outA.connected == nil) != (outB.connected == nil) {
			t.Fatalf("frame %v: connected %v without a ref, %v with one", plain, outA.connected, outB.connected)
		}

		followUp(t, a, cmp.Or(outA.sid, sidA), sentinel)
		followUp(t, b, cmp.Or(outB.sid, sidB), sentinel)
		if msg := logs.take(); msg != "" {
			t.Fatalf("frame %v: the server logged an error: %s", withRef, msg)
		}
	})
}

// errorLog is a slog.Handler that keeps the first error logged.
type errorLog struct {
	mu    sync.Mutex
	first string
}

func (l *errorLog) Enabled(_ context.Context, level slog.Level) bool { return level >= slog.LevelError }

func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	l.mu.Lock()
	if l.first == "" {
		l.first = msg
	}
	l.mu.Unlock()
	return nil
}

func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

func (l *errorLog) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := l.first
	l.first = ""
	return msg
}

// settle makes sure the stream is connected to "/" again, with a connect
// frame whose reply comes after everything the fuzzed frame caused, and
// returns what came before.
func settle(t *testing.T, st *testkit.Stream, sentinel uint64) outcome {
	t.Helper()
	st.Send(&roomcastv1.ClientFrame{Ref: sentinel, Frame: &roomcastv1.ClientFrame_Connect{
		Connect: &roomcastv1.ConnectFrame{Namespace: "/"}}})
	var out outcome
	for {
		f := st.Next()
		switch fr := f.Frame.(type) {
		case *roomcastv1.ServerFrame_Event, *roomcastv1.ServerFrame_Events:
			// Its own emits, and the other stream's.
		case *roomcastv1.ServerFrame_Reply:
			if fr.Reply.Ref != sentinel {
				out.replies = append(out.replies, fr.Reply)
				continue
			}
			switch {
			case fr.Reply.Error == nil:
				// The fuzzed frame had left "/": the sentinel connected again.
				if out.sid == "" {
					t.Fatalf("sentinel connect succeeded without a connected frame")
				}
			case fr.Reply.Error.Code != server.CodeAlreadyExists:
				t.Fatalf("sentinel connect refused: %v", fr.Reply.Error)
			}
			return out
		case *roomcastv1.ServerFrame_Connected:
			if fr.Connected.Namespace == "/" {
				out.sid = fr.Connected.Sid // the sentinel's
				continue
			}
			if out.connected != nil {
				t.Fatalf("two connected frames: %v, %v", out.connected, fr.Connected)
			}
			out.connected = fr.Connected
		case *roomcastv1.ServerFrame_ConnectError:
			if out.connectError != nil {
				t.Fatalf("two connect_error frames: %v, %v", out.connectError, fr.ConnectError)
			}
			out.connectError = fr.ConnectError
		default:
			t.Fatalf("unexpected frame %v", f)
		}
	}
}

// followUp emits to the socket's own room and waits for the event.
func followUp(t *testing.T, st *testkit.Stream, sid string, ref uint64) {
	t.Helper()
	st.Send(&roomcastv1.ClientFrame{Ref: ref, Frame: &roomcastv1.ClientFrame_Emit{Emit: &roomcastv1.EmitFrame{
		Namespace: "/", Event: "follow-up", Rooms: []string{sid}, Binary: []byte(sid),
	}}})
	delivered, replied := false, false
	for !delivered || !replied {
		f := st.Next()
		for _, e := range append(f.GetEvents().GetEvents(), f.GetEvent()) {
			if e.GetEvent() == "follow-up" && e.GetFromSid() == sid && string(e.GetBinary()) == sid {
				delivered = true
			}
		}
		if r := f.GetReply(); r != nil {
			if r.Ref != ref || r.Error != nil {
				t.Fatalf("follow-up emit: reply %v", r)
			}
			replied = true
		}
	}
}
