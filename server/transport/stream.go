package transport

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// errStreamDone is what a send returns once the stream has its status.
var errStreamDone = status.Error(codes.Canceled, "stream is done")

// stream is one request. The connection's reader fills its receive
// buffer; one goroutine (the handler) reads it; senders write to the
// connection themselves. It is the handler's grpc.ServerStream and,
// through the context, its grpc.ServerTransportStream.
type stream struct {
	c           *conn
	id          uint32
	method      string
	contentType string
	ctx         context.Context
	cancel      context.CancelFunc
	md          metadata.MD // the request's, also in ctx

	// Receive side: filled by the reader, drained by the handler.
	rmu  sync.Mutex
	rbuf []byte // received bytes not yet read
	// rerr follows rbuf: io.EOF once the client half-closed, a status when
	// the stream failed.
	rerr       error
	halfClosed bool
	// raw: the body of a request served through net/http, read as bytes
	// rather than as gRPC messages.
	raw        bool
	bodyClosed bool
	// reading: the handler waits in a read with nothing to read.
	reading bool
	// recvWindow is what the client may still send before it needs a
	// WINDOW_UPDATE; deferred is credit held back until the handler reads
	// (receive says when).
	recvWindow int64
	deferred   int64
	// unsent is credit not yet sent in a WINDOW_UPDATE: updates go in
	// batches, not one per message.
	unsent int64
	rwake  chan struct{}
	// A parked handler (handler_park.go): its resume, the watch on the
	// context that would start it, and the timer of its waits.
	parkedHandler func() error
	stopWatch     func() bool
	parkTimer     *time.Timer

	// Send side. sendWindow is under c.fmu; the rest under c.wmu.
	sendWindow  int64
	headersSent bool
	header      metadata.MD
	trailer     metadata.MD
	// ended: no new message may start (the status is written or due, the
	// stream was reset, or the connection is gone).
	ended atomic.Bool
	// midMessage is set while a message is partly sent, waiting for
	// window; a status written meanwhile waits in pendingStatus for the
	// sender to finish the message, as grpc-go queues trailers behind
	// data: a client must not get half a message and then the end.
	midMessage    bool
	pendingStatus []byte
	// aborted: reset, or the connection is gone; nothing more is sent.
	aborted atomic.Bool
}

func (st *stream) Context() context.Context { return st.ctx }
func (st *stream) Method() string           { return st.method }

// --- receiving ---

// receive takes a DATA frame's payload; n counts padding too. It returns
// the credit to give back now, and false when the frame broke flow
// control.
//
// Credit follows grpc-go's rule: bytes are given back at once only while
// the handler waits in a read with nothing to read; otherwise they are
// held (deferred) until it reads. A handler that does not read is thus
// sent at most a window ahead, and one that waits for the rest of a large
// message gets it whatever the window.
func (st *stream) receive(data []byte, n int, end bool) (credit int64, ok bool) {
	st.rmu.Lock()
	defer st.rmu.Unlock()
	st.recvWindow -= int64(n)
	if st.recvWindow < 0 {
		return 0, false
	}
	if st.halfClosed || st.rerr != nil {
		if end {
			st.halfClosed = true
		}
		return int64(n), true // nobody will read it: give the window back
	}
	st.rbuf = append(st.rbuf, data...)
	if end {
		st.halfClosed = true
		st.rerr = io.EOF
	}
	if limit := st.c.srv.cfg.MaxRecvMessageBytes; !st.raw && limit > 0 {
		if size, ok := st.headLengthLocked(); ok && size > limit {
			st.rerr = status.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", size, limit)
			st.rbuf = nil
		}
	}
	st.wakeLocked()
	if st.reading && !st.readableLocked() {
		return int64(n), true
	}
	st.deferred += int64(n)
	return 0, true
}

// headLengthLocked is the length of the message at the head of the
// buffer, once its prefix has arrived.
func (st *stream) headLengthLocked() (int, bool) {
	if len(st.rbuf) < 5 {
		return 0, false
	}
	return int(binary.BigEndian.Uint32(st.rbuf[1:5])), true
}

// readableLocked reports whether a read would return data now: a whole
// message, or for a raw body any byte.
func (st *stream) readableLocked() bool {
	if st.raw {
		return len(st.rbuf) > 0
	}
	size, ok := st.headLengthLocked()
	return ok && len(st.rbuf) >= 5+size
}

