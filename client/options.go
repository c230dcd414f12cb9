package client

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Option configures Dial.
type Option func(*options)

type options struct {
	dialOptions []grpc.DialOption
	metadata    []string // key, value pairs
}

func defaultOptions() options {
	// Plaintext by default, like `roomcast serve`; a transport credentials
	// option given with WithDialOptions comes later and wins.
	return options{dialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}}
}

// WithDialOptions adds gRPC dial options, such as TLS credentials or
// keepalive parameters.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOptions = append(o.dialOptions, opts...) }
}

// WithMetadata adds a header to the Connect stream, such as
// "authorization"; namespace middleware sees it in the handshake.
func WithMetadata(key, value string) Option {
	return func(o *options) { o.metadata = append(o.metadata, key, value) }
}
