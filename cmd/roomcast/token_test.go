package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/policy"
)

// mintToken runs `roomcast token` and returns what it printed.
func mintToken(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append([]string{"token"}, args...), nil, &stdout, &stderr); code != 0 {
		t.Fatalf("roomcast token %q exited with %d: %s", args, code, &stderr)
	}
	out := stdout.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("roomcast token printed %q, want one line", out)
	}
	return strings.TrimSuffix(out, "\n")
}

// The token verifies as the server verifies it, issuer and audience
// included, and carries the claims as given: JSON values as JSON,
// anything else as a string.
func TestTokenVerifiesWithTheServersSecret(t *testing.T) {
	secret := strings.Repeat("k", 32)
	t.Setenv("TEST_JWT_SECRET", secret)
	auth, err := policy.NewJWT(policy.JWTConfig{Secret: []byte(secret), Issuer: "https://idp", Audience: "roomcast"})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	token := mintToken(t, "--secret-env", "TEST_JWT_SECRET", "--iss", "https://idp", "--aud", "roomcast", "--sub", "alice",
		"--ttl", "10m", "--claim", "tenant=acme", "--claim", `rooms=["team-*","lobby"]`, "--claim", "level=3",
		"--claim", "admin=false", "--claim", `quoted="42"`, "--claim", "id=9007199254740993", "--claim", "note=not [json")
	claims, err := auth.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("the server refuses the token: %v", err)
	}
	for key, want := range map[string]any{
		"sub": "alice", "iss": "https://idp", "aud": "roomcast", "tenant": "acme", "level": 3.0,
		"admin": false, "quoted": "42", "note": "not [json",
	} {
		if claims[key] != want {
			t.Errorf("claim %s = %#v, want %#v", key, claims[key], want)
		}
	}
	if rooms, _ := claims["rooms"].([]any); len(rooms) != 2 || rooms[0] != "team-*" || rooms[1] != "lobby" {
		t.Errorf("claim rooms = %#v", claims["rooms"])
	}
	exp := time.Unix(int64(claims["exp"].(float64)), 0)
	if exp.Before(before.Add(10*time.Minute)) || exp.After(time.Now().Add(10*time.Minute)) {
		t.Errorf("exp = %v, want 10 minutes from now", exp)
	}
	// The id is signed with all its digits, though the verifier's JSON
	// reads it as a float64.
	payload := strings.Split(token, ".")[1]
	if raw, err := base64URL(payload); err != nil || !strings.Contains(raw, `"id":9007199254740993`) {
		t.Errorf("payload %s, %v: want the id's digits kept", raw, err)
	}

	// Another audience is refused, as the server would refuse it.
	other := mintToken(t, "--secret-env", "TEST_JWT_SECRET", "--iss", "https://idp", "--aud", "elsewhere")
	if _, err := auth.Authenticate(context.Background(), other); !errors.Is(err, policy.ErrInvalidToken) {
		t.Fatalf("token for another audience: %v, want invalid", err)
	}
}

// --secret-file reads the secret as the configuration's secret_file
// does: a final line ending is not part of it.
func TestTokenSecretFile(t *testing.T) {
	secret := strings.Repeat("f", 48)
	path := filepath.Join(t.TempDir(), "jwt-secret.txt")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	auth, err := policy.NewJWT(policy.JWTConfig{Secret: []byte(secret), Algorithms: []string{"HS384"}})
	if err != nil {
		t.Fatal(err)
	}
	token := mintToken(t, "--secret-file", path, "--alg", "HS384")
	if _, err := auth.Authenticate(context.Background(), token); err != nil {
		t.Fatalf("the server refuses the token: %v", err)
	}
}

func TestTokenRefusesMistakes(t *testing.T) {
	t.Setenv("TEST_JWT_SECRET", strings.Repeat("k", 32))
	t.Setenv("TEST_SHORT_SECRET", "short")
	t.Setenv("TEST_EMPTY_SECRET", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no secret", nil, "give the secret with --secret-env NAME or --secret-file PATH"},
		{"two secrets", []string{"--secret-env", "TEST_JWT_SECRET", "--secret-file", "x"}, "alternatives"},
		{"unset variable", []string{"--secret-env", "TEST_NO_SUCH_SECRET"}, "environment variable TEST_NO_SUCH_SECRET is not set"},
		{"empty variable", []string{"--secret-env", "TEST_EMPTY_SECRET"}, "environment variable TEST_EMPTY_SECRET is empty"},
		{"short secret", []string{"--secret-env", "TEST_SHORT_SECRET"}, "the secret is 5 bytes; HS256 needs at least 32"},
		{"secret too short for HS512", []string{"--secret-env", "TEST_JWT_SECRET", "--alg", "HS512"}, "HS512 needs at least 64"},
		{"missing file", []string{"--secret-file", "no-such-file"}, "no-such-file"},
		{"unknown algorithm", []string{"--secret-env", "TEST_JWT_SECRET", "--alg", "RS256"}, `--alg must be HS256, HS384 or HS512, not "RS256"`},
		{"zero ttl", []string{"--secret-env", "TEST_JWT_SECRET", "--ttl", "0s"}, "--ttl must be positive"},
		{"claim without =", []string{"--secret-env", "TEST_JWT_SECRET", "--claim", "tenant"}, `want KEY=VALUE, got "tenant"`},
		{"claim of its own flag", []string{"--secret-env", "TEST_JWT_SECRET", "--claim", "exp=1"}, "exp is set by --ttl"},
		{"claim twice", []string{"--secret-env", "TEST_JWT_SECRET", "--claim", "a=1", "--claim", "a=2"}, "claim a given twice"},
		{"arguments", []string{"--secret-env", "TEST_JWT_SECRET", "extra"}, `unexpected arguments ["extra"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"token"}, tc.args...), nil, &stdout, &stderr)
			if code == 0 || stdout.Len() > 0 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s\nwant a failure saying %q", code, &stdout, &stderr, tc.want)
			}
		})
	}
}

// `roomcast token` and `roomcast chat --token` together open a namespace
// that takes JWTs; ROOMCAST_TOKEN does as the flag does.
func TestChatWithAMintedToken(t *testing.T) {
	secret := strings.Repeat("k", 32)
	t.Setenv("TEST_JWT_SECRET", secret)
	srv := testkit.Start(t, func(srv *server.Server) {
		auth, err := policy.NewJWT(policy.JWTConfig{Secret: []byte(secret), Audience: "roomcast"})
		if err != nil {
			t.Fatal(err)
		}
		(&policy.Policy{Auth: auth}).Apply(srv.Of("/secure"))
	})
	token := mintToken(t, "--secret-env", "TEST_JWT_SECRET", "--aud", "roomcast", "--sub", "grace")

	grace := startChat(t, srv, "--name", "grace", "--namespace", "/secure", "--token", token)
	grace.waitFor("* joined general")

	t.Setenv("ROOMCAST_TOKEN", token)
	heidi := startChat(t, srv, "--name", "heidi", "--namespace", "/secure")
	heidi.waitFor("* joined general")
	heidi.say("hello grace")
	grace.waitFor("heidi: hello grace")

	t.Setenv("ROOMCAST_TOKEN", "")
	ivan := startChat(t, srv, "--name", "ivan", "--namespace", "/secure")
	if err := ivan.exit(); err == nil || !strings.Contains(err.Error(), "unauthorized") || !strings.Contains(err.Error(), policy.CodeUnauthorized) {
		t.Fatalf("chat without a token: %v, want the refusal with its code", err)
	}
}

func base64URL(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err
}
