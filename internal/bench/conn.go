package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// dialer opens one gRPC connection per client to one of the targets (the
// nodes of --addr), spread over source addresses when asked.
type dialer struct {
	targets   []string
	token     string // sent as "authorization: Bearer" on every stream
	transport string // TransportGRPCGo or TransportH2
	volatile  bool   // publish volatile events
	driver    Driver // another server's clients instead of the bench's own
	// streamWindow and connWindow are the flow-control windows each client
	// gives the server; 0 leaves the transport's default.
	streamWindow, connWindow int32
	opts                     []grpc.DialOption // grpc-go's client only
	locals                   []*net.TCPAddr    // empty: the kernel picks
	next                     atomic.Uint64
}

// newDialer prepares connections to cfg's nodes for about demand clients
// in all. It returns a note when it spread source addresses, to go in the
// summary.
func newDialer(cfg Config, demand int) (*dialer, string) {
	d := &dialer{targets: cfg.targets(), token: cfg.Token, transport: cfg.Transport, volatile: cfg.Volatile,
		driver: cfg.Driver, streamWindow: cfg.InitialWindow, connWindow: cfg.InitialConnWindow}
	n := cfg.SourceIPs
	if n == 0 {
		// Ports run out per server port, and the clients are spread
		// over the nodes: each target needs sources for its share.
		share := (demand + len(d.targets) - 1) / len(d.targets)
		n = autoSourceIPs(d.targets[0], share)
		for _, t := range d.targets[1:] {
			n = min(n, autoSourceIPs(t, share))
		}
	}
	var note string
	if n > 0 {
		for i := range n {
			d.locals = append(d.locals, &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))})
		}
		note = fmt.Sprintf("connections spread over %d source addresses 127.0.0.2..127.0.0.%d", n, n+1)
	}
	if d.driver == nil && d.transport != TransportH2 {
		d.opts = grpcDialOptions(d)
	}
	return d, note
}

// nodes is the number of targets.
func (d *dialer) nodes() int { return len(d.targets) }

// autoSourceIPs is how many source addresses demand connections need: one
// source address has the ephemeral port range towards one server port,
// less a margin for what else the machine has open. Spreading only works
// towards an IPv4 loopback target.
func autoSourceIPs(target string, demand int) int {
	host, _, _ := net.SplitHostPort(target)
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || ip.To4() == nil) {
		return 0
	}
	perAddr := ephemeralPorts() - 2000
	if perAddr < 1000 {
		perAddr = 1000
	}
	if demand <= perAddr {
		return 0
	}
	return min((demand+perAddr-1)/perAddr, 250)
}

// ephemeralPorts reads Linux's ephemeral port range; elsewhere it assumes
// Linux's default.
func ephemeralPorts() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			lo, err1 := strconv.Atoi(f[0])
			hi, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && hi >= lo {
				return hi - lo + 1
			}
		}
	}
	return 60999 - 32768 + 1
}

func (d *dialer) dial(ctx context.Context, addr string) (net.Conn, error) {
	var nd net.Dialer
	if len(d.locals) > 0 {
		nd.LocalAddr = d.locals[d.next.Add(1)%uint64(len(d.locals))]
		// The target may be "localhost": dial its IPv4 address, which is
		// the family of the source address.
		return nd.DialContext(ctx, "tcp4", addr)
	}
	return nd.DialContext(ctx, "tcp", addr)
}

// frameStream is one ChatService/Connect stream on its own connection,
// whichever client speaks it: grpc-go's, or the bench's own HTTP/2 one.
type frameStream interface {
	// send sends one frame; it is safe alongside recv but not alongside
	// another send.
	send(*roomcastv1.ClientFrame) error
	// recv returns the next ServerFrame, still encoded, valid until the
	// next recv.
	recv() ([]byte, error)
	// close ends the stream and the connection.
	close()
}

