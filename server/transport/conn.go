package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

const (
	// defaultWindow is HTTP/2's initial window, which this side keeps.
	defaultWindow = 65535
	// creditBatch is how much received data is credited in one
	// WINDOW_UPDATE.
	creditBatch = defaultWindow / 4
	maxWindow   = 1<<31 - 1
)

var errConnClosed = status.Error(codes.Unavailable, "transport: the connection is closed")

// ErrKeepaliveTimeout is what a stream's reads return when its
// connection was closed because the client did not answer a ping in time.
var ErrKeepaliveTimeout = status.Error(codes.Unavailable, "transport: keepalive timeout: the client did not answer a ping")

// conn is one client connection. Its goroutine reads and dispatches
// frames; whoever sends writes, under wmu.
type conn struct {
	srv  *Server
	nc   net.Conn
	r    *connReader
	fr   *http2.Framer
	peer *peer.Peer

	// Flow control and the stream table, under fmu; senders out of window
	// wait on fcond.
	fmu          sync.Mutex
	fcond        sync.Cond
	sendWindow   int64
	peerWindow   int64 // the peer's SETTINGS_INITIAL_WINDOW_SIZE
	streams      map[uint32]*stream
	lastStreamID uint32
	draining     bool // GOAWAY sent: no new streams; close when the last ends
	closed       bool
	closeErr     error // why it closed: what blocked senders return
	// handlers counts streams whose handler still runs, even after a reset:
	// a client that opens and resets streams in a loop cannot start more
	// than maxStreams handlers at once.
	handlers int

	maxFrame atomic.Uint32 // the peer's SETTINGS_MAX_FRAME_SIZE
	// greeted: the preface came and this side's SETTINGS went; before
	// that a GOAWAY would be out of place, and a stop just closes.
	greeted atomic.Bool

	wmu  sync.Mutex
	werr error
	// writeShut: this side's half is closed (closeGracefully); whatever
	// the reader would still answer is dropped.
	writeShut bool
	unsent    int64 // connection credit not yet sent (under wmu)
	active    atomic.Bool
	alive     *keepalive
	closing   sync.Once

	// parked: no goroutine reads the connection; the parker waits for its
	// socket, parkFD (-1 before the first park). Both under the parker's
	// mutex.
	parked bool
	parkFD int
}

func newConn(srv *Server, nc net.Conn) *conn {
	c := &conn{
		srv:        srv,
		nc:         nc,
		sendWindow: defaultWindow,
		peerWindow: defaultWindow,
		streams:    make(map[uint32]*stream),
		peer:       &peer.Peer{Addr: nc.RemoteAddr(), LocalAddr: nc.LocalAddr()},
		parkFD:     -1,
	}
	c.fcond.L = &c.fmu
	c.maxFrame.Store(16384)
	c.r = newConnReader(nc)
	c.fr = c.newFramer(hpack.NewDecoder(4096, nil))
	c.alive = newKeepalive(c)
	return c
}

// newFramer returns a frame reader on the connection with the HPACK
// decoder that the connection keeps for its life.
func (c *conn) newFramer(dec *hpack.Decoder) *http2.Framer {
	fr := http2.NewFramer(nil, c.r)
	fr.ReadMetaHeaders = dec
	fr.MaxHeaderListSize = maxHeaderListBytes
	fr.SetMaxReadFrameSize(minFrameSize) // the Framer's own default is 16 MiB
	return fr
}

const (
	maxHeaderListBytes = 16 << 10
	maxStreams         = 1000
	// framerKeepBytes: the Framer keeps a buffer as large as the largest
	// frame it has read (up to 16 KiB, HTTP/2's default frame size, which
	// this side keeps); after a larger one the connection gets a new
	// Framer, so that one large message does not stay on an idle
	// connection.
	framerKeepBytes = 1 << 10
)

func (c *conn) peerMaxFrame() int { return int(c.maxFrame.Load()) }

// serve reads the connection until it fails or closes.
func (c *conn) serve() {
	if !c.greet() {
		c.close(errConnClosed)
		c.endReading()
		return
	}
	c.alive.start()
	c.readFrames()
}

