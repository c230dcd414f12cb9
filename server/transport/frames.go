package transport

import (
	"bytes"
	"encoding/binary"
	"sync"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const (
	frameHeaderLen = 9
	// minFrameSize is the least SETTINGS_MAX_FRAME_SIZE a peer may set.
	minFrameSize = 16384
)

// appendFrameHeader appends an HTTP/2 frame header (RFC 9113, 4.1).
func appendFrameHeader(b []byte, length int, t http2.FrameType, flags http2.Flags, streamID uint32) []byte {
	return append(b, byte(length>>16), byte(length>>8), byte(length), byte(t), byte(flags),
		byte(streamID>>24)&0x7f, byte(streamID>>16), byte(streamID>>8), byte(streamID))
}

func appendWindowUpdate(b []byte, streamID uint32, increment uint32) []byte {
	b = appendFrameHeader(b, 4, http2.FrameWindowUpdate, 0, streamID)
	return binary.BigEndian.AppendUint32(b, increment&0x7fffffff)
}

func appendRSTStream(b []byte, streamID uint32, code http2.ErrCode) []byte {
	b = appendFrameHeader(b, 4, http2.FrameRSTStream, 0, streamID)
	return binary.BigEndian.AppendUint32(b, uint32(code))
}

func appendPing(b []byte, ack bool, data [8]byte) []byte {
	var flags http2.Flags
	if ack {
		flags = http2.FlagPingAck
	}
	b = appendFrameHeader(b, 8, http2.FramePing, flags, 0)
	return append(b, data[:]...)
}

func appendGoAway(b []byte, lastStreamID uint32, code http2.ErrCode, debug string) []byte {
	b = appendFrameHeader(b, 8+len(debug), http2.FrameGoAway, 0, 0)
	b = binary.BigEndian.AppendUint32(b, lastStreamID&0x7fffffff)
	b = binary.BigEndian.AppendUint32(b, uint32(code))
	return append(b, debug...)
}

func appendSettings(b []byte, settings ...http2.Setting) []byte {
	b = appendFrameHeader(b, 6*len(settings), http2.FrameSettings, 0, 0)
	for _, s := range settings {
		b = binary.BigEndian.AppendUint16(b, uint16(s.ID))
		b = binary.BigEndian.AppendUint32(b, s.Val)
	}
	return b
}

func appendSettingsAck(b []byte) []byte {
	return appendFrameHeader(b, 0, http2.FrameSettings, http2.FlagSettingsAck, 0)
}

// appendHeaders appends a header block as HEADERS and, past the peer's
// frame size, CONTINUATION frames.
func appendHeaders(b []byte, streamID uint32, fields []hpack.HeaderField, endStream bool, maxFrame int) []byte {
	he := headerEncoders.Get().(*headerEncoder)
	defer headerEncoders.Put(he)
	he.buf.Reset()
	// Every block starts by setting the peer's table to 0 bytes: legal at
	// the start of any block, it keeps this side right whatever table size
	// the peer has announced, and nothing is ever inserted.
	he.buf.WriteByte(0x20)
	for _, f := range fields {
		_ = he.enc.WriteField(f) // writes to a bytes.Buffer: no error
	}
	block := he.buf.Bytes()
	first := true
	for first || len(block) > 0 {
		chunk := block[:min(len(block), maxFrame)]
		block = block[len(chunk):]
		var flags http2.Flags
		t := http2.FrameContinuation
		if first {
			t = http2.FrameHeaders
			if endStream {
				flags |= http2.FlagHeadersEndStream
			}
		}
		if len(block) == 0 {
			flags |= http2.FlagHeadersEndHeaders
		}
		b = appendFrameHeader(b, len(chunk), t, flags, streamID)
		b = append(b, chunk...)
		first = false
	}
	return b
}

// headerEncoder encodes header blocks without the dynamic table: every
// field is a literal or a static-table entry, so an encoder's state never
// matters to the peer and encoders can be shared by every connection,
// rather than each connection keeping a table for the few header blocks a
// gRPC stream carries.
type headerEncoder struct {
	buf bytes.Buffer
	enc *hpack.Encoder
}

var headerEncoders = sync.Pool{New: func() any {
	he := &headerEncoder{}
	he.enc = hpack.NewEncoder(&he.buf)
	// A table of 0 bytes never inserts. The encoder announces the size
	// once, in its first block: that one is thrown away, and appendHeaders
	// announces it in every block itself.
	he.enc.SetMaxDynamicTableSizeLimit(0)
	_ = he.enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	return he
}}
