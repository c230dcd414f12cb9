package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Methods the fuzzer can reach besides echo: each takes a different way
// out of a stream.
const (
	fuzzBlockMethod = testService + "Block"
	fuzzPanicMethod = testService + "Panic"
	fuzzFailMethod  = testService + "Fail"
	healthCheckPath = "/grpc.health.v1.Health/Check"
)

// FuzzConnFrames writes the client preface and then whatever bytes the
// fuzzer makes up to a server shared by every input. Whatever they are,
// the server must not crash, must close the connection once the client is
// done, and must go on serving well-formed calls.
func FuzzConnFrames(f *testing.F) {
	ts := startServer(f, Config{Streams: map[string]StreamHandler{
		echoMethod:      echoHandler,
		fuzzBlockMethod: blockUntilDone,
		fuzzPanicMethod: func(grpc.ServerStream) error { panic("fuzz") },
		fuzzFailMethod: func(ss grpc.ServerStream) error {
			_ = ss.SetHeader(metadata.Pairs("x-h", "v"))
			ss.SetTrailer(metadata.Pairs("x-t-bin", "\x00\xff"))
			return status.Error(codes.InvalidArgument, "100% fuzz ✓")
		},
	}})
	cc := dial(f, ts.addr)
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, frames []byte) {
		nc, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(waitLimit))
		// Read while writing: a server answering many frames would
		// otherwise fill the socket and block on a client still writing.
		barrier := make(chan struct{})
		read := make(chan error, 1)
		go func() { read <- readServerFrames(nc, barrier) }()
		// A write may fail once the server has closed on a bad frame.
		_, _ = nc.Write(append(append([]byte(http2.ClientPreface), frames...), barrierPing...))
		// The PING's answer says the server has acted on every frame
		// before it, and gives the handlers it started a moment to answer
		// too: the client's end closes the connection, and whatever they
		// were doing with it. An input that broke framing swallows the
		// PING; then only the short wait passes.
		select {
		case <-barrier:
		case <-time.After(fuzzSettle):
		}
		_ = nc.(*net.TCPConn).CloseWrite()
		if err := <-read; err != nil {
			t.Fatal(err)
		}

		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if got, err := echoOnce(ctx, cc, "still serving"); err != nil || got != "still serving" {
			t.Fatalf("a well-formed call after the input: %q, %v", got, err)
		}
		waitConnsAtMost(t, ts.Server, 1) // the grpc-go client's
	})
}

// fuzzSettle bounds the wait for the barrier PING's answer.
const fuzzSettle = 20 * time.Millisecond

var barrierData = [8]byte{'b', 'a', 'r', 'r', 'i', 'e', 'r', '!'}

// barrierPing is a PING frame with barrierData.
var barrierPing = appendPing(nil, false, barrierData)

// readServerFrames reads what the server sends until it closes the
// connection, closing barrier at the barrier PING's ACK. The server must
// send well-formed HTTP/2 whatever it was sent, and close the connection
// once the client has ended its side.
func readServerFrames(nc net.Conn, barrier chan<- struct{}) error {
	fr := http2.NewFramer(nil, nc)
	// Whatever the fuzzer's SETTINGS allowed the server to send.
	fr.SetMaxReadFrameSize(1<<24 - 1)
	seen := false
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			if isClosed(err) {
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("the server did not close the connection after the client's end: %w", err)
			}
			return fmt.Errorf("the server sent a malformed frame: %w", err)
		}
		if p, ok := f.(*http2.PingFrame); ok && p.IsAck() && p.Data == barrierData && !seen {
			seen = true
			close(barrier)
		}
	}
}

