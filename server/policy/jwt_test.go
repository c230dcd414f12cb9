package policy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/roomcast/roomcast/server/policy"
)

func mustJWT(t *testing.T, cfg policy.JWTConfig) policy.Authenticator {
	t.Helper()
	a, err := policy.NewJWT(cfg)
	if err != nil {
		t.Fatalf("NewJWT: %v", err)
	}
	return a
}

func TestJWTAcceptsEachKeyKind(t *testing.T) {
	rk, ek := keys(t)
	jwks := jwksOf(t, map[string]any{"rsa-1": &rk.PublicKey, "ec-1": &ek.PublicKey})
	for _, tc := range []struct {
		name  string
		cfg   policy.JWTConfig
		token string
	}{
		{"HS256", policy.JWTConfig{Secret: secret}, hs256(t, claims())},
		{"HS512", policy.JWTConfig{Secret: secret64}, sign(t, jwt.SigningMethodHS512, secret64, claims(), "")},
		{"RS256", policy.JWTConfig{PublicKey: &rk.PublicKey}, sign(t, jwt.SigningMethodRS256, rk, claims(), "")},
		{"ES256", policy.JWTConfig{PublicKey: &ek.PublicKey}, sign(t, jwt.SigningMethodES256, ek, claims(), "")},
		{"JWKS RS256 by kid", policy.JWTConfig{JWKS: jwks}, sign(t, jwt.SigningMethodRS256, rk, claims(), "rsa-1")},
		{"JWKS ES256 by kid", policy.JWTConfig{JWKS: jwks}, sign(t, jwt.SigningMethodES256, ek, claims(), "ec-1")},
		{"issuer and audience", policy.JWTConfig{Secret: secret, Issuer: "https://idp", Audience: "roomcast"},
			hs256(t, claims("iss", "https://idp", "aud", []string{"other", "roomcast"}))},
		{"expired within leeway", policy.JWTConfig{Secret: secret, Leeway: time.Minute},
			hs256(t, claims("exp", time.Now().Add(-10*time.Second).Unix()))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := mustJWT(t, tc.cfg).Authenticate(context.Background(), tc.token)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if c["sub"] != "alice" {
				t.Fatalf("claims = %v", c)
			}
		})
	}
}

func TestJWTRefusals(t *testing.T) {
	rk, ek := keys(t)
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, &rk.PublicKey)})
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(), "")
	hsCfg := policy.JWTConfig{Secret: secret, Issuer: "https://idp", Audience: "roomcast"}
	rsCfg := policy.JWTConfig{PublicKey: &rk.PublicKey}
	good := claims("iss", "https://idp", "aud", "roomcast")
	with := func(extra ...any) jwt.MapClaims {
		c := claims("iss", "https://idp", "aud", "roomcast")
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == nil {
				delete(c, extra[i].(string))
				continue
			}
			c[extra[i].(string)] = extra[i+1]
		}
		return c
	}
	for _, tc := range []struct {
		name  string
		cfg   policy.JWTConfig
		token string
		want  error
	}{
		{"expired", hsCfg, hs256(t, with("exp", time.Now().Add(-time.Minute).Unix())), policy.ErrTokenExpired},
		{"not yet valid", hsCfg, hs256(t, with("nbf", time.Now().Add(time.Hour).Unix())), policy.ErrTokenNotYetValid},
		{"issued in the future", hsCfg, hs256(t, with("iat", time.Now().Add(time.Hour).Unix())), policy.ErrTokenNotYetValid},
		{"no expiry", hsCfg, hs256(t, with("exp", nil)), policy.ErrInvalidToken},
		{"wrong audience", hsCfg, hs256(t, with("aud", "someone-else")), policy.ErrInvalidToken},
		{"no audience", hsCfg, hs256(t, with("aud", nil)), policy.ErrInvalidToken},
		{"wrong issuer", hsCfg, hs256(t, with("iss", "https://evil")), policy.ErrInvalidToken},
		{"wrong secret", hsCfg, sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), good, ""), policy.ErrInvalidToken},
		{"tampered payload", hsCfg, tamper(t, hs256(t, good)), policy.ErrInvalidToken},
		{"alg none", hsCfg, none, policy.ErrInvalidToken},
		{"alg none against RS256", rsCfg, none, policy.ErrInvalidToken},
		{"HS256 MACed with the RSA public key (algorithm confusion)", rsCfg,
			sign(t, jwt.SigningMethodHS256, pubPEM, claims(), ""), policy.ErrInvalidToken},
		{"RS256 signed by another key", rsCfg, sign(t, jwt.SigningMethodRS256, otherRSA, claims(), ""), policy.ErrInvalidToken},
		{"ES256 token against RS256 key", rsCfg, sign(t, jwt.SigningMethodES256, ek, claims(), ""), policy.ErrInvalidToken},
		// A 32-byte secret is too short for HS512, which is then not allowed.
		{"HS512 with a 32-byte secret", policy.JWTConfig{Secret: secret},
			sign(t, jwt.SigningMethodHS512, secret, claims(), ""), policy.ErrInvalidToken},
		{"RS384 when only RS256 allowed", policy.JWTConfig{PublicKey: &rk.PublicKey, Algorithms: []string{"RS256"}},
			sign(t, jwt.SigningMethodRS384, rk, claims(), ""), policy.ErrInvalidToken},
		// A forger must not learn that a token would have expired.
		{"expired and wrongly signed", hsCfg, sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"),
			with("exp", time.Now().Add(-time.Minute).Unix()), ""), policy.ErrInvalidToken},
		{"garbage", hsCfg, "not.a.jwt", policy.ErrInvalidToken},
		{"JWKS unknown kid", policy.JWTConfig{JWKS: jwksOf(t, map[string]any{"rsa-1": &rk.PublicKey})},
			sign(t, jwt.SigningMethodRS256, rk, claims(), "rsa-2"), policy.ErrInvalidToken},
		{"JWKS HS256 with the kid of an RSA key", policy.JWTConfig{JWKS: jwksOf(t, map[string]any{"rsa-1": &rk.PublicKey})},
			sign(t, jwt.SigningMethodHS256, pubPEM, claims(), "rsa-1"), policy.ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := mustJWT(t, tc.cfg).Authenticate(context.Background(), tc.token)
			if !errors.Is(err, tc.want) || c != nil {
				t.Fatalf("claims %v, err %v; want %v", c, err, tc.want)
			}
			for _, other := range []error{policy.ErrInvalidToken, policy.ErrTokenExpired, policy.ErrTokenNotYetValid} {
				if other != tc.want && errors.Is(err, other) {
					t.Fatalf("err %v is also %v", err, other)
				}
			}
		})
	}
}

