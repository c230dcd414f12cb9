package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// chatUser is one `roomcast chat` running against a test server.
type chatUser struct {
	t     *testing.T
	name  string
	stdin *io.PipeWriter
	out   *syncBuffer
	done  chan error
}

func startChat(t *testing.T, srv *testkit.Server, args ...string) *chatUser {
	t.Helper()
	stdin, stdinW := io.Pipe()
	u := &chatUser{t: t, stdin: stdinW, out: &syncBuffer{}, done: make(chan error, 1)}
	for i, a := range args {
		if a == "--name" && i+1 < len(args) {
			u.name = args[i+1]
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	go func() {
		u.done <- runChat(ctx, append([]string{"--addr", srv.Addr}, args...), stdin, u.out, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		stdinW.Close()
		select {
		case <-u.done:
		case <-time.After(testkit.Timeout):
			t.Errorf("%s's chat did not end", u.name)
		}
		if t.Failed() {
			t.Logf("%s's output:\n%s\nstderr:\n%s", u.name, u.out.String(), stderr.String())
		}
	})
	return u
}

// say types a line.
func (u *chatUser) say(line string) {
	u.t.Helper()
	if _, err := io.WriteString(u.stdin, line+"\n"); err != nil {
		u.t.Fatalf("%s types %q: %v", u.name, line, err)
	}
}

// waitFor waits until the output has a line equal to want.
func (u *chatUser) waitFor(want string) {
	u.t.Helper()
	deadline := time.Now().Add(testkit.Timeout)
	for time.Now().Before(deadline) {
		if u.hasLine(want) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	u.t.Fatalf("%s never printed %q; output:\n%s", u.name, want, u.out.String())
}

// waitForCount waits until the output has a line equal to want n times.
func (u *chatUser) waitForCount(want string, n int) {
	u.t.Helper()
	deadline := time.Now().Add(testkit.Timeout)
	for time.Now().Before(deadline) {
		if u.count(want) >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	u.t.Fatalf("%s printed %q %d times, want %d; output:\n%s", u.name, want, u.count(want), n, u.out.String())
}

func (u *chatUser) hasLine(want string) bool { return u.count(want) > 0 }

func (u *chatUser) count(want string) int {
	n := 0
	for _, line := range strings.Split(u.out.String(), "\n") {
		if line == want {
			n++
		}
	}
	return n
}

// exit waits for the chat to end and returns its error.
func (u *chatUser) exit() error {
	u.t.Helper()
	select {
	case err := <-u.done:
		u.done <- err // for the cleanup
		return err
	case <-time.After(testkit.Timeout):
		u.t.Fatalf("%s's chat did not end; output:\n%s", u.name, u.out.String())
		return nil
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestChatBetweenTwoUsers(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice := startChat(t, srv, "--name", "alice")
	bob := startChat(t, srv, "--name", "bob")
	alice.waitFor("* joined general")
	bob.waitFor("* joined general")

	alice.say("hello bob")
	bob.waitFor("alice: hello bob")
	bob.say("hi alice")
	alice.waitFor("bob: hi alice")
	if alice.hasLine("alice: hello bob") {
		t.Fatal("a broadcast line came back to its sender")
	}

	bob.say("/who")
	bob.waitFor("* rooms: general")

	// /join moves where lines go.
	bob.say("/join random")
	bob.waitFor("* joined random")
	bob.say("/who")
	bob.waitFor("* rooms: general, random")
	alice.say("/join random")
	alice.waitFor("* joined random")
	alice.say("in random")
	bob.waitFor("alice: in random")

	// After /leave general, bob no longer hears general.
	bob.say("/leave general")
	bob.waitFor("* left general")
	bob.say("/who")
	bob.waitFor("* rooms: random")
	alice.say("/join general")
	alice.waitForCount("* joined general", 2)
	alice.say("to general")
	alice.say("/join random")
	alice.waitForCount("* joined random", 2)
	alice.say("back in random")
	bob.waitFor("alice: back in random")
	if bob.hasLine("alice: to general") {
		t.Fatal("bob heard general after leaving it")
	}

	// Leaving the current room falls back to a room bob is still in.
	bob.say("/join lobby")
	bob.waitFor("* joined lobby")
	bob.say("/leave lobby")
	bob.waitFor("* now talking to random")
	bob.say("still in random")
	alice.waitFor("bob: still in random")

	// Leaving the last room talks to the whole namespace.
	bob.say("/leave")
	bob.waitFor("* left random")
	bob.waitFor("* now talking to everyone in /")
	bob.say("/who")
	bob.waitFor("* rooms: (none)")
	bob.say("to everyone")
	alice.waitFor("bob: to everyone")

	alice.say("/quit")
	if err := alice.exit(); err != nil {
		t.Fatalf("/quit: %v", err)
	}
	bob.stdin.Close() // EOF
	if err := bob.exit(); err != nil {
		t.Fatalf("EOF: %v", err)
	}
}

// A grpcurl user sends plain strings; the chat prints them after the
// sender's sid, and the grpcurl user sees the chat's messages.
func TestChatTalksWithRawStream(t *testing.T) {
	srv := testkit.Start(t, nil)
	raw := srv.Open(t)
	sid := raw.Connect("/")
	raw.Join("/", "general")
	carol := startChat(t, srv, "--name", "carol")
	carol.waitFor("* joined general")

	raw.SendJSON(`{"emit":{"namespace":"/","event":"chat message","data":"hello","rooms":["general"]}}`)
	carol.waitFor(sid + ": hello")
	// Another user's escape sequences and newlines never reach the terminal.
	raw.SendJSON(`{"emit":{"namespace":"/","event":"chat message","data":"clear\u001b[2J\nfake: line","rooms":["general"]}}`)
	carol.waitFor(sid + ": clear\ufffd[2J\ufffdfake: line")

	carol.say("hi grpcurl")
	events := raw.Events(3) // its own two emits, then carol's line
	got := events[2].Data.GetStructValue().AsMap()
	if events[2].Event != "chat message" || got["name"] != "carol" || got["text"] != "hi grpcurl" {
		t.Fatalf("the raw stream got %v", events[2])
	}
}

func TestChatPrintsRefusals(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		srv.Of("/").UseEvent(func(ctx context.Context, s *server.Socket, e *server.Event) error {
			for _, room := range e.Rooms {
				if room == "announcements" {
					return &server.Error{Code: server.CodePermissionDenied, Message: "announcements are read-only"}
				}
			}
			return nil
		})
	})
	dave := startChat(t, srv, "--name", "dave", "--room", "announcements")
	dave.waitFor("* joined announcements")
	dave.say("can I post?")
	dave.waitFor("! refused: announcements are read-only (PERMISSION_DENIED)")
	dave.say("/join ")
	dave.waitFor("! usage: /join ROOM")
	dave.say("/dance")
	dave.waitFor("! unknown command /dance; commands: /join ROOM, /leave [ROOM], /who, /quit; any other line is sent to the current room")
}

func TestChatConnectRefusalShowsMiddlewareData(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		srv.Of("/secret").Use(func(ctx context.Context, req *server.ConnectRequest) error {
			return &server.Error{Code: server.CodePermissionDenied, Message: "unauthorized",
				Data: map[string]any{"code": "NO_TOKEN"}}
		})
	})
	eve := startChat(t, srv, "--name", "eve", "--namespace", "/secret")
	err := eve.exit()
	if err == nil || !strings.Contains(err.Error(), "unauthorized") || !strings.Contains(err.Error(), "NO_TOKEN") {
		t.Fatalf("got %v, want the middleware's message and data", err)
	}
}

func TestChatEndsWhenKicked(t *testing.T) {
	srv := testkit.Start(t, nil)
	t.Setenv("ROOMCAST_NAME", "frank") // flags also come from the environment
	frank := startChat(t, srv)
	frank.waitFor("* joined general")
	if !strings.Contains(frank.out.String(), "* connected to / as frank (sid ") {
		t.Fatalf("ROOMCAST_NAME was ignored:\n%s", frank.out.String())
	}
	for _, s := range srv.Of("/").Sockets() {
		s.Disconnect("kicked by an admin")
	}
	err := frank.exit()
	if err == nil || !strings.Contains(err.Error(), "kicked by an admin") {
		t.Fatalf("got %v, want the server's reason", err)
	}
}
