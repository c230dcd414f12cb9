package server_test

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/roomcast/roomcast/server"
)

// The README's embedding example, kept compiling and running here.
func Example() {
	srv := server.New()
	srv.Of("/chat").
		Use(func(ctx context.Context, req *server.ConnectRequest) error {
			if req.Handshake.Auth.GetFields()["token"].GetStringValue() != "secret" {
				return &server.Error{Code: server.CodePermissionDenied, Message: "unauthorized",
					Data: map[string]any{"hint": "send auth.token"}}
			}
			req.Set("user", "alice") // read in handlers with socket.Get("user")
			return nil
		}).
		On("whoami", func(ctx context.Context, s *server.Socket, e *server.Event) (any, error) {
			user, _ := s.Get("user")
			return map[string]any{"sid": s.ID(), "user": user}, nil // answers the sender's ref
		})
	srv.OfPattern(regexp.MustCompile(`^/tenant-[a-z0-9]+$`)) // one namespace per tenant, made on first use

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	g := srv.NewGRPCServer() // ChatService, health, reflection, interceptors, keepalive
	// Connect on roomcast's transport, the rest on g (TransportGRPCGo: all on g).
	port, err := srv.NewPortServer(g, server.TransportRoomcast)
	if err != nil {
		panic(err)
	}
	go port.Serve(lis)
	// ...
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(srv.Stop(ctx, port)) // every client gets `disconnected: server shutting down`
	// Output: <nil>
}
