package admin

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// MessageAdminOff is the answer of every admin call when no token is set:
// the admin API is never open by default.
const MessageAdminOff = "the admin API is off: start the server with --admin-token or ROOMCAST_ADMIN_TOKEN"

var adminPrefix = "/" + roomcastv1.AdminService_ServiceDesc.ServiceName + "/"

// Authenticate returns an interceptor that lets AdminService calls through
// only with `authorization: Bearer <token>`, compared in constant time.
// With an empty token every admin call is refused as Unavailable. Other
// services pass untouched.
func Authenticate(token string, log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !strings.HasPrefix(info.FullMethod, adminPrefix) {
			return handler(ctx, req)
		}
		if token == "" {
			return nil, status.Error(codes.Unavailable, MessageAdminOff)
		}
		if !bearerMatches(ctx, token) {
			// Never log what was sent: it may be a near-miss of the token.
			log.WarnContext(ctx, "admin call refused: missing or wrong bearer token",
				"method", info.FullMethod, "peer", peerAddr(ctx))
			return nil, status.Error(codes.Unauthenticated, "admin API needs authorization: Bearer <admin token>")
		}
		return handler(ctx, req)
	}
}

func bearerMatches(ctx context.Context, token string) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		scheme, given, ok := strings.Cut(v, " ")
		if ok && strings.EqualFold(scheme, "bearer") &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(given)), []byte(token)) == 1 {
			return true
		}
	}
	return false
}

// peerAddr is the caller's address: for REST calls, which reach the
// service through the gateway's in-process connection, the address the
// gateway saw (its x-forwarded-for).
func peerAddr(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if fwd := md.Get("x-forwarded-for"); len(fwd) > 0 {
			return fwd[0]
		}
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}