// greet reads the client's preface and sends this side's SETTINGS.
func (c *conn) greet() bool {
	_ = c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.HandshakeTimeout))
	var preface [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(c.r, preface[:]); err != nil || string(preface[:]) != http2.ClientPreface {
		return false
	}
	if err := c.write(appendSettings(nil,
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: maxStreams},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: maxHeaderListBytes},
	)); err != nil {
		return false
	}
	_ = c.nc.SetReadDeadline(time.Time{})
	c.greeted.Store(true)
	return true
}

// readFrames reads and acts on frames until the connection ends, and
// then ends it, or until it parks (see parker.go), when it returns at
// once: the parker calls it again, on a new goroutine, once there is
// something to read.
func (c *conn) readFrames() {
	if c.readUntilParked() {
		return
	}
	c.close(errConnClosed)
	c.endReading()
}

// endReading is the end of the connection's reading, by its goroutine or,
// parked, by whoever closed it.
func (c *conn) endReading() {
	c.r.release()
	c.srv.serving.Done()
}

// readUntilParked is readFrames' loop; it reports whether it parked.
func (c *conn) readUntilParked() bool {
	for {
		if c.srv.cfg.ParkAfter > 0 {
			if readable, err := c.r.waitIdle(c.srv.cfg.ParkAfter); err != nil {
				return false
			} else if !readable && c.park() {
				return true
			}
		}
		f, err := c.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				c.seeStreamID(se.StreamID)
				c.resetStream(se.StreamID, se.Code, status.Errorf(codes.Internal, "transport: %v", se))
				continue
			}
			var ce http2.ConnectionError
			switch {
			case errors.As(err, &ce):
				c.goAway(http2.ErrCode(ce), err.Error())
			case errors.Is(err, http2.ErrFrameTooLarge):
				c.goAway(http2.ErrCodeFrameSize, err.Error())
			}
			return false
		}
		c.active.Store(true)
		if err := c.handle(f); err != nil {
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				c.goAway(http2.ErrCode(ce), err.Error())
			}
			return false
		}
		if f.Header().Length > framerKeepBytes {
			// Between frames, and header blocks: the decoder carries over.
			c.fr = c.newFramer(c.fr.ReadMetaHeaders)
		}
	}
}

// handle acts on one frame; an error ends the connection.
func (c *conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return c.onHeaders(f)
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil // keepalive: a frame read is all it looks for
		}
		return c.write(appendPing(nil, true, f.Data))
	case *http2.RSTStreamFrame:
		if st := c.stream(f.StreamID); st != nil {
			st.reset(status.Errorf(codes.Canceled, "stream reset by the client (%v)", f.ErrCode))
			c.endStream(st)
		}
		return nil
	case *http2.GoAwayFrame:
		return nil // the client opens no more streams; those open finish
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	return nil // PRIORITY and unknown frames are ignored (RFC 9113, 5.5)
}

// seeStreamID records a new stream's id that failed before it was
// created, so that its later frames are those of a closed stream, not an
// idle one.
func (c *conn) seeStreamID(id uint32) {
	c.fmu.Lock()
	if id%2 == 1 && id > c.lastStreamID {
		c.lastStreamID = id
	}
	c.fmu.Unlock()
}

func (c *conn) stream(id uint32) *stream {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	return c.streams[id]
}

func (c *conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			c.fmu.Lock()
			delta := int64(s.Val) - c.peerWindow
			c.peerWindow = int64(s.Val)
			for _, st := range c.streams {
				st.sendWindow += delta
				if st.sendWindow > maxWindow {
					c.fmu.Unlock()
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
			}
			c.fcond.Broadcast()
			c.fmu.Unlock()
		case http2.SettingMaxFrameSize:
			c.maxFrame.Store(s.Val)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.write(appendSettingsAck(nil))
}

func (c *conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		c.sendWindow += inc
		if c.sendWindow > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
	} else if st := c.streams[f.StreamID]; st != nil {
		st.sendWindow += inc
		if st.sendWindow > maxWindow {
			go c.resetStream(st.id, http2.ErrCodeFlowControl, status.Error(codes.Internal, "transport: stream window overflow"))
		}
	}
	c.fcond.Broadcast()
	return nil
}

