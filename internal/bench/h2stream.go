package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// The load generator shares two cores with the server it measures, and a
// grpc-go client costs more per received frame (two goroutine hand-offs,
// a copy into its receive buffer) than the server spends sending it. So
// the bench has a client of its own, --transport h2: one stream per HTTP/2
// connection, read by the goroutine that counts it, framed by
// golang.org/x/net/http2 — a gRPC client cut down to what a subscriber
// does, so that more of the machine is left to the server.

const (
	h2StreamID = 1 // the connection's only stream
	// h2DefaultWindow is HTTP/2's initial window, the one a peer has
	// until SETTINGS and WINDOW_UPDATE say otherwise.
	h2DefaultWindow = 65535
	// h2ReadBuffer holds several DATA frames, so that one read(2) can
	// take what the server wrote at once.
	h2ReadBuffer = 32 << 10
	// h2MaxFrame is the largest DATA frame a peer may send before it
	// learns otherwise from SETTINGS.
	h2MaxFrame = 16 << 10
)

// h2Stream is a ChatService/Connect stream on the bench's own HTTP/2
// client. One goroutine calls recv (which also answers the server's
// SETTINGS and PINGs and takes its WINDOW_UPDATEs); one other may send.
type h2Stream struct {
	conn net.Conn
	fr   *http2.Framer

	// msgs holds the stream's DATA not yet returned as messages; off is
	// where the next message starts.
	msgs []byte
	off  int
	// gotHeaders is set once the response headers came; trailers follow.
	gotHeaders bool
	// unackedConn and unackedStream are the bytes received since the
	// last WINDOW_UPDATE given back for the connection and the stream.
	unackedConn, unackedStream int32
	recvConnWindow, recvWindow int32

	wmu sync.Mutex // serialises writes: fr's write side and bw
	bw  *bufio.Writer

	mu   sync.Mutex
	cond *sync.Cond // signalled when the send windows grow or err is set
	// sendConn and sendStream are what the server lets the client send;
	// sendMaxFrame is its largest frame, and sendInitial the stream window
	// its latest SETTINGS gave.
	sendConn, sendStream, sendInitial int64
	sendMaxFrame                      int
	err                               error // why the stream ended, once it has
}

func (d *dialer) openH2(ctx context.Context, node int) (frameStream, error) {
	conn, err := d.dial(ctx, d.targets[node])
	if err != nil {
		return nil, err
	}
	s := &h2Stream{
		conn:           conn,
		bw:             bufio.NewWriter(conn),
		recvWindow:     orDefault(d.streamWindow, h2DefaultWindow),
		recvConnWindow: orDefault(d.connWindow, h2DefaultWindow),
		sendConn:       h2DefaultWindow,
		sendStream:     h2DefaultWindow,
		sendInitial:    h2DefaultWindow,
		sendMaxFrame:   h2MaxFrame,
	}
	s.cond = sync.NewCond(&s.mu)
	// Closing is what ends a read or a write in progress, and a send
	// waiting for window (during the handshake nobody else reads).
	context.AfterFunc(ctx, s.close)
	s.fr = http2.NewFramer(s.bw, bufio.NewReaderSize(conn, h2ReadBuffer))
	s.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := s.start(d.targets[node], d.token); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return s, nil
}

func orDefault(v, d int32) int32 {
	if v > 0 {
		return v
	}
	return d
}

// start writes the connection preface, the client's SETTINGS and window,
// and the stream's request headers, in one write.
func (s *h2Stream) start(authority, token string) error {
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	fields := []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: "/" + roomcastv1.ChatService_ServiceDesc.ServiceName + "/Connect"},
		{Name: ":authority", Value: authority},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
		{Name: "user-agent", Value: "roomcast-bench"},
	}
	if token != "" {
		fields = append(fields, hpack.HeaderField{Name: "authorization", Value: "Bearer " + token, Sensitive: true})
	}
	for _, f := range fields {
		if err := enc.WriteField(f); err != nil {
			return err
		}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.bw.WriteString(http2.ClientPreface); err != nil {
		return err
	}
	if err := s.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(s.recvWindow)},
	); err != nil {
		return err
	}
	if grow := s.recvConnWindow - h2DefaultWindow; grow > 0 {
		if err := s.fr.WriteWindowUpdate(0, uint32(grow)); err != nil {
			return err
		}
	}
	if err := s.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: h2StreamID, BlockFragment: block.Bytes(), EndHeaders: true,
	}); err != nil {
		return err
	}
	return s.bw.Flush()
}