// conn is one bench client on a connection of its own: roomcast's
// (client), or a Driver's for another server (driverClient).
type conn interface {
	// publish sends data to room; it is not called concurrently with
	// itself.
	publish(room, data string) error
	// read receives until the connection ends and returns why.
	read(h handler) error
	// close ends the connection; it may be called more than once and
	// concurrently with read.
	close()
}

// client is one ChatService stream on its own connection.
type client struct {
	s         frameStream
	namespace string
	volatile  bool
	cancel    context.CancelFunc
	once      sync.Once
}

// errTimeout is a handshake that took longer than ConnectTimeout.
var errTimeout = errors.New("connect timed out")

// connect opens a client to target node, enters namespace and joins rooms
// (if any), within timeout and until ctx ends.
func (d *dialer) connect(ctx context.Context, node int, timeout time.Duration, namespace string, rooms []string) (conn, error) {
	if d.driver != nil {
		return d.connectDriver(ctx, node, timeout, rooms)
	}
	// The stream outlives ctx's handshake: it ends when the scenario
	// closes the client, so that the scenario decides when counting stops.
	sctx, cancel := context.WithCancel(context.Background())
	c := &client{namespace: namespace, volatile: d.volatile, cancel: cancel}
	var timedOut atomic.Bool
	timer := time.AfterFunc(timeout, func() { timedOut.Store(true); cancel() })
	stopWatch := context.AfterFunc(ctx, cancel)
	var err error
	if c.s, err = d.open(sctx, node); err == nil {
		err = c.handshake(namespace, rooms)
	}
	stopped := timer.Stop()
	watching := stopWatch()
	switch {
	case err == nil && stopped && watching:
		return c, nil
	case timedOut.Load():
		err = errTimeout
	case ctx.Err() != nil:
		err = ctx.Err()
	case err == nil:
		err = errors.New("connect interrupted")
	}
	c.close()
	return nil, err
}

// open starts a stream to node on the dialer's transport; the stream ends
// when ctx does.
func (d *dialer) open(ctx context.Context, node int) (frameStream, error) {
	if d.transport == TransportH2 {
		return d.openH2(ctx, node)
	}
	return d.openGRPC(ctx, node)
}

func (c *client) handshake(namespace string, rooms []string) error {
	if err := c.s.send(&roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Connect{
		Connect: &roomcastv1.ConnectFrame{Namespace: namespace}}}); err != nil {
		return c.recvErr(err)
	}
	for {
		f, err := c.recvFrame()
		if err != nil {
			return err
		}
		if ce := f.GetConnectError(); ce != nil {
			return fmt.Errorf("connect %s refused: %s", namespace, ce.Message)
		}
		if r := f.GetReply(); r != nil && r.Error != nil {
			return fmt.Errorf("connect %s refused: %s %s", namespace, r.Error.Code, r.Error.Message)
		}
		if f.GetConnected() != nil {
			break
		}
	}
	if len(rooms) == 0 {
		return nil
	}
	const joinRef = 1
	if err := c.s.send(&roomcastv1.ClientFrame{Ref: joinRef, Frame: &roomcastv1.ClientFrame_Join{
		Join: &roomcastv1.RoomsFrame{Namespace: namespace, Rooms: rooms}}}); err != nil {
		return c.recvErr(err)
	}
	for {
		f, err := c.recvFrame()
		if err != nil {
			return err
		}
		r := f.GetReply()
		if r == nil {
			continue
		}
		if r.Error != nil {
			return fmt.Errorf("join %v refused: %s %s", rooms, r.Error.Code, r.Error.Message)
		}
		if r.Ref == joinRef {
			return nil
		}
	}
}

// recvFrame receives and decodes the next frame.
func (c *client) recvFrame() (*roomcastv1.ServerFrame, error) {
	b, err := c.s.recv()
	if err != nil {
		return nil, err
	}
	var f roomcastv1.ServerFrame
	if err := proto.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("undecodable frame: %w", err)
	}
	return &f, nil
}

// recvErr turns a failed send into the stream's real status: gRPC reports
// io.EOF on Send and keeps the reason for Recv.
func (c *client) recvErr(sendErr error) error {
	if _, err := c.s.recv(); err != nil {
		return err
	}
	return sendErr
}

