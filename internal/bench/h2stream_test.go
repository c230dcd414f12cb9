package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/policy"
)

// serverTransports are the two ways the port can be served; the bench's
// own client must work with both.
var serverTransports = []string{server.TransportRoomcast, server.TransportGRPCGo}

// The scenarios run on the bench's own HTTP/2 client as on grpc-go's:
// every message delivered, nothing counted as an error.
func TestH2ClientRunsTheScenarios(t *testing.T) {
	for _, transport := range serverTransports {
		t.Run(transport, func(t *testing.T) {
			t.Setenv(testkit.TransportEnv, transport)
			m := run(t, Config{Transport: TransportH2, Scenario: ScenarioFanout, Subscribers: 20, Duration: time.Second, Window: 16})
			requireAllDelivered(t, m, 20)

			m = run(t, Config{Transport: TransportH2, Scenario: ScenarioRooms, Rooms: 4, SubscribersPerRoom: 5, Publishers: 2, Duration: time.Second})
			requireAllDelivered(t, m, 5)

			m = run(t, Config{Transport: TransportH2, Scenario: ScenarioChurn, Clients: 20, Duration: 500 * time.Millisecond})
			if num(t, m, "connects") <= 0 || num(t, m, "errors") != 0 {
				t.Errorf("churn: connects %v errors %v", m["connects"], m["errors"])
			}

			node := testkit.StartApp(t, "", nil)
			m = run(t, Config{Transport: TransportH2, Scenario: ScenarioIdle, Addr: node.Addr, HTTPAddr: node.HTTPAddr,
				Connections: 10, Settle: 10 * time.Millisecond})
			if num(t, m, "clients") != 10 || num(t, m, "errors") != 0 {
				t.Errorf("idle: clients %v errors %v", m["clients"], m["errors"])
			}
		})
	}
}

// Messages larger than HTTP/2's default window and frame size, both ways:
// the client must give the server window as it reads (or the server
// stalls) and wait for the server's window and split its frames as it
// sends (or the server ends the connection).
func TestH2ClientFlowControl(t *testing.T) {
	for _, transport := range serverTransports {
		t.Run(transport, func(t *testing.T) {
			t.Setenv(testkit.TransportEnv, transport)
			m := run(t, Config{Transport: TransportH2, Scenario: ScenarioFanout, Subscribers: 3, Duration: 500 * time.Millisecond,
				Payload: 200_000, Window: 4}) // zero windows: HTTP/2's default, 65535 bytes
			requireAllDelivered(t, m, 3)
		})
	}
}

// A token reaches a secured namespace through the h2 client's headers;
// without one, the refusal is reported.
func TestH2ClientToken(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) {
		(&policy.Policy{Auth: policy.NewTokens([]string{"s3cret"})}).Apply(s.Of("/secure"))
	})
	m := run(t, Config{Transport: TransportH2, Scenario: ScenarioFanout, Addr: srv.Addr, Namespace: "/secure", Token: "s3cret",
		Subscribers: 3, Duration: 200 * time.Millisecond})
	requireAllDelivered(t, m, 3)

	_, err := Run(context.Background(), Config{Transport: TransportH2, Scenario: ScenarioFanout, Addr: srv.Addr,
		Namespace: "/secure", Subscribers: 3, Duration: 200 * time.Millisecond, Progress: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("without the token: err %v; want refused connects", err)
	}
}

