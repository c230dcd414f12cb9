package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/admin"
)

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	grpcAddr := fs.String("grpc-addr", ":50051", "gRPC listen address")
	httpAddr := fs.String("http-addr", ":8080", "HTTP listen address: REST admin, health, OpenAPI")
	adminToken := fs.String("admin-token", "", "bearer token of the admin API; the admin API is off without one")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	shutdownTimeout := fs.Duration("shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	logger, err := newLogger(*logFormat, stderr)
	if err != nil {
		return err
	}

	srv := server.New(server.WithLogger(logger))
	grpcServer := srv.NewGRPCServer(grpc.ChainUnaryInterceptor(admin.Authenticate(*adminToken, logger)))
	roomcastv1.RegisterAdminServiceServer(grpcServer, admin.New(srv))
	gateway, err := admin.NewGateway(ctx, grpcServer)
	if err != nil {
		return err
	}
	defer gateway.Close()
	grpcLis, err := net.Listen("tcp", *grpcAddr)
	if err != nil {
		return err
	}
	httpLis, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		grpcLis.Close()
		return err
	}
	httpMux := http.NewServeMux()
	httpMux.Handle("/v1/", gateway)
	httpMux.Handle("GET /openapi.json", gateway)
	httpMux.Handle("/", srv.HTTPHandler())
	httpServer := &http.Server{Handler: httpMux, ReadHeaderTimeout: 10 * time.Second}

	failed := make(chan error, 2)
	go func() { failed <- grpcServer.Serve(grpcLis) }()
	go func() { failed <- httpServer.Serve(httpLis) }()
	logger.Info("roomcast serving", "grpc_addr", grpcLis.Addr().String(), "http_addr", httpLis.Addr().String())

	select {
	case <-ctx.Done():
	case err := <-failed:
		logger.Error("listener failed", "error", err)
	}
	logger.Info("shutting down", "timeout", *shutdownTimeout)
	stopCtx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	stopErr := srv.Stop(stopCtx, grpcServer)
	if err := httpServer.Shutdown(stopCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		stopErr = errors.Join(stopErr, err)
	}
	logger.Info("stopped")
	return stopErr
}

func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}
