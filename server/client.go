package server

import (
	"errors"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/server/transport"
)

// client is one ChatService/Connect stream and its sockets, one per
// namespace. The gRPC handler reads and handles frames in order, then
// cleans up; the writer's drain goroutine exists only while there is
// output. When the server ends a client, a goroutine started for the
// purpose cleans up and sends the status, which returns the handler's
// blocked read (stream_end.go). A stream that cannot be ended that way is
// read by a goroutine of its own while the handler waits for the end. On
// roomcast's transport the handler of a quiet client parks and carries on
// later from a new goroutine (handler_park.go).
type client struct {
	srv    *Server
	stream grpc.ServerStream
	sess   *session
	w      *writer
	acks   ackTable
	log    *slog.Logger

	mu      sync.Mutex
	sockets map[string]*Socket // by namespace name
	closed  bool

	// halfClosed is set when the client ended its side of the stream
	// (io.EOF): it sends nothing more but still reads.
	halfClosed atomic.Bool

	// ender ends the stream while the handler reads; nil when the handler
	// waits and a separate goroutine reads.
	ender *streamEnder
	// parker parks the handler of a quiet client; nil where the stream
	// cannot (grpc-go's transport) or a separate goroutine reads.
	parker     handlerParker
	resume     func() error // resumeReading
	started    time.Time
	done       chan struct{}
	closeOnce  sync.Once
	finishOnce sync.Once
	reason     string
	status     error // what the handler returns
}

func newClient(srv *Server, stream grpc.ServerStream, sess *session, ender *streamEnder) *client {
	c := &client{
		srv:     srv,
		stream:  stream,
		sess:    sess,
		sockets: make(map[string]*Socket),
		ender:   ender,
		started: time.Now(),
		done:    make(chan struct{}),
		log:     srv.log.With("peer", sess.peer),
	}
	if ender != nil {
		if c.parker = parkerOf(stream); c.parker != nil {
			c.resume = c.resumeReading // made once, not at every frame
		}
	}
	c.w = &writer{
		send:     func(f *encodedFrame) error { return stream.SendMsg(f) },
		maxQueue: srv.opts.maxQueueBytes,
		maxFrame: srv.opts.maxFrameBytes,
		stats:    &srv.stats,
		drainers: srv.drainers,
		onOverflow: func() {
			c.close(ReasonSlowConsumer, status.Error(codes.ResourceExhausted, ReasonSlowConsumer))
		},
		onError: func(err error) { c.close(transportReason(err), nil) },
	}
	return c
}

// run serves the stream until it ends, then disconnects every socket. It
// returns transport.ErrParked when the handler parked: resumeReading
// carries on (handler_park.go).
func (c *client) run() error {
	c.log.Info("client connected")
	if c.ender != nil {
		if c.readLoop() {
			return transport.ErrParked
		}
	} else {
		go c.readLoop()
	}
	return c.afterReading()
}

// afterReading waits for the client's end, then cleans up.
func (c *client) afterReading() error {
	<-c.done
	c.finish()
	return c.status
}

// finish disconnects every socket and sends what is still due, once; a
// second caller waits for the first.
func (c *client) finish() {
	c.finishOnce.Do(c.cleanUp)
}

func (c *client) cleanUp() {
	if c.ender != nil {
		// Even after a panic below (a user's hook or adapter): otherwise
		// the handler would stay blocked reading.
		defer c.ender.end(c.status)
	}
	// Clients still listening are told why their sockets end: a slow
	// consumer too, once the batch it is being sent has gone (its writer
	// dropped the rest); a closed transport has nobody to tell.
	notify := c.reason == ReasonServerShuttingDown || c.reason == ReasonInternalError || c.reason == ReasonSlowConsumer
	c.mu.Lock()
	c.closed = true
	sockets := c.sockets
	c.sockets = nil
	c.mu.Unlock()
	for _, s := range sockets {
		c.safely("ending a socket", func() { c.teardown(s, c.reason, notify) })
	}
	// A client that half-closed has sent its last frame and may still be
	// reading the answers to it: `grpcurl -d @ ... <<EOF` sends every frame,
	// then half-closes at once. What is queued for it goes out first.
	wait := c.srv.opts.drainTimeout
	if !notify && !c.halfClosed.Load() {
		wait = 0
	}
	c.w.close(wait)
	c.srv.stats.streamEnded(c.reason)
	c.log.Info("client disconnected", "reason", c.reason,
		"code", status.Code(c.status).String(), "duration", time.Since(c.started).Round(time.Millisecond))
}

// readLoop reads and handles frames until the stream ends, or until the
// handler parks, which it reports.
func (c *client) readLoop() (parked bool) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic while handling a frame", "panic", r, "stack", string(debug.Stack()))
			c.close(ReasonInternalError, status.Error(codes.Internal, "internal error while handling a frame"))
		}
	}()
	for {
		if c.parker != nil && c.parker.WaitOrPark(handlerParkAfter, c.resume) {
			return true
		}
		f := new(roomcastv1.ClientFrame)
		if err := c.stream.RecvMsg(f); errors.Is(err, errRefusedFrame) {
			continue
		} else if err != nil {
			c.halfClosed.Store(errors.Is(err, io.EOF))
			c.end(transportReason(err), receiveStatus(err))
			return false
		}
		select {
		case <-c.done:
			return false // the client was ended while this frame arrived
		default:
		}
		c.handle(f)
	}
}

