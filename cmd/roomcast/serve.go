package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/roomcast/roomcast/internal/app"
	"github.com/roomcast/roomcast/internal/config"
)

// serveOptions are the settings of `roomcast serve` once the command
// line, the environment and the configuration file have been layered.
type serveOptions struct {
	grpcAddr        string
	httpAddr        string
	adminToken      string
	logFormat       string
	shutdownTimeout time.Duration
	adapter         string
	redisURL        string
	redisPrefix     string
	clusterTimeout  time.Duration
	nodeID          string
	pprof           bool
	transport       string
	configFile      string
	// namespaces are the configuration file's; without a file, the hub's
	// one open namespace "/" is all there is.
	namespaces []config.Namespace
}

// parseServe reads serve's flags, their environment variables and, with
// --config, the configuration file, which it loads and validates.
func parseServe(args []string, stderr io.Writer) (*serveOptions, error) {
	o := &serveOptions{}
	fs := newFlagSet("serve", "Runs the server: ChatService and AdminService on the gRPC port; REST admin,\n"+
		"health and metrics on the HTTP port; namespace policies from --config.", stderr)
	fs.StringVar(&o.grpcAddr, "grpc-addr", ":50051", "gRPC listen address")
	fs.StringVar(&o.httpAddr, "http-addr", ":8080", "HTTP listen address: REST admin, OpenAPI, health, metrics")
	fs.StringVar(&o.adminToken, "admin-token", "", "bearer token of the admin API; the admin API is off without one")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take")
	fs.StringVar(&o.adapter, "adapter", "memory", "where rooms live: memory (one node) or redis (a cluster of nodes sharing a Redis)")
	fs.StringVar(&o.redisURL, "redis-url", "redis://127.0.0.1:6379/0", "Redis of the cluster, with --adapter redis: redis://HOST:PORT/DB, or redis+cluster://HOST:PORT?addr=HOST:PORT&addr=... for a Redis Cluster")
	fs.StringVar(&o.redisPrefix, "redis-prefix", "roomcast", "start of the cluster's Redis keys and channels, so that clusters can share a Redis")
	fs.DurationVar(&o.clusterTimeout, "cluster-timeout", 5*time.Second, "how long the admin API's cluster-wide requests wait for other nodes, with --adapter redis")
	fs.StringVar(&o.nodeID, "node-id", "", "this node's name in the cluster (default: random)")
	fs.BoolVar(&o.pprof, "pprof", false, "serve Go's profiles under /debug/pprof/ on the HTTP port")
	fs.StringVar(&o.transport, "transport", "roomcast", "what serves the gRPC port: roomcast (its own HTTP/2 transport for the chat stream, grpc-go for the rest) or grpc-go (grpc-go for everything)")
	fs.StringVar(&o.configFile, "config", "", "YAML file of settings and namespace policies (see examples/roomcast.yaml); flags and ROOMCAST_* variables override its settings")
	explicit, err := parseExplicit(fs, args)
	if err != nil {
		return nil, err
	}
	if o.configFile == "" {
		return o, nil
	}
	cfg, err := config.Load(o.configFile)
	if err != nil {
		return nil, err
	}
	if err := setFromFile(fs, explicit, cfg); err != nil {
		return nil, err
	}
	o.namespaces = cfg.Namespaces
	return o, nil
}

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	logger, err := newLogger(o.logFormat, stderr)
	if err != nil {
		return err
	}
	if o.configFile != "" {
		logger.Info("configuration loaded", "file", o.configFile, "namespaces", len(o.namespaces))
	}

	node, err := app.New(ctx, app.Config{
		Logger: logger, AdminToken: o.adminToken, Namespaces: o.namespaces,
		Adapter: o.adapter, RedisURL: o.redisURL, RedisPrefix: o.redisPrefix, ClusterTimeout: o.clusterTimeout, NodeID: o.nodeID,
		Pprof: o.pprof, Transport: o.transport,
	})
	if err != nil {
		return err
	}
	grpcLis, err := net.Listen("tcp", o.grpcAddr)
	if err != nil {
		return err
	}
	httpLis, err := net.Listen("tcp", o.httpAddr)
	if err != nil {
		grpcLis.Close()
		return err
	}
	node.Serve(grpcLis, httpLis)
	logger.Info("roomcast serving", "grpc_addr", grpcLis.Addr().String(), "http_addr", httpLis.Addr().String(),
		"admin_api", o.adminToken != "", "adapter", o.adapter, "transport", o.transport, "node", node.Hub.NodeID())

	select {
	case <-ctx.Done():
	case err := <-node.Failed():
		logger.Error("listener failed", "error", err)
	}
	logger.Info("shutting down", "timeout", o.shutdownTimeout)
	stopCtx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
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