func (c *conn) onData(f *http2.DataFrame) error {
	n := int(f.Header().Length)
	// Every byte counts against the connection's window, whatever becomes
	// of it, and is credited back at once: streams are held back by their
	// own windows, not by the connection's.
	if err := c.creditConn(int64(n)); err != nil {
		return err
	}
	st := c.stream(f.StreamID)
	if st == nil {
		c.fmu.Lock()
		idle := f.StreamID > c.lastStreamID
		c.fmu.Unlock()
		if idle {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		return nil // a stream that has ended; its RST_STREAM is on its way
	}
	credit, ok := st.receive(f.Data(), n, f.StreamEnded())
	if !ok {
		c.resetStream(st.id, http2.ErrCodeFlowControl, status.Error(codes.Internal, "transport: the client sent more than its window"))
		return nil
	}
	c.creditStream(st, credit)
	return nil
}

// creditConn gives the client back n bytes of connection window.
func (c *conn) creditConn(n int64) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.unsent += n
	if c.unsent < creditBatch {
		return nil
	}
	inc := c.unsent
	c.unsent = 0
	return c.writeLocked(appendWindowUpdate(nil, 0, uint32(inc)))
}

// creditStream gives the client back n bytes of st's window.
func (c *conn) creditStream(st *stream, n int64) {
	if n <= 0 {
		return
	}
	if st.ended.Load() {
		return // the client has been told to stop sending
	}
	st.rmu.Lock()
	st.unsent += n
	inc := int64(0)
	if st.unsent >= creditBatch && !st.halfClosed {
		inc, st.unsent = st.unsent, 0
		st.recvWindow += inc
	}
	st.rmu.Unlock()
	if inc > 0 {
		_ = c.write(appendWindowUpdate(nil, st.id, uint32(inc)))
	}
}

// reserve waits until st may send, then takes up to want bytes of both
// windows. A message under way (more) may finish after the stream's
// status is due.
func (c *conn) reserve(st *stream, want int, more bool) (int, error) {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	for {
		if c.closed {
			return 0, c.closeErr
		}
		if st.ended.Load() && !more {
			return 0, errStreamDone
		}
		if st.aborted.Load() {
			return 0, errStreamDone
		}
		if avail := min(c.sendWindow, st.sendWindow); avail > 0 {
			n := int(min(avail, int64(want)))
			c.sendWindow -= int64(n)
			st.sendWindow -= int64(n)
			return n, nil
		}
		c.fcond.Wait()
	}
}

// closeReason is what a failed send returns: why the connection closed,
// once it has (so that a keepalive timeout reads as one), or else
// otherwise.
func (c *conn) closeReason(otherwise error) error {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	if c.closeErr != nil {
		return c.closeErr
	}
	return otherwise
}

// unreserve gives back window that reserve took and nothing used.
func (c *conn) unreserve(st *stream, n int) {
	c.fmu.Lock()
	c.sendWindow += int64(n)
	st.sendWindow += int64(n)
	c.fcond.Broadcast()
	c.fmu.Unlock()
}

