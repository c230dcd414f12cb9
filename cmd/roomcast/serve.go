package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/roomcast/roomcast/internal/app"
)

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	grpcAddr := fs.String("grpc-addr", ":50051", "gRPC listen address")
	httpAddr := fs.String("http-addr", ":8080", "HTTP listen address: REST admin, OpenAPI, health, metrics")
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

	node, err := app.New(ctx, app.Config{Logger: logger, AdminToken: *adminToken})
	if err != nil {
		return err
	}
	grpcLis, err := net.Listen("tcp", *grpcAddr)
	if err != nil {
		return err
	}
	httpLis, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		grpcLis.Close()
		return err
	}
	node.Serve(grpcLis, httpLis)
	logger.Info("roomcast serving", "grpc_addr", grpcLis.Addr().String(), "http_addr", httpLis.Addr().String(),
		"admin_api", *adminToken != "")

	select {
	case <-ctx.Done():
	case err := <-node.Failed():
		logger.Error("listener failed", "error", err)
	}
	logger.Info("shutting down", "timeout", *shutdownTimeout)
	stopCtx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	err = node.Stop(stopCtx)
	logger.Info("stopped")
	return err
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
