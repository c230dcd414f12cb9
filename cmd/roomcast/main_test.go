package main

import (
	"os"
	"path/filepath"
	"testing"
)

// runAsRoomcast makes the test binary behave as the roomcast command, so
// that a test can run documented shell commands (`go run ./cmd/roomcast
// ...`) against this very build without compiling the command again.
const runAsRoomcast = "RUN_AS_ROOMCAST"

func TestMain(m *testing.M) {
	if os.Getenv(runAsRoomcast) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// roomcastShim writes an executable into dir that runs this test binary
// as roomcast, and returns its path.
func roomcastShim(t *testing.T, dir string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "roomcast")
	script := "#!/bin/sh\n" + runAsRoomcast + "=1 exec " + shellQuote(self) + " \"$@\"\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// shellQuote quotes s for sh as one word.
func shellQuote(s string) string {
	out := "'"
	for _, r := range s {
		if r == '\'' {
			out += `'\''`
		} else {
			out += string(r)
		}
	}
	return out + "'"
}