// publish emits one event with data to room.
func (c *client) publish(room, data string) error {
	return c.s.send(&roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Emit{Emit: &roomcastv1.EmitFrame{
		Namespace: c.namespace,
		Event:     EventName,
		Data:      structpb.NewStringValue(data),
		Rooms:     []string{room},
		Volatile:  c.volatile,
	}}})
}

// close ends the stream and the connection; it may be called more than
// once and concurrently with reads.
func (c *client) close() {
	c.once.Do(func() {
		c.cancel()
		if c.s != nil {
			c.s.close()
		}
	})
}

// handler is what a read loop does with the frames it receives.
type handler struct {
	// events gets the send times of each event frame's events (a batch
	// unpacked; 0 for an event without one) and the time they arrived.
	events func(stamps []int64, now int64)
	// refused is called for each reply that carries an error: a publish
	// or a join the server refused.
	refused func()
}

// disconnectedError is a stream that the server ended with a reason.
type disconnectedError struct{ reason string }

func (e disconnectedError) Error() string { return "disconnected: " + e.reason }

// read receives frames until the stream ends and returns why it ended.
func (c *client) read(h handler) error {
	var stamps []int64
	for {
		b, err := c.s.recv()
		if err != nil {
			return err
		}
		now := time.Now().UnixNano()
		var events bool
		stamps, events = eventStamps(b, stamps[:0])
		if events {
			if h.events != nil {
				h.events(stamps, now)
			}
			continue
		}
		// Anything but events is rare: decode it whole.
		var f roomcastv1.ServerFrame
		if err := proto.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("undecodable frame: %w", err)
		}
		switch fr := f.Frame.(type) {
		case *roomcastv1.ServerFrame_Reply:
			if fr.Reply.Error != nil && h.refused != nil {
				h.refused()
			}
		case *roomcastv1.ServerFrame_Disconnected:
			return disconnectedError{reason: fr.Disconnected.Reason}
		}
	}
}

// clientSpec is one client to connect: the node it connects to (an index
// into the dialer's targets) and the rooms it joins.
type clientSpec struct {
	node  int
	rooms []string
}

// connectAll connects one client per spec with cfg.ConnectConcurrency
// at once, calling started for each client connected, from the connecting
// goroutine. It returns the clients by index (nil where the connect
// failed), the number that failed and the first error. It stops early
// when ctx ends or when connects keep failing, as they do when no server
// listens.
func connectAll(ctx context.Context, d *dialer, cfg Config, specs []clientSpec, started func(i int, c conn)) ([]conn, int, error) {
	clients := make([]conn, len(specs))
	var (
		next, failed, succeeded atomic.Int64
		errOnce                 sync.Once
		firstErr                error
		wg                      sync.WaitGroup
	)
	giveUp := func() bool {
		f := failed.Load()
		return f >= 16 && f > succeeded.Load()/10
	}
	for range min(cfg.ConnectConcurrency, len(specs)) {
		wg.Go(func() {
			for ctx.Err() == nil && !giveUp() {
				i := int(next.Add(1) - 1)
				if i >= len(specs) {
					return
				}
				c, err := d.connect(ctx, specs[i].node, cfg.ConnectTimeout, cfg.Namespace, specs[i].rooms)
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
						errOnce.Do(func() { firstErr = err })
					}
					continue
				}
				succeeded.Add(1)
				clients[i] = c
				if started != nil {
					started(i, c)
				}
			}
		})
	}
	wg.Wait()
	return clients, int(failed.Load()), firstErr
}

// closeAll closes every client at once: closing thousands one after the
// other would take seconds.
func closeAll(clients []conn) {
	var wg sync.WaitGroup
	work := make(chan conn)
	for range min(64, len(clients)) {
		wg.Go(func() {
			for c := range work {
				c.close()
			}
		})
	}
	for _, c := range clients {
		if c != nil {
			work <- c
		}
	}
	close(work)
	wg.Wait()
}
