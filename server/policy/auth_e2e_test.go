package policy_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/policy"
)

// authServer serves /hs (HS256 with issuer and audience), /rs (RS256) and
// /es (ES256); each has a "whoami" handler answering with the socket's
// claims as middleware attached them.
func authServer(t *testing.T, opts ...server.Option) *testkit.Server {
	rk, ek := keys(t)
	whoami := func(_ context.Context, s *server.Socket, _ *server.Event) (any, error) {
		c, ok := s.Get("claims")
		if !ok {
			return nil, server.Errorf(server.CodeNotFound, "no claims")
		}
		return map[string]any(c.(policy.Claims)), nil
	}
	return testkit.Start(t, func(srv *server.Server) {
		for ns, cfg := range map[string]policy.JWTConfig{
			"/hs": {Secret: secret, Issuer: "https://idp", Audience: "roomcast"},
			"/rs": {PublicKey: &rk.PublicKey},
			"/es": {PublicKey: &ek.PublicKey},
		} {
			p := &policy.Policy{Auth: mustJWT(t, cfg)}
			p.Apply(srv.Of(ns))
			srv.Of(ns).On("whoami", whoami)
		}
	}, opts...)
}

func TestE2EValidTokensConnect(t *testing.T) {
	srv := authServer(t)
	rk, ek := keys(t)
	hsClaims := claims("iss", "https://idp", "aud", "roomcast", "role", "admin")
	for _, tc := range []struct {
		name, namespace, token string
		viaMetadata            bool
	}{
		{"HS256 via auth", "/hs", hs256(t, hsClaims), false},
		{"HS256 via metadata", "/hs", hs256(t, hsClaims), true},
		{"RS256 via auth", "/rs", sign(t, jwt.SigningMethodRS256, rk, claims("role", "admin"), ""), false},
		{"RS256 via metadata", "/rs", sign(t, jwt.SigningMethodRS256, rk, claims("role", "admin"), ""), true},
		{"ES256 via auth", "/es", sign(t, jwt.SigningMethodES256, ek, claims("role", "admin"), ""), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st *testkit.Stream
			var sid string
			if tc.viaMetadata {
				st = srv.Open(t, "authorization", "Bearer "+tc.token)
				sid = mustConnect(t, st, tc.namespace, "")
			} else {
				st = srv.Open(t)
				sid = mustConnect(t, st, tc.namespace, tc.token)
			}
			st.Send(emitFrame(7, tc.namespace, "whoami", nil, false, sid))
			r := nextReply(t, st)
			if r.Error != nil {
				t.Fatalf("whoami: %v", r.Error)
			}
			got := r.Data.GetStructValue().GetFields()
			if got["sub"].GetStringValue() != "alice" || got["role"].GetStringValue() != "admin" {
				t.Fatalf("handler saw claims %v", r.Data)
			}
			// What the admin API lists of the socket never holds the token.
			raw, err := json.Marshal(srv.Of(tc.namespace).Socket(sid).Data())
			if err != nil || strings.Contains(string(raw), tc.token) || !strings.Contains(string(raw), `"role":"admin"`) {
				t.Fatalf("socket data %s, %v", raw, err)
			}
		})
	}
}

func TestE2EBadTokensAreRefused(t *testing.T) {
	srv := authServer(t)
	rk, ek := keys(t)
	hsOK := func(extra ...any) jwt.MapClaims {
		return claims(append([]any{"iss", "https://idp", "aud", "roomcast"}, extra...)...)
	}
	otherSecret := []byte("not-the-secret-not-the-secret-xx")
	for _, tc := range []struct {
		name, namespace, token, message, code string
	}{
		{"no token", "/hs", "", policy.MessageUnauthorized, policy.CodeUnauthorized},
		{"expired", "/hs", hs256(t, hsOK("exp", time.Now().Add(-time.Hour).Unix())), policy.MessageTokenExpired, policy.CodeTokenExpired},
		{"not yet valid", "/hs", hs256(t, hsOK("nbf", time.Now().Add(time.Hour).Unix())), policy.MessageTokenNotYetValid, policy.CodeTokenNotYetValid},
		{"wrong audience", "/hs", hs256(t, hsOK("aud", "elsewhere")), policy.MessageInvalidToken, policy.CodeInvalidToken},
		{"wrong issuer", "/hs", hs256(t, hsOK("iss", "https://evil")), policy.MessageInvalidToken, policy.CodeInvalidToken},
		{"wrong signature", "/hs", sign(t, jwt.SigningMethodHS256, otherSecret, hsOK(), ""), policy.MessageInvalidToken, policy.CodeInvalidToken},
		{"alg none", "/hs", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hsOK(), ""), policy.MessageInvalidToken, policy.CodeInvalidToken},
		{"alg none against RS256", "/rs", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(), ""), policy.MessageInvalidToken, policy.CodeInvalidToken},
		{"HS256 against RS256 (algorithm confusion)", "/rs",
			sign(t, jwt.SigningMethodHS256, mustPKIXPEM(t, &rk.PublicKey), claims(), ""), policy.MessageInvalidToken, policy.CodeInvalidToken},
		{"RS256 against ES256", "/es", sign(t, jwt.SigningMethodRS256, rk, claims(), ""), policy.MessageInvalidToken, policy.CodeInvalidToken},
		{"ES256 by the right key, expired", "/es", sign(t, jwt.SigningMethodES256, ek, claims("exp", time.Now().Add(-time.Hour).Unix()), ""),
			policy.MessageTokenExpired, policy.CodeTokenExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := srv.Open(t)
			wantConnectError(t, connectWith(st, tc.namespace, tc.token), tc.message, tc.code)
			if n := len(srv.Of(tc.namespace).Sockets()); n != 0 {
				t.Fatalf("%d sockets in %s after a refused connect", n, tc.namespace)
			}
		})
	}
}

// The connect frame's auth wins over the stream's metadata, so a stream
// can carry a different identity into each namespace; a bad auth token
// does not fall back to a good metadata token.
func TestE2EAuthTokenWinsOverMetadata(t *testing.T) {
	srv := authServer(t)
	rk, _ := keys(t)
	good := sign(t, jwt.SigningMethodRS256, rk, claims(), "")
	st := srv.Open(t, "authorization", "Bearer "+good)
	wantConnectError(t, connectWith(st, "/rs", "garbage"), policy.MessageInvalidToken, policy.CodeInvalidToken)
	mustConnect(t, st, "/rs", "")
}

func TestE2EConnectRefusalCarriesCodeInReply(t *testing.T) {
	srv := authServer(t)
	st := srv.Open(t)
	f := connectFrame("/hs", nil)
	f.Ref = 9
	st.Send(f)
	wantConnectError(t, st.Next(), policy.MessageUnauthorized, policy.CodeUnauthorized)
	wantReply(t, st, 9, server.CodeUnauthenticated, policy.CodeUnauthorized)
}

func mustPKIXPEM(t *testing.T, pub any) []byte {
	t.Helper()
	return pemEncode("PUBLIC KEY", mustPKIX(t, pub))
}
