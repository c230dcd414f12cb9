package client

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// Client is one ChatService/Connect stream on one gRPC connection, and the
// sockets multiplexed on it, one per namespace. It is safe for concurrent
// use.
type Client struct {
	conn   *grpc.ClientConn
	stream grpc.BidiStreamingClient[roomcastv1.ClientFrame, roomcastv1.ServerFrame]
	cancel context.CancelFunc

	// sendLock serialises stream.Send, which gRPC forbids calling
	// concurrently; a channel rather than a mutex so that a caller's
	// context can give up waiting for it.
	sendLock chan struct{}
	requests requests
	inbox    *inbox
	// ended is closed when the stream has ended and every socket has been
	// marked disconnected.
	ended     chan struct{}
	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	sockets map[string]*Socket // by namespace
	onError func(error)
	closing bool
	err     error // why the stream ended
}

// Dial connects to a roomcast server and opens the client stream. ctx
// bounds opening the stream, not its life; Close ends it. Without a
// transport credentials option the connection is plaintext.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	conn, err := grpc.NewClient(addr, o.dialOptions...)
	if err != nil {
		return nil, fmt.Errorf("roomcast client: dial %s: %w", addr, err)
	}
	streamCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if len(o.metadata) > 0 {
		streamCtx = metadata.AppendToOutgoingContext(streamCtx, o.metadata...)
	}
	giveUp := context.AfterFunc(ctx, cancel)
	stream, err := roomcastv1.NewChatServiceClient(conn).Connect(streamCtx)
	if !giveUp() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		cancel()
		conn.Close()
		return nil, fmt.Errorf("roomcast client: open stream to %s: %w", addr, err)
	}
	c := &Client{
		conn:     conn,
		stream:   stream,
		cancel:   cancel,
		sendLock: make(chan struct{}, 1),
		inbox:    newInbox(),
		ended:    make(chan struct{}),
		sockets:  make(map[string]*Socket),
	}
	go c.read()
	return c, nil
}

// Socket returns the client's socket in a namespace, creating it
// unconnected. Register handlers on it before Socket.Connect so that no
// event sent right after the connect is missed.
func (c *Client) Socket(namespace string) *Socket {
	if namespace == "" {
		namespace = "/"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sockets[namespace]
	if s == nil {
		s = &Socket{client: c, namespace: namespace, handlers: make(map[string]Handler)}
		c.sockets[namespace] = s
	}
	return s
}

// Connect enters a namespace with Socket.IO's handshake auth and returns
// its socket. A namespace middleware's refusal is a *ConnectError; the
// socket stays available from Socket for another try.
func (c *Client) Connect(ctx context.Context, namespace string, auth map[string]any) (*Socket, error) {
	s := c.Socket(namespace)
	if err := s.Connect(ctx, auth); err != nil {
		return nil, err
	}
	return s, nil
}

// OnError sets the handler of the server's refusals that no call is
// waiting for: those of Emit, Broadcast and acknowledgements, which carry
// no ref. They are *ReplyError values. The handler runs on the goroutine
// that runs event handlers, in order with them.
func (c *Client) OnError(fn func(error)) {
	c.mu.Lock()
	c.onError = fn
	c.mu.Unlock()
}

func (c *Client) reportError(err error) {
	c.mu.Lock()
	fn := c.onError
	c.mu.Unlock()
	if fn != nil {
		fn(err)
	}
}

// Done is closed when the stream has ended, by Close or by the server.
func (c *Client) Done() <-chan struct{} { return c.ended }

// Err is nil while the stream is open; afterwards it says why it ended,
// and errors.Is(err, ErrClosed) holds.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the stream, runs the OnDisconnect handlers of the connected
// sockets with ReasonClientDisconnect, closes the connection, and returns
// once every goroutine of the client has finished. Call it even after the
// server has ended the stream, to release the connection. It must not be called from a handler, which
// would wait for itself; a handler can call it with `go`.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()
		c.cancel()
		<-c.ended
		<-c.inbox.done
		c.closeErr = c.conn.Close()
	})
	return c.closeErr
}
