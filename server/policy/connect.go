package policy

import (
	"context"

	"github.com/roomcast/roomcast/server"
)

// connect admits a socket: limits first, then the token, then what its
// claims allow. On success the socket starts with its claims and, when the
// policy keeps any, its state.
func (e *enforcer) connect(ctx context.Context, req *server.ConnectRequest) error {
	// Counting is cheaper than verifying a signature, and a client over a
	// limit learns nothing about its token.
	if limit := e.limits.MaxNamespacesPerClient; limit > 0 && req.ClientNamespaces >= limit {
		return refusal(server.CodeResourceExhausted, MessageTooManyNamespaces, CodeTooManyNamespaces, "limit", limit)
	}
	// The hub's count includes every socket a client has been told of;
	// the hooks' count is the one that settles races (see connected).
	if limit := e.limits.MaxSockets; limit > 0 && (req.NamespaceSockets >= limit || e.counts.full(req.Namespace, limit)) {
		return refusal(server.CodeResourceExhausted, MessageTooManySockets, CodeTooManySockets, "limit", limit)
	}
	var claims Claims
	if e.auth != nil {
		var err error
		if claims, err = authenticate(ctx, e.auth, req.Handshake); err != nil {
			return err
		}
		if err := e.access.checkConnect(claims, req.Namespace, e.pattern, e.tenantAt); err != nil {
			return err
		}
		req.Set(ClaimsKey, claims)
	}
	if e.keepsState {
		req.Set(e.stateKey, e.newState(claims))
	}
	return nil
}
