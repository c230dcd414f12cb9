package server_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/roomcast/roomcast/server"
)

// A graceful stop lets a call that roomcast's transport passed to the
// grpc.Server behind it (an admin call, say) finish, as grpc-go alone
// would; grpc-go would otherwise cut such calls at once.
func TestGracefulStopLetsFallbackCallsFinish(t *testing.T) {
	for _, transport := range []string{server.TransportRoomcast, server.TransportGRPCGo} {
		t.Run(transport, func(t *testing.T) {
			started := make(chan struct{}, 1)
			slow := grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
				started <- struct{}{}
				if err := ss.RecvMsg(new(emptypb.Empty)); err != nil {
					return err
				}
				time.Sleep(300 * time.Millisecond)
				return ss.SendMsg(new(emptypb.Empty))
			})
			hub := server.New()
			port, err := hub.NewPortServer(hub.NewGRPCServer(slow), transport)
			if err != nil {
				t.Fatal(err)
			}
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- port.Serve(lis) }()
			cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()

			called := make(chan error, 1)
			go func() {
				called <- cc.Invoke(context.Background(), "/test.Slow/Call", new(emptypb.Empty), new(emptypb.Empty))
			}()
			select {
			case <-started:
			case <-time.After(5 * time.Second):
				t.Fatal("the call did not reach the server")
			}
			port.GracefulStop()
			if err := <-called; err != nil {
				t.Fatalf("the call in flight failed across a graceful stop: %v", err)
			}
			if err := <-served; err != nil {
				t.Fatalf("Serve: %v", err)
			}
		})
	}
}
