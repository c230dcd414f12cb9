package server

import (
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// encodedFrame is a ServerFrame already in wire form. The writer assembles
// it from per-event encodings that are shared by every recipient, so a
// publish is marshalled once however many sockets receive it.
type encodedFrame struct{ buf mem.Buffer }

// passThroughCodec sends encodedFrames as they are and everything else
// (health, reflection, received frames) through the standard proto codec.
// Its name stays "proto": the bytes on the wire are ordinary protobuf.
type passThroughCodec struct{ proto encoding.CodecV2 }

func newPassThroughCodec() encoding.CodecV2 {
	return passThroughCodec{proto: encoding.GetCodecV2(proto.Name)}
}

func (c passThroughCodec) Marshal(v any) (mem.BufferSlice, error) {
	if f, ok := v.(*encodedFrame); ok {
		return mem.BufferSlice{f.buf}, nil
	}
	return c.proto.Marshal(v)
}

func (c passThroughCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return c.proto.Unmarshal(data, v)
}

func (c passThroughCodec) Name() string { return proto.Name }

// Field numbers of ServerFrame and EventBatch that frames are built from.
const (
	serverFrameEvent  protowire.Number = 4
	serverFrameEvents protowire.Number = 5
	eventBatchEvents  protowire.Number = 1
)

// eventFrameSize is the encoded size of a ServerFrame holding events: one
// event as `event`, several as an `events` batch.
func eventFrameSize(events [][]byte) int {
	if len(events) == 1 {
		return protowire.SizeTag(serverFrameEvent) + protowire.SizeBytes(len(events[0]))
	}
	inner := batchSize(events)
	return protowire.SizeTag(serverFrameEvents) + protowire.SizeBytes(inner)
}

func batchSize(events [][]byte) int {
	n := 0
	for _, e := range events {
		n += protowire.SizeTag(eventBatchEvents) + protowire.SizeBytes(len(e))
	}
	return n
}

// appendEventFrame appends the ServerFrame for events to b. Protobuf lets a
// message field be written as tag, length and the field's bytes, so the
// frame is concatenation, not re-marshalling.
func appendEventFrame(b []byte, events [][]byte) []byte {
	if len(events) == 1 {
		b = protowire.AppendTag(b, serverFrameEvent, protowire.BytesType)
		return protowire.AppendBytes(b, events[0])
	}
	b = protowire.AppendTag(b, serverFrameEvents, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(batchSize(events)))
	for _, e := range events {
		b = protowire.AppendTag(b, eventBatchEvents, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	return b
}