func (st *stream) wakeLocked() {
	select {
	case st.rwake <- struct{}{}:
	default:
	}
	if st.parkedHandler != nil && st.readyLocked() {
		st.unparkLocked()
	}
}

// fail ends the receive side with err, unless it has ended.
func (st *stream) fail(err error) {
	st.rmu.Lock()
	if st.rerr == nil || st.rerr == io.EOF {
		st.rerr = err
	}
	st.wakeLocked()
	st.rmu.Unlock()
}

// halfClose is the client's END_STREAM on a HEADERS frame.
func (st *stream) halfClose() {
	st.rmu.Lock()
	if !st.halfClosed {
		st.halfClosed = true
		if st.rerr == nil {
			st.rerr = io.EOF
		}
		st.wakeLocked()
	}
	st.rmu.Unlock()
}

// consumedLocked gives back, of the bytes held, as many as a read just
// took.
func (st *stream) consumedLocked(n int) int64 {
	credit := min(int64(n), st.deferred)
	st.deferred -= credit
	return credit
}

// waitLocked waits for data with st.rmu held on entry and released on
// return. Waiting, the handler needs every held byte: they go back now.
func (st *stream) waitLocked() error {
	st.reading = true
	credit := st.deferred
	st.deferred = 0
	st.rmu.Unlock()
	st.c.creditStream(st, credit)
	var err error
	select {
	case <-st.rwake:
	case <-st.ctx.Done():
		err = st.ctx.Err()
	}
	st.rmu.Lock()
	st.reading = false
	st.rmu.Unlock()
	return err
}

// RecvMsg reads the next message into m.
func (st *stream) RecvMsg(m any) error {
	for {
		st.rmu.Lock()
		if st.readableLocked() {
			size, _ := st.headLengthLocked()
			compressed := st.rbuf[0] != 0
			msg := st.rbuf[5 : 5+size]
			st.rbuf = st.rbuf[5+size:]
			if len(st.rbuf) == 0 {
				st.rbuf = nil
			}
			credit := st.consumedLocked(5 + size)
			st.rmu.Unlock()
			st.c.creditStream(st, credit)
			if compressed {
				return status.Error(codes.Internal, "grpc: compressed flag set with identity or empty encoding")
			}
			if err := st.c.srv.cfg.Codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(msg)}, m); err != nil {
				return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err)
			}
			return nil
		}
		if err := st.rerr; err != nil {
			partial := len(st.rbuf) > 0
			st.rmu.Unlock()
			if err == io.EOF && partial {
				return status.Error(codes.Internal, "grpc: the stream ended inside a message")
			}
			return err
		}
		if err := st.waitLocked(); err != nil {
			// A reset also ends the context: its reason says more.
			st.rmu.Lock()
			rerr := st.rerr
			st.rmu.Unlock()
			if rerr != nil && rerr != io.EOF {
				return rerr
			}
			return status.FromContextError(err).Err()
		}
	}
}

// Read is the request body of a stream served through net/http: the raw
// bytes of its DATA frames.
func (st *stream) Read(p []byte) (int, error) {
	for {
		st.rmu.Lock()
		if st.bodyClosed {
			st.rmu.Unlock()
			return 0, http.ErrBodyReadAfterClose
		}
		if len(st.rbuf) > 0 {
			n := copy(p, st.rbuf)
			st.rbuf = st.rbuf[n:]
			if len(st.rbuf) == 0 {
				st.rbuf = nil
			}
			credit := st.consumedLocked(n)
			st.rmu.Unlock()
			st.c.creditStream(st, credit)
			return n, nil
		}
		if err := st.rerr; err != nil {
			st.rmu.Unlock()
			return 0, err
		}
		if err := st.waitLocked(); err != nil {
			return 0, err
		}
	}
}

// Close ends the request body: a handler that closes it reads no more,
// and whoever waits in Read returns.
func (st *stream) Close() error {
	st.rmu.Lock()
	st.bodyClosed = true
	st.wakeLocked()
	st.rmu.Unlock()
	return nil
}

// --- sending ---

