package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
)

// writeConfig writes a configuration file into a fresh directory and
// returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "roomcast.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServePrecedence checks the layers of a setting: a flag beats its
// ROOMCAST_* variable, which beats the configuration file, which beats
// the default.
func TestServePrecedence(t *testing.T) {
	file := writeConfig(t, strings.Join([]string{
		"grpc_addr: 127.0.0.1:1001",
		"http_addr: 127.0.0.1:2001",
		"admin_token: from-file",
		"log_format: json",
		"shutdown_timeout: 1m30s",
	}, "\n"))
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want serveOptions
	}{
		{
			name: "defaults without a file",
			want: serveOptions{grpcAddr: ":50051", httpAddr: ":8080", logFormat: "text", shutdownTimeout: 10 * time.Second},
		},
		{
			name: "the file beats the defaults",
			args: []string{"--config", file},
			want: serveOptions{grpcAddr: "127.0.0.1:1001", httpAddr: "127.0.0.1:2001", adminToken: "from-file", logFormat: "json", shutdownTimeout: 90 * time.Second},
		},
		{
			name: "the environment beats the file",
			args: []string{"--config", file},
			env:  map[string]string{"ROOMCAST_GRPC_ADDR": "127.0.0.1:1002", "ROOMCAST_ADMIN_TOKEN": "from-env", "ROOMCAST_SHUTDOWN_TIMEOUT": "2s"},
			want: serveOptions{grpcAddr: "127.0.0.1:1002", httpAddr: "127.0.0.1:2001", adminToken: "from-env", logFormat: "json", shutdownTimeout: 2 * time.Second},
		},
		{
			name: "a flag beats the environment and the file",
			args: []string{"--config", file, "--grpc-addr", "127.0.0.1:1003", "--log-format", "text"},
			env:  map[string]string{"ROOMCAST_GRPC_ADDR": "127.0.0.1:1002", "ROOMCAST_LOG_FORMAT": "json"},
			want: serveOptions{grpcAddr: "127.0.0.1:1003", httpAddr: "127.0.0.1:2001", adminToken: "from-file", logFormat: "text", shutdownTimeout: 90 * time.Second},
		},
		{
			name: "a flag set to its default still beats the file",
			args: []string{"--config", file, "--log-format", "text", "--shutdown-timeout", "10s"},
			want: serveOptions{grpcAddr: "127.0.0.1:1001", httpAddr: "127.0.0.1:2001", adminToken: "from-file", logFormat: "text", shutdownTimeout: 10 * time.Second},
		},
		{
			name: "ROOMCAST_CONFIG names the file",
			env:  map[string]string{"ROOMCAST_CONFIG": file, "ROOMCAST_HTTP_ADDR": "127.0.0.1:2002"},
			want: serveOptions{grpcAddr: "127.0.0.1:1001", httpAddr: "127.0.0.1:2002", adminToken: "from-file", logFormat: "json", shutdownTimeout: 90 * time.Second},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range []string{"ROOMCAST_CONFIG", "ROOMCAST_GRPC_ADDR", "ROOMCAST_HTTP_ADDR", "ROOMCAST_ADMIN_TOKEN", "ROOMCAST_LOG_FORMAT", "ROOMCAST_SHUTDOWN_TIMEOUT"} {
				t.Setenv(name, "") // restored after the test
				os.Unsetenv(name)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			got, err := parseServe(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			settings := func(o serveOptions) [5]any {
				return [5]any{o.grpcAddr, o.httpAddr, o.adminToken, o.logFormat, o.shutdownTimeout}
			}
			if settings(*got) != settings(tc.want) {
				t.Fatalf("got  grpc_addr, http_addr, admin_token, log_format, shutdown_timeout %v\nwant %v", settings(*got), settings(tc.want))
			}
		})
	}
}

