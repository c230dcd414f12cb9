package policy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/policy"
)

func TestTokensAcceptListedTokensOnly(t *testing.T) {
	auth := policy.NewTokens([]string{"alpha", "", "bravo"})
	for _, tc := range []struct {
		token, sub string
	}{
		{"alpha", "token:0"},
		{"bravo", "token:2"}, // the index in the list given, empty entries counted
	} {
		c, err := auth.Authenticate(context.Background(), tc.token)
		if err != nil {
			t.Fatalf("%s: %v", tc.token, err)
		}
		if c["sub"] != tc.sub || len(c) != 1 {
			t.Fatalf("%s: claims %v, want sub %s only", tc.token, c, tc.sub)
		}
	}
	for _, bad := range []string{"", "alph", "alphaa", "ALPHA", " alpha", "charlie"} {
		c, err := auth.Authenticate(context.Background(), bad)
		if !errors.Is(err, policy.ErrInvalidToken) || c != nil {
			t.Fatalf("%q: claims %v, err %v; want ErrInvalidToken", bad, c, err)
		}
	}
}

func TestTokensNeverPutTheTokenInClaimsOrErrors(t *testing.T) {
	auth := policy.NewTokens([]string{"s3cr3t-token"})
	c, _ := auth.Authenticate(context.Background(), "s3cr3t-token")
	for k, v := range c {
		if strings.Contains(k, "s3cr3t") || strings.Contains(v.(string), "s3cr3t") {
			t.Fatalf("claims leak the token: %v", c)
		}
	}
	_, err := auth.Authenticate(context.Background(), "s3cr3t-tokem")
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error leaks the token: %v", err)
	}
}

func handshake(authToken any, authorization ...string) *server.Handshake {
	hs := &server.Handshake{Metadata: metadata.MD{}}
	if authToken != nil {
		s, err := structpb.NewStruct(map[string]any{"token": authToken})
		if err != nil {
			panic(err)
		}
		hs.Auth = s
	}
	if len(authorization) > 0 {
		hs.Metadata.Set("authorization", authorization...)
	}
	return hs
}

func TestTokenFrom(t *testing.T) {
	for _, tc := range []struct {
		name string
		hs   *server.Handshake
		want string
	}{
		{"nil handshake", nil, ""},
		{"nothing", handshake(nil), ""},
		{"auth token", handshake("abc"), "abc"},
		{"bearer", handshake(nil, "Bearer xyz"), "xyz"},
		{"bearer any case and spaces", handshake(nil, "  bEaReR   xyz  "), "xyz"},
		{"auth wins over metadata", handshake("abc", "Bearer xyz"), "abc"},
		{"empty auth token falls back", handshake("", "Bearer xyz"), "xyz"},
		{"non-string auth token falls back", handshake(42.0, "Bearer xyz"), "xyz"},
		{"other scheme", handshake(nil, "Basic dXNlcjpwYXNz"), ""},
		{"scheme only", handshake(nil, "Bearer"), ""},
		{"bearer without token", handshake(nil, "Bearer   "), ""},
		{"first authorization value only", handshake(nil, "Basic x", "Bearer xyz"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := policy.TokenFrom(tc.hs); got != tc.want {
				t.Fatalf("TokenFrom = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzTokenFrom: whatever a client sends as auth and metadata, extracting
// the token never panics and never makes up a token that was not sent.
func FuzzTokenFrom(f *testing.F) {
	f.Add("abc", "Bearer xyz", "", true)
	f.Add("", "bearer  xyz ", "Bearer other", false)
	f.Add("", "Bearer", "", false)
	f.Add("\x00", "Bearer \xff\xfe", "Basic x", true)
	f.Fuzz(func(t *testing.T, authToken, authz1, authz2 string, withAuth bool) {
		hs := &server.Handshake{Metadata: metadata.MD{}}
		if withAuth {
			hs.Auth = &structpb.Struct{Fields: map[string]*structpb.Value{
				"token": structpb.NewStringValue(authToken),
				"other": structpb.NewStringValue(authz1),
			}}
		}
		if authz1 != "" {
			hs.Metadata.Append("authorization", authz1)
		}
		if authz2 != "" {
			hs.Metadata.Append("authorization", authz2)
		}
		got := policy.TokenFrom(hs)
		if got == "" {
			return
		}
		switch {
		case withAuth && authToken != "":
			if got != authToken {
				t.Fatalf("auth token %q present, got %q", authToken, got)
			}
		case !strings.Contains(authz1, got):
			t.Fatalf("got %q, which is not in the first authorization value %q", got, authz1)
		case strings.TrimSpace(got) != got:
			t.Fatalf("bearer token %q keeps spaces", got)
		}
	})
}
