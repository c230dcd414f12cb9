package config

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"unicode"

	yaml "go.yaml.in/yaml/v3"

	"github.com/roomcast/roomcast/server/policy"
)

// This file decodes a namespace's auth section. No message here ever
// contains a token, a secret or key material: configuration errors end up
// in logs.

// authSpec is a decoded auth section, turned into a policy.Authenticator
// once the whole namespace is known to be valid.
type authSpec struct {
	path    string
	typ     string // "", "none", "tokens" or "jwt"
	tokens  []string
	jwt     *policy.JWTConfig
	jwtNode *yaml.Node
}

func (d *decoder) auth(n *yaml.Node, p string) authSpec {
	a := authSpec{path: p}
	present := d.mapping(n, p, map[string]field{
		"type": func(v *yaml.Node, p string) { a.typ, _ = d.oneOf(v, p, "none", "tokens", "jwt") },
		"tokens": func(v *yaml.Node, p string) {
			a.tokens = d.strs(v, p, checkToken)
			if v = resolve(v); v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				d.fail(v, p, "empty list: no token could connect; list at least one")
			}
		},
		"tokens_file": func(v *yaml.Node, p string) { a.tokens = d.tokensFile(v, p) },
		"jwt": func(v *yaml.Node, p string) {
			a.jwtNode = resolve(v)
			a.jwt = d.jwt(v, p)
		},
	})
	if present == nil {
		return a
	}
	only := func(typ string, keys ...string) {
		for _, k := range keys {
			if present[k] != nil {
				d.fail(present[k], join(p, k), "only with type: %s", typ)
			}
		}
	}
	switch {
	case present["type"] == nil:
		d.fail(resolve(n), p, "needs type: none, tokens or jwt")
	case a.typ == "none":
		only("tokens", "tokens", "tokens_file")
		only("jwt", "jwt")
	case a.typ == "tokens":
		if d.alternatives(present, p, "tokens", "tokens_file") == "" {
			d.fail(present["type"], join(p, "type"), "type tokens needs tokens (a list) or tokens_file")
		}
		only("jwt", "jwt")
	case a.typ == "jwt":
		if present["jwt"] == nil {
			d.fail(present["type"], join(p, "type"), "type jwt needs a jwt section with its key")
		}
		only("tokens", "tokens", "tokens_file")
	}
	return a
}

// authenticator builds the policy's authenticator: nil for none.
func (d *decoder) authenticator(a authSpec) policy.Authenticator {
	switch a.typ {
	case "tokens":
		return policy.NewTokens(a.tokens)
	case "jwt":
		auth, err := policy.NewJWT(*a.jwt)
		if err != nil {
			d.fail(a.jwtNode, join(a.path, "jwt"), "%v", err)
		}
		return auth
	}
	return nil
}

// checkToken refuses tokens that cannot be what was meant; its messages
// never repeat the token.
func checkToken(token string) error {
	if strings.TrimSpace(token) != token {
		return errors.New("token has leading or trailing whitespace")
	}
	if strings.IndexFunc(token, unicode.IsControl) >= 0 {
		return errors.New("token contains a control character")
	}
	return nil
}

// tokensFile reads static tokens, one per line; blank lines and lines
// starting with # are skipped.
func (d *decoder) tokensFile(n *yaml.Node, p string) []string {
	b, ok := d.readFile(n, p)
	if !ok {
		return nil
	}
	var tokens []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.IndexFunc(line, unicode.IsSpace) >= 0 || strings.IndexFunc(line, unicode.IsControl) >= 0 {
			d.fail(resolve(n), p, "line %d of the file has a space or control character inside; one token per line, comments on lines of their own", i+1)
			return nil
		}
		tokens = append(tokens, line)
	}
	if len(tokens) == 0 {
		d.fail(resolve(n), p, "the file has no tokens; one per line")
	}
	return tokens
}

// hmacMinBytes is the shortest secret per HMAC algorithm: a key at least
// as long as the hash output (RFC 7518, section 3.2).
var hmacMinBytes = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}

// algorithms are the JWT algorithms the policy verifies.
var algorithms = []string{
	"HS256", "HS384", "HS512",
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA",
}

