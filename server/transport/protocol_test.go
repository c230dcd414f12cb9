package transport

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// These tests speak HTTP/2 frame by frame, to check what a grpc-go client
// never does or never shows: the exact frames, and clients that break the
// rules.

// rawClient is an HTTP/2 client connection driven by hand.
type rawClient struct {
	t    testing.TB
	nc   net.Conn
	fr   *http2.Framer
	hbuf bytes.Buffer
	henc *hpack.Encoder
}

// dialRaw connects to addr and sends the client preface, nothing more.
func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	c := &rawClient{t: t, nc: nc, fr: http2.NewFramer(nc, nc)}
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	// Frames a misbehaving client sends, for the tests that are one.
	c.fr.AllowIllegalWrites = true
	c.henc = hpack.NewEncoder(&c.hbuf)
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	return c
}

// handshake sends the client's SETTINGS and reads the server's, then the
// ACK of ours: from then on the server has applied them.
func (c *rawClient) handshake(settings ...http2.Setting) {
	c.t.Helper()
	c.check(c.fr.WriteSettings(settings...))
	if sf, ok := c.readFrame().(*http2.SettingsFrame); !ok || sf.IsAck() {
		c.t.Fatal("the server's first frame is not its SETTINGS")
	}
	c.check(c.fr.WriteSettingsAck())
	if sf, ok := c.readFrame().(*http2.SettingsFrame); !ok || !sf.IsAck() {
		c.t.Fatal("the server did not ACK the client's SETTINGS next")
	}
}

func (c *rawClient) check(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
}

// readFrame reads the next frame, failing the test if none comes within
// waitLimit. A frame is valid until the next read.
func (c *rawClient) readFrame() http2.Frame {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(waitLimit))
	f, err := c.fr.ReadFrame()
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	return f
}

// quiet reports whether no frame arrives within d.
func (c *rawClient) quiet(d time.Duration) bool {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	f, err := c.fr.ReadFrame()
	if err == nil {
		c.t.Logf("unexpected %v", f.Header())
		return false
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.Fatalf("waiting for quiet: %v", err)
	}
	return true
}

// readUntilClosed reads frames until the server closes the connection and
// returns them (without payloads, which do not outlive the read). Failing
// to close within waitLimit fails the test.
func (c *rawClient) readUntilClosed() []http2.Frame {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(waitLimit))
	var frames []http2.Frame
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			if !isClosed(err) {
				c.t.Fatalf("the server did not close the connection: %v", err)
			}
			return frames
		}
		frames = append(frames, copyFrame(f))
	}
}

// isClosed tells a connection the server closed (an orderly end, or a
// reset when it closed with our bytes unread) from anything else.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// copyFrame keeps what the tests look at of frames read before the last.
func copyFrame(f http2.Frame) http2.Frame {
	switch f := f.(type) {
	case *http2.GoAwayFrame:
		return &http2.GoAwayFrame{FrameHeader: f.FrameHeader, LastStreamID: f.LastStreamID, ErrCode: f.ErrCode}
	case *http2.PingFrame:
		return &http2.PingFrame{FrameHeader: f.FrameHeader, Data: f.Data}
	case *http2.RSTStreamFrame:
		return &http2.RSTStreamFrame{FrameHeader: f.FrameHeader, ErrCode: f.ErrCode}
	}
	return &unknownFrame{f.Header()}
}

type unknownFrame struct{ http2.FrameHeader }

// writeHeaders sends fields as one HEADERS frame.
func (c *rawClient) writeHeaders(streamID uint32, endStream bool, fields ...hpack.HeaderField) {
	c.t.Helper()
	c.check(c.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: streamID, BlockFragment: c.encode(fields), EndHeaders: true, EndStream: endStream,
	}))
}

func (c *rawClient) encode(fields []hpack.HeaderField) []byte {
	c.hbuf.Reset()
	for _, f := range fields {
		c.check(c.henc.WriteField(f))
	}
	return bytes.Clone(c.hbuf.Bytes())
}

// grpcRequest is the header block of a gRPC call of method, with extra
// fields after the usual ones.
func grpcRequest(method string, extra ...hpack.HeaderField) []hpack.HeaderField {
	return append([]hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: method},
		{Name: ":authority", Value: "localhost"},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
	}, extra...)
}

// getRequest is the header block of a plain HTTP GET of path, which the
// transport hands to its fallback.
func getRequest(path string) []hpack.HeaderField {
	return []hpack.HeaderField{
		{Name: ":method", Value: "GET"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: path},
		{Name: ":authority", Value: "localhost"},
	}
}

// grpcMessage is m as a length-prefixed gRPC message.
func grpcMessage(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(len(b)))
	return append(out, b...)
}

// response is what came back on one stream.
type response struct {
	headers  []hpack.HeaderField // the first header block
	data     []byte
	trailers []hpack.HeaderField // the block with END_STREAM; the first, if trailers-only
	rst      http2.ErrCode
	reset    bool
}

// readResponse reads until stream id ends, by END_STREAM or RST_STREAM.
// Frames of the connection and of other streams are skipped; PINGs are
// answered, so that keepalive never gets in the way.
func (c *rawClient) readResponse(id uint32) response {
	c.t.Helper()
	var r response
	for {
		switch f := c.readFrame().(type) {
		case *http2.MetaHeadersFrame:
			if f.StreamID != id {
				continue
			}
			if r.headers == nil {
				r.headers = f.Fields
			}
			if f.StreamEnded() {
				r.trailers = f.Fields
				return r
			}
		case *http2.DataFrame:
			if f.StreamID != id {
				continue
			}
			r.data = append(r.data, f.Data()...)
			if f.StreamEnded() {
				return r
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				r.rst, r.reset = f.ErrCode, true
				return r
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				c.check(c.fr.WritePing(true, f.Data))
			}
		case *http2.GoAwayFrame:
			c.t.Fatalf("GOAWAY %v (%q) while reading stream %d", f.ErrCode, f.DebugData(), id)
		}
	}
}