// waitConnsAtMost waits for the server to forget connections that have
// closed until at most n remain: one it keeps is a leak.
func waitConnsAtMost(t testing.TB, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		s.mu.Lock()
		have := len(s.conns)
		s.mu.Unlock()
		if have <= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server still has %d connections, want at most %d", have, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// fuzzSeeds are frame sequences that reach each part of the transport:
// what a client sends, in order and out of it.
func fuzzSeeds(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	seed := func(write func(w *seedWriter)) {
		w := newSeedWriter(t)
		write(w)
		out = append(out, bytes.Clone(w.buf.Bytes()))
	}
	msg := func(s string) []byte { return grpcMessage(t, wrapperspb.String(s)) }

	// A whole echo call, with every connection-level frame along.
	seed(func(w *seedWriter) {
		w.check(w.fr.WriteSettings(
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100},
			http2.Setting{ID: http2.SettingMaxFrameSize, Val: 16384},
		))
		w.check(w.fr.WriteSettingsAck())
		w.headers(1, false, false, grpcRequest(echoMethod)...)
		w.check(w.fr.WriteData(1, false, msg("hello")))
		w.check(w.fr.WriteWindowUpdate(0, 1000))
		w.check(w.fr.WriteWindowUpdate(1, 1000))
		w.check(w.fr.WritePing(false, [8]byte{1, 2, 3}))
		w.check(w.fr.WriteData(1, true, nil))
	})
	// Streams reset by the client, and one opened and half-closed at once.
	seed(func(w *seedWriter) {
		w.headers(1, false, false, grpcRequest(echoMethod)...)
		w.check(w.fr.WriteData(1, false, msg("x")))
		w.check(w.fr.WriteRSTStream(1, http2.ErrCodeCancel))
		w.headers(3, true, false, grpcRequest(echoMethod)...)
		w.headers(5, false, false, grpcRequest(fuzzBlockMethod, hpack.HeaderField{Name: "grpc-timeout", Value: "10m"})...)
		w.check(w.fr.WriteRSTStream(5, http2.ErrCodeCancel))
	})
	// The fallback: a health check, and a request that is not gRPC.
	seed(func(w *seedWriter) {
		w.headers(1, false, false, grpcRequest(healthCheckPath)...)
		w.check(w.fr.WriteData(1, true, grpcMessage(t, &healthpb.HealthCheckRequest{})))
		w.headers(3, true, false, getRequest("/")...)
	})
	// A header block in CONTINUATION frames, with metadata of every kind.
	seed(func(w *seedWriter) {
		w.headers(1, false, true, grpcRequest(echoMethod,
			hpack.HeaderField{Name: "grpc-timeout", Value: "1S"},
			hpack.HeaderField{Name: "x-text", Value: "v"},
			hpack.HeaderField{Name: "x-data-bin", Value: "AP8"},
			hpack.HeaderField{Name: "user-agent", Value: "fuzz"},
		)...)
		w.check(w.fr.WriteData(1, true, msg("continued")))
	})
	// Frames the transport ignores or refuses; a client's GOAWAY.
	seed(func(w *seedWriter) {
		w.headers(1, false, false, grpcRequest(fuzzBlockMethod)...)
		w.check(w.fr.WritePriority(1, http2.PriorityParam{StreamDep: 0, Weight: 16}))
		w.check(w.fr.WriteRawFrame(0xfa, 0, 1, []byte("unknown")))
		w.check(w.fr.WriteGoAway(1, http2.ErrCodeNo, []byte("bye")))
	})
	// Handlers that panic and fail, whose statuses go as trailers only.
	seed(func(w *seedWriter) {
		w.headers(1, true, false, grpcRequest(fuzzPanicMethod)...)
		w.headers(3, true, false, grpcRequest(fuzzFailMethod)...)
	})
	// Protocol errors: DATA on an idle stream; a message larger than any
	// limit; a window that overflows.
	seed(func(w *seedWriter) { w.check(w.fr.WriteData(1, true, msg("idle"))) })
	seed(func(w *seedWriter) {
		w.headers(1, false, false, grpcRequest(echoMethod)...)
		w.check(w.fr.WriteData(1, false, []byte{0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3}))
	})
	seed(func(w *seedWriter) {
		w.headers(1, false, false, grpcRequest(echoMethod)...)
		w.check(w.fr.WriteWindowUpdate(1, 1<<31-1))
		w.check(w.fr.WriteWindowUpdate(0, 1<<31-1))
	})
	// A closed window: the reply waits until the connection ends.
	seed(func(w *seedWriter) {
		w.check(w.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}))
		w.headers(1, false, false, grpcRequest(echoMethod)...)
		w.check(w.fr.WriteData(1, true, msg("waiting for window")))
	})
	out = append(out, nil, []byte{0, 0, 0}, []byte("GET / HTTP/1.1\r\n\r\n"))
	return out
}

// seedWriter frames a seed: x/net's Framer and an HPACK encoder of its
// own, so that a seed's header blocks refer to its own dynamic table.
type seedWriter struct {
	t    testing.TB
	buf  bytes.Buffer
	fr   *http2.Framer
	hbuf bytes.Buffer
	henc *hpack.Encoder
}

func newSeedWriter(t testing.TB) *seedWriter {
	w := &seedWriter{t: t}
	w.fr = http2.NewFramer(&w.buf, nil)
	w.fr.AllowIllegalWrites = true
	w.henc = hpack.NewEncoder(&w.hbuf)
	return w
}

func (w *seedWriter) check(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// headers writes a header block as HEADERS, or as HEADERS and a
// CONTINUATION when split.
func (w *seedWriter) headers(id uint32, endStream, split bool, fields ...hpack.HeaderField) {
	w.t.Helper()
	w.hbuf.Reset()
	for _, f := range fields {
		w.check(w.henc.WriteField(f))
	}
	block := bytes.Clone(w.hbuf.Bytes())
	cut := len(block)
	if split {
		cut /= 2
	}
	w.check(w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block[:cut], EndStream: endStream, EndHeaders: !split}))
	if split {
		w.check(w.fr.WriteContinuation(id, true, block[cut:]))
	}
}