func (d *decoder) jwt(n *yaml.Node, p string) *policy.JWTConfig {
	cfg := &policy.JWTConfig{}
	var algNodes []*yaml.Node // beside cfg.Algorithms, for their lines
	present := d.mapping(n, p, map[string]field{
		"algorithms": func(v *yaml.Node, p string) {
			d.list(v, p, func(e *yaml.Node, p string) {
				if alg, ok := d.algorithm(e, p); ok {
					cfg.Algorithms = append(cfg.Algorithms, alg)
					algNodes = append(algNodes, resolve(e))
				}
			})
			if v = resolve(v); v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				d.fail(v, p, "empty list: leave the key out to allow the algorithms of the key")
			}
		},
		"secret_env": func(v *yaml.Node, p string) {
			if s, ok := d.envVar(v, p); ok {
				cfg.Secret = []byte(s)
			}
		},
		"secret_file": func(v *yaml.Node, p string) {
			b, ok := d.readFile(v, p)
			if !ok {
				return
			}
			// One line ending, as echo and editors leave, is not part of
			// the secret; anything else is, binary secrets included.
			b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
			if len(b) == 0 {
				d.fail(resolve(v), p, "the file is empty")
				return
			}
			cfg.Secret = b
		},
		"public_key_file": func(v *yaml.Node, p string) {
			b, ok := d.readFile(v, p)
			if !ok {
				return
			}
			key, err := parsePublicKey(b)
			if err != nil {
				d.fail(resolve(v), p, "%v", err)
				return
			}
			cfg.PublicKey = key
		},
		"jwks_file": func(v *yaml.Node, p string) {
			b, ok := d.readFile(v, p)
			if !ok {
				return
			}
			if err := checkJWKS(b); err != nil {
				d.fail(resolve(v), p, "%v", err)
				return
			}
			cfg.JWKS = b
		},
		"issuer":   func(v *yaml.Node, p string) { cfg.Issuer, _ = d.str(v, p) },
		"audience": func(v *yaml.Node, p string) { cfg.Audience, _ = d.str(v, p) },
		"leeway":   func(v *yaml.Node, p string) { cfg.Leeway, _ = d.duration(v, p) },
	})
	if present == nil {
		return nil
	}
	source := d.alternatives(present, p, "secret_env", "secret_file", "public_key_file", "jwks_file")
	if source == "" {
		d.fail(resolve(n), p, "needs a key: one of secret_env, secret_file, public_key_file or jwks_file")
		return cfg
	}
	for i, alg := range cfg.Algorithms {
		if err := keyFits(alg, source, cfg.PublicKey); err != nil {
			d.fail(algNodes[i], index(join(p, "algorithms"), i), "%v", err)
		}
	}
	if cfg.Secret != nil {
		need, strictest := 32, "HS256"
		for _, alg := range cfg.Algorithms {
			if hmacMinBytes[alg] > need {
				need, strictest = hmacMinBytes[alg], alg
			}
		}
		if len(cfg.Secret) < need {
			d.fail(present[source], join(p, source), "the secret is %d bytes; %s needs at least %d (RFC 7518, section 3.2)", len(cfg.Secret), strictest, need)
		}
	}
	return cfg
}

// algorithm decodes one algorithm name. "none" gets its own message:
// unsigned tokens are never accepted, whatever the file says.
func (d *decoder) algorithm(n *yaml.Node, p string) (string, bool) {
	alg, ok := d.str(n, p)
	if !ok {
		return "", false
	}
	if strings.EqualFold(alg, "none") {
		d.fail(resolve(n), p, "algorithm %q is never allowed: unsigned tokens prove nothing", alg)
		return "", false
	}
	for _, known := range algorithms {
		if alg == known {
			return alg, true
		}
	}
	d.fail(resolve(n), p, "unknown algorithm %q; want one of %s", alg, strings.Join(algorithms, ", "))
	return "", false
}

// keyFits reports an algorithm the configured key cannot verify. A JWKS
// document's keys are matched to tokens by kid, so any public-key
// algorithm fits it.
func keyFits(alg, source string, key crypto.PublicKey) error {
	secret := source == "secret_env" || source == "secret_file"
	hmac := strings.HasPrefix(alg, "HS")
	switch {
	case hmac && !secret:
		return fmt.Errorf("%s needs a shared secret (secret_env or secret_file), not %s", alg, source)
	case !hmac && secret:
		return fmt.Errorf("%s needs a public key (public_key_file or jwks_file), not a shared secret", alg)
	case hmac || key == nil:
		return nil
	}
	if want, have := algorithmKey(alg), keyKind(key); want != have {
		return fmt.Errorf("%s needs %s; public_key_file holds %s", alg, want, have)
	}
	return nil
}

// algorithmKey names the kind of key that verifies a public-key algorithm.
func algorithmKey(alg string) string {
	switch alg {
	case "ES256":
		return "an ECDSA P-256 key"
	case "ES384":
		return "an ECDSA P-384 key"
	case "ES512":
		return "an ECDSA P-521 key"
	case "EdDSA":
		return "an Ed25519 key"
	}
	return "an RSA key" // RS* and PS*
}

// keyKind names a parsed key as algorithmKey names the key it needs.
func keyKind(key crypto.PublicKey) string {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return "an RSA key"
	case *ecdsa.PublicKey:
		return "an ECDSA " + k.Curve.Params().Name + " key"
	case ed25519.PublicKey:
		return "an Ed25519 key"
	}
	return fmt.Sprintf("a %T", key)
}

// parsePublicKey reads the first PEM block of a public key file: a PUBLIC
// KEY (PKIX), an RSA PUBLIC KEY (PKCS #1) or a CERTIFICATE.
func parsePublicKey(b []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block in the file; want -----BEGIN PUBLIC KEY-----")
	}
	var key crypto.PublicKey
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return nil, errors.New("the file holds a private key; give the public key (openssl pkey -pubout)")
		}
		return nil, fmt.Errorf("PEM block %q; want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("bad %s: %v", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("the RSA key has %d bits; want at least 2048", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if c := k.Curve; c != elliptic.P256() && c != elliptic.P384() && c != elliptic.P521() {
			return nil, fmt.Errorf("the ECDSA key is on %s; want P-256, P-384 or P-521", c.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("unsupported key type %T; want RSA, ECDSA or Ed25519", key)
	}
	return key, nil
}

// checkJWKS checks that a file is a JWKS document with keys; the policy
// checks the keys themselves.
func checkJWKS(b []byte) error {
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("not a JWKS document: %v", err)
	}
	if len(doc.Keys) == 0 {
		return errors.New(`the JWKS document has no keys; want {"keys": [...]}`)
	}
	for i, k := range doc.Keys {
		if kty, _ := k["kty"].(string); kty == "" {
			return fmt.Errorf("key %d of the JWKS document has no kty", i)
		}
	}
	return nil
}