// TestServeConfigPolicies runs `roomcast serve` with the annotated example
// configuration and checks that its policies decide who connects.
func TestServeConfigPolicies(t *testing.T) {
	secret := strings.Repeat("s", 32)
	t.Setenv("JWT_SECRET", secret)
	addr, _ := startServe(t, "--config", "../../examples/roomcast.yaml")

	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	st := testkit.OpenOn(t, cc)

	connect := func(namespace string, auth map[string]any) *roomcastv1.ServerFrame {
		t.Helper()
		frame := &roomcastv1.ConnectFrame{Namespace: namespace}
		if auth != nil {
			if frame.Auth, err = structpb.NewStruct(auth); err != nil {
				t.Fatal(err)
			}
		}
		st.Send(&roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Connect{Connect: frame}})
		return st.Next()
	}
	refused := func(f *roomcastv1.ServerFrame, namespace, message, code string) {
		t.Helper()
		ce := f.GetConnectError()
		if ce == nil || ce.GetNamespace() != namespace || ce.GetMessage() != message ||
			ce.GetData().GetStructValue().GetFields()["code"].GetStringValue() != code {
			t.Fatalf("got %v, want connect_error %q with code %s on %s", f, message, code, namespace)
		}
	}
	connected := func(f *roomcastv1.ServerFrame, namespace string) {
		t.Helper()
		if f.GetConnected().GetNamespace() != namespace {
			t.Fatalf("got %v, want connected to %s", f, namespace)
		}
	}

	connected(connect("/", nil), "/")
	refused(connect("/secure", nil), "/secure", "unauthorized", "UNAUTHORIZED")
	refused(connect("/secure", map[string]any{"token": hs256(t, "another secret, 32 bytes or more!", validClaims(nil))}), "/secure", "invalid token", "INVALID_TOKEN")
	connected(connect("/secure", map[string]any{"token": hs256(t, secret, validClaims(nil))}), "/secure")
	refused(connect("/tenant-acme", map[string]any{"token": hs256(t, secret, validClaims(map[string]any{"tenant": "globex"}))}),
		"/tenant-acme", "namespace not allowed for tenant", "TENANT_MISMATCH")
	connected(connect("/tenant-acme", map[string]any{"token": hs256(t, secret, validClaims(map[string]any{"tenant": "acme"}))}), "/tenant-acme")
}

// validClaims are claims the example's /secure accepts, plus extra.
func validClaims(extra map[string]any) map[string]any {
	claims := map[string]any{
		"sub": "alice", "iss": "https://auth.example.com", "aud": "roomcast",
		"exp": time.Now().Add(time.Minute).Unix(),
	}
	for k, v := range extra {
		claims[k] = v
	}
	return claims
}

// hs256 signs claims as an HS256 JWT.
func hs256(t *testing.T, secret string, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + enc(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprint(mac, signing)
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// TestServeInvalidConfig checks that a mistake in the configuration stops
// start-up, with a message that names the file, the line and the key.
func TestServeInvalidConfig(t *testing.T) {
	t.Setenv("JWT_SECRET", strings.Repeat("s", 32))
	path := writeConfig(t, strings.Join([]string{
		"namespaces:",
		"  - name: /secure",
		"    auth:",
		"      type: jwt",
		"      jwt:",
		"        secret_env: JWT_SECRET",
		"        algorithms: [HS999]",
	}, "\n"))
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"flag", []string{"--config", path}, "", path + `:7: namespaces[0].auth.jwt.algorithms[0]: unknown algorithm "HS999"`},
		{"environment", nil, path, path + `:7: namespaces[0].auth.jwt.algorithms[0]: unknown algorithm "HS999"`},
		{"missing file", []string{"--config", path + ".missing"}, "", path + ".missing: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ROOMCAST_CONFIG", tc.env)
			var stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
			defer cancel()
			args := append([]string{"serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, tc.args...)
			if code := run(ctx, args, nil, io.Discard, &stderr); code == 0 {
				t.Fatalf("roomcast serve exited with 0; stderr:\n%s", &stderr)
			}
			if got := stderr.String(); !strings.Contains(got, "roomcast serve: "+tc.want) {
				t.Fatalf("stderr:\n%s\nwant %q", got, tc.want)
			}
			if strings.Contains(stderr.String(), "roomcast serving") {
				t.Fatal("roomcast served with an invalid configuration")
			}
		})
	}
}