// SendMsg sends one message, waiting for flow control as long as the
// stream lives.
func (st *stream) SendMsg(m any) error {
	if st.ended.Load() {
		return st.c.closeReason(errStreamDone)
	}
	data, err := st.c.srv.cfg.Codec.Marshal(m)
	if err != nil {
		return status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
	}
	defer data.Free()
	var body []byte
	if len(data) == 1 {
		body = data[0].ReadOnlyData()
	} else {
		body = data.Materialize()
	}
	var prefix [5]byte
	binary.BigEndian.PutUint32(prefix[1:], uint32(len(body)))
	return st.write(prefix[:], body)
}

// write sends prefix and body as DATA frames: as much as the windows allow
// in one write(2), headers first if they have not gone.
func (st *stream) write(prefix, body []byte) error {
	total := len(prefix) + len(body)
	for off := 0; off < total; {
		n, err := st.c.reserve(st, total-off, off > 0)
		if err != nil {
			return err
		}
		bp := mem.DefaultBufferPool().Get(n + (n/minFrameSize+1)*frameHeaderLen + 256)
		out := (*bp)[:0]
		st.c.wmu.Lock()
		if (off == 0 && st.ended.Load()) || st.aborted.Load() {
			st.c.wmu.Unlock()
			mem.DefaultBufferPool().Put(bp)
			st.c.unreserve(st, n) // never sent: the client will not credit it
			return st.c.closeReason(errStreamDone)
		}
		out = st.appendResponseHeadersLocked(out)
		maxFrame := st.c.peerMaxFrame()
		for sent := 0; sent < n; {
			l := min(maxFrame, n-sent)
			out = appendFrameHeader(out, l, http2.FrameData, 0, st.id)
			out = appendRange(out, prefix, body, off+sent, l)
			sent += l
		}
		off += n
		st.midMessage = off < total
		finished := false
		if !st.midMessage && st.pendingStatus != nil {
			out = append(out, st.pendingStatus...)
			st.pendingStatus, finished = nil, true
		}
		err = st.c.writeLocked(out)
		st.c.wmu.Unlock()
		*bp = out
		mem.DefaultBufferPool().Put(bp)
		if finished {
			st.c.endStream(st)
		}
		if err != nil {
			return st.c.closeReason(status.Errorf(codes.Unavailable, "transport: %v", err))
		}
	}
	return nil
}

// appendRange appends bytes [off, off+n) of prefix followed by body.
func appendRange(out, prefix, body []byte, off, n int) []byte {
	if off < len(prefix) {
		k := min(n, len(prefix)-off)
		out = append(out, prefix[off:off+k]...)
		n -= k
		off = 0
	} else {
		off -= len(prefix)
	}
	return append(out, body[off:off+n]...)
}

func (st *stream) appendResponseHeadersLocked(out []byte) []byte {
	if st.headersSent {
		return out
	}
	st.headersSent = true
	fields := appendMetadata(responseStart(nil, st.contentType), st.header)
	return appendHeaders(out, st.id, fields, false, st.c.peerMaxFrame())
}

// SetHeader adds metadata to the response headers, before they go.
func (st *stream) SetHeader(md metadata.MD) error {
	st.c.wmu.Lock()
	defer st.c.wmu.Unlock()
	return st.addHeaderLocked(md)
}

// SendHeader sends the response headers now, with md.
func (st *stream) SendHeader(md metadata.MD) error {
	st.c.wmu.Lock()
	defer st.c.wmu.Unlock()
	if err := st.addHeaderLocked(md); err != nil {
		return err
	}
	return st.c.writeLocked(st.appendResponseHeadersLocked(nil))
}

func (st *stream) addHeaderLocked(md metadata.MD) error {
	if st.headersSent || st.ended.Load() {
		return status.Error(codes.Internal, "transport: the stream's headers were already sent")
	}
	st.header = metadata.Join(st.header, md)
	return nil
}

// SetTrailer adds metadata to the trailers sent with the status.
func (st *stream) SetTrailer(md metadata.MD) {
	st.c.wmu.Lock()
	st.trailer = metadata.Join(st.trailer, md)
	st.c.wmu.Unlock()
}

// transportStream is the stream as grpc.ServerTransportStream (in the
// handler's context, for grpc.SetHeader and friends), whose SetTrailer
// returns an error; it keeps WriteStatus, which the hub ends streams with.
type transportStream struct{ *stream }

