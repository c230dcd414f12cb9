package config

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestExample loads the annotated example the README points to, so that
// it stays valid as the schema changes.
func TestExample(t *testing.T) {
	t.Setenv("JWT_SECRET", secret32)
	cfg, err := Load("../../examples/roomcast.yaml")
	if err != nil {
		t.Fatalf("the example does not load:\n%v", err)
	}
	want := map[string]string{
		"grpc_addr":        ":50051",
		"http_addr":        ":8080",
		"log_format":       "text",
		"shutdown_timeout": "10s",
	}
	if got := cfg.Settings(); len(got) != len(want) {
		t.Errorf("got settings %v, want %v", got, want)
	} else {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: got %q, want %q", k, got[k], v)
			}
		}
	}
	if cfg.ShutdownTimeout != 10*time.Second {
		t.Errorf("got shutdown timeout %v", cfg.ShutdownTimeout)
	}

	var names []string
	for _, ns := range cfg.Namespaces {
		names = append(names, ns.String()+" "+ns.AuthType)
	}
	wantNames := []string{"/ none", "/secure jwt", "^/tenant-(?P<tenant>[a-z0-9]+)$ jwt"}
	if len(names) != len(wantNames) {
		t.Fatalf("got namespaces %q, want %q", names, wantNames)
	}
	for i := range names {
		if names[i] != wantNames[i] {
			t.Errorf("namespace %d: got %q, want %q", i, names[i], wantNames[i])
		}
	}

	// The secret comes from JWT_SECRET.
	token := hs256(t, secret32, map[string]any{
		"iss": "https://auth.example.com", "aud": "roomcast", "exp": time.Now().Add(time.Minute).Unix(),
	})
	if _, err := cfg.Namespaces[1].Policy.Auth.Authenticate(context.Background(), token); err != nil {
		t.Errorf("/secure refuses a token signed with JWT_SECRET: %v", err)
	}
}

// TestExampleNeedsSecret checks that the example refuses to start when
// the environment variable it names is missing, and says where.
func TestExampleNeedsSecret(t *testing.T) {
	t.Setenv("JWT_SECRET", "")
	_, err := Load("../../examples/roomcast.yaml")
	if err == nil {
		t.Fatal("the example loaded without JWT_SECRET")
	}
	if got := err.Error(); !contains(got, "roomcast.yaml:", "auth.jwt.secret_env: environment variable JWT_SECRET is empty") {
		t.Fatalf("got %v", err)
	}
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestExampleAnnotatesEveryKey checks that the example shows every key
// the loader takes, set or in a comment, so that it remains the one
// place to learn the schema. The keys are the loader's own: each probe
// puts an unknown key in one section, and the refusal lists that
// section's keys.
func TestExampleAnnotatesEveryKey(t *testing.T) {
	example, err := os.ReadFile("../../examples/roomcast.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ns := func(section ...string) string {
		return lines(append([]string{"namespaces:", "  - name: /secure"}, section...)...)
	}
	probes := map[string]string{
		"top level": "zzzqqq: 1\n",
		"namespace": ns("    zzzqqq: 1"),
		"auth":      ns("    auth:", "      zzzqqq: 1"),
		"auth.jwt":  ns("    auth:", "      type: jwt", "      jwt:", "        zzzqqq: 1"),
		"access":    ns("    access:", "      zzzqqq: 1"),
		"rooms":     ns("    rooms:", "      zzzqqq: 1"),
		"limits":    ns("    limits:", "      zzzqqq: 1"),
		"events":    ns("    events:", "      zzzqqq: 1"),
	}
	keyList := regexp.MustCompile(`zzzqqq: unknown key; want one of ([a-z0-9_, ]+)`)
	for section, probe := range probes {
		_, err := parse("roomcast.yaml", []byte(probe), lookupTestEnv)
		m := keyList.FindStringSubmatch(fmt.Sprint(err))
		if m == nil {
			t.Errorf("%s: the probe did not list the keys: %v", section, err)
			continue
		}
		for _, key := range strings.Split(m[1], ", ") {
			shown := regexp.MustCompile(`(^|[\s#{,-])` + regexp.QuoteMeta(key) + `:`)
			if !shown.Match(example) {
				t.Errorf("%s: examples/roomcast.yaml does not show %s", section, key)
			}
		}
	}
}
