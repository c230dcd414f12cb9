package server

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// grpc-go ends a server stream only when its handler returns, and a handler
// blocked in RecvMsg returns only when a frame arrives or the stream's
// context ends. So that the handler itself can read, without a second
// goroutine per client waiting for it, the hub ends a stream in two steps:
// it writes the stream's status through the transport stream, then cancels
// a context of its own that grpc's tap installed as the stream's context,
// which returns the blocked RecvMsg. Writing the status first matters:
// grpc answers a receive that failed with the failure's status
// (CANCELED), unless a status was already written.

type streamEndKey struct{}

// tapStream gives ChatService/Connect streams a context the hub can cancel.
// It runs under the transport's lock, so it only allocates.
func tapStream(ctx context.Context, info *tap.Info) (context.Context, error) {
	if info.FullMethodName != roomcastv1.ChatService_Connect_FullMethodName {
		return ctx, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	return context.WithValue(ctx, streamEndKey{}, cancel), nil
}

// statusWriter is the part of grpc-go's server transport stream (found in
// the handler's context) that sends a stream's status before its handler
// returns; grpc then sends nothing more for the stream.
type statusWriter interface {
	WriteStatus(*status.Status) error
}

// streamEnder ends a stream whose handler is blocked reading.
type streamEnder struct {
	cancel context.CancelFunc
	status statusWriter
}

// newStreamEnder returns nil when the stream cannot be ended that way: it
// did not pass through tapStream (a grpc.Server built without
// ServerOptions), or grpc's transport stream does not write statuses. Such
// a stream is read by a goroutine of its own.
func newStreamEnder(ctx context.Context) *streamEnder {
	cancel, _ := ctx.Value(streamEndKey{}).(context.CancelFunc)
	sw, _ := grpc.ServerTransportStreamFromContext(ctx).(statusWriter)
	if cancel == nil || sw == nil {
		return nil
	}
	return &streamEnder{cancel: cancel, status: sw}
}

// end sends st (nil: OK) as the stream's status and returns its blocked
// receive.
func (e *streamEnder) end(st error) {
	_ = e.status.WriteStatus(status.Convert(st)) // fails only on a stream already gone
	e.cancel()
}
