package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestReadmeGrpcurlChat drives the real grpcurl binary through the README's
// chat, frame for frame, against `roomcast serve`, so that the README
// cannot drift from the server.
func TestReadmeGrpcurlChat(t *testing.T) {
	readme := readFile(t, "../../README.md")
	grpcurl := goTool(t, "grpcurl")
	addr, _ := startServe(t)

	connectCmd := findLine(t, readme, "grpcurl -plaintext -d @ ")
	listCmd := findLine(t, readme, "grpcurl -plaintext localhost:50051 list")

	list := runGrpcurl(t, grpcurl, listCmd, addr)
	for _, service := range []string{"roomcast.v1.ChatService", "grpc.health.v1.Health"} {
		if !strings.Contains(list, service) {
			t.Fatalf("grpcurl list printed %q, want %s in it", list, service)
		}
	}

	alice := startGrpcurl(t, grpcurl, connectCmd, addr)
	alice.send(frames(t, readme, "alice"))
	aliceSID := alice.next(t)["connected"].(map[string]any)["sid"].(string)

	bob := startGrpcurl(t, grpcurl, connectCmd, addr)
	bob.send(frames(t, readme, "bob"))
	bobSID := bob.next(t)["connected"].(map[string]any)["sid"].(string)
	if aliceSID == bobSID {
		t.Fatalf("alice and bob share sid %s", aliceSID)
	}
	for _, who := range []*grpcurlSession{alice, bob} {
		expectEvent(t, who.nextEvent(t), "hello", bobSID)
	}

	bob.send(frames(t, readme, "bob-broadcast"))
	expectEvent(t, alice.nextEvent(t), "only alice sees this", bobSID)
	expectEvent(t, alice.nextEvent(t), "to everyone in /", bobSID)
	// Had the broadcast reached its sender, it would come first.
	expectEvent(t, bob.nextEvent(t), "to everyone in /", bobSID)

	alice.close(t)
	bob.close(t)
}

func expectEvent(t *testing.T, frame map[string]any, data, from string) {
	t.Helper()
	event := frame
	if event["event"] != "chat message" || event["data"] != data || event["fromSid"] != from || event["namespace"] != "/" {
		t.Fatalf("got event %v, want chat message %q from %s", event, data, from)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// goTool returns the path of a tool pinned in go.mod, building it if needed.
func goTool(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "tool", "-n", name).Output()
	if err != nil {
		t.Fatalf("go tool -n %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// startServe runs `roomcast serve` on random loopback ports and returns
// its gRPC and HTTP addresses, read from its start-up log line.
func startServe(t *testing.T, flags ...string) (grpcAddr, httpAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logR, logW := io.Pipe()
	done := make(chan int)
	go func() {
		args := append([]string{"serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, flags...)
		done <- run(ctx, args, nil, io.Discard, logW)
		logW.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("roomcast serve exited with %d", code)
		}
	})
	lines := bufio.NewScanner(logR)
	addrPattern := regexp.MustCompile(`grpc_addr=(\S+) http_addr=(\S+)`)
	for lines.Scan() {
		if m := addrPattern.FindStringSubmatch(lines.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, logR) }()
			return m[1], m[2]
		}
	}
	t.Fatal("roomcast serve ended without logging its addresses")
	return "", ""
}

// findLine returns the README line that starts with prefix.
func findLine(t *testing.T, readme, prefix string) string {
	t.Helper()
	for _, line := range strings.Split(readme, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	t.Fatalf("README has no line starting with %q", prefix)
	return ""
}

// frames returns the lines of the code block after <!-- frames: name -->.
func frames(t *testing.T, readme, name string) []string {
	t.Helper()
	return markedBlock(t, readme, "<!-- frames: "+name+" -->", "json")
}

// markedBlock returns the lines of the first code block of that language
// after the marker.
func markedBlock(t *testing.T, readme, marker, language string) []string {
	t.Helper()
	i := strings.Index(readme, marker)
	if i < 0 {
		t.Fatalf("README has no %s", marker)
	}
	rest := readme[i+len(marker):]
	fence := "```" + language + "\n"
	start := strings.Index(rest, fence)
	if start < 0 {
		t.Fatalf("no %s block after %s", language, marker)
	}
	body := rest[start+len(fence):]
	end := strings.Index(body, "```")
	if end < 0 {
		t.Fatalf("unterminated %s block after %s", language, marker)
	}
	return strings.Split(strings.TrimSpace(body[:end]), "\n")
}

// grpcurlArgs turns a README command line into arguments for our address.
func grpcurlArgs(line, addr string) []string {
	fields := strings.Fields(strings.Replace(line, "localhost:50051", addr, 1))
	return fields[1:]
}

func runGrpcurl(t *testing.T, grpcurl, line, addr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, grpcurl, grpcurlArgs(line, addr)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	return string(out)
}

type grpcurlSession struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	frames chan map[string]any
	stderr *lockedBuffer
	// pending holds the events of a batch not yet read.
	pending []map[string]any
}

func startGrpcurl(t *testing.T, grpcurl, line, addr string) *grpcurlSession {
	t.Helper()
	cmd := exec.Command(grpcurl, grpcurlArgs(line, addr)...)
	s := &grpcurlSession{cmd: cmd, frames: make(chan map[string]any, 64), stderr: &lockedBuffer{}}
	var err error
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		defer close(s.frames)
		dec := json.NewDecoder(stdout)
		for {
			var frame map[string]any
			if err := dec.Decode(&frame); err != nil {
				return
			}
			s.frames <- frame
		}
	}()
	return s
}

// send types frames as a user would, one per line.
func (s *grpcurlSession) send(lines []string) {
	for _, line := range lines {
		_, _ = io.WriteString(s.stdin, line+"\n")
	}
}

func (s *grpcurlSession) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case f, ok := <-s.frames:
		if !ok {
			t.Fatalf("grpcurl ended: %s", s.stderr.String())
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatalf("grpcurl printed no frame in time; stderr: %s", s.stderr.String())
	}
	return nil
}

// close ends the session as a user does with Ctrl-D: grpcurl half-closes
// the stream and exits once the server ends it.
func (s *grpcurlSession) close(t *testing.T) {
	t.Helper()
	s.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("grpcurl exited with %v: %s", err, s.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("grpcurl did not exit after its input ended")
	}
}

// lockedBuffer collects a process's stderr while the test may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// nextEvent returns the next event, whether it came alone (`event`) or
// packed with others in one frame (`events`).
func (s *grpcurlSession) nextEvent(t *testing.T) map[string]any {
	t.Helper()
	if len(s.pending) == 0 {
		frame := s.next(t)
		if event, ok := frame["event"].(map[string]any); ok {
			return event
		}
		batch, ok := frame["events"].(map[string]any)
		if !ok {
			t.Fatalf("got %v, want an event", frame)
		}
		for _, e := range batch["events"].([]any) {
			s.pending = append(s.pending, e.(map[string]any))
		}
	}
	event := s.pending[0]
	s.pending = s.pending[1:]
	return event
}
