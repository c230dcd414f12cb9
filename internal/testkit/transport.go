package testkit

import (
	"os"

	"github.com/roomcast/roomcast/server"
)

// TransportEnv chooses what serves the gRPC port in tests: unset for
// roomcast's transport in front of grpc-go (what `roomcast serve` runs),
// or a transport NewPortServer knows, such as "grpc-go", which embedders
// may serve with. `make test` runs the end-to-end tests both ways.
const TransportEnv = "ROOMCAST_TEST_TRANSPORT"

func transportName() string { return os.Getenv(TransportEnv) }

// RoomcastTransport reports whether the tests' servers serve the gRPC port
// with roomcast's own transport.
func RoomcastTransport() bool {
	n := transportName()
	return n == "" || n == server.TransportRoomcast
}