func field(fields []hpack.HeaderField, name string) string {
	for _, f := range fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// messages splits gRPC's length-prefixed messages.
func messages(t testing.TB, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 5 {
			t.Fatalf("%d bytes left, not a message prefix", len(data))
		}
		n := int(binary.BigEndian.Uint32(data[1:5]))
		if len(data) < 5+n {
			t.Fatalf("a message of %d bytes, %d left", n, len(data)-5)
		}
		out = append(out, data[5:5+n])
		data = data[5+n:]
	}
	return out
}

func TestServerSendsSettingsFirstAndAcksClientSettings(t *testing.T) {
	ts := startServer(t, Config{})
	c := dialRaw(t, ts.addr)
	c.check(c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20}))
	sf, ok := c.readFrame().(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		t.Fatal("the server's first frame is not its SETTINGS")
	}
	for id, want := range map[http2.SettingID]uint32{
		http2.SettingMaxConcurrentStreams: maxStreams,
		http2.SettingMaxHeaderListSize:    maxHeaderListBytes,
	} {
		if v, ok := sf.Value(id); !ok || v != want {
			t.Errorf("the server's %v is %d (sent: %v), want %d", id, v, ok, want)
		}
	}
	// Frames stay at HTTP/2's default size, 16 KiB, as grpc-go reads them.
	if v, ok := sf.Value(http2.SettingMaxFrameSize); ok {
		t.Errorf("the server's SETTINGS_MAX_FRAME_SIZE is %d, want none (16 KiB)", v)
	}
	if sf, ok := c.readFrame().(*http2.SettingsFrame); !ok || !sf.IsAck() {
		t.Fatal("the client's SETTINGS got no ACK")
	}
}

func TestPingIsAnsweredWithSameData(t *testing.T) {
	ts := startServer(t, Config{})
	c := dialRaw(t, ts.addr)
	c.handshake()
	data := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	c.check(c.fr.WritePing(false, data))
	p, ok := c.readFrame().(*http2.PingFrame)
	if !ok || !p.IsAck() {
		t.Fatal("the PING got no PING ACK")
	}
	if p.Data != data {
		t.Fatalf("PING ACK carries %v, want %v", p.Data, data)
	}
}

func TestBadPrefaceClosesConnectionWithoutAWord(t *testing.T) {
	for name, preface := range map[string]string{
		"HTTP/1.1":     "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"almost HTTP2": "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, Config{})
			nc, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := io.WriteString(nc, preface[:len(http2.ClientPreface)]); err != nil {
				t.Fatal(err)
			}
			_ = nc.SetReadDeadline(time.Now().Add(waitLimit))
			got, err := io.ReadAll(nc)
			if !isClosed(err) && err != nil {
				t.Fatalf("the server did not close the connection: %v", err)
			}
			if len(got) > 0 {
				t.Fatalf("the server answered a bad preface with %q", got)
			}
		})
	}
}

func TestHandshakeTimeoutClosesSilentConnection(t *testing.T) {
	ts := startServer(t, Config{HandshakeTimeout: 100 * time.Millisecond})
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetReadDeadline(time.Now().Add(waitLimit))
	if got, err := io.ReadAll(nc); err != nil && !isClosed(err) {
		t.Fatalf("a client that never sent its preface is still connected: %v", err)
	} else if len(got) > 0 {
		t.Fatalf("the server sent %q before the preface", got)
	}
}

// Each of these breaks RFC 9113 in a way that is a connection error: the
// server must say which in GOAWAY, then close.
func TestProtocolViolationsEndConnectionWithGoAway(t *testing.T) {
	echo := func(c *rawClient, id uint32) { c.writeHeaders(id, false, grpcRequest(echoMethod)...) }
	for _, tc := range []struct {
		name     string
		send     func(*rawClient)
		wantCode http2.ErrCode
	}{
		{"DATA on an idle stream", func(c *rawClient) {
			c.check(c.fr.WriteData(1, true, []byte{0, 0, 0, 0, 0}))
		}, http2.ErrCodeProtocol},
		{"DATA on an idle stream above an open one", func(c *rawClient) {
			echo(c, 1)
			c.check(c.fr.WriteData(3, true, []byte{0, 0, 0, 0, 0}))
		}, http2.ErrCodeProtocol},
		{"HEADERS on an even stream id", func(c *rawClient) { echo(c, 2) }, http2.ErrCodeProtocol},
		{"stream ids going down", func(c *rawClient) { echo(c, 5); echo(c, 3) }, http2.ErrCodeProtocol},
		{"trailers without END_STREAM", func(c *rawClient) {
			echo(c, 1)
			c.writeHeaders(1, false, hpack.HeaderField{Name: "x-trailer", Value: "v"})
		}, http2.ErrCodeProtocol},
		{"PUSH_PROMISE from the client", func(c *rawClient) {
			echo(c, 1)
			c.check(c.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: c.encode(grpcRequest(echoMethod)), EndHeaders: true}))
		}, http2.ErrCodeProtocol},
		{"CONTINUATION without HEADERS", func(c *rawClient) {
			c.check(c.fr.WriteContinuation(1, true, c.encode(grpcRequest(echoMethod))))
		}, http2.ErrCodeProtocol},
		{"connection window past 2^31-1", func(c *rawClient) {
			c.check(c.fr.WriteWindowUpdate(0, 1<<31-1))
		}, http2.ErrCodeFlowControl},
		{"frame past the server's SETTINGS_MAX_FRAME_SIZE", func(c *rawClient) {
			// The header alone: the server must refuse it unread.
			_, err := c.nc.Write(appendFrameHeader(nil, minFrameSize+1, http2.FrameData, 0, 1))
			c.check(err)
		}, http2.ErrCodeFrameSize},
		{"SETTINGS_INITIAL_WINDOW_SIZE past 2^31-1", func(c *rawClient) {
			c.check(c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31}))
		}, http2.ErrCodeFlowControl},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: blockUntilDone}})
			c := dialRaw(t, ts.addr)
			c.handshake()
			tc.send(c)
			frames := c.readUntilClosed()
			var goAway *http2.GoAwayFrame
			for _, f := range frames {
				if g, ok := f.(*http2.GoAwayFrame); ok {
					goAway = g
				}
			}
			if goAway == nil {
				t.Fatalf("the connection closed without GOAWAY (frames: %v)", frames)
			}
			if goAway.ErrCode != tc.wantCode {
				t.Fatalf("GOAWAY %v, want %v", goAway.ErrCode, tc.wantCode)
			}
		})
	}
}

