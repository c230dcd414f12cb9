package policy_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/policy"
)

// A client refused for a bad token learns only "invalid token"; the
// server's log says which check failed, so that an operator can tell a
// misconfigured audience from a forged signature, and neither the token
// nor the key is ever in it.
func TestE2ERefusalReasonIsLoggedNotSent(t *testing.T) {
	log, withLog := testkit.CaptureLog(t)
	srv := authServer(t, withLog)
	hsOK := func(extra ...any) jwt.MapClaims {
		return claims(append([]any{"iss", "https://idp", "aud", "roomcast"}, extra...)...)
	}
	otherSecret := []byte("not-the-secret-not-the-secret-xx")
	for _, tc := range []struct {
		name, token, message, cause string
	}{
		{"no token", "", policy.MessageUnauthorized, "no token"},
		{"wrong audience", hs256(t, hsOK("aud", "elsewhere")), policy.MessageInvalidToken, "token has invalid audience"},
		{"no audience", hs256(t, hsOK("aud", nil)), policy.MessageInvalidToken, "aud claim is required"},
		{"wrong issuer", hs256(t, hsOK("iss", "https://evil")), policy.MessageInvalidToken, "token has invalid issuer"},
		{"wrong signature", sign(t, jwt.SigningMethodHS256, otherSecret, hsOK(), ""), policy.MessageInvalidToken, "signature is invalid"},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hsOK(), ""), policy.MessageInvalidToken, "signing method none is invalid"},
		{"not a JWT", "not-a-jwt", policy.MessageInvalidToken, "token is malformed"},
		{"expired", hs256(t, hsOK("exp", time.Now().Add(-time.Hour).Unix())), policy.MessageTokenExpired, "token is expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := srv.Open(t)
			f := connectWith(st, "/hs", tc.token)
			ce := f.GetConnectError()
			if ce == nil || ce.Message != tc.message {
				t.Fatalf("got %v, want connect_error %q", f, tc.message)
			}
			if frame := protojson.Format(f); strings.Contains(frame, tc.cause) {
				t.Fatalf("the frame tells the client why: %s", frame)
			}
			var line string
			testkit.Eventually(t, "the refusal in the log", func() bool {
				lines := log.Lines("namespace connect refused", "namespace=/hs", "reason="+logValue(tc.message), tc.cause)
				if len(lines) > 0 {
					line = lines[0]
				}
				return len(lines) == 1
			})
			if tc.token != "" && strings.Contains(line, tc.token) || strings.Contains(line, string(secret)) {
				t.Fatalf("the log holds the token or the secret: %s", line)
			}
		})
	}
}

// An embedder's Authenticator may quote the token in its error; the log
// shows the error with the token cut out.
func TestE2ERefusalCauseNeverQuotesTheToken(t *testing.T) {
	log, withLog := testkit.CaptureLog(t)
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{Auth: authFunc(func(token string) (policy.Claims, error) {
			return nil, &lookupError{token: token}
		})}
		p.Apply(srv.Of("/custom"))
	}, withLog)
	wantConnectError(t, connectWith(srv.Open(t), "/custom", "t0ken-abc"), policy.MessageInvalidToken, policy.CodeInvalidToken)
	testkit.Eventually(t, "the refusal in the log", func() bool {
		return len(log.Lines("namespace connect refused", `cause="no session for [token]"`)) == 1
	})
	if strings.Contains(log.String(), "t0ken-abc") {
		t.Fatalf("the log holds the token:\n%s", log)
	}
}

// logValue is a string as the text log writes it: quoted when it has a
// space.
func logValue(s string) string {
	if strings.ContainsAny(s, " \"=") {
		return strconv.Quote(s)
	}
	return s
}

type lookupError struct{ token string }

func (e *lookupError) Error() string { return "no session for " + e.token }

// Claims that do not cover a namespace say, in the log, which claim and
// what it held.
func TestE2ETenantRefusalCauseIsLogged(t *testing.T) {
	log, withLog := testkit.CaptureLog(t)
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{
			Auth:    mustJWT(t, policy.JWTConfig{Secret: secret}),
			Access:  policy.Access{TenantClaim: "tenant", TenantGroup: "tenant"},
			Pattern: tenantPattern,
		}
		p.ApplyPattern(srv.OfPattern(tenantPattern))
	}, withLog)
	st := srv.Open(t)
	wantConnectError(t, connectWith(st, "/tenant-acme", hs256(t, claims("tenant", "globex"))), policy.MessageTenantMismatch, policy.CodeTenantMismatch)
	wantConnectError(t, connectWith(st, "/tenant-acme", hs256(t, claims())), policy.MessageTenantMismatch, policy.CodeTenantMismatch)
	for _, cause := range []string{
		`claim \"tenant\" is \"globex\" but /tenant-acme is tenant \"acme\"`,
		`the token has no claim \"tenant\" naming a tenant`,
	} {
		testkit.Eventually(t, "cause "+cause, func() bool {
			return len(log.Lines("namespace connect refused", cause)) == 1
		})
	}
}