func (c *conn) onHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if st := c.stream(id); st != nil {
		// gRPC clients send no trailers: a second HEADERS can only end
		// the client's side.
		if !f.StreamEnded() {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		st.halfClose()
		return nil
	}
	c.fmu.Lock()
	if id%2 == 0 || id <= c.lastStreamID {
		c.fmu.Unlock()
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.lastStreamID = id
	refuse := c.draining || c.closed || c.handlers >= maxStreams
	c.fmu.Unlock()
	if refuse {
		return c.write(appendRSTStream(nil, id, http2.ErrCodeRefusedStream))
	}
	if f.Truncated {
		return c.abort(id, f.StreamEnded(), status.New(codes.Internal, "transport: the request's headers are too large"))
	}

	method, path, contentType := f.PseudoValue("method"), f.PseudoValue("path"), ""
	var timeout, encoding string
	for _, hf := range f.RegularFields() {
		switch hf.Name {
		case "content-type":
			contentType = hf.Value
		case "grpc-timeout":
			timeout = hf.Value
		case "grpc-encoding":
			encoding = hf.Value
		}
	}
	st := &stream{
		c: c, id: id, method: path, contentType: contentType,
		recvWindow: defaultWindow, rwake: make(chan struct{}, 1),
	}
	handler := c.srv.cfg.Streams[path]
	if handler == nil || method != http.MethodPost || !isGRPCContentType(contentType) {
		// Everything but the streams served here goes to net/http's
		// interface, including what is not gRPC at all: it answers that.
		return c.startFallback(st, f)
	}
	if encoding != "" && encoding != "identity" {
		// As grpc-go answers when no decompressor is registered.
		return c.abort(id, f.StreamEnded(), status.Newf(codes.Unimplemented, "grpc: Decompressor is not installed for grpc-encoding %q", encoding))
	}
	md, err := requestMetadata(f.Fields)
	if err != nil {
		return c.abort(id, f.StreamEnded(), status.New(codes.Internal, err.Error()))
	}
	ctx := c.srv.ctx
	if timeout != "" {
		d, err := parseTimeout(timeout)
		if err != nil {
			return c.abort(id, f.StreamEnded(), status.New(codes.Internal, err.Error()))
		}
		st.ctx, st.cancel = context.WithTimeout(ctx, d)
	} else {
		st.ctx, st.cancel = context.WithCancel(ctx)
	}
	st.ctx = peer.NewContext(st.ctx, c.peer)
	st.md = md
	st.ctx = metadata.NewIncomingContext(st.ctx, md)
	st.ctx = grpc.NewContextWithServerTransportStream(st.ctx, transportStream{st})
	if !c.addStream(st) {
		st.cancel()
		return c.write(appendRSTStream(nil, id, http2.ErrCodeRefusedStream))
	}
	if f.StreamEnded() {
		st.halfClose()
	}
	if timeout != "" {
		// Past the deadline the stream ends at once, whatever its handler
		// is doing (a send blocked on flow control returns too). grpc-go
		// resets it; a status says more to a client without a timer of
		// its own.
		context.AfterFunc(st.ctx, func() {
			if errors.Is(st.ctx.Err(), context.DeadlineExceeded) {
				st.expire()
			}
		})
	}
	go c.runHandler(st, handler)
	return nil
}

func isGRPCContentType(ct string) bool {
	return ct == "application/grpc" || strings.HasPrefix(ct, "application/grpc+") || strings.HasPrefix(ct, "application/grpc;")
}

// addStream registers st with both send windows; false when the
// connection no longer takes streams.
func (c *conn) addStream(st *stream) bool {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	if c.closed || c.draining {
		return false
	}
	st.sendWindow = c.peerWindow
	c.streams[st.id] = st
	c.handlers++
	c.srv.handlers.Add(1)
	return true
}

// handlerDone is a stream's handler returning.
func (c *conn) handlerDone() {
	c.fmu.Lock()
	c.handlers--
	c.fmu.Unlock()
	c.srv.handlers.Done()
}

// endStream forgets st; a draining connection closes after its last.
func (c *conn) endStream(st *stream) {
	c.fmu.Lock()
	if c.streams[st.id] == st {
		delete(c.streams, st.id)
	}
	last := c.draining && len(c.streams) == 0
	c.fcond.Broadcast()
	c.fmu.Unlock()
	if st.cancel != nil {
		st.cancel()
	}
	if last {
		c.closeGracefully()
	}
}

// abort answers a request it will not serve with a status alone.
func (c *conn) abort(id uint32, clientDone bool, s *status.Status) error {
	fields := responseStart(nil, "application/grpc")
	out := appendHeaders(nil, id, appendStatus(fields, s), true, c.peerMaxFrame())
	if !clientDone {
		out = appendRSTStream(out, id, http2.ErrCodeNo)
	}
	return c.write(out)
}

// resetStream ends a stream with RST_STREAM; err is what its handler
// reads.
func (c *conn) resetStream(id uint32, code http2.ErrCode, err error) {
	if st := c.stream(id); st != nil {
		st.reset(err)
		c.endStream(st)
	}
	_ = c.write(appendRSTStream(nil, id, code))
}

// runHandler serves a stream with a handler of the server's and sends
// the status it returns, unless the stream already has one.
func (c *conn) runHandler(st *stream, h StreamHandler) {
	c.handlerReturned(st, c.srv.call(st, h))
}

// handlerReturned ends a stream whose handler returned err, unless the
// handler parked: it carries on later (handler_park.go).
func (c *conn) handlerReturned(st *stream, err error) {
	if errors.Is(err, ErrParked) {
		return
	}
	defer c.handlerDone()
	// A stream that has its status already (the handler's own
	// WriteStatus, a reset) was, or will be, ended by whoever gave it.
	_ = st.WriteStatus(errorStatus(err))
}

// write sends frames from outside a stream's send.
func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(b)
}

