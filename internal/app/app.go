// Package app assembles a roomcast node as `roomcast serve` runs it: the
// hub, its gRPC server (ChatService, AdminService, health, reflection) on
// one listener, and the HTTP port (REST admin, OpenAPI, health, metrics) on
// another. Tests start the same assembly, so they test what users run.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/config"
	"github.com/roomcast/roomcast/server"
	redisadapter "github.com/roomcast/roomcast/server/adapter/redis"
	"github.com/roomcast/roomcast/server/admin"
)

// Config is what a node is started with.
type Config struct {
	Logger *slog.Logger
	// AdminToken guards the admin API; empty turns it off.
	AdminToken string
	// Options configure the hub.
	Options []server.Option
	// Namespaces are the namespaces and patterns of a configuration file,
	// each with its policy, installed before the node serves.
	Namespaces []config.Namespace
	// Adapter is "memory" (the default: one node) or "redis" (a cluster
	// sharing the Redis at RedisURL).
	Adapter     string
	RedisURL    string
	RedisPrefix string
	// ClusterTimeout bounds the cluster-wide requests of the admin API; 0
	// means the adapter's default, 5s.
	ClusterTimeout time.Duration
	// NodeID names the node in the cluster; random when empty.
	NodeID string
	// Pprof serves Go's profiles under /debug/pprof/ on the HTTP port. Off
	// by default: profiles tell an attacker much and cost CPU on demand.
	Pprof bool
	// Transport is what serves the gRPC port: "roomcast" (the default)
	// serves ChatService/Connect on roomcast's own HTTP/2 transport and the
	// rest through grpc-go; "grpc-go" serves everything with grpc-go.
	Transport string
}

// App is a running node.
type App struct {
	Hub  *server.Server
	GRPC *grpc.Server
	// Port is what serves the gRPC port (Config.Transport): roomcast's
	// transport in front of GRPC, or GRPC alone.
	Port    server.PortServer
	gateway *admin.Gateway
	http    *http.Server
	served  chan error
	// leave ends the cluster membership, if any, once the hub has stopped.
	leave func() error
}

// New assembles a node; Serve starts it.
func New(ctx context.Context, cfg Config) (*App, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if err := server.CheckTransport(cfg.Transport); err != nil {
		return nil, err
	}
	opts := []server.Option{server.WithLogger(logger)}
	if cfg.NodeID != "" {
		opts = append(opts, server.WithNodeID(cfg.NodeID))
	}
	leave := func() error { return nil }
	switch cfg.Adapter {
	case "", "memory":
	case "redis":
		cluster, err := joinCluster(ctx, cfg, logger)
		if err != nil {
			return nil, err
		}
		opts = append(opts, server.WithAdapter(cluster), server.WithNodeID(cluster.NodeID()))
		leave = cluster.Close
	default:
		return nil, fmt.Errorf("adapter %q: want memory or redis", cfg.Adapter)
	}
	hub := server.New(append(opts, cfg.Options...)...)
	for _, ns := range cfg.Namespaces {
		ns.Apply(hub)
		logger.Info("namespace configured", "namespace", ns.String(), "pattern", ns.Pattern != nil, "auth", ns.AuthType)
	}
	g := hub.NewGRPCServer(grpc.ChainUnaryInterceptor(admin.Authenticate(cfg.AdminToken, logger)))
	roomcastv1.RegisterAdminServiceServer(g, admin.New(hub, logger))
	hub.Serving(roomcastv1.AdminService_ServiceDesc.ServiceName)
	port, err := hub.NewPortServer(g, cfg.Transport)
	if err != nil {
		g.Stop()
		return nil, errors.Join(err, leave())
	}
	gateway, err := admin.NewGateway(ctx, g)
	if err != nil {
		g.Stop()
		return nil, errors.Join(err, leave())
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", gateway)
	mux.Handle("GET /openapi.json", gateway)
	mux.Handle("/", hub.HTTPHandler())
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	}
	return &App{
		Hub:     hub,
		GRPC:    g,
		Port:    port,
		gateway: gateway,
		http:    &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		served:  make(chan error, 2),
		leave:   leave,
	}, nil
}

// Serve serves gRPC and HTTP on the listeners until Stop.
func (a *App) Serve(grpcLis, httpLis net.Listener) {
	go func() { a.served <- a.Port.Serve(grpcLis) }()
	go func() { a.served <- a.http.Serve(httpLis) }()
}

// Failed reports a listener that stopped serving on its own.
func (a *App) Failed() <-chan error { return a.served }

// Stop tells every client why it is disconnected, then stops both servers
// within ctx.
func (a *App) Stop(ctx context.Context) error {
	err := a.Hub.Stop(ctx, a.Port)
	if e := a.http.Shutdown(ctx); e != nil && !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return errors.Join(err, a.gateway.Close(), a.leave())
}

// joinCluster connects to the cluster's Redis and joins it.
func joinCluster(ctx context.Context, cfg Config, logger *slog.Logger) (*cluster, error) {
	opts, err := redisadapter.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	nodeID := cfg.NodeID
	if nodeID == "" {
		nodeID = server.NewNodeID()
	}
	// Named connections let an operator tell the nodes apart in CLIENT LIST.
	client := opts.NewClient("roomcast:" + cfg.RedisPrefix + ":" + nodeID)
	c, err := redisadapter.New(ctx, redisadapter.Options{
		Client: client, NodeID: nodeID, Prefix: cfg.RedisPrefix, RequestTimeout: cfg.ClusterTimeout, Logger: logger,
	})
	if err != nil {
		client.Close()
		return nil, err
	}
	return &cluster{Cluster: c, client: client, nodeID: nodeID}, nil
}

// cluster is a node's Redis adapter with the client it owns.
type cluster struct {
	*redisadapter.Cluster
	client goredis.UniversalClient
	nodeID string
}

func (c *cluster) NodeID() string { return c.nodeID }

func (c *cluster) Close() error { return errors.Join(c.Cluster.Close(), c.client.Close()) }
