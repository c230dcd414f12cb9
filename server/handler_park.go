package server

import (
	"time"

	"google.golang.org/grpc"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/server/transport"
)

// Parking the handler. On roomcast's transport a client quiet for a
// while costs no goroutine at all: its connection's reader parks (package
// transport), and so does the handler that reads its stream, through the
// stream's WaitOrPark. The handler returns transport.ErrParked with the
// stream still open, and the transport calls resumeReading on a new
// goroutine when the client sends again or the stream ends.

// handlerParkAfter is how long a client's handler waits for a frame
// before it lets its goroutine go, as the transport's connections do.
const handlerParkAfter = time.Second

// handlerParker is the stream of roomcast's transport, which can park.
type handlerParker interface {
	WaitOrPark(idle time.Duration, resume func() error) bool
}

// parkerOf finds the transport's stream under the hub's own wrappers;
// nil when the stream cannot park (grpc-go's transport).
func parkerOf(ss grpc.ServerStream) handlerParker {
	for {
		switch s := ss.(type) {
		case handlerParker:
			return s
		case *grpc.GenericServerStream[roomcastv1.ClientFrame, roomcastv1.ServerFrame]:
			ss = s.ServerStream
		case *guardedStream:
			ss = s.ServerStream
		default:
			return nil
		}
	}
}

// resumeReading carries on a parked client's reading, on the goroutine
// the transport started, and returns what its handler would have.
func (c *client) resumeReading() error {
	if c.readLoop() {
		return transport.ErrParked
	}
	defer c.srv.removeClient(c)
	return c.afterReading()
}