// send writes f as one gRPC message, within the server's windows.
func (s *h2Stream) send(f *roomcastv1.ClientFrame) error {
	msg := make([]byte, 5, 5+proto.Size(f))
	msg, err := proto.MarshalOptions{}.MarshalAppend(msg, f)
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint32(msg[1:5], uint32(len(msg)-5))
	for len(msg) > 0 {
		n, err := s.reserve(len(msg))
		if err != nil {
			return err
		}
		if err := s.write(func() error { return s.fr.WriteData(h2StreamID, false, msg[:n]) }); err != nil {
			return err
		}
		msg = msg[n:]
	}
	return nil
}

// reserve waits until the server's windows let at least one byte go, and
// takes up to want bytes of them.
func (s *h2Stream) reserve(want int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.err == nil && (s.sendConn <= 0 || s.sendStream <= 0) {
		s.cond.Wait()
	}
	if s.err != nil {
		return 0, s.err
	}
	n := int64(min(want, s.sendMaxFrame))
	n = min(n, s.sendConn, s.sendStream)
	s.sendConn -= n
	s.sendStream -= n
	return int(n), nil
}

// write runs one framer write and flushes it, holding the writer.
func (s *h2Stream) write(frame func() error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := frame(); err != nil {
		return err
	}
	return s.bw.Flush()
}

// recv returns the next gRPC message of the stream, reading frames until
// one is whole.
func (s *h2Stream) recv() ([]byte, error) {
	for {
		msg, ok, err := s.nextMessage()
		if ok {
			return msg, nil
		}
		if err == nil {
			err = s.readFrame()
		}
		if err != nil {
			// The first error is the stream's end, returned from then on,
			// as grpc-go returns its status.
			return nil, s.fail(err)
		}
	}
}

// nextMessage cuts the next whole message out of msgs, if there is one.
func (s *h2Stream) nextMessage() ([]byte, bool, error) {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return nil, false, err
	}
	buf := s.msgs[s.off:]
	if len(buf) < 5 {
		return nil, false, nil
	}
	if buf[0] != 0 {
		return nil, false, errors.New("h2: a compressed message, which the client did not ask for")
	}
	n := binary.BigEndian.Uint32(buf[1:5])
	if n > maxRecvMsg {
		return nil, false, fmt.Errorf("h2: a message of %d bytes, above %d", n, maxRecvMsg)
	}
	if uint32(len(buf)-5) < n {
		return nil, false, nil
	}
	s.off += 5 + int(n)
	// Capped, so that appending to it cannot overwrite the next message.
	return buf[5 : 5+n : 5+n], true, nil
}

