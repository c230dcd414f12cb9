package server

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// grpc-go ends a server stream when its handler returns, and a handler
// blocked in RecvMsg returns only when a frame arrives or the stream's
// context ends. So that the handler itself can read, without a second
// goroutine per client waiting for it, the hub ends a stream by writing its
// status through grpc's transport stream: grpc then cancels the stream's
// context, which returns the blocked RecvMsg, and sends nothing more for
// the stream (the status RecvMsg would write for its failure, CANCELED, and
// the one the handler returns are both dropped).

// statusWriter is the part of grpc-go's server transport stream (found in
// the handler's context) that sends a stream's status before its handler
// returns.
type statusWriter interface {
	WriteStatus(*status.Status) error
}

// streamEnder ends a stream whose handler is blocked reading.
type streamEnder struct {
	status statusWriter
}

// newStreamEnder returns nil when grpc's transport stream does not write
// statuses (another grpc version): such a stream is read by a goroutine of
// its own while the handler waits.
func newStreamEnder(ctx context.Context) *streamEnder {
	sw, ok := grpc.ServerTransportStreamFromContext(ctx).(statusWriter)
	if !ok {
		return nil
	}
	return &streamEnder{status: sw}
}

// end sends st (nil: OK) as the stream's status, which also returns its
// blocked receive.
func (e *streamEnder) end(st error) {
	_ = e.status.WriteStatus(status.Convert(st)) // fails only on a stream already ended
}