// A server that shuts down sends a disconnected frame, then ends the
// stream with its status in the trailers: the h2 client returns both, as
// grpc-go's does.
func TestH2ClientReturnsTheServerStatus(t *testing.T) {
	for _, transport := range serverTransports {
		t.Run(transport, func(t *testing.T) {
			t.Setenv(testkit.TransportEnv, transport)
			srv := testkit.Start(t, nil)
			cfg := Config{Transport: TransportH2, Addr: srv.Addr, Scenario: ScenarioFanout}.withDefaults()
			d, _ := newDialer(cfg, 1)
			c, err := d.connect(context.Background(), 0, testkit.Timeout, "/", []string{"r"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			srv.Shutdown()

			var disc disconnectedError
			if err := c.read(handler{}); !errors.As(err, &disc) || disc.reason != server.ReasonServerShuttingDown {
				t.Fatalf("read: %v, want the disconnected frame's reason %q", err, server.ReasonServerShuttingDown)
			}
			_, err = c.(*client).s.recv()
			if st, ok := status.FromError(err); !ok || st.Code() != codes.Unavailable || st.Message() != server.ReasonServerShuttingDown {
				t.Fatalf("after the frame: %v, want status UNAVAILABLE %q", err, server.ReasonServerShuttingDown)
			}
		})
	}
}

// silentServer accepts one connection, then neither reads nor writes; the
// test closes both.
func silentServer(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		if nc, err := lis.Accept(); err == nil {
			accepted <- nc
		}
		close(accepted)
	}()
	t.Cleanup(func() {
		lis.Close()
		for nc := range accepted {
			nc.Close()
		}
	})
	return lis.Addr().String()
}

// A connect that never gets an answer ends at the connect timeout, and the
// client's connection is closed.
func TestH2ClientConnectTimeout(t *testing.T) {
	cfg := Config{Transport: TransportH2, Addr: silentServer(t), Scenario: ScenarioFanout}.withDefaults()
	d, _ := newDialer(cfg, 1)
	start := time.Now()
	if _, err := d.connect(context.Background(), 0, 200*time.Millisecond, "/", nil); !errors.Is(err, errTimeout) {
		t.Fatalf("connect to a silent server: %v, want %v", err, errTimeout)
	}
	if waited := time.Since(start); waited > testkit.Timeout {
		t.Fatalf("connect returned after %v", waited)
	}
}

// A send waiting for the server's window, with nobody reading (as during
// the handshake), ends when the stream's context does.
func TestH2SendWaitingForWindowEndsWithTheContext(t *testing.T) {
	cfg := Config{Transport: TransportH2, Addr: silentServer(t), Scenario: ScenarioFanout}.withDefaults()
	d, _ := newDialer(cfg, 1)
	ctx, cancel := context.WithCancel(context.Background())
	fs, err := d.openH2(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.close()
	s := fs.(*h2Stream)
	s.mu.Lock()
	s.sendConn = 0 // the server's window, used up
	s.mu.Unlock()
	sent := make(chan error, 1)
	go func() { sent <- s.send(&roomcastv1.ClientFrame{}) }()
	time.Sleep(20 * time.Millisecond) // let it reach the wait; the test holds either way
	cancel()
	select {
	case err := <-sent:
		if err == nil {
			t.Fatal("a send with no window succeeded")
		}
	case <-time.After(testkit.Timeout):
		t.Fatal("a send waiting for window outlived its context")
	}
}

// Trailers end the stream: an error status as a gRPC status, OK as io.EOF
// (what grpc-go's client returns); from then on every recv returns the
// same end.
func TestH2TrailersEndTheStream(t *testing.T) {
	trailers := func(fields ...string) *http2.MetaHeadersFrame {
		f := &http2.MetaHeadersFrame{HeadersFrame: &http2.HeadersFrame{
			FrameHeader: http2.FrameHeader{Type: http2.FrameHeaders, Flags: http2.FlagHeadersEndStream | http2.FlagHeadersEndHeaders, StreamID: h2StreamID},
		}}
		for i := 0; i < len(fields); i += 2 {
			f.Fields = append(f.Fields, hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
		}
		return f
	}
	for _, tc := range []struct {
		fields []string
		want   func(error) bool
	}{
		{[]string{":status", "200", "grpc-status", "0"}, func(err error) bool { return err == io.EOF }},
		{[]string{":status", "200", "grpc-status", "8", "grpc-message", "slow%20consumer"}, func(err error) bool {
			st, ok := status.FromError(err)
			return ok && st.Code() == codes.ResourceExhausted && st.Message() == "slow consumer"
		}},
		{[]string{":status", "200"}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "without a grpc-status") }},
		{[]string{":status", "503", "grpc-status", "14"}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "HTTP status 503") }},
	} {
		s := &h2Stream{}
		s.cond = sync.NewCond(&s.mu)
		err := s.headers(trailers(tc.fields...))
		if !tc.want(err) {
			t.Errorf("trailers %v: %v", tc.fields, err)
			continue
		}
		if again := s.fail(err); again != err {
			t.Errorf("trailers %v: the end recorded is %v, want %v", tc.fields, again, err)
		}
		if _, err2 := s.recv(); err2 != err {
			t.Errorf("trailers %v: recv after the end: %v, want %v", tc.fields, err2, err)
		}
	}
}