// blockUntilDone is a handler that neither reads nor writes: only the
// stream's end ends it.
func blockUntilDone(ss grpc.ServerStream) error {
	<-ss.Context().Done()
	return ss.Context().Err()
}

// A client with a 10-byte stream window gets 10 bytes of a message, then
// nothing until it opens the window.
func TestServerRespectsClientInitialWindowSize(t *testing.T) {
	const window = 10
	want := wrapperspb.String(strings.Repeat("x", 100))
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		return ss.SendMsg(want)
	}}})
	c := dialRaw(t, ts.addr)
	c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: window})
	c.writeHeaders(1, true, grpcRequest(echoMethod)...)

	var data []byte
	gotHeaders := false
	for len(data) < window {
		switch f := c.readFrame().(type) {
		case *http2.MetaHeadersFrame:
			if f.StreamEnded() {
				t.Fatal("the stream ended before its message was sent")
			}
			gotHeaders = true
		case *http2.DataFrame:
			data = append(data, f.Data()...)
		default:
			t.Fatalf("unexpected %v", f.Header())
		}
	}
	if !gotHeaders {
		t.Fatal("DATA came before the response headers")
	}
	if len(data) > window {
		t.Fatalf("the server sent %d bytes into a %d-byte window", len(data), window)
	}
	if !c.quiet(200 * time.Millisecond) {
		t.Fatal("the server sent more with the window closed")
	}
	c.check(c.fr.WriteWindowUpdate(1, 1000))
	r := c.readResponse(1)
	data = append(data, r.data...)
	if got := field(r.trailers, "grpc-status"); got != "0" {
		t.Fatalf("grpc-status %q, want 0 (reset: %v %v)", got, r.reset, r.rst)
	}
	msgs := messages(t, data)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	got := new(wrapperspb.StringValue)
	if err := proto.Unmarshal(msgs[0], got); err != nil || !proto.Equal(got, want) {
		t.Fatalf("the message came back as %v (%v)", got, err)
	}
}

// A handler that does not read leaves its stream's window to fill; one
// byte past it is a stream error, and the connection lives on.
func TestClientExceedingStreamWindowGetsFlowControlReset(t *testing.T) {
	ended := make(chan error, 1)
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		<-ss.Context().Done()
		ended <- ss.Context().Err()
		return nil
	}}})
	c := dialRaw(t, ts.addr)
	c.handshake()
	c.writeHeaders(1, false, grpcRequest(echoMethod)...)

	// The connection's window the client keeps to: only the stream's is
	// broken here. The server gives connection window back as it reads.
	connWindow := int64(defaultWindow)
	send := func(b []byte) {
		for connWindow < int64(len(b)) {
			switch f := c.readFrame().(type) {
			case *http2.WindowUpdateFrame:
				if f.StreamID == 0 {
					connWindow += int64(f.Increment)
				}
			case *http2.RSTStreamFrame:
				t.Fatalf("RST_STREAM %v before the window was exceeded", f.ErrCode)
			}
		}
		connWindow -= int64(len(b))
		c.check(c.fr.WriteData(1, false, b))
	}
	first := grpcMessage(t, wrapperspb.String("abcde"))
	send(first)
	for left := defaultWindow - len(first) + 1; left > 0; {
		n := min(left, 16384)
		send(make([]byte, n))
		left -= n
	}
	for {
		f := c.readFrame()
		if rst, ok := f.(*http2.RSTStreamFrame); ok {
			if rst.StreamID != 1 || rst.ErrCode != http2.ErrCodeFlowControl {
				t.Fatalf("RST_STREAM %v on stream %d, want FLOW_CONTROL_ERROR on 1", rst.ErrCode, rst.StreamID)
			}
			break
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			t.Fatalf("GOAWAY %v: a stream's flow control error ended the connection", g.ErrCode)
		}
	}
	if err := recvWithin(t, ended, "the end of the handler's context"); err == nil {
		t.Fatal("the handler's context ended without an error")
	}
	c.check(c.fr.WritePing(false, [8]byte{9}))
	for {
		if p, ok := c.readFrame().(*http2.PingFrame); ok && p.IsAck() {
			break
		}
	}
}

// Requests that are not gRPC for a served method go to the fallback: the
// method's name alone does not make a request the transport's.
func TestNonGRPCRequestsGoToFallback(t *testing.T) {
	type seen struct{ method, path, contentType string }
	saw := make(chan seen, 1)
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		saw <- seen{r.Method, r.URL.Path, r.Header.Get("Content-Type")}
		w.Header().Set("X-Fallback", "yes")
		w.WriteHeader(http.StatusUnsupportedMediaType)
		_, _ = io.WriteString(w, "not grpc")
	})
	for _, tc := range []struct {
		name                      string
		method, path, contentType string
	}{
		{"JSON POST to a served method", "POST", echoMethod, "application/json"},
		{"GET of a served method", "GET", echoMethod, "application/grpc"},
		{"grpc-web POST to a served method", "POST", echoMethod, "application/grpc-web"},
		{"text POST elsewhere", "POST", "/upload", "text/plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: echoHandler}, Fallback: fallback})
			c := dialRaw(t, ts.addr)
			c.handshake()
			c.writeHeaders(1, true,
				hpack.HeaderField{Name: ":method", Value: tc.method},
				hpack.HeaderField{Name: ":scheme", Value: "http"},
				hpack.HeaderField{Name: ":path", Value: tc.path},
				hpack.HeaderField{Name: ":authority", Value: "localhost"},
				hpack.HeaderField{Name: "content-type", Value: tc.contentType},
			)
			r := c.readResponse(1)
			if got := field(r.headers, ":status"); got != "415" {
				t.Fatalf(":status %q, want 415 (reset: %v %v)", got, r.reset, r.rst)
			}
			if got := field(r.headers, "x-fallback"); got != "yes" {
				t.Errorf("x-fallback %q: the handler's headers were lost", got)
			}
			if string(r.data) != "not grpc" {
				t.Errorf("body %q, want %q", r.data, "not grpc")
			}
			s := recvWithin(t, saw, "the fallback's call")
			if s != (seen{tc.method, tc.path, tc.contentType}) {
				t.Errorf("the fallback saw %+v", s)
			}
		})
	}
}

