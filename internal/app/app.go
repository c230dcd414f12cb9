// Package app assembles a roomcast node as `roomcast serve` runs it: the
// hub, its gRPC server (ChatService, AdminService, health, reflection) on
// one listener, and the HTTP port (REST admin, OpenAPI, health, metrics) on
// another. Tests start the same assembly, so they test what users run.
package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/admin"
)

// Config is what a node is started with.
type Config struct {
	Logger *slog.Logger
	// AdminToken guards the admin API; empty turns it off.
	AdminToken string
	// Options configure the hub.
	Options []server.Option
}

// App is a running node.
type App struct {
	Hub     *server.Server
	GRPC    *grpc.Server
	gateway *admin.Gateway
	http    *http.Server
	served  chan error
}

// New assembles a node; Serve starts it.
func New(ctx context.Context, cfg Config) (*App, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	hub := server.New(append([]server.Option{server.WithLogger(logger)}, cfg.Options...)...)
	g := hub.NewGRPCServer(grpc.ChainUnaryInterceptor(admin.Authenticate(cfg.AdminToken, logger)))
	roomcastv1.RegisterAdminServiceServer(g, admin.New(hub, logger))
	gateway, err := admin.NewGateway(ctx, g)
	if err != nil {
		g.Stop()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", gateway)
	mux.Handle("GET /openapi.json", gateway)
	mux.Handle("/", hub.HTTPHandler())
	return &App{
		Hub:     hub,
		GRPC:    g,
		gateway: gateway,
		http:    &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		served:  make(chan error, 2),
	}, nil
}

// Serve serves gRPC and HTTP on the listeners until Stop.
func (a *App) Serve(grpcLis, httpLis net.Listener) {
	go func() { a.served <- a.GRPC.Serve(grpcLis) }()
	go func() { a.served <- a.http.Serve(httpLis) }()
}

// Failed reports a listener that stopped serving on its own.
func (a *App) Failed() <-chan error { return a.served }

// Stop tells every client why it is disconnected, then stops both servers
// within ctx.
func (a *App) Stop(ctx context.Context) error {
	err := a.Hub.Stop(ctx, a.GRPC)
	if e := a.http.Shutdown(ctx); e != nil && !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return errors.Join(err, a.gateway.Close())
}
