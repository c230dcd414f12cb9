package policy_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/policy"
)

var tenantPattern = regexp.MustCompile(`^/tenant-(?P<tenant>[a-z0-9]+)$`)

// admit runs a policy's connect middleware as the hub would.
func admit(p *policy.Policy, namespace string, hs *server.Handshake, clientNamespaces int) (*server.ConnectRequest, error) {
	req := &server.ConnectRequest{Namespace: namespace, Handshake: hs, ClientNamespaces: clientNamespaces}
	return req, p.ConnectMiddleware()(context.Background(), req)
}

func wantRefusal(t *testing.T, err error, code, message, dataCodeWant string) {
	t.Helper()
	var e *server.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *server.Error %s", err, message)
	}
	data, _ := e.Data.(map[string]any)
	if e.Code != code || e.Message != message || data["code"] != dataCodeWant {
		t.Fatalf("refusal = %s %q %v, want %s %q code %s", e.Code, e.Message, e.Data, code, message, dataCodeWant)
	}
}

func TestConnectMapsAuthFailures(t *testing.T) {
	auth, err := policy.NewJWT(policy.JWTConfig{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	p := &policy.Policy{Auth: auth}
	for _, tc := range []struct {
		name          string
		hs            *server.Handshake
		message, code string
	}{
		{"no token", handshake(nil), policy.MessageUnauthorized, policy.CodeUnauthorized},
		{"other scheme", handshake(nil, "Basic abc"), policy.MessageUnauthorized, policy.CodeUnauthorized},
		{"expired", handshake(hs256(t, claims("exp", time.Now().Add(-time.Hour).Unix()))), policy.MessageTokenExpired, policy.CodeTokenExpired},
		{"not yet valid", handshake(nil, "Bearer "+hs256(t, claims("nbf", time.Now().Add(time.Hour).Unix()))), policy.MessageTokenNotYetValid, policy.CodeTokenNotYetValid},
		{"bad", handshake("x.y.z"), policy.MessageInvalidToken, policy.CodeInvalidToken},
		{"huge", handshake(strings.Repeat("a", 9<<10)), policy.MessageInvalidToken, policy.CodeInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := admit(p, "/secure", tc.hs, 0)
			wantRefusal(t, err, server.CodeUnauthenticated, tc.message, tc.code)
			if _, ok := req.Get(policy.ClaimsKey); ok {
				t.Fatal("claims attached to a refused connect")
			}
		})
	}
}

func TestConnectAttachesClaims(t *testing.T) {
	p := &policy.Policy{Auth: policy.NewTokens([]string{"t0", "t1"})}
	req, err := admit(p, "/secure", handshake(nil, "Bearer t1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := req.Get(policy.ClaimsKey)
	if c.(policy.Claims)["sub"] != "token:1" {
		t.Fatalf("claims = %v", c)
	}
}

// An embedder's Authenticator decides what the client is told by
// returning a *server.Error.
func TestConnectPassesAuthenticatorsOwnRefusal(t *testing.T) {
	p := &policy.Policy{Auth: authFunc(func(string) (policy.Claims, error) {
		return nil, &server.Error{Code: server.CodePermissionDenied, Message: "banned", Data: map[string]any{"code": "BANNED"}}
	})}
	_, err := admit(p, "/", handshake("t"), 0)
	wantRefusal(t, err, server.CodePermissionDenied, "banned", "BANNED")

	p = &policy.Policy{Auth: authFunc(func(token string) (policy.Claims, error) {
		return nil, errors.New("lookup of " + token + " failed") // must not reach the client
	})}
	_, err = admit(p, "/", handshake("t0ken"), 0)
	wantRefusal(t, err, server.CodeUnauthenticated, policy.MessageInvalidToken, policy.CodeInvalidToken)
	if strings.Contains(err.Error(), "t0ken") {
		t.Fatalf("refusal leaks the token: %v", err)
	}
}

type authFunc func(token string) (policy.Claims, error)

func (f authFunc) Authenticate(_ context.Context, token string) (policy.Claims, error) {
	return f(token)
}

func TestConnectNamespacesClaim(t *testing.T) {
	p := &policy.Policy{Auth: mustJWT(t, policy.JWTConfig{Secret: secret}), Access: policy.Access{NamespacesClaim: "ns"}}
	for _, tc := range []struct {
		name      string
		claim     any // nil: no claim
		namespace string
		ok        bool
		cause     string // what the log says of a refusal
	}{
		{"listed", []string{"/chat", "/secure"}, "/secure", true, ""},
		{"glob", []string{"/team-*"}, "/team-red", true, ""},
		{"glob does not cross /", []string{"/*"}, "/a/b", false, `claim "ns" ["/*"] does not cover /a/b`},
		{"space-separated string", "/chat /secure", "/secure", true, ""},
		{"not listed", []string{"/chat"}, "/secure", false, `claim "ns" ["/chat"] does not cover /secure`},
		{"no claim", nil, "/secure", false, `the token has no claim "ns"`},
		{"not a list", 42, "/secure", false, `claim "ns" lists no namespace`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := claims()
			if tc.claim != nil {
				c["ns"] = tc.claim
			}
			_, err := admit(p, tc.namespace, handshake(hs256(t, c)), 0)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok {
				wantRefusal(t, err, server.CodePermissionDenied, policy.MessageNamespaceNotAllowed, policy.CodeNamespaceNotAllowed)
				if cause := err.(*server.Error).Cause; cause == nil || cause.Error() != tc.cause {
					t.Fatalf("cause = %v, want %s", cause, tc.cause)
				}
			}
		})
	}
}

func TestConnectTenantClaim(t *testing.T) {
	p := &policy.Policy{
		Auth:    mustJWT(t, policy.JWTConfig{Secret: secret}),
		Access:  policy.Access{TenantClaim: "tenant", TenantGroup: "tenant"},
		Pattern: tenantPattern,
	}
	for _, tc := range []struct {
		name      string
		claim     any
		namespace string
		ok        bool
	}{
		{"own tenant", "a", "/tenant-a", true},
		{"numeric tenant", 42, "/tenant-42", true},
		{"other tenant", "a", "/tenant-b", false},
		{"prefix is not enough", "a", "/tenant-ab", false},
		{"no claim", nil, "/tenant-a", false},
		{"empty claim", "", "/tenant-", false},
		{"fractional number", 4.2, "/tenant-4", false},
		{"name outside the pattern", "a", "/other-a", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := claims()
			if tc.claim != nil {
				c["tenant"] = tc.claim
			}
			_, err := admit(p, tc.namespace, handshake(hs256(t, c)), 0)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok {
				wantRefusal(t, err, server.CodePermissionDenied, policy.MessageTenantMismatch, policy.CodeTenantMismatch)
			}
		})
	}
}

func TestConnectMaxNamespacesPerClient(t *testing.T) {
	p := &policy.Policy{Limits: policy.Limits{MaxNamespacesPerClient: 2}}
	for n := 0; n < 2; n++ {
		if _, err := admit(p, "/x", handshake(nil), n); err != nil {
			t.Fatalf("with %d namespaces: %v", n, err)
		}
	}
	_, err := admit(p, "/x", handshake(nil), 2)
	wantRefusal(t, err, server.CodeResourceExhausted, policy.MessageTooManyNamespaces, policy.CodeTooManyNamespaces)
}

// Limits are checked before the token: counting is cheap, and a client
// over its limit learns nothing about its token.
func TestConnectChecksLimitsBeforeToken(t *testing.T) {
	p := &policy.Policy{Auth: policy.NewTokens([]string{"t"}), Limits: policy.Limits{MaxNamespacesPerClient: 1}}
	_, err := admit(p, "/x", handshake("wrong"), 1)
	wantRefusal(t, err, server.CodeResourceExhausted, policy.MessageTooManyNamespaces, policy.CodeTooManyNamespaces)
}

func TestZeroPolicyAllowsEverything(t *testing.T) {
	p := &policy.Policy{}
	req, err := admit(p, "/x", handshake(nil), 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := req.Get(policy.ClaimsKey); ok {
		t.Fatal("claims attached without auth")
	}
}

// Without the hooks of Apply, the connect middleware still refuses
// connects to a full namespace, from the hub's count.
func TestConnectMaxSocketsFromTheHubsCount(t *testing.T) {
	p := &policy.Policy{Limits: policy.Limits{MaxSockets: 3}}
	req := &server.ConnectRequest{Namespace: "/x", Handshake: handshake(nil), NamespaceSockets: 2}
	if err := p.ConnectMiddleware()(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	req.NamespaceSockets = 3
	err := p.ConnectMiddleware()(context.Background(), req)
	wantRefusal(t, err, server.CodeResourceExhausted, policy.MessageTooManySockets, policy.CodeTooManySockets)
}
