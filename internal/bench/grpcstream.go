package bench

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// maxRecvMsg is above the server's per-client queue bound (4 MiB by
// default), so that a batch frame packed from a full queue is never
// refused by the client.
const maxRecvMsg = 64 << 20

// grpcDialOptions are the options of every grpc-go client of d.
func grpcDialOptions(d *dialer) []grpc.DialOption {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithNoProxy(),
		grpc.WithContextDialer(d.dial),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvMsg), grpc.ForceCodecV2(newRawCodec())),
	}
	// A fan-out client mostly receives: a large window lets the server
	// write a burst without waiting for window updates. Setting it turns
	// off gRPC's BDP estimation, which is why 0 keeps the default.
	if d.streamWindow > 0 {
		opts = append(opts, grpc.WithInitialWindowSize(d.streamWindow))
	}
	if d.connWindow > 0 {
		opts = append(opts, grpc.WithInitialConnWindowSize(d.connWindow))
	}
	return opts
}

// grpcStream is a stream on grpc-go's client.
type grpcStream struct {
	cc     *grpc.ClientConn
	stream grpc.BidiStreamingClient[roomcastv1.ClientFrame, roomcastv1.ServerFrame]
	raw    rawFrame
}

func (d *dialer) openGRPC(ctx context.Context, node int) (frameStream, error) {
	cc, err := grpc.NewClient("passthrough:///"+d.targets[node], d.opts...)
	if err != nil {
		return nil, err
	}
	if d.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+d.token)
	}
	stream, err := roomcastv1.NewChatServiceClient(cc).Connect(ctx)
	if err != nil {
		_ = cc.Close()
		return nil, err
	}
	return &grpcStream{cc: cc, stream: stream}, nil
}

func (s *grpcStream) send(f *roomcastv1.ClientFrame) error { return s.stream.Send(f) }

func (s *grpcStream) recv() ([]byte, error) {
	if err := s.stream.RecvMsg(&s.raw); err != nil {
		return nil, err
	}
	return s.raw.b, nil
}

func (s *grpcStream) close() { _ = s.cc.Close() }