// A request that is not gRPC has a body that is not gRPC's messages: the
// fallback must get it as sent.
func TestFallbackReceivesNonGRPCRequestBody(t *testing.T) {
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write(body)
	})
	ts := startServer(t, Config{Fallback: fallback})
	c := dialRaw(t, ts.addr)
	c.handshake()
	c.writeHeaders(1, false,
		hpack.HeaderField{Name: ":method", Value: "POST"},
		hpack.HeaderField{Name: ":scheme", Value: "http"},
		hpack.HeaderField{Name: ":path", Value: "/upload"},
		hpack.HeaderField{Name: ":authority", Value: "localhost"},
		hpack.HeaderField{Name: "content-type", Value: "text/plain"},
	)
	c.check(c.fr.WriteData(1, true, []byte("hello world")))
	r := c.readResponse(1)
	if got := field(r.headers, ":status"); got != "200" {
		t.Fatalf(":status %q, want 200; body %q", got, r.data)
	}
	if string(r.data) != "hello world" {
		t.Fatalf("the fallback read %q, want %q", r.data, "hello world")
	}
}

// A handler reads its body in pieces of its own choosing; what arrives
// after a piece is taken is still the body, not the start of a message.
// Even gRPC's framing in the body must not matter: grpc.Server reads
// through this too.
func TestFallbackBodyReadInPiecesArrivesWhole(t *testing.T) {
	type result struct {
		body []byte
		err  error
	}
	readFirst := make(chan struct{})
	read := make(chan result, 1)
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		head := make([]byte, 3)
		_, err := io.ReadFull(r.Body, head)
		close(readFirst)
		rest, err2 := io.ReadAll(r.Body)
		read <- result{append(head, rest...), errors.Join(err, err2)}
		w.WriteHeader(http.StatusNoContent)
	})
	ts := startServer(t, Config{Fallback: fallback})
	c := dialRaw(t, ts.addr)
	c.handshake()
	c.writeHeaders(1, false, grpcRequest("/roomcast.transport.test.Elsewhere/Upload")...)
	// One gRPC-framed message of 110 bytes in two DATA frames; its bytes
	// are 0xff, the largest of lengths when read as one.
	payload := bytes.Repeat([]byte{0xff}, 110)
	body := append([]byte{0, 0, 0, 0, byte(len(payload))}, payload...)
	c.check(c.fr.WriteData(1, false, body[:15]))
	recvWithin(t, readFirst, "the fallback's first read")
	c.check(c.fr.WriteData(1, true, body[15:]))
	got := recvWithin(t, read, "the fallback's read of the rest")
	if got.err != nil {
		t.Fatalf("reading the body: %v", got.err)
	}
	if !bytes.Equal(got.body, body) {
		t.Fatalf("the fallback read %d bytes, want the %d sent", len(got.body), len(body))
	}
}

func TestClientResetCancelsHandlerContext(t *testing.T) {
	handler, started, ended := waitForContextEnd()
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: handler}})
	c := dialRaw(t, ts.addr)
	c.handshake()
	c.writeHeaders(1, false, grpcRequest(echoMethod)...)
	recvWithin(t, started, "the handler's start")
	c.check(c.fr.WriteRSTStream(1, http2.ErrCodeCancel))
	if err := recvWithin(t, ended, "the end of the handler's context"); !errors.Is(err, context.Canceled) {
		t.Fatalf("the handler's context ended with %v, want context.Canceled", err)
	}
	// The reset is the stream's alone.
	c.pingPong()
}

// The server applies grpc-timeout itself: a client that never gives up
// gets DEADLINE_EXCEEDED from the server; a malformed one is an error.
func TestGRPCTimeoutHeader(t *testing.T) {
	for _, tc := range []struct {
		timeout, wantStatus string
	}{
		{"100m", "4"},    // DEADLINE_EXCEEDED
		{"100000u", "4"}, // the same in microseconds
		{"1x", "13"},     // INTERNAL: no such unit
		{"123456789S", "13"},
	} {
		t.Run(tc.timeout, func(t *testing.T) {
			ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: blockUntilDone}})
			c := dialRaw(t, ts.addr)
			c.handshake()
			c.writeHeaders(1, true, grpcRequest(echoMethod, hpack.HeaderField{Name: "grpc-timeout", Value: tc.timeout})...)
			r := c.readResponse(1)
			if got := field(r.trailers, "grpc-status"); got != tc.wantStatus {
				t.Fatalf("grpc-status %q (%q), want %s", got, field(r.trailers, "grpc-message"), tc.wantStatus)
			}
		})
	}
}

// A handler blocked sending to a client that gives no window must get
// out at its deadline, as grpc-go's SendMsg does: otherwise a client that
// stops reading holds a handler for as long as it keeps the connection.
// The client learns of the deadline too: by a status when nothing of a
// message went out, by a reset when half of one did (a status then would
// follow half a message).
func TestSendBlockedOnFlowControlReturnsAtDeadline(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window uint32
		// wantStatus is the grpc-status the client gets; "" for a reset.
		wantStatus string
	}{
		{"before the message", 0, "4"},
		{"mid-message", 10, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sendErr := make(chan error, 1)
			ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
				for {
					if err := ss.SendMsg(wrapperspb.String(strings.Repeat("x", 32<<10))); err != nil {
						sendErr <- err
						return err
					}
				}
			}}})
			c := dialRaw(t, ts.addr)
			c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: tc.window})
			c.writeHeaders(1, true, grpcRequest(echoMethod, hpack.HeaderField{Name: "grpc-timeout", Value: "100m"})...)
			err := recvWithin(t, sendErr, "the blocked SendMsg's return after the deadline")
			if code := status.Code(err); code != codes.DeadlineExceeded && code != codes.Canceled {
				t.Fatalf("SendMsg returned %v, want DEADLINE_EXCEEDED or CANCELLED", err)
			}
			r := c.readResponse(1)
			if tc.wantStatus == "" {
				if !r.reset {
					t.Fatalf("the stream ended with grpc-status %q after %d bytes, want a reset", field(r.trailers, "grpc-status"), len(r.data))
				}
			} else if got := field(r.trailers, "grpc-status"); got != tc.wantStatus {
				t.Fatalf("grpc-status %q (reset %v %v), want %s", got, r.reset, r.rst, tc.wantStatus)
			}
		})
	}
}

