package server

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

func testEvents(t testing.TB) []*roomcastv1.Event {
	t.Helper()
	data, err := structpb.NewValue(map[string]any{"text": "hello", "n": 3.0, "tags": []any{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	return []*roomcastv1.Event{
		{Namespace: "/", Event: "chat message", Data: data, FromSid: "sid-1"},
		{}, // encodes to zero bytes, and must still arrive as an event
		{Namespace: "/chat", Event: "file", Binary: bytes.Repeat([]byte{0xab}, 300), AckId: 7},
		// Long enough for multi-byte length varints at both levels.
		{Namespace: "/", Event: "big", Data: structpb.NewStringValue(strings.Repeat("x", 20000))},
	}
}

func encodeEvents(t testing.TB, events []*roomcastv1.Event) [][]byte {
	t.Helper()
	out := make([][]byte, len(events))
	for i, e := range events {
		// Deterministic, so that encodings can be compared byte for byte.
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

func TestEventFrameOne(t *testing.T) {
	for _, e := range testEvents(t) {
		encoded := encodeEvents(t, []*roomcastv1.Event{e})
		b := appendEventFrame(nil, encoded)
		if len(b) != eventFrameSize(encoded) {
			t.Fatalf("frame is %d bytes, eventFrameSize says %d", len(b), eventFrameSize(encoded))
		}
		var f roomcastv1.ServerFrame
		if err := proto.Unmarshal(b, &f); err != nil {
			t.Fatalf("unmarshal: %v", err)
		}
		got := f.GetEvent()
		if got == nil {
			t.Fatalf("frame holds %T, want event", f.GetFrame())
		}
		if !proto.Equal(got, e) {
			t.Fatalf("event = %v, want %v", got, e)
		}
	}
}

func TestEventFrameBatch(t *testing.T) {
	events := testEvents(t)
	for n := 2; n <= len(events); n++ {
		encoded := encodeEvents(t, events[:n])
		b := appendEventFrame(nil, encoded)
		if len(b) != eventFrameSize(encoded) {
			t.Fatalf("%d events: frame is %d bytes, eventFrameSize says %d", n, len(b), eventFrameSize(encoded))
		}
		var f roomcastv1.ServerFrame
		if err := proto.Unmarshal(b, &f); err != nil {
			t.Fatalf("unmarshal: %v", err)
		}
		batch := f.GetEvents()
		if batch == nil {
			t.Fatalf("%d events: frame holds %T, want events", n, f.GetFrame())
		}
		if len(batch.Events) != n {
			t.Fatalf("batch has %d events, want %d", len(batch.Events), n)
		}
		for i, got := range batch.Events {
			if !proto.Equal(got, events[i]) {
				t.Fatalf("event %d = %v, want %v", i, got, events[i])
			}
		}
	}
}

// The assembled bytes are what proto.Marshal makes of the same frame, so a
// frame is valid protobuf and not merely something our parser accepts.
func TestEventFrameMatchesMarshal(t *testing.T) {
	events := testEvents(t)
	encoded := encodeEvents(t, events)
	want, err := proto.MarshalOptions{Deterministic: true}.Marshal(&roomcastv1.ServerFrame{
		Frame: &roomcastv1.ServerFrame_Events{Events: &roomcastv1.EventBatch{Events: events}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := appendEventFrame(nil, encoded); !bytes.Equal(got, want) {
		t.Fatalf("batch frame (%d bytes) differs from proto.Marshal (%d bytes) at byte %d",
			len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestAppendEventFrameKeepsPrefix(t *testing.T) {
	encoded := encodeEvents(t, testEvents(t)[:1])
	prefix := []byte("prefix")
	b := appendEventFrame(append([]byte(nil), prefix...), encoded)
	if !bytes.HasPrefix(b, prefix) {
		t.Fatalf("prefix lost: %q", b[:len(prefix)])
	}
	if len(b)-len(prefix) != eventFrameSize(encoded) {
		t.Fatalf("appended %d bytes, eventFrameSize says %d", len(b)-len(prefix), eventFrameSize(encoded))
	}
}

func TestPassThroughCodecSendsEncodedFrames(t *testing.T) {
	c := newPassThroughCodec()
	if c.Name() != "proto" {
		t.Fatalf("Name = %q, want proto: the wire must stay ordinary protobuf", c.Name())
	}
	raw := appendEventFrame(nil, encodeEvents(t, testEvents(t)[:2]))
	out, err := c.Marshal(&encodedFrame{buf: mem.SliceBuffer(raw)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Free()
	if got := out.Materialize(); !bytes.Equal(got, raw) {
		t.Fatalf("encodedFrame was not passed through:\n got %x\nwant %x", got, raw)
	}
	// The receiving side decodes those bytes with the same codec.
	var f roomcastv1.ServerFrame
	if err := c.Unmarshal(out, &f); err != nil {
		t.Fatal(err)
	}
	if n := len(f.GetEvents().GetEvents()); n != 2 {
		t.Fatalf("decoded %d events, want 2", n)
	}
}

func TestPassThroughCodecMarshalsMessages(t *testing.T) {
	c := newPassThroughCodec()
	msg := &roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_Reply{Reply: &roomcastv1.Reply{
		Ref: 42, Error: &roomcastv1.Error{Code: CodeNotFound, Message: "no"},
	}}}
	out, err := c.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Free()
	want, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Materialize(); !bytes.Equal(got, want) {
		t.Fatalf("Marshal = %x, want %x", got, want)
	}

	in := &roomcastv1.ClientFrame{Ref: 9, Frame: &roomcastv1.ClientFrame_Join{
		Join: &roomcastv1.RoomsFrame{Namespace: "/", Rooms: []string{"a", "b"}},
	}}
	b, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var got roomcastv1.ClientFrame
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, &got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&got, in) {
		t.Fatalf("Unmarshal = %v, want %v", &got, in)
	}
}
