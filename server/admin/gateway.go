package admin

import (
	"context"
	"net"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/roomcast/roomcast/gen/openapi"
	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// Gateway serves AdminService as REST/JSON and its OpenAPI document at
// /openapi.json. Requests go through g itself, over an in-process
// connection, so that REST calls meet the same interceptors (token,
// logging, recovery) as gRPC calls. Close releases the connection.
type Gateway struct {
	http.Handler
	conn *grpc.ClientConn
	lis  *bufconn.Listener
}

// NewGateway serves g on an in-process listener and returns the REST
// handler in front of it. Call it before g.Serve's siblings stop g.
func NewGateway(ctx context.Context, g *grpc.Server) (*Gateway, error) {
	lis := bufconn.Listen(1 << 20)
	go func() { _ = g.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///admin",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
	)
	if err != nil {
		lis.Close()
		return nil, err
	}
	// Namespace names contain "/", percent-encoded in paths (%2Fchat): this
	// mode routes on the literal "/" alone and decodes each segment. Unknown
	// JSON fields are refused, so that a typo ("room" for "rooms") cannot
	// widen an emit to the whole namespace.
	mux := runtime.NewServeMux(
		runtime.WithUnescapingMode(runtime.UnescapingModeAllExceptReserved),
		runtime.WithRoutingErrorHandler(routingError),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}),
	)
	if err := roomcastv1.RegisterAdminServiceHandler(ctx, mux, conn); err != nil {
		conn.Close()
		lis.Close()
		return nil, err
	}
	h := http.NewServeMux()
	h.Handle("/v1/", mux)
	h.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Document)
	})
	return &Gateway{Handler: h, conn: conn, lis: lis}, nil
}

// Close ends the in-process connection.
func (gw *Gateway) Close() error {
	err := gw.conn.Close()
	gw.lis.Close()
	return err
}

// routingError answers a request no route matches. grpc-gateway turns a
// wrong method into 501 Unimplemented; a REST caller expects 405.
func routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, code int) {
	if code == http.StatusMethodNotAllowed {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"code":12,"message":"method not allowed","details":[]}` + "\n"))
		return
	}
	runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, code)
}
