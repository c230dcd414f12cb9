// Command grpcfloor is the least a gRPC server can do for a roomcast
// client: grpc-go with roomcast's transport settings (keepalive, read
// buffer), a ChatService/Connect handler that reads the stream and answers
// a connect, and no hub behind it. `roomcast bench --scenario idle` against
// it measures what grpc-go itself costs per idle connection, the floor
// under roomcast's own figure (see docs/BENCHMARKS.md).
//
//	go run ./bench/grpcfloor --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0
//
// It prints the addresses it listens on, serves process_resident_memory_bytes
// at /metrics on the HTTP address, and runs until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

func main() {
	grpcAddr := flag.String("grpc-addr", "127.0.0.1:0", "gRPC listen address")
	httpAddr := flag.String("http-addr", "127.0.0.1:0", "HTTP listen address for /metrics")
	flag.Parse()

	gl, err := net.Listen("tcp", *grpcAddr)
	if err != nil {
		log.Fatal(err)
	}
	hl, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	hs := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(hl) }()

	// The same transport settings as roomcast's server (server/grpc.go).
	g := grpc.NewServer(
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.ReadBufferSize(8<<10),
	)
	roomcastv1.RegisterChatServiceServer(g, floor{})
	fmt.Fprintf(os.Stderr, "grpcfloor listening grpc_addr=%s http_addr=%s\n", gl.Addr(), hl.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() { <-ctx.Done(); g.Stop(); _ = hs.Close() }()
	if err := g.Serve(gl); err != nil {
		log.Fatal(err)
	}
}

// floor answers connects and nothing else.
type floor struct {
	roomcastv1.UnimplementedChatServiceServer
}

func (floor) Connect(stream roomcastv1.ChatService_ConnectServer) error {
	for {
		f, err := stream.Recv()
		if err != nil {
			return nil
		}
		c := f.GetConnect()
		if c == nil {
			continue
		}
		if err := stream.Send(&roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_Connected{
			Connected: &roomcastv1.Connected{Namespace: c.Namespace, Sid: "floor"},
		}}); err != nil {
			return err
		}
	}
}
