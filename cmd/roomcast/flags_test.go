package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// -h prints the command's usage, which says how the environment (and for
// serve the configuration file) sets each flag, and is not a failure.
func TestHelpExitsZero(t *testing.T) {
	for _, tc := range []struct {
		command string
		want    []string
	}{
		{"serve", []string{"--admin-token is ROOMCAST_ADMIN_TOKEN", "--admin-token is admin_token", "-grpc-addr", "-config"}},
		{"chat", []string{"--addr is ROOMCAST_ADDR", "-token", "/join ROOM"}},
		{"bench", []string{"is ROOMCAST_", "-scenario"}},
		{"token", []string{"--secret-env is ROOMCAST_SECRET_ENV", "-claim KEY=VALUE", "-ttl"}},
	} {
		for _, flag := range []string{"-h", "--help"} {
			t.Run(tc.command+" "+flag, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				if code := run(context.Background(), []string{tc.command, flag}, nil, &stdout, &stderr); code != 0 {
					t.Fatalf("exit %d, want 0; stderr:\n%s", code, &stderr)
				}
				usage := stderr.String()
				want := append([]string{"usage: roomcast " + tc.command + " [flags]", "environment variable"}, tc.want...)
				for _, w := range want {
					if !strings.Contains(usage, w) {
						t.Errorf("usage lacks %q:\n%s", w, usage)
					}
				}
				if strings.Contains(usage, "help requested") {
					t.Errorf("help reads as an error:\n%s", usage)
				}
			})
		}
	}
}

// A bad ROOMCAST_* value names the flag it stands for and the form of
// value wanted, since no usage is printed for it.
func TestBadEnvironmentValueSaysWhatIsWanted(t *testing.T) {
	for _, tc := range []struct {
		command, env, value, want string
	}{
		{"serve", "ROOMCAST_SHUTDOWN_TIMEOUT", "abc", `ROOMCAST_SHUTDOWN_TIMEOUT="abc": want a duration such as 10s or 1m30s for --shutdown-timeout (how long a graceful shutdown may take)`},
		{"serve", "ROOMCAST_PPROF", "maybe", `ROOMCAST_PPROF="maybe": want true or false for --pprof`},
		{"bench", "ROOMCAST_SUBSCRIBERS", "many", `ROOMCAST_SUBSCRIBERS="many": want a whole number for --subscribers`},
		{"bench", "ROOMCAST_RATE", "fast", `ROOMCAST_RATE="fast": want a number for --rate`},
		{"bench", "ROOMCAST_SUBSCRIBERS", "99999999999999999999", `want a whole number for --subscribers (fanout: subscribers in the room): value out of range`},
		{"token", "ROOMCAST_CLAIM", "tenant", `ROOMCAST_CLAIM="tenant": --claim: want KEY=VALUE, got "tenant"`},
	} {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			var stderr bytes.Buffer
			if code := run(context.Background(), []string{tc.command}, nil, &bytes.Buffer{}, &stderr); code == 0 {
				t.Fatal("exit 0")
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr:\n%s\nwant %q", &stderr, tc.want)
			}
		})
	}
}

// An unknown --transport stops serve before it listens, naming the ones
// there are.
func TestServeRefusesUnknownTransport(t *testing.T) {
	var stderr bytes.Buffer
	args := []string{"serve", "--transport", "quic", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}
	if code := run(context.Background(), args, nil, &bytes.Buffer{}, &stderr); code == 0 {
		t.Fatal("exit 0")
	}
	if want := `transport "quic": want roomcast or grpc-go`; !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr:\n%s\nwant %q", &stderr, want)
	}
}

// A --redis-url that cannot be read stops serve with the reason, and
// without the URL's password; a Redis Cluster's URL is read as one.
func TestServeRefusesABadRedisURL(t *testing.T) {
	for url, want := range map[string]string{
		"redis+cluster://u:hunter2@127.0.0.1:70x0": "redis url: ",
		"redis+cluster://127.0.0.1:7000/5":         "a Redis Cluster has no databases",
		"redis://u:hunter2@127.0.0.1:six/0":        "redis url: ",
	} {
		var stderr bytes.Buffer
		args := []string{"serve", "--adapter", "redis", "--redis-url", url, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}
		if code := run(context.Background(), args, nil, &bytes.Buffer{}, &stderr); code == 0 {
			t.Fatalf("%s: exit 0", url)
		}
		if !strings.Contains(stderr.String(), want) || strings.Contains(stderr.String(), "hunter2") {
			t.Errorf("%s: stderr:\n%s\nwant %q and no password", url, &stderr, want)
		}
	}
}