// close ends the client from any goroutine; the first reason wins. A
// handler blocked reading is returned by a goroutine that cleans up first,
// so that whoever closes (a publisher finding a full queue, Shutdown) does
// not wait for the client's last frames to go out.
func (c *client) close(reason string, st error) {
	if c.end(reason, st) && c.ender != nil {
		go c.finishAside()
	}
}

// safely runs part of a client's end so that a panic in it (an adapter's,
// say) is logged and the rest of the end still happens: the client's other
// sockets leave their rooms, its writer stops, its stream gets a status.
func (c *client) safely(what string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic while "+what, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	f()
}

// finishAside is finish on a goroutine of its own, where no interceptor
// recovers a panic: it logs one rather than end the process.
func (c *client) finishAside() {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic while ending a client", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	c.finish()
}

// end records why the client ends, once, and reports whether this call
// did. The reader calls it directly when its receive failed: the handler
// is then no longer blocked.
func (c *client) end(reason string, st error) bool {
	ended := false
	c.closeOnce.Do(func() {
		c.reason, c.status = reason, st
		close(c.done)
		ended = true
	})
	return ended
}

func transportReason(err error) string {
	if errors.Is(err, transport.ErrKeepaliveTimeout) {
		return ReasonPingTimeout
	}
	if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
		return ReasonTransportClose
	}
	return ReasonTransportError
}

// receiveStatus is what the handler reports for a stream that failed to
// receive: nothing for a client that left, and the receive error itself
// otherwise (a frame over the size limit is RESOURCE_EXHAUSTED), so that
// the log and metrics say what the client saw.
func receiveStatus(err error) error {
	if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return nil
}

func (c *client) socket(namespace string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sockets[namespace]
}

func (c *client) namespaceCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sockets)
}

// attach registers a new socket unless the client is closing or already
// has one in the namespace.
func (c *client) attach(s *Socket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.sockets[s.ns.name] != nil {
		return false
	}
	c.sockets[s.ns.name] = s
	return true
}

// disconnectSocket ends one socket, once, from any goroutine.
func (c *client) disconnectSocket(s *Socket, reason string, notify bool) {
	c.mu.Lock()
	if c.sockets[s.ns.name] != s {
		c.mu.Unlock()
		return
	}
	delete(c.sockets, s.ns.name)
	c.mu.Unlock()
	c.teardown(s, reason, notify)
}

func (c *client) teardown(s *Socket, reason string, notify bool) {
	hooks := s.ns.listeners()
	for _, fn := range hooks.onDisconnecting {
		c.runHook("disconnecting", s, func() { fn(s, reason) })
	}
	s.ns.remove(s)
	c.acks.failSocket(s.id, Errorf(CodeUnavailable, "socket disconnected: %s", reason))
	if notify {
		c.send(&roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_Disconnected{
			Disconnected: &roomcastv1.Disconnected{Namespace: s.ns.name, Reason: reason},
		}})
	}
	c.srv.stats.sockets.Add(-1)
	c.log.Info("namespace disconnect", "namespace", s.ns.name, "sid", s.id, "reason", reason)
	for _, fn := range hooks.onDisconnect {
		c.runHook("disconnect", s, func() { fn(s, reason) })
	}
}

// runHook runs a user's disconnect hook so that its panic cannot stop the
// teardown half way, which would leave the socket in its rooms.
func (c *client) runHook(name string, s *Socket, hook func()) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic in a "+name+" hook", "namespace", s.ns.name, "sid", s.id,
				"panic", r, "stack", string(debug.Stack()))
		}
	}()
	hook()
}

// send queues a control frame.
func (c *client) send(f *roomcastv1.ServerFrame) {
	b, err := proto.Marshal(f)
	if err != nil {
		c.log.Error("cannot encode a frame", "error", err)
		return
	}
	c.w.enqueue(outItem{data: b, control: true}, false)
}

// reply answers a frame.
func (c *client) reply(ref uint64, data *structpb.Value, refusal *Error) {
	r := &roomcastv1.Reply{Ref: ref, Data: data}
	if refusal != nil {
		r.Error = refusal.proto()
	}
	c.send(&roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_Reply{Reply: r}})
}

// refuseConnect answers a connect that will not happen with connect_error,
// and with a reply too when the frame had a ref.
func (c *client) refuseConnect(ref uint64, namespace string, refusal *Error) {
	data, _ := toValue(refusal.Data)
	c.send(&roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_ConnectError{
		ConnectError: &roomcastv1.ConnectError{Namespace: namespace, Message: refusal.Message, Data: data},
	}})
	if ref != 0 {
		c.reply(ref, nil, refusal)
	}
	attrs := []any{"namespace", namespace, "reason", refusal.Message}
	if refusal.Cause != nil {
		attrs = append(attrs, "cause", refusal.Cause.Error())
	}
	c.log.Info("namespace connect refused", attrs...)
}
