package bench

import "strconv"

// payload is one publisher's message buffer: the send time in unix
// nanoseconds as 19 zero-padded decimal digits, then filler up to the
// payload size. Decimal text keeps the payload a plain string, which is
// what a Socket.IO user sends, so both harnesses carry the same bytes.
type payload []byte

func newPayload(size int) payload {
	p := make(payload, size)
	for i := range p {
		p[i] = 'x'
	}
	return p
}

// stamp writes now into the payload and returns it as a string.
func (p payload) stamp(now int64) string {
	var digits [timestampLen]byte
	b := strconv.AppendInt(digits[:0], now, 10)
	pad := timestampLen - len(b)
	for i := range pad {
		p[i] = '0'
	}
	copy(p[pad:timestampLen], b)
	return string(p)
}

// sentAt reads the send time from the start of a payload, as a string or
// still in its frame's bytes.
func sentAt[T string | []byte](p T) (int64, bool) {
	if len(p) < timestampLen {
		return 0, false
	}
	var v int64
	for i := range timestampLen {
		c := p[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}