// readFrame reads one frame and does what it asks; a DATA frame's bytes
// go to msgs. It returns the error that ends the stream: the server's
// status among them.
func (s *h2Stream) readFrame() error {
	f, err := s.fr.ReadFrame()
	if err != nil {
		return err
	}
	switch f := f.(type) {
	case *http2.DataFrame:
		if f.StreamID != h2StreamID {
			return fmt.Errorf("h2: DATA on stream %d", f.StreamID)
		}
		// The previous message has been handled by now: keep only what
		// follows it.
		if s.off > 0 {
			s.msgs = s.msgs[:copy(s.msgs, s.msgs[s.off:])]
			s.off = 0
		}
		s.msgs = append(s.msgs, f.Data()...)
		if err := s.consumed(int32(f.Length)); err != nil {
			return err
		}
		if f.StreamEnded() {
			return errors.New("h2: the stream ended without a status")
		}
	case *http2.MetaHeadersFrame:
		return s.headers(f)
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		if err := s.settings(f); err != nil {
			return err
		}
		return s.write(s.fr.WriteSettingsAck)
	case *http2.PingFrame:
		if !f.IsAck() {
			return s.write(func() error { return s.fr.WritePing(true, f.Data) })
		}
	case *http2.WindowUpdateFrame:
		s.mu.Lock()
		if f.StreamID == 0 {
			s.sendConn += int64(f.Increment)
		} else {
			s.sendStream += int64(f.Increment)
		}
		s.mu.Unlock()
		s.cond.Broadcast()
	case *http2.RSTStreamFrame:
		return fmt.Errorf("h2: the server reset the stream: %v", f.ErrCode)
	case *http2.GoAwayFrame:
		// A graceful GOAWAY lets the stream run to its status.
		if f.ErrCode != http2.ErrCodeNo || f.LastStreamID < h2StreamID {
			return fmt.Errorf("h2: GOAWAY %v: %s", f.ErrCode, f.DebugData())
		}
	}
	return nil
}

// consumed gives n received bytes back to the server once a quarter of a
// window has been read: a window update per frame would double the
// writes.
func (s *h2Stream) consumed(n int32) error {
	s.unackedConn += n
	s.unackedStream += n
	var conn, stream uint32
	if s.unackedConn >= s.recvConnWindow/4 {
		conn, s.unackedConn = uint32(s.unackedConn), 0
	}
	if s.unackedStream >= s.recvWindow/4 {
		stream, s.unackedStream = uint32(s.unackedStream), 0
	}
	if conn == 0 && stream == 0 {
		return nil
	}
	return s.write(func() error {
		if conn > 0 {
			if err := s.fr.WriteWindowUpdate(0, conn); err != nil {
				return err
			}
		}
		if stream > 0 {
			return s.fr.WriteWindowUpdate(h2StreamID, stream)
		}
		return nil
	})
}

// settings applies the server's SETTINGS to what the client sends.
func (s *h2Stream) settings(f *http2.SettingsFrame) error {
	s.mu.Lock()
	defer s.cond.Broadcast()
	defer s.mu.Unlock()
	return f.ForeachSetting(func(set http2.Setting) error {
		switch set.ID {
		case http2.SettingInitialWindowSize:
			// Applies to the stream already open, by the difference
			// from the window the previous SETTINGS gave (grpc-go's
			// server sends new ones as it estimates the bandwidth).
			s.sendStream += int64(set.Val) - s.sendInitial
			s.sendInitial = int64(set.Val)
		case http2.SettingMaxFrameSize:
			s.sendMaxFrame = int(set.Val)
		}
		return nil
	})
}

// headers checks the response headers, and turns the trailers (or a
// trailers-only response) into the stream's end.
func (s *h2Stream) headers(f *http2.MetaHeadersFrame) error {
	if !s.gotHeaders {
		s.gotHeaders = true
		if st := f.PseudoValue("status"); st != "200" {
			return fmt.Errorf("h2: HTTP status %s", st)
		}
	}
	if !f.StreamEnded() {
		return nil
	}
	var code, message string
	for _, hf := range f.RegularFields() {
		switch hf.Name {
		case "grpc-status":
			code = hf.Value
		case "grpc-message":
			message = hf.Value
		}
	}
	n, err := strconv.Atoi(code)
	if err != nil {
		return errors.New("h2: the stream ended without a grpc-status")
	}
	if n == 0 {
		return io.EOF // grpc-go's end of a stream with status OK
	}
	// gRPC percent-encodes the message.
	if m, err := url.PathUnescape(message); err == nil {
		message = m
	}
	return status.Error(codes.Code(n), message)
}

// fail records why the stream ended, unless it already had, wakes a
// sender waiting for a window, and returns the stream's end.
func (s *h2Stream) fail(err error) error {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	err = s.err
	s.mu.Unlock()
	s.cond.Broadcast()
	return err
}

func (s *h2Stream) close() {
	_ = s.fail(net.ErrClosed)
	_ = s.conn.Close()
}
