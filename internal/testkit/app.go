package testkit

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/roomcast/roomcast/internal/app"
	"github.com/roomcast/roomcast/server"
)

// App is a whole node as `roomcast serve` runs it, with its HTTP port.
type App struct {
	*Server
	Node *app.App
	// HTTPAddr is the REST admin, health and metrics address.
	HTTPAddr string
	// BaseURL is "http://" + HTTPAddr.
	BaseURL string
}

// StartApp runs a node on two random 127.0.0.1 ports; the test stops it.
// configure, if not nil, registers namespaces before clients connect.
func StartApp(t testing.TB, adminToken string, configure func(*server.Server), opts ...server.Option) *App {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	node, err := app.New(context.Background(), app.Config{Logger: logger, AdminToken: adminToken, Options: opts, Transport: transportName()})
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	if configure != nil {
		configure(node.Hub)
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	node.Serve(grpcLis, httpLis)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		_ = node.Stop(ctx)
	})
	addr := grpcLis.Addr().String()
	s := &Server{Server: node.Hub, GRPC: node.GRPC, Port: node.Port, Addr: addr,
		dial: func(_ context.Context, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
			return grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
		}}
	httpAddr := httpLis.Addr().String()
	return &App{Server: s, Node: node, HTTPAddr: httpAddr, BaseURL: "http://" + httpAddr}
}
