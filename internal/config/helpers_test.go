package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secret32 is a secret long enough for HS256.
const secret32 = "0123456789abcdef0123456789abcdef"

// testEnv is the environment the loader sees in tests, so that tests need
// not change the process environment and can run in parallel.
var testEnv = map[string]string{
	"JWT_SECRET":  secret32,
	"SHORT":       "short",
	"EMPTY":       "",
	"ADMIN_TOKEN": "from-env",
}

func lookupTestEnv(name string) (string, bool) {
	v, ok := testEnv[name]
	return v, ok
}

// lines joins YAML lines, so that a test can count them.
func lines(l ...string) string { return strings.Join(l, "\n") + "\n" }

// load writes the configuration and the files beside it into a fresh
// directory, and loads it as roomcast.yaml.
func load(t *testing.T, config string, files map[string]string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "roomcast.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return parse(path, []byte(config), lookupTestEnv)
}

// mustLoad loads a configuration that must be valid.
func mustLoad(t *testing.T, config string, files map[string]string) *Config {
	t.Helper()
	cfg, err := load(t, config, files)
	if err != nil {
		t.Fatalf("load:\n%v", err)
	}
	return cfg
}

// wantError checks that err has a line "<dir>/roomcast.yaml:<line>: <key>: "
// whose message contains msg.
func wantError(t *testing.T, err error, line int, key, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("loaded; want an error at line %d, key %s: %s", line, key, msg)
	}
	var cfgErr *Error
	if !errors.As(err, &cfgErr) {
		t.Fatalf("error %T %v is not a *config.Error", err, err)
	}
	head := fmt.Sprintf("roomcast.yaml:%d: %s: ", line, key)
	if key == "" {
		head = fmt.Sprintf("roomcast.yaml:%d: ", line)
	}
	for _, l := range strings.Split(err.Error(), "\n") {
		_, rest, found := strings.Cut(l, string(filepath.Separator)+head)
		if found && strings.Contains(rest, msg) {
			return
		}
	}
	t.Fatalf("got\n%v\nwant a line with %q and %q", err, head, msg)
}

// writePEM encodes a key as a PEM file's content.
func writePEM(t *testing.T, blockType string, der []byte) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}))
}

func ecPublicPEM(t *testing.T, curve elliptic.Curve) (string, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, "PUBLIC KEY", der), key
}

func rsaPublicPEM(t *testing.T, bits int) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, "PUBLIC KEY", der)
}
