// Command testserver is the roomcast server of the TypeScript client's
// interop test for what `roomcast serve` cannot show without Go code: a
// namespace middleware that refuses, a server handler that answers an
// acknowledgement, and a server that asks the client for one. It listens on
// 127.0.0.1 on a free port and logs `grpc_addr=HOST:PORT`, as `roomcast
// serve` does, so the test reads both the same way; it stops when its
// standard input closes, so that it never outlives the test.
package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/roomcast/roomcast/server"
)

// askTimeout bounds the server's wait for the client's acknowledgement.
const askTimeout = 5 * time.Second

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv := server.New(server.WithLogger(logger))

	// Socket.IO's canonical refusal: no token, no entry, and the data says why.
	srv.Of("/secret").Use(func(ctx context.Context, req *server.ConnectRequest) error {
		if req.Handshake.Auth.GetFields()["token"].GetStringValue() != "s3cret" {
			return &server.Error{Code: server.CodePermissionDenied, Message: "unauthorized",
				Data: map[string]any{"code": "NO_TOKEN"}}
		}
		return nil
	})

	srv.Of("/").
		// The client's emitWithAck, answered by a Go handler.
		On("ping", func(ctx context.Context, s *server.Socket, e *server.Event) (any, error) {
			return map[string]any{"pong": e.Data.AsInterface()}, nil
		}).
		On("fail", func(ctx context.Context, s *server.Socket, e *server.Event) (any, error) {
			return nil, server.Errorf(server.CodeInvalidArgument, "fail always fails")
		}).
		// The server's EmitWithAck, answered by the client's handler: the
		// client sends "ask me" with the question, the server asks it back
		// as "ask" and tells the client what it answered as "answered".
		On("ask me", func(ctx context.Context, s *server.Socket, e *server.Event) (any, error) {
			question := e.Data.AsInterface()
			// EmitWithAck waits for the client, whose ack the hub reads on
			// the goroutine that runs this handler: wait on another one.
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
				defer cancel()
				report := map[string]any{}
				answer, err := s.EmitWithAck(ctx, "ask", question)
				if err != nil {
					report["error"] = err.Error()
				} else {
					report["answer"] = answer.AsInterface()
				}
				_ = s.Emit("answered", report)
			}()
			return nil, nil
		}).
		// An answer that takes as many milliseconds as asked, for the
		// client's timeouts.
		On("slow", func(ctx context.Context, s *server.Socket, e *server.Event) (any, error) {
			select {
			case <-time.After(time.Duration(e.Data.GetNumberValue()) * time.Millisecond):
				return "slept", nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}).
		// Many events queued at once, which the server packs into `events`
		// frames.
		On("burst", func(ctx context.Context, s *server.Socket, e *server.Event) (any, error) {
			n := int(e.Data.GetNumberValue())
			for i := range n {
				if err := s.Emit("burst item", i); err != nil {
					return nil, err
				}
			}
			return n, nil
		})

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		logger.Error("listen", "error", err)
		os.Exit(1)
	}
	// The port as `roomcast serve` serves it: roomcast's transport for the
	// chat stream (which Node's HTTP/2 client then talks to), grpc-go
	// behind it for the rest.
	port, err := srv.NewPortServer(srv.NewGRPCServer(), server.TransportRoomcast)
	if err != nil {
		logger.Error("port", "error", err)
		os.Exit(1)
	}
	go func() {
		if err := port.Serve(lis); err != nil {
			logger.Error("serve", "error", err)
			os.Exit(1)
		}
	}()
	logger.Info("testserver serving", "grpc_addr", lis.Addr().String())

	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Stop(ctx, port)
}