func TestGracefulStopRefusesNewStreamsOnOpenConnection(t *testing.T) {
	ts := startServer(t, Config{})
	c := dialRaw(t, ts.addr)
	c.handshake()
	c.writeHeaders(1, false, grpcRequest(echoMethod)...)
	c.check(c.fr.WriteData(1, false, grpcMessage(t, wrapperspb.String("open"))))
	// The echo proves the stream is open and its handler running.
	for {
		if d, ok := c.readFrame().(*http2.DataFrame); ok && d.StreamID == 1 {
			break
		}
	}

	stopped := make(chan struct{})
	go func() {
		ts.GracefulStop()
		close(stopped)
	}()
	for {
		if g, ok := c.readFrame().(*http2.GoAwayFrame); ok {
			if g.ErrCode != http2.ErrCodeNo || g.LastStreamID != 1 {
				t.Fatalf("GOAWAY %v, last stream %d; want NO_ERROR, 1", g.ErrCode, g.LastStreamID)
			}
			break
		}
	}
	c.writeHeaders(3, true, grpcRequest(echoMethod)...)
	r := c.readResponse(3)
	if !r.reset || r.rst != http2.ErrCodeRefusedStream {
		t.Fatalf("a stream opened after GOAWAY: reset %v %v, want REFUSED_STREAM", r.reset, r.rst)
	}
	select {
	case <-stopped:
		t.Fatal("GracefulStop returned with a stream open")
	default:
	}
	c.check(c.fr.WriteData(1, true, nil))
	r = c.readResponse(1)
	if got := field(r.trailers, "grpc-status"); got != "0" {
		t.Fatalf("the open stream ended with grpc-status %q, want 0", got)
	}
	c.readUntilClosed()
	// The server half-closes and waits for the client to close its side,
	// as a client does on GOAWAY with nothing open.
	_ = c.nc.Close()
	recvWithin(t, stopped, "GracefulStop's return")
}

// Header blocks larger than a frame travel as HEADERS and CONTINUATION
// both ways.
func TestLargeHeaderBlocksSpanContinuationFrames(t *testing.T) {
	const responseHeaderBytes = 40 << 10 // past the client's 16 KiB frames
	got := make(chan string, 1)
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		got <- strings.Join(md.Get("x-big"), "")
		return ss.SendHeader(metadata.Pairs("x-big-response", strings.Repeat("r", responseHeaderBytes)))
	}}})
	c := dialRaw(t, ts.addr)
	c.handshake()
	big := strings.Repeat("q", 12<<10) // under the server's 16 KiB list limit
	block := c.encode(grpcRequest(echoMethod, hpack.HeaderField{Name: "x-big", Value: big}))
	third := len(block) / 3
	c.check(c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:third], EndStream: true}))
	c.check(c.fr.WriteContinuation(1, false, block[third:2*third]))
	c.check(c.fr.WriteContinuation(1, true, block[2*third:]))
	if v := recvWithin(t, got, "the handler's call"); v != big {
		t.Fatalf("the handler got x-big of %d bytes, want %d", len(v), len(big))
	}
	r := c.readResponse(1)
	if v := field(r.headers, "x-big-response"); len(v) != responseHeaderBytes {
		t.Fatalf("x-big-response of %d bytes, want %d", len(v), responseHeaderBytes)
	}
	if got := field(r.trailers, "grpc-status"); got != "0" {
		t.Fatalf("grpc-status %q, want 0", got)
	}
}

// Request headers past the advertised SETTINGS_MAX_HEADER_LIST_SIZE fail
// that stream only.
func TestOversizedRequestHeadersFailTheStream(t *testing.T) {
	ts := startServer(t, Config{})
	c := dialRaw(t, ts.addr)
	c.handshake()
	block := c.encode(grpcRequest(echoMethod, hpack.HeaderField{Name: "x-huge", Value: strings.Repeat("h", maxHeaderListBytes)}))
	c.check(c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:10000], EndStream: true}))
	c.check(c.fr.WriteContinuation(1, true, block[10000:]))
	r := c.readResponse(1)
	if got := field(r.trailers, "grpc-status"); got != "13" {
		t.Fatalf("grpc-status %q, want 13 (INTERNAL)", got)
	}
	c.writeHeaders(3, false, grpcRequest(echoMethod)...)
	c.check(c.fr.WriteData(3, true, grpcMessage(t, wrapperspb.String("after"))))
	r = c.readResponse(3)
	if got := field(r.trailers, "grpc-status"); got != "0" {
		t.Fatalf("the next stream: grpc-status %q, want 0", got)
	}
}

func TestKeepaliveClosesConnectionThatNeverAnswersPing(t *testing.T) {
	ts := startServer(t, Config{KeepaliveTime: 100 * time.Millisecond, KeepaliveTimeout: 100 * time.Millisecond})
	c := dialRaw(t, ts.addr)
	c.handshake()
	pings := 0
	for _, f := range c.readUntilClosed() {
		if p, ok := f.(*http2.PingFrame); ok && !p.IsAck() {
			pings++
		}
	}
	if pings == 0 {
		t.Fatal("the server closed the connection without pinging first")
	}
}

