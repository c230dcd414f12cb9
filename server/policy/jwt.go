package policy

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// JWTConfig says which JWTs an Authenticator made by NewJWT accepts.
type JWTConfig struct {
	Secret     []byte           // HS256/HS384/HS512; at least as long as the hash (32, 48, 64 bytes)
	PublicKey  crypto.PublicKey // RS256 or ES256 (parsed PEM)
	JWKS       []byte           // a JWKS document (RS256/ES256 keys selected by kid)
	Algorithms []string         // allowed algorithms; default: those the key supports. "none" is never allowed.
	Issuer     string           // checked when set
	Audience   string           // checked when set
	Leeway     time.Duration    // clock skew allowance for exp/nbf/iat
}

// Minimum key sizes: below them a key can be brute-forced or factored, and
// a server should refuse to start rather than accept forgeable tokens.
const (
	minSecretBytes = 32 // RFC 7518 §3.2: at least the hash size
	minRSABits     = 2048
)

var (
	// hmacMinBytes is the shortest secret per algorithm: at least the
	// hash's output (RFC 7518 §3.2).
	hmacMinBytes   = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}
	hmacAlgorithms = []string{"HS256", "HS384", "HS512"}
	rsaAlgorithms  = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	ecAlgorithms   = map[string][]string{"P-256": {"ES256"}, "P-384": {"ES384"}, "P-521": {"ES512"}}
	jwksAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	edAlgorithms   = []string{"EdDSA"}
)

type jwtAuth struct {
	parser *jwt.Parser
	key    jwt.Keyfunc
}

// NewJWT returns an Authenticator of JWTs signed with exactly one of
// cfg.Secret, cfg.PublicKey or a key of cfg.JWKS. Tokens must carry an
// expiry ("exp"); "nbf" and "iat" are checked when present. The accepted
// algorithms are pinned to the key's kind, so that neither `alg: none` nor
// a token MACed with a public key as HMAC secret (algorithm confusion) is
// ever accepted. The claims are the token's payload.
func NewJWT(cfg JWTConfig) (Authenticator, error) {
	sources := 0
	for _, set := range []bool{len(cfg.Secret) > 0, cfg.PublicKey != nil, len(cfg.JWKS) > 0} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return nil, errors.New("jwt: set exactly one of secret, public key and JWKS")
	}
	supported, key, err := verificationKey(cfg)
	if err != nil {
		return nil, err
	}
	algs := supported
	if len(cfg.Algorithms) > 0 {
		algs = nil
		for _, alg := range cfg.Algorithms {
			if strings.EqualFold(alg, "none") {
				return nil, errors.New(`jwt: algorithm "none" is never allowed`)
			}
			if need := hmacMinBytes[alg]; len(cfg.Secret) > 0 && len(cfg.Secret) < need {
				return nil, fmt.Errorf("jwt: the secret is %d bytes; %s needs at least %d", len(cfg.Secret), alg, need)
			}
			if !slices.Contains(supported, alg) {
				return nil, fmt.Errorf("jwt: algorithm %q does not fit the key (it supports %s)", alg, strings.Join(supported, ", "))
			}
			algs = append(algs, alg)
		}
	}
	if cfg.Leeway < 0 {
		return nil, errors.New("jwt: leeway must not be negative")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &jwtAuth{parser: jwt.NewParser(opts...), key: key}, nil
}

// verificationKey returns the algorithms the configured key can verify and
// the key function that hands it to the parser.
func verificationKey(cfg JWTConfig) ([]string, jwt.Keyfunc, error) {
	switch {
	case len(cfg.Secret) > 0:
		if len(cfg.Secret) < minSecretBytes {
			return nil, nil, fmt.Errorf("jwt: secret must be at least %d bytes", minSecretBytes)
		}
		secret := slices.Clone(cfg.Secret)
		var algs []string
		for _, alg := range hmacAlgorithms {
			if len(secret) >= hmacMinBytes[alg] {
				algs = append(algs, alg)
			}
		}
		return algs, func(*jwt.Token) (any, error) { return secret, nil }, nil
	case len(cfg.JWKS) > 0:
		k, err := keyfunc.NewJWKSetJSON(cfg.JWKS)
		if err != nil {
			return nil, nil, fmt.Errorf("jwt: JWKS: %w", err)
		}
		keys, err := k.Storage().KeyReadAll(context.Background())
		if err != nil || len(keys) == 0 {
			return nil, nil, errors.New("jwt: JWKS has no usable key")
		}
		return jwksAlgorithms, k.Keyfunc, nil
	}
	pub := cfg.PublicKey
	fixed := func(*jwt.Token) (any, error) { return pub, nil }
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, nil, fmt.Errorf("jwt: RSA key must have at least %d bits", minRSABits)
		}
		return rsaAlgorithms, fixed, nil
	case *ecdsa.PublicKey:
		algs := ecAlgorithms[k.Curve.Params().Name]
		if algs == nil {
			return nil, nil, errors.New("jwt: EC key must be on P-256, P-384 or P-521")
		}
		return algs, fixed, nil
	case ed25519.PublicKey:
		return edAlgorithms, fixed, nil
	}
	return nil, nil, fmt.Errorf("jwt: unsupported public key type %T (want RSA, ECDSA or Ed25519)", pub)
}

// Authenticate verifies the signature before anything else, so that a
// forger learns nothing, not even whether a token of theirs has expired.
func (a *jwtAuth) Authenticate(_ context.Context, token string) (Claims, error) {
	claims := jwt.MapClaims{}
	if _, err := a.parser.ParseWithClaims(token, claims, a.key); err != nil {
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			return nil, fmt.Errorf("%w: %w", ErrTokenExpired, err)
		case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			return nil, fmt.Errorf("%w: %w", ErrTokenNotYetValid, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return Claims(claims), nil
}
