package testkit

import (
	"net"
	"os"

	"google.golang.org/grpc"

	"github.com/roomcast/roomcast/server"
)

// TransportEnv chooses what serves the gRPC port in tests: unset, or
// "roomcast", for roomcast's transport in front of grpc-go (what `roomcast
// serve` runs); "grpc-go" for grpc-go's own, which embedders may use.
// `make test` runs the end-to-end tests both ways.
const TransportEnv = "ROOMCAST_TEST_TRANSPORT"

// transportName is the app's Transport for TransportEnv.
func transportName() string {
	if os.Getenv(TransportEnv) == "grpc-go" {
		return "grpc-go"
	}
	return "roomcast"
}

// Port returns what serves the port for hub and g, and its Serve.
func Port(hub *server.Server, g *grpc.Server) (server.GRPCServer, func(net.Listener) error) {
	if transportName() == "grpc-go" {
		return g, g.Serve
	}
	tr := hub.NewTransport(g)
	return server.Servers{tr, g}, tr.Serve
}
