package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// runToken is `roomcast token`: it signs a JWT with the shared secret a
// jwt namespace verifies with, so that such a namespace can be tried out,
// scripted and tested without an identity provider. It prints the token
// alone on stdout, for TOKEN=$(roomcast token ...).
func runToken(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", "Signs a JWT with an HMAC secret, for trying out, scripting and testing\n"+
		"namespaces with auth type jwt, and prints it on stdout. The secret is the\n"+
		"server's: give --secret-env or --secret-file as the namespace's secret_env\n"+
		"or secret_file names it. The token carries iat and exp (now plus --ttl).", stderr)
	secretEnv := fs.String("secret-env", "", "environment variable holding the secret, as a namespace's secret_env")
	secretFile := fs.String("secret-file", "", "file holding the secret, as a namespace's secret_file (one final line ending is not part of it)")
	alg := fs.String("alg", "HS256", "signing algorithm: HS256, HS384 or HS512")
	sub := fs.String("sub", "", "subject (sub): whom the token is for")
	aud := fs.String("aud", "", "audience (aud): a namespace with audience set requires it")
	iss := fs.String("iss", "", "issuer (iss): a namespace with issuer set requires it")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	extra := claimFlags{}
	fs.Var(extra, "claim", "another claim, `KEY=VALUE`; repeat for more. VALUE is JSON when it parses as JSON\n"+
		`(42, true, ["a","b"]), else a string: --claim tenant=acme --claim 'rooms=["team-*"]'`)
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	method, minBytes := hmacMethods[*alg], hmacMinBytes[*alg]
	if method == nil {
		return fmt.Errorf("--alg must be HS256, HS384 or HS512, not %q", *alg)
	}
	if *ttl <= 0 {
		return fmt.Errorf("--ttl must be positive, not %v", *ttl)
	}
	secret, err := tokenSecret(*secretEnv, *secretFile)
	if err != nil {
		return err
	}
	// The server refuses to start with a shorter secret; a token signed
	// with one could never be accepted.
	if len(secret) < minBytes {
		return fmt.Errorf("the secret is %d bytes; %s needs at least %d", len(secret), *alg, minBytes)
	}

	now := time.Now()
	claims := jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(*ttl).Unix()}
	for key, value := range map[string]string{"sub": *sub, "aud": *aud, "iss": *iss} {
		if value != "" {
			claims[key] = value
		}
	}
	for key, value := range extra {
		claims[key] = value
	}
	signed, err := jwt.NewWithClaims(method, claims).SignedString(secret)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, signed)
	return err
}

var (
	hmacMethods = map[string]jwt.SigningMethod{
		"HS256": jwt.SigningMethodHS256, "HS384": jwt.SigningMethodHS384, "HS512": jwt.SigningMethodHS512,
	}
	// hmacMinBytes are the server's minimum secret lengths: the hash's
	// output size (RFC 7518 §3.2).
	hmacMinBytes = map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}
)

// tokenSecret reads the secret from exactly one of an environment
// variable and a file, the way the configuration's secret_env and
// secret_file do, so that the same secret signs and verifies.
func tokenSecret(envVar, file string) ([]byte, error) {
	switch {
	case envVar != "" && file != "":
		return nil, errors.New("--secret-env and --secret-file are alternatives; give one")
	case envVar != "":
		value, ok := os.LookupEnv(envVar)
		if !ok {
			return nil, fmt.Errorf("--secret-env: environment variable %s is not set", envVar)
		}
		if value == "" {
			return nil, fmt.Errorf("--secret-env: environment variable %s is empty", envVar)
		}
		return []byte(value), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--secret-file: %w", err)
		}
		b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
		if len(b) == 0 {
			return nil, fmt.Errorf("--secret-file: %s is empty", file)
		}
		return b, nil
	}
	return nil, errors.New("give the secret with --secret-env NAME or --secret-file PATH")
}

// claimFlags collects --claim KEY=VALUE. The registered claims that
// have flags of their own are refused here, so that one token never has
// two sources for its exp or its audience.
type claimFlags map[string]any

// ownFlags names the flag that sets a registered claim.
var ownFlags = map[string]string{"sub": "--sub", "aud": "--aud", "iss": "--iss", "exp": "--ttl", "iat": "--ttl"}

func (c claimFlags) String() string {
	if len(c) == 0 {
		return ""
	}
	b, _ := json.Marshal(map[string]any(c))
	return string(b)
}

func (c claimFlags) Set(s string) error {
	key, value, ok := strings.Cut(s, "=")
	switch {
	case !ok || key == "":
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	case ownFlags[key] != "":
		return fmt.Errorf("%s is set by %s", key, ownFlags[key])
	}
	if _, dup := c[key]; dup {
		return fmt.Errorf("claim %s given twice", key)
	}
	c[key] = claimValue(value)
	return nil
}

// claimValue reads VALUE as JSON when it is JSON, so that lists, numbers
// and booleans need no other syntax, and as a string otherwise, so that
// the common case (tenant=acme) needs no quotes. Numbers keep their
// digits: a 64-bit id must not be rounded through float64.
func claimValue(value string) any {
	if !json.Valid([]byte(value)) {
		return value
	}
	dec := json.NewDecoder(strings.NewReader(value))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return value
	}
	return v
}