func TestNewJWTRefusesUnsafeConfigs(t *testing.T) {
	rk, ek := keys(t)
	weakRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  policy.JWTConfig
		want string
	}{
		{"no key", policy.JWTConfig{}, "exactly one"},
		{"two keys", policy.JWTConfig{Secret: secret, PublicKey: &rk.PublicKey}, "exactly one"},
		{"short secret", policy.JWTConfig{Secret: []byte("short")}, "at least 32 bytes"},
		{"secret short for HS512", policy.JWTConfig{Secret: secret, Algorithms: []string{"HS512"}}, "HS512 needs at least 64"},
		{"none", policy.JWTConfig{Secret: secret, Algorithms: []string{"HS256", "none"}}, `"none" is never allowed`},
		{"NONE", policy.JWTConfig{Secret: secret, Algorithms: []string{"NONE"}}, `"none" is never allowed`},
		{"HS256 with a public key", policy.JWTConfig{PublicKey: &rk.PublicKey, Algorithms: []string{"HS256"}}, "does not fit the key"},
		{"RS256 with a secret", policy.JWTConfig{Secret: secret, Algorithms: []string{"RS256"}}, "does not fit the key"},
		{"ES384 with a P-256 key", policy.JWTConfig{PublicKey: &ek.PublicKey, Algorithms: []string{"ES384"}}, "does not fit the key"},
		{"HS256 with JWKS", policy.JWTConfig{JWKS: jwksOf(t, map[string]any{"k": &rk.PublicKey}), Algorithms: []string{"HS256"}}, "does not fit the key"},
		{"unknown algorithm", policy.JWTConfig{Secret: secret, Algorithms: []string{"HS999"}}, "does not fit the key"},
		{"weak RSA key", policy.JWTConfig{PublicKey: &weakRSA.PublicKey}, "at least 2048 bits"},
		{"P-224 key", policy.JWTConfig{PublicKey: &p224.PublicKey}, "P-256"},
		{"private key instead of public", policy.JWTConfig{PublicKey: rk}, "unsupported public key type"},
		{"bad JWKS", policy.JWTConfig{JWKS: []byte(`{"keys":`)}, "JWKS"},
		{"empty JWKS", policy.JWTConfig{JWKS: []byte(`{"keys":[]}`)}, "no usable key"},
		{"negative leeway", policy.JWTConfig{Secret: secret, Leeway: -time.Second}, "leeway"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := policy.NewJWT(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewJWT = %v, %v; want error containing %q", a, err, tc.want)
			}
			if strings.Contains(err.Error(), string(secret)) {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestJWTClaimsAreThePayload(t *testing.T) {
	a := mustJWT(t, policy.JWTConfig{Secret: secret})
	c, err := a.Authenticate(context.Background(), hs256(t, claims("rooms", []string{"team-*"}, "tenant", "a")))
	if err != nil {
		t.Fatal(err)
	}
	if c["tenant"] != "a" || len(c["rooms"].([]any)) != 1 || c["rooms"].([]any)[0] != "team-*" {
		t.Fatalf("claims = %v", c)
	}
}

// jwksOf builds a JWKS document of public keys by kid.
func jwksOf(t *testing.T, byKID map[string]any) []byte {
	t.Helper()
	var set jwkset.JWKSMarshal
	for kid, key := range byKID {
		j, err := jwkset.NewJWKFromKey(key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid}})
		if err != nil {
			t.Fatalf("JWK %s: %v", kid, err)
		}
		set.Keys = append(set.Keys, j.Marshal())
	}
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustPKIX(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// tamper changes the payload of a signed token and keeps its signature.
func tamper(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := jwt.NewParser().DecodeSegment(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	c["sub"] = "mallory"
	raw, _ := json.Marshal(c)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

func pemEncode(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}