func (c *conn) writeLocked(b []byte) error {
	if c.writeShut {
		return nil
	}
	if c.werr != nil {
		return c.werr
	}
	if _, err := c.nc.Write(b); err != nil {
		c.werr = err
		go c.close(err)
		return err
	}
	return nil
}

// goAway tells the client why the connection ends; closing follows.
func (c *conn) goAway(code http2.ErrCode, debug string) {
	c.fmu.Lock()
	last := c.lastStreamID
	c.fmu.Unlock()
	_ = c.write(appendGoAway(nil, last, code, debug))
}

// drain sends GOAWAY: streams open finish, no new ones start, and the
// connection closes after the last.
func (c *conn) drain() {
	if !c.greeted.Load() {
		c.close(errConnClosed)
		return
	}
	// The writer first: a stream that ends meanwhile and finds the
	// connection draining closes this side's half, which must come after
	// the GOAWAY. (Never fmu then wmu, so the order is safe.)
	c.wmu.Lock()
	c.fmu.Lock()
	if c.draining || c.closed {
		c.fmu.Unlock()
		c.wmu.Unlock()
		return
	}
	c.draining = true
	idle := len(c.streams) == 0
	last := c.lastStreamID
	c.fmu.Unlock()
	_ = c.writeLocked(appendGoAway(nil, last, http2.ErrCodeNo, "server shutting down"))
	c.wmu.Unlock()
	if idle {
		c.closeGracefully()
	}
}

// closeGracefully closes after what was written has reached the client:
// a close with unread input would make the kernel send a reset, which
// can discard the last frames (the GOAWAY, the last trailers). So this
// side's half closes first; the reader closes the rest when the client
// closes its own, or lingerTimeout later.
func (c *conn) closeGracefully() {
	if tc, ok := c.nc.(interface{ CloseWrite() error }); ok {
		c.wmu.Lock()
		if c.werr == nil && !c.writeShut {
			c.writeShut = true
			_ = tc.CloseWrite()
		}
		c.wmu.Unlock()
		time.AfterFunc(lingerTimeout, func() { c.close(errConnClosed) })
		return
	}
	c.close(errConnClosed)
}

const lingerTimeout = time.Second

// close ends the connection and every stream on it.
func (c *conn) close(err error) {
	c.closing.Do(func() {
		// Streams' reads and sends say why, where there is more to say
		// than that the connection went.
		reason, closeErr := status.Error(codes.Canceled, "transport: the connection closed"), errConnClosed
		if err == ErrKeepaliveTimeout {
			reason, closeErr = err, err
		}
		c.fmu.Lock()
		c.closed = true
		c.closeErr = closeErr
		streams := make([]*stream, 0, len(c.streams))
		for _, st := range c.streams {
			streams = append(streams, st)
		}
		clear(c.streams)
		c.fcond.Broadcast()
		c.fmu.Unlock()
		// Closing first returns a write blocked on the socket, which the
		// keepalive's ping may be.
		_ = c.nc.Close()
		c.closedWhileParked()
		c.alive.stop()
		for _, st := range streams {
			st.reset(reason)
		}
		c.srv.forget(c)
	})
}
