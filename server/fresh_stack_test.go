package server

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestOnFreshStackWaitsAndRaisesPanics(t *testing.T) {
	ran := false
	onFreshStack(func() { ran = true })
	if !ran {
		t.Fatal("f had not run when onFreshStack returned")
	}

	defer func() {
		p := fmt.Sprint(recover())
		// The value names the panic and where it happened, which the
		// caller's own stack no longer shows.
		if !strings.Contains(p, "boom") || !strings.Contains(p, "panickingConnect") {
			t.Fatalf("raised %q, want the panic and f's stack", p)
		}
	}()
	onFreshStack(panickingConnect)
	t.Fatal("onFreshStack returned after a panic")
}

func panickingConnect() { panic("boom") }

func TestOnFreshStackRaisesGoexit(t *testing.T) {
	defer func() {
		if p := fmt.Sprint(recover()); !strings.Contains(p, "Goexit") {
			t.Fatalf("raised %q, want a panic about Goexit", p)
		}
	}()
	onFreshStack(runtime.Goexit)
	t.Fatal("onFreshStack returned after a Goexit")
}
