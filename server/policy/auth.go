package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/roomcast/roomcast/server"
)

// Authenticator verifies a bearer token and returns its claims.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Claims, error)
}

// Claims are what a verified token says about its bearer. Middleware
// attaches them to the socket as "claims", where handlers read them with
// Socket.Get and the admin API lists them.
type Claims map[string]any

// ClaimsKey is the socket data key of a socket's verified claims.
const ClaimsKey = "claims"

// Errors an Authenticator returns (wrapped or not) to choose what the
// client is told; any other error reads as an invalid token, and a
// *server.Error reaches the client as it is.
var (
	ErrInvalidToken     = errors.New(MessageInvalidToken)
	ErrTokenExpired     = errors.New(MessageTokenExpired)
	ErrTokenNotYetValid = errors.New(MessageTokenNotYetValid)
)

// maxTokenBytes bounds what is handed to an Authenticator: no real bearer
// token comes near it, and verifying a huge one is work for nothing.
const maxTokenBytes = 8 << 10

// TokenFrom returns the bearer token of a handshake: the connect frame's
// auth field "token" (Socket.IO's auth.token), else the stream's first
// `authorization: Bearer <token>` metadata value; "" when there is none.
// auth wins so that one stream can carry different identities into
// different namespaces.
func TokenFrom(hs *server.Handshake) string {
	if hs == nil {
		return ""
	}
	if token := hs.Auth.GetFields()["token"].GetStringValue(); token != "" {
		return token
	}
	values := hs.Metadata.Get("authorization")
	if len(values) == 0 {
		return ""
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// authenticate verifies the handshake's token; the error is the refusal
// the client sees, which never repeats the token. Its Cause, which the
// hub logs and never sends, says which check failed.
func authenticate(ctx context.Context, auth Authenticator, hs *server.Handshake) (Claims, error) {
	token := TokenFrom(hs)
	if token == "" {
		r := refusal(server.CodeUnauthenticated, MessageUnauthorized, CodeUnauthorized)
		r.Cause = errNoToken
		return nil, r
	}
	if len(token) > maxTokenBytes {
		r := refusal(server.CodeUnauthenticated, MessageInvalidToken, CodeInvalidToken)
		r.Cause = fmt.Errorf("the token is %d bytes, over the limit of %d", len(token), maxTokenBytes)
		return nil, r
	}
	claims, err := auth.Authenticate(ctx, token)
	if err == nil {
		if claims == nil {
			claims = Claims{}
		}
		return claims, nil
	}
	var own *server.Error
	if errors.As(err, &own) {
		return nil, own
	}
	var r *server.Error
	switch {
	case errors.Is(err, ErrTokenExpired):
		r = refusal(server.CodeUnauthenticated, MessageTokenExpired, CodeTokenExpired)
	case errors.Is(err, ErrTokenNotYetValid):
		r = refusal(server.CodeUnauthenticated, MessageTokenNotYetValid, CodeTokenNotYetValid)
	default:
		r = refusal(server.CodeUnauthenticated, MessageInvalidToken, CodeInvalidToken)
	}
	r.Cause = withoutToken{err: err, token: token}
	return nil, r
}

var errNoToken = errors.New("no token: the connect frame has no auth.token and the stream no authorization: Bearer metadata")

// withoutToken is an Authenticator's error as the log may show it. The
// verifiers of this package never quote the token, but an embedder's
// might ("lookup of abc123 failed"), and a log is read by more people
// than a token should be.
type withoutToken struct {
	err   error
	token string
}

func (w withoutToken) Error() string {
	return strings.ReplaceAll(w.err.Error(), w.token, "[token]")
}

func (w withoutToken) Unwrap() error { return w.err }