func TestKeepaliveKeepsConnectionThatAnswersPing(t *testing.T) {
	// A timeout well above the time between pings: the answer has time to
	// arrive on a loaded machine.
	ts := startServer(t, Config{KeepaliveTime: 100 * time.Millisecond, KeepaliveTimeout: 300 * time.Millisecond})
	c := dialRaw(t, ts.addr)
	c.handshake()
	// Without an answer the connection would close after the first ping:
	// three pings answered prove the answers count.
	for answered := 0; answered < 3; {
		_ = c.nc.SetReadDeadline(time.Now().Add(waitLimit))
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %d pings answered: %v", answered, err)
		}
		if p, ok := f.(*http2.PingFrame); ok && !p.IsAck() {
			c.check(c.fr.WritePing(true, p.Data))
			answered++
		}
	}
}

// Stop right after a connection's handshake: the connection's keepalive
// is set up by its goroutine while Stop closes it from another. The client
// reads the server's SETTINGS without x/net's Framer, whose pooled buffers
// would give the race detector an ordering the transport does not have.
func TestStopRightAfterHandshake(t *testing.T) {
	for range 10 {
		ts := startServer(t, Config{})
		nc, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = nc.SetDeadline(time.Now().Add(waitLimit))
		if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
			t.Fatal(err)
		}
		var header [9]byte
		if _, err := io.ReadFull(nc, header[:]); err != nil {
			t.Fatal(err)
		}
		ts.Stop()
		if _, err := io.Copy(io.Discard, nc); err != nil && !isClosed(err) {
			t.Fatalf("Stop left the connection open: %v", err)
		}
		nc.Close()
	}
}

// A status written while another goroutine's message waits for window
// goes after the whole message: a client must never get half a message
// and then the end of the stream.
func TestStatusWrittenMidMessageWaitsForTheMessage(t *testing.T) {
	const window = 10
	want := wrapperspb.String(strings.Repeat("m", 200))
	release := make(chan struct{})
	sendDone := make(chan error, 1)
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		go func() { sendDone <- ss.SendMsg(want) }()
		<-release
		return errors.New("status while the message waits") // UNKNOWN
	}}})
	c := dialRaw(t, ts.addr)
	c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: window})
	c.writeHeaders(1, true, grpcRequest(echoMethod)...)
	var data []byte
	for len(data) < window {
		switch f := c.readFrame().(type) {
		case *http2.DataFrame:
			data = append(data, f.Data()...)
		case *http2.MetaHeadersFrame:
			if f.StreamEnded() {
				t.Fatal("the stream ended before its message was sent")
			}
		}
	}
	// The sender is now mid-message, waiting for window.
	close(release)
	if !c.quiet(200 * time.Millisecond) {
		t.Fatal("the server sent something with the window closed: the status went before the rest of the message")
	}
	c.check(c.fr.WriteWindowUpdate(1, 1000))
	r := c.readResponse(1)
	data = append(data, r.data...)
	if got := field(r.trailers, "grpc-status"); got != "2" {
		t.Fatalf("grpc-status %q, want 2 (UNKNOWN)", got)
	}
	msgs := messages(t, data)
	got := new(wrapperspb.StringValue)
	if len(msgs) != 1 || proto.Unmarshal(msgs[0], got) != nil || !proto.Equal(got, want) {
		t.Fatalf("the message before the status arrived as %d messages, %d bytes", len(msgs), len(data))
	}
	recvWithin(t, sendDone, "the sender's return")
}

// Requests that reach a handler but cannot be read fail their stream with
// INTERNAL, as grpc-go's would.
func TestMalformedRequestsFailTheStream(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []hpack.HeaderField
		data  []byte // nil: the HEADERS end the stream
	}{
		{"compressed flag without grpc-encoding", nil, []byte{1, 0, 0, 0, 2, 'h', 'i'}},
		{"message that is not the proto", nil, []byte{0, 0, 0, 0, 2, 0xff, 0xff}},
		{"stream ending inside a message", nil, []byte{0, 0, 0, 0, 10, 'a'}},
		{"binary metadata that is not base64", []hpack.HeaderField{{Name: "x-data-bin", Value: "!!!"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{})
			c := dialRaw(t, ts.addr)
			c.handshake()
			c.writeHeaders(1, tc.data == nil, grpcRequest(echoMethod, tc.extra...)...)
			if tc.data != nil {
				c.check(c.fr.WriteData(1, true, tc.data))
			}
			r := c.readResponse(1)
			if got := field(r.trailers, "grpc-status"); got != "13" {
				t.Fatalf("grpc-status %q (%q), want 13 (INTERNAL)", got, field(r.trailers, "grpc-message"))
			}
		})
	}
}

func TestStreamsPastMaxConcurrentAreRefused(t *testing.T) {
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: blockUntilDone}})
	c := dialRaw(t, ts.addr)
	c.handshake()
	id := uint32(1)
	for range maxStreams {
		c.writeHeaders(id, true, grpcRequest(echoMethod)...)
		id += 2
	}
	c.writeHeaders(id, true, grpcRequest(echoMethod)...)
	r := c.readResponse(id)
	if !r.reset || r.rst != http2.ErrCodeRefusedStream {
		t.Fatalf("stream %d past %d open: reset %v %v, want REFUSED_STREAM", id, maxStreams, r.reset, r.rst)
	}
}

// The server's DATA frames follow the client's SETTINGS_MAX_FRAME_SIZE:
// never above it, and up to it rather than HTTP/2's 16 KiB default.
func TestDataFramesFollowClientMaxFrameSize(t *testing.T) {
	const maxFrame = 20000
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		return ss.SendMsg(wrapperspb.String(strings.Repeat("f", 100<<10)))
	}}})
	c := dialRaw(t, ts.addr)
	c.fr.SetMaxReadFrameSize(maxFrame)
	c.handshake(
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: maxFrame},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20},
	)
	c.check(c.fr.WriteWindowUpdate(0, 1<<20))
	c.writeHeaders(1, true, grpcRequest(echoMethod)...)
	largest := 0
	for {
		f := c.readFrame() // fails on a frame above maxFrame
		if d, ok := f.(*http2.DataFrame); ok {
			largest = max(largest, len(d.Data()))
		}
		if h, ok := f.(*http2.MetaHeadersFrame); ok && h.StreamEnded() {
			break
		}
	}
	if largest <= 16384 {
		t.Fatalf("the largest DATA frame is %d bytes: the client's %d were not used", largest, maxFrame)
	}
}