func (t transportStream) SetTrailer(md metadata.MD) error {
	t.stream.SetTrailer(md)
	return nil
}

// IncomingMetadata is the request's metadata itself, keys already in
// lower case: what metadata.FromIncomingContext returns a copy of. A hub
// that keeps it for the stream's life spares that copy, through
// grpc.ServerTransportStreamFromContext; it must not change it.
func (t transportStream) IncomingMetadata() metadata.MD { return t.stream.md }

// WriteStatus ends the stream with s: trailers, or headers and trailers
// in one block when nothing was sent. Then a blocked RecvMsg returns
// (the context is cancelled) and blocked sends give up. It fails on a
// stream that has ended, and when the write fails.
func (st *stream) WriteStatus(s *status.Status) error {
	st.c.wmu.Lock()
	if st.ended.Load() {
		st.c.wmu.Unlock()
		return errStreamDone
	}
	st.ended.Store(true)
	var out []byte
	var fields []hpack.HeaderField
	if !st.headersSent {
		if len(st.header) > 0 {
			// Header metadata goes in headers of its own, as grpc-go
			// sends it; a trailers-only response would fold it into the
			// trailers.
			out = st.appendResponseHeadersLocked(out)
		} else {
			st.headersSent = true
			fields = responseStart(fields, st.contentType)
		}
	}
	fields = appendStatus(fields, s)
	fields = appendMetadata(fields, st.trailer)
	out = st.appendEndLocked(appendHeaders(out, st.id, fields, true, st.c.peerMaxFrame()))
	if st.midMessage {
		st.pendingStatus = out
		st.c.wmu.Unlock()
		st.cancel() // the handler's read returns; the sender finishes
		// A client that never opens its window again would hold the
		// sender, and the stream, for the connection's life: after a
		// while the stream is reset instead.
		time.AfterFunc(pendingStatusTimeout, func() {
			st.c.wmu.Lock()
			pending := st.pendingStatus != nil
			st.c.wmu.Unlock()
			if pending {
				st.c.resetStream(st.id, http2.ErrCodeCancel, errStreamDone)
			}
		})
		return nil
	}
	err := st.c.writeLocked(out)
	st.c.wmu.Unlock()
	st.c.endStream(st)
	return err
}

// appendEndLocked follows the frame that ends this side of the stream:
// a client that has not finished sending is told to stop (RFC 9113, 8.1),
// as grpc-go does.
func (st *stream) appendEndLocked(out []byte) []byte {
	st.rmu.Lock()
	halfClosed := st.halfClosed
	st.rmu.Unlock()
	if !halfClosed {
		out = appendRSTStream(out, st.id, http2.ErrCodeNo)
	}
	return out
}

// responseStart appends the fields a gRPC response opens with.
func responseStart(fields []hpack.HeaderField, contentType string) []hpack.HeaderField {
	return append(fields, hpack.HeaderField{Name: ":status", Value: "200"}, hpack.HeaderField{Name: "content-type", Value: contentType})
}

// expire ends a stream whose deadline has passed: DEADLINE_EXCEEDED, or a
// reset when a half-sent message holds the status back.
func (st *stream) expire() {
	deadline := status.New(codes.DeadlineExceeded, context.DeadlineExceeded.Error())
	if st.WriteStatus(deadline) != nil {
		return // it had ended
	}
	st.c.wmu.Lock()
	pending := st.pendingStatus != nil
	st.c.wmu.Unlock()
	if pending {
		st.c.resetStream(st.id, http2.ErrCodeCancel, deadline.Err())
	}
}

// pendingStatusTimeout bounds how long a status waits behind a message
// that flow control holds.
const pendingStatusTimeout = 10 * time.Second

// reset ends the stream without a status: the client reset it, or the
// connection is gone. err is what a read returns from now on.
func (st *stream) reset(err error) {
	st.aborted.Store(true)
	st.ended.Store(true)
	st.fail(err)
	st.cancel()
}

var _ io.ReadCloser = (*stream)(nil)

// errorStatus converts a handler's error into its status.
func errorStatus(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	if errors.Is(err, context.Canceled) {
		return status.New(codes.Canceled, err.Error())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.New(codes.DeadlineExceeded, err.Error())
	}
	return status.Convert(err)
}
