package bench

import (
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// The load generator shares the machine with the server it measures, so
// its receiving side must cost little per delivery: subscribers keep each
// frame as bytes and read only what they count — how many events, and the
// send time at the start of each event's data — instead of decoding every
// event into messages.

// rawFrame is a received ServerFrame, still encoded. Its buffer is reused
// from frame to frame.
type rawFrame struct{ b []byte }

// rawCodec hands rawFrames their bytes and treats everything else (the
// frames clients send, the handshake's replies) as the proto codec does.
type rawCodec struct{ proto encoding.CodecV2 }

func newRawCodec() encoding.CodecV2 { return rawCodec{proto: encoding.GetCodecV2(proto.Name)} }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*rawFrame); ok {
		r.b = r.b[:0]
		for _, buf := range data {
			r.b = append(r.b, buf.ReadOnlyData()...)
		}
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

func (rawCodec) Name() string { return proto.Name }

// Field numbers of roomcast.v1 messages that the scan reads.
const (
	frameEvent       protowire.Number = 4 // ServerFrame.event
	frameEvents      protowire.Number = 5 // ServerFrame.events
	batchEvents      protowire.Number = 1 // EventBatch.events
	eventData        protowire.Number = 3 // Event.data
	valueStringValue protowire.Number = 3 // google.protobuf.Value.string_value
)

// eventStamps appends the send time of each event of an encoded
// ServerFrame to stamps (0 for an event without one) and reports whether
// the frame carried events at all; a frame of another kind is left to the
// caller.
func eventStamps(frame []byte, stamps []int64) ([]int64, bool) {
	events := false
	for len(frame) > 0 {
		num, typ, n := protowire.ConsumeTag(frame)
		if n < 0 {
			return stamps, events
		}
		frame = frame[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, frame)
			if n < 0 {
				return stamps, events
			}
			frame = frame[n:]
			continue
		}
		body, n := protowire.ConsumeBytes(frame)
		if n < 0 {
			return stamps, events
		}
		frame = frame[n:]
		switch num {
		case frameEvent:
			events = true
			stamps = append(stamps, stampOf(body))
		case frameEvents:
			events = true
			stamps = batchStamps(body, stamps)
		}
	}
	return stamps, events
}

func batchStamps(batch []byte, stamps []int64) []int64 {
	for len(batch) > 0 {
		num, typ, n := protowire.ConsumeTag(batch)
		if n < 0 {
			return stamps
		}
		batch = batch[n:]
		if num != batchEvents || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, batch); n < 0 {
				return stamps
			}
			batch = batch[n:]
			continue
		}
		event, n := protowire.ConsumeBytes(batch)
		if n < 0 {
			return stamps
		}
		batch = batch[n:]
		stamps = append(stamps, stampOf(event))
	}
	return stamps
}

// stampOf reads the send time from an encoded Event's string data.
func stampOf(event []byte) int64 {
	value := field(event, eventData)
	if value == nil {
		return 0
	}
	s := field(value, valueStringValue)
	if len(s) < timestampLen {
		return 0
	}
	sent, _ := sentAt(s)
	return sent
}

// field returns the bytes of the first length-delimited field num of an
// encoded message, nil if it has none.
func field(msg []byte, num protowire.Number) []byte {
	for len(msg) > 0 {
		n, typ, tagLen := protowire.ConsumeTag(msg)
		if tagLen < 0 {
			return nil
		}
		msg = msg[tagLen:]
		if n == num && typ == protowire.BytesType {
			b, l := protowire.ConsumeBytes(msg)
			if l < 0 {
				return nil
			}
			return b
		}
		l := protowire.ConsumeFieldValue(n, typ, msg)
		if l < 0 {
			return nil
		}
		msg = msg[l:]
	}
	return nil
}
