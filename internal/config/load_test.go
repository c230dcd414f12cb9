package config

import (
	"errors"
	"strings"
	"testing"
)

func asError(err error, target **Error) bool { return errors.As(err, target) }

// TestLoadMissingFile checks that a missing file is named, without
// repeating its path twice.
func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load("does-not-exist.yaml")
	if err == nil || err.Error() != "does-not-exist.yaml: no such file or directory" {
		t.Fatalf("got %v", err)
	}
}

// TestEmpty checks that an empty file (or one of comments) is the
// defaults: no settings, no namespaces.
func TestEmpty(t *testing.T) {
	t.Parallel()
	for _, config := range []string{"", "# only a comment\n", "---\n", "namespaces: []\n"} {
		cfg := mustLoad(t, config, nil)
		if len(cfg.Settings()) != 0 || len(cfg.Namespaces) != 0 {
			t.Errorf("%q: got settings %v and %d namespaces, want none", config, cfg.Settings(), len(cfg.Namespaces))
		}
	}
}

// TestSettings checks the server settings, and that Settings lists only
// those the file sets, spelt as their flags take them.
func TestSettings(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, lines(
		"grpc_addr: 127.0.0.1:50051",
		"http_addr: ':8080'",
		"log_format: json",
		"shutdown_timeout: 1m30s",
	), nil)
	got := cfg.Settings()
	want := map[string]string{
		"grpc_addr":        "127.0.0.1:50051",
		"http_addr":        ":8080",
		"log_format":       "json",
		"shutdown_timeout": "1m30s",
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
}

// TestAdminTokenSources checks the three ways to give the admin token; a
// token file may end with a line break.
func TestAdminTokenSources(t *testing.T) {
	t.Parallel()
	files := map[string]string{"admin.txt": "from-file\n"}
	for config, want := range map[string]string{
		"admin_token: inline\n":          "inline",
		"admin_token_file: admin.txt\n":  "from-file",
		"admin_token_env: ADMIN_TOKEN\n": "from-env",
	} {
		cfg := mustLoad(t, config, files)
		if cfg.AdminToken != want || cfg.Settings()["admin_token"] != want {
			t.Errorf("%q: got %q, want %q", config, cfg.AdminToken, want)
		}
	}
}

// TestAliases checks that YAML anchors and aliases work, so that
// namespaces can share a section.
func TestAliases(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, lines(
		"namespaces:",
		"  - name: /a",
		"    limits: &limits",
		"      events_per_second: 5",
		"  - name: /b",
		"    limits: *limits",
	), nil)
	if got := cfg.Namespaces[1].Policy.Limits.EventsPerSecond; got != 5 {
		t.Fatalf("got %v events per second through the alias, want 5", got)
	}
}

// TestErrorFormat checks the message shapes with and without a line and a
// key.
func TestErrorFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  Error
		want string
	}{
		{Error{File: "r.yaml", Line: 3, Key: "a.b", Msg: "bad"}, "r.yaml:3: a.b: bad"},
		{Error{File: "r.yaml", Line: 3, Msg: "bad"}, "r.yaml:3: bad"},
		{Error{File: "r.yaml", Msg: "bad"}, "r.yaml: bad"},
		{Error{File: "r.yaml", Key: "a", Msg: "bad"}, "r.yaml: a: bad"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	if !strings.HasPrefix(joinErrors([]*Error{{File: "f", Msg: "a"}, {File: "f", Msg: "b"}}).Error(), "f: a\nf: b") {
		t.Error("joined errors are not one per line")
	}
}
