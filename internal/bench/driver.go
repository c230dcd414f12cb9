package bench

import (
	"context"
	"errors"
	"net"
	"time"
)

// A Driver runs the bench's scenarios against a server that is not
// roomcast, through that server's own client: the same layout, window,
// pacing, clocks and summary, so that a comparison measures the servers
// rather than two harnesses. bench/centrifugo is one. With
// Config.Driver set, rooms are the other server's channels (or its
// equivalent) and Namespace, Token and Transport are not used.
type Driver interface {
	// Name goes into the summary as client_transport.
	Name() string
	// Connect opens one client to addr (a node of Config.Addr) on a
	// connection of its own, made with dial, and subscribes it to rooms
	// (none for idle). It returns once the client is subscribed, or with
	// an error when ctx ends first.
	Connect(ctx context.Context, dial DialFunc, addr string, rooms []string) (DriverConn, error)
}

// DialFunc opens the TCP connection of one client, from the source
// address the bench chose (see Config.SourceIPs).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// DriverConn is one client of a Driver.
type DriverConn interface {
	// Publish sends data to room, one of the client's rooms, to every
	// client in it, the sender included: the sender's own copy is what
	// reopens the publisher's window. It may return before the server has
	// answered; a refusal that comes later goes to Read's refused. It is
	// not called concurrently with itself.
	Publish(room, data string) error
	// Read calls deliver with the data of each message that arrives, one
	// call at a time, and refused for each publish that the server
	// refused (from any goroutine), until the connection ends, and
	// returns why. What arrived before Read was called is delivered
	// first. It is called once, before the client's first Publish.
	Read(deliver func(data []byte), refused func()) error
	// Close ends the connection and makes Read return. It may be called
	// more than once, and concurrently with Read.
	Close()
}

// connectDriver connects one client of d's driver to node within timeout.
func (d *dialer) connectDriver(ctx context.Context, node int, timeout time.Duration, rooms []string) (conn, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := func(ctx context.Context, _, addr string) (net.Conn, error) { return d.dial(ctx, addr) }
	c, err := d.driver.Connect(cctx, dial, d.targets[node], rooms)
	if err != nil {
		if ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
			return nil, errTimeout
		}
		return nil, err
	}
	return driverClient{c}, nil
}

// driverClient is a DriverConn seen as one of the bench's clients.
type driverClient struct{ c DriverConn }

func (dc driverClient) publish(room, data string) error { return dc.c.Publish(room, data) }

func (dc driverClient) read(h handler) error {
	stamps := make([]int64, 1)
	deliver := func(data []byte) {
		now := time.Now().UnixNano()
		stamps[0], _ = sentAt(data) // 0, not recorded, when it has none
		if h.events != nil {
			h.events(stamps, now)
		}
	}
	refused := func() {
		if h.refused != nil {
			h.refused()
		}
	}
	return dc.c.Read(deliver, refused)
}

func (dc driverClient) close() { dc.c.Close() }