// gRPC clients end their side with an empty DATA frame, but HTTP/2 allows
// trailers: they half-close the stream too.
func TestClientTrailersHalfCloseTheStream(t *testing.T) {
	ts := startServer(t, Config{})
	c := dialRaw(t, ts.addr)
	c.handshake()
	c.writeHeaders(1, false, grpcRequest(echoMethod)...)
	c.check(c.fr.WriteData(1, false, grpcMessage(t, wrapperspb.String("x"))))
	c.writeHeaders(1, true, hpack.HeaderField{Name: "x-client-trailer", Value: "t"})
	r := c.readResponse(1)
	if got := field(r.trailers, "grpc-status"); got != "0" {
		t.Fatalf("grpc-status %q, want 0", got)
	}
	if n := len(messages(t, r.data)); n != 1 {
		t.Fatalf("%d messages echoed, want 1", n)
	}
}

func TestPaddedFramesAreUnderstood(t *testing.T) {
	ts := startServer(t, Config{})
	c := dialRaw(t, ts.addr)
	c.handshake()
	c.check(c.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: 1, BlockFragment: c.encode(grpcRequest(echoMethod)), EndHeaders: true, PadLength: 7,
	}))
	msg := grpcMessage(t, wrapperspb.String("padded"))
	c.check(c.fr.WriteDataPadded(1, true, msg, make([]byte, 100)))
	r := c.readResponse(1)
	if got := field(r.trailers, "grpc-status"); got != "0" {
		t.Fatalf("grpc-status %q, want 0", got)
	}
	if !bytes.Equal(r.data, msg) {
		t.Fatalf("echoed %q, want %q", r.data, msg)
	}
}

func TestStopUnblocksSendWaitingForWindow(t *testing.T) {
	sending := make(chan struct{})
	sendErr := make(chan error, 1)
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		close(sending)
		err := ss.SendMsg(wrapperspb.String("never gets window"))
		sendErr <- err
		return err
	}}})
	c := dialRaw(t, ts.addr)
	c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	c.writeHeaders(1, true, grpcRequest(echoMethod)...)
	recvWithin(t, sending, "the handler's send")
	ts.Stop()
	if err := recvWithin(t, sendErr, "the blocked SendMsg's return after Stop"); err == nil {
		t.Fatal("SendMsg succeeded with no window")
	}
}

// Stream errors end one stream with RST_STREAM; the connection goes on.
func TestStreamErrorsResetOnlyTheStream(t *testing.T) {
	for _, tc := range []struct {
		name     string
		send     func(*rawClient)
		wantCode http2.ErrCode
	}{
		{"stream window past 2^31-1", func(c *rawClient) {
			c.check(c.fr.WriteWindowUpdate(1, 1<<31-1))
		}, http2.ErrCodeFlowControl},
		{"WINDOW_UPDATE of 0 on a stream", func(c *rawClient) {
			c.check(c.fr.WriteWindowUpdate(1, 0))
		}, http2.ErrCodeProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ended := make(chan error, 1)
			ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
				err := blockUntilDone(ss)
				ended <- err
				return err
			}}})
			c := dialRaw(t, ts.addr)
			c.handshake()
			c.writeHeaders(1, false, grpcRequest(echoMethod)...)
			tc.send(c)
			r := c.readResponse(1)
			if !r.reset || r.rst != tc.wantCode {
				t.Fatalf("reset %v %v, want RST_STREAM %v", r.reset, r.rst, tc.wantCode)
			}
			recvWithin(t, ended, "the handler's return")
			c.pingPong()
		})
	}
}

// pingPong checks the connection still works: a PING gets its ACK, with
// no GOAWAY first.
func (c *rawClient) pingPong() {
	c.t.Helper()
	data := [8]byte{'a', 'l', 'i', 'v', 'e'}
	c.check(c.fr.WritePing(false, data))
	for {
		switch f := c.readFrame().(type) {
		case *http2.PingFrame:
			if f.IsAck() && f.Data == data {
				return
			}
		case *http2.GoAwayFrame:
			c.t.Fatalf("GOAWAY %v (%q): the connection ended", f.ErrCode, f.DebugData())
		}
	}
}

// A header block the server rejects as malformed is a stream error; the
// stream is then closed, not idle, and frames already on their way for it
// must be ignored (RFC 9113, 5.1), not taken for a connection error.
func TestFramesAfterMalformedHeadersAreIgnored(t *testing.T) {
	ts := startServer(t, Config{})
	c := dialRaw(t, ts.addr)
	c.handshake()
	// Upper case is not allowed in HTTP/2 field names.
	c.writeHeaders(1, false, grpcRequest(echoMethod, hpack.HeaderField{Name: "X-Upper", Value: "v"})...)
	c.check(c.fr.WriteData(1, true, grpcMessage(t, wrapperspb.String("in flight"))))
	r := c.readResponse(1)
	if !r.reset || r.rst != http2.ErrCodeProtocol {
		t.Fatalf("reset %v %v, want RST_STREAM PROTOCOL_ERROR", r.reset, r.rst)
	}
	c.pingPong()
}

// A fallback handler that panics mid-response must not have its partial
// body presented as a complete one: net/http's HTTP/2 server resets the
// stream (RST_STREAM INTERNAL_ERROR).
func TestFallbackPanicResetsStream(t *testing.T) {
	fallback := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "partial")
		panic("fallback blew up")
	})
	ts := startServer(t, Config{Fallback: fallback})
	c := dialRaw(t, ts.addr)
	c.handshake()
	c.writeHeaders(1, true, getRequest("/")...)
	r := c.readResponse(1)
	if !r.reset || r.rst != http2.ErrCodeInternal {
		t.Fatalf("after %q the stream ended with reset %v %v, want RST_STREAM INTERNAL_ERROR", r.data, r.reset, r.rst)
	}
}

