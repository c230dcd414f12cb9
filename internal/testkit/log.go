package testkit

import (
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/roomcast/roomcast/server"
)

// Log is a server's log kept for a test to read: what the server says
// to operators is behaviour too (the reason for a refusal), and so is
// what it must never say (a token). Start's own logger shows only
// warnings; a Log keeps every level from Info up.
type Log struct {
	t  testing.TB
	mu sync.Mutex
	b  strings.Builder
}

// CaptureLog returns a Log and the option that makes a server write to
// it; pass the option to Start or StartInProcess. Each record also goes
// to t.Log, so a failing test shows it.
func CaptureLog(t testing.TB) (*Log, server.Option) {
	l := &Log{t: t}
	logger := slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return l, server.WithLogger(logger)
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.b.Write(p)
	l.mu.Unlock()
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// String returns everything logged so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Lines returns the records logged so far that contain every one of
// parts.
func (l *Log) Lines(parts ...string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		matches := line != ""
		for _, p := range parts {
			matches = matches && strings.Contains(line, p)
		}
		if matches {
			out = append(out, line)
		}
	}
	return out
}
