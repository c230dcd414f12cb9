package e2e

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// A client whose network goes silent (nothing read, nothing answered) is
// dropped once it misses the server's keepalive ping, with Socket.IO's
// reason for that; a quiet client that answers stays.
func TestSilentClientIsDroppedWithPingTimeout(t *testing.T) {
	if os.Getenv(testkit.TransportEnv) == "grpc-go" {
		t.Skip("grpc-go's transport reports a keepalive timeout as a transport close; this test runs without " + testkit.TransportEnv)
	}
	var calls <-chan hookCall
	srv := testkit.Start(t, func(s *server.Server) { calls = recordHooks(s, "/") },
		server.WithKeepalive(50*time.Millisecond, 100*time.Millisecond))
	line := &silencer{}
	silent := testkit.OpenOn(t, srv.Conn(t, grpc.WithContextDialer(line.dial)))
	silentSID := silent.Connect("/")
	quiet, quietSID := connected(t, srv, "/")

	// Several keepalive periods pass: both are quiet, both answer pings.
	time.Sleep(300 * time.Millisecond)
	if s := srv.Stats(); s.Sockets != 2 {
		t.Fatalf("sockets = %d after quiet keepalive periods, want 2", s.Sockets)
	}
	// Silenced while events keep coming to it, faster than its window
	// lets them out: the server's send to it then waits for window when
	// the connection closes, and fails, and still the reason is the missed
	// ping. (8 MB/s for the 150 ms the keepalive takes stays under the
	// 4 MiB that makes a slow consumer.)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		payload := strings.Repeat("x", 16<<10)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				_, _ = srv.Of("/").To(silentSID).Emit("filler", payload)
			}
		}
	}()
	line.silence()
	wantHooks(t, calls, "/", silentSID, server.ReasonPingTimeout, silentSID)
	if s := srv.Stats(); s.Sockets != 1 || srv.Of("/").Socket(quietSID) == nil {
		t.Fatalf("the answering client went too: %+v", s)
	}
	quiet.Send(emit(1, "/", "still here", nil))
	// It still gets what it is sent: its own emit to the namespace.
	wantEvent(t, quiet, "/", "still here", nil, quietSID)
	wantReply(t, quiet, 1, "")
}

// silencer dials connections that it can silence all at once: from then
// on they read nothing more (what arrives is dropped, and reads wait for
// the close) and write nowhere, as a peer whose network has gone.
type silencer struct {
	mu     sync.Mutex
	silent chan struct{}
}

func (s *silencer) signal() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.silent == nil {
		s.silent = make(chan struct{})
	}
	return s.silent
}

func (s *silencer) silence() { close(s.signal()) }

func (s *silencer) dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &silenceableConn{Conn: c, silent: s.signal(), closed: make(chan struct{})}, nil
}

type silenceableConn struct {
	net.Conn
	silent    <-chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func (c *silenceableConn) isSilent() bool {
	select {
	case <-c.silent:
		return true
	default:
		return false
	}
}

func (c *silenceableConn) Read(p []byte) (int, error) {
	if !c.isSilent() {
		n, err := c.Conn.Read(p)
		if !c.isSilent() {
			return n, err
		}
	}
	<-c.closed
	return 0, net.ErrClosed
}

func (c *silenceableConn) Write(p []byte) (int, error) {
	if c.isSilent() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *silenceableConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