// Trailers of a fallback response: those declared in "Trailer" and those
// set with http.TrailerPrefix, in a final HEADERS frame.
func TestFallbackTrailersReachClient(t *testing.T) {
	fallback := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Trailer", "X-Declared")
		_, _ = io.WriteString(w, "body")
		w.Header().Set("X-Declared", "d")
		w.Header().Set(http.TrailerPrefix+"X-Undeclared", "u")
	})
	ts := startServer(t, Config{Fallback: fallback})
	c := dialRaw(t, ts.addr)
	c.handshake()
	c.writeHeaders(1, true, getRequest("/")...)
	r := c.readResponse(1)
	if string(r.data) != "body" {
		t.Fatalf("body %q, want %q", r.data, "body")
	}
	if r.trailers == nil || field(r.trailers, ":status") != "" {
		t.Fatalf("no trailer block (trailers %v)", r.trailers)
	}
	if got := field(r.trailers, "x-declared"); got != "d" {
		t.Errorf("trailer x-declared %q, want d", got)
	}
	if got := field(r.trailers, "x-undeclared"); got != "u" {
		t.Errorf("trailer x-undeclared %q, want u", got)
	}
}

// A reset stream whose handler has not returned yet still counts against
// the streams a connection may run: a client cannot start handlers without
// end by opening and resetting streams.
func TestResetStreamsStillCountWhileTheirHandlersRun(t *testing.T) {
	const stuckMethod = testService + "Stuck"
	release := make(chan struct{})
	ts := startServer(t, Config{Streams: map[string]StreamHandler{
		echoMethod: echoHandler,
		// Deaf to its context: only release ends it.
		stuckMethod: func(grpc.ServerStream) error { <-release; return nil },
	}})
	// Before the server's Stop, which does not wait for handlers.
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce)
	c := dialRaw(t, ts.addr)
	c.handshake()
	id := uint32(1)
	for range maxStreams {
		c.writeHeaders(id, false, grpcRequest(stuckMethod)...)
		c.check(c.fr.WriteRSTStream(id, http2.ErrCodeCancel))
		id += 2
	}
	c.writeHeaders(id, true, grpcRequest(echoMethod)...)
	if r := c.readResponse(id); !r.reset || r.rst != http2.ErrCodeRefusedStream {
		t.Fatalf("a stream with %d handlers running: reset %v %v, want REFUSED_STREAM", maxStreams, r.reset, r.rst)
	}
	// Once they return, streams are taken again.
	releaseOnce()
	deadline := time.Now().Add(waitLimit)
	for {
		id += 2
		c.writeHeaders(id, true, grpcRequest(echoMethod)...)
		r := c.readResponse(id)
		if !r.reset {
			if got := field(r.trailers, "grpc-status"); got != "0" {
				t.Fatalf("grpc-status %q, want 0", got)
			}
			return
		}
		if r.rst != http2.ErrCodeRefusedStream || time.Now().After(deadline) {
			t.Fatalf("after the handlers returned: reset %v, want the stream served", r.rst)
		}
		time.Sleep(time.Millisecond)
	}
}

// Bytes a handler has not read hold its stream's window: the server
// credits nothing for them until the handler reads, then credits them.
func TestStreamWindowIsCreditedAsTheHandlerReads(t *testing.T) {
	const messages, payload = 4, 15990 // each message in one 16 KiB frame
	release := make(chan struct{})
	read := make(chan error, 1)
	ts := startServer(t, Config{Streams: map[string]StreamHandler{echoMethod: func(ss grpc.ServerStream) error {
		<-release
		for range messages {
			if err := ss.RecvMsg(new(wrapperspb.StringValue)); err != nil {
				read <- err
				return err
			}
		}
		read <- nil
		return blockUntilDone(ss)
	}}})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce)
	c := dialRaw(t, ts.addr)
	c.handshake()
	c.writeHeaders(1, false, grpcRequest(echoMethod)...)
	sentBytes := 0
	for range messages {
		m := grpcMessage(t, wrapperspb.String(strings.Repeat("w", payload)))
		c.check(c.fr.WriteData(1, false, m))
		sentBytes += len(m)
	}
	// streamCredit reads frames for d, adding up stream 1's WINDOW_UPDATEs.
	streamCredit := func(d time.Duration, enough int) int {
		total := 0
		end := time.Now().Add(d)
		for total < enough {
			_ = c.nc.SetReadDeadline(end)
			f, err := c.fr.ReadFrame()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return total
			}
			c.check(err)
			if wu, ok := f.(*http2.WindowUpdateFrame); ok && wu.StreamID == 1 {
				total += int(wu.Increment)
			}
		}
		return total
	}
	if got := streamCredit(100*time.Millisecond, 1); got > 0 {
		t.Fatalf("the server credited %d bytes its handler has not read", got)
	}
	releaseOnce()
	if err := recvWithin(t, read, "the handler's reads"); err != nil {
		t.Fatal(err)
	}
	// All of it back but at most one batch not yet sent.
	want := sentBytes - creditBatch
	if got := streamCredit(waitLimit, want); got < want {
		t.Fatalf("the server credited %d of the %d bytes read, want at least %d", got, sentBytes, want)
	}
}

// An informational status (1xx) is not the response's: net/http lets a
// handler send one, then its final status. Both must reach the client.
func TestFallbackInformationalStatusIsFollowedByTheFinalOne(t *testing.T) {
	fallback := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "final")
	})
	ts := startServer(t, Config{Fallback: fallback})
	c := dialRaw(t, ts.addr)
	c.handshake()
	c.writeHeaders(1, true, getRequest("/")...)
	var statuses []string
	var body []byte
	for done := false; !done; {
		switch f := c.readFrame().(type) {
		case *http2.MetaHeadersFrame:
			if s := field(f.Fields, ":status"); s != "" {
				statuses = append(statuses, s)
			}
			done = f.StreamEnded()
		case *http2.DataFrame:
			body = append(body, f.Data()...)
			done = f.StreamEnded()
		case *http2.RSTStreamFrame:
			t.Fatalf("RST_STREAM %v", f.ErrCode)
		}
	}
	if !slices.Equal(statuses, []string{"103", "202"}) || string(body) != "final" {
		t.Fatalf("statuses %v and body %q, want [103 202] and %q", statuses, body, "final")
	}
}
