package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestReadmeSecuring runs the README's "Securing namespaces" walkthrough
// as written: each shell block goes to bash, in a scratch directory, with
// only these changes: `go run ./cmd/roomcast` is this test binary (the
// same main), grpcurl is the one pinned in go.mod, the server listens on
// free loopback ports, and examples/roomcast.yaml is found from here. What
// the README says the commands print, they must print.
func TestReadmeSecuring(t *testing.T) {
	for _, tool := range []string{"bash", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	readme := readFile(t, "../../README.md")
	section := readmeSection(t, readme, "## Securing namespaces")
	grpcurl := goTool(t, "grpcurl")
	example, err := filepath.Abs("../../examples/roomcast.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sh := &walkthrough{t: t, dir: dir, grpcurlDir: filepath.Dir(grpcurl), rewrite: []string{
		"go run ./cmd/roomcast", shellQuote(roomcastShim(t, dir)),
		"examples/roomcast.yaml", shellQuote(example),
	}}

	// 1. The secret and the server.
	server := sh.startServer(block(t, section, "<!-- sh: secure-serve -->", "sh"))
	sh.rewrite = append(sh.rewrite, "localhost:50051", server.grpcAddr)

	// 2. A token /secure accepts, and a session with it.
	frames := sh.run(block(t, section, "<!-- sh: secure-connect -->", "sh"))
	if len(frames) != 5 {
		t.Fatalf("grpcurl printed %d frames, want 5: %v", len(frames), frames)
	}
	connected := field(frames[0], "connected")
	sid, _ := connected["sid"].(string)
	if connected["namespace"] != "/secure" || sid == "" {
		t.Fatalf("first frame %v, want connected to /secure", frames[0])
	}
	joined := field(frames[1], "reply")
	rooms, _ := field(joined, "data")["rooms"].([]any)
	if joined["ref"] != "1" || joined["error"] != nil || len(rooms) != 2 || !slices.Contains(rooms, any(sid)) || !slices.Contains(rooms, any("team-red")) {
		t.Fatalf("reply to the join: %v, want %s and team-red", frames[1], sid)
	}
	event := field(frames[2], "event")
	if event["event"] != "chat:message" || event["data"] != "hello, team" || event["fromSid"] != sid {
		t.Fatalf("got %v, want alice's own chat:message", frames[2])
	}
	if emitted := field(frames[3], "reply"); emitted["ref"] != "2" || emitted["error"] != nil {
		t.Fatalf("reply to the emit: %v", frames[3])
	}
	refused := field(frames[4], "reply")
	if refused["ref"] != "3" || !reflect.DeepEqual(refused["error"], inlineJSON(t, section, `{"code":"PERMISSION_DENIED"`)) {
		t.Fatalf("reply to the second join: %v, want the refusal the README shows", frames[4])
	}

	// 3. A token without issuer and audience, refused with the README's
	// words, and the reason in the server's log.
	got := sh.run(block(t, section, "<!-- sh: secure-refused -->", "sh"))
	want := jsonObjects(t, []byte(block(t, section, "<!-- output: secure-refused -->", "json")))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("grpcurl printed %v\nwant, as the README shows, %v", got, want)
	}
	logLine := strings.TrimSpace(block(t, section, "<!-- log: secure-refused -->", ""))
	parts := strings.Split(logLine, " … ")
	deadline := time.Now().Add(10 * time.Second)
	for !server.logHas(parts...) {
		if time.Now().After(deadline) {
			t.Fatalf("the server's log has no line with %q:\n%s", parts, server.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if secret, err := os.ReadFile(filepath.Join(dir, "jwt-secret.txt")); err != nil || strings.Contains(server.log.String(), strings.TrimSpace(string(secret))) {
		t.Fatalf("the log holds the secret (or it is unreadable: %v)", err)
	}
}

// walkthrough runs README shell blocks in one scratch directory, as a
// reader would in their terminals.
type walkthrough struct {
	t          *testing.T
	dir        string
	grpcurlDir string
	rewrite    []string // old, new, ...: the only changes to the README's text
}

func (w *walkthrough) script(block string) string {
	return strings.NewReplacer(w.rewrite...).Replace(block)
}

func (w *walkthrough) command(ctx context.Context, script string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-e", "-c", script)
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "PATH="+w.grpcurlDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return cmd
}

// run runs a block to its end and returns the JSON objects it printed.
func (w *walkthrough) run(block string) []map[string]any {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := w.command(ctx, w.script(block))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		w.t.Fatalf("%s\n%v\nstdout:\n%s\nstderr:\n%s", block, err, &stdout, &stderr)
	}
	return jsonObjects(w.t, stdout.Bytes())
}

type readmeServer struct {
	grpcAddr string
	log      *lockedBuffer
}

// logHas reports whether one line of the log holds every part.
func (s *readmeServer) logHas(parts ...string) bool {
	for _, line := range strings.Split(s.log.String(), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// startServer runs a block whose last line starts the server, which
// takes bash's place (exec) so that the test can stop it with SIGTERM
// as Ctrl-C would, and returns once it serves.
func (w *walkthrough) startServer(block string) *readmeServer {
	w.t.Helper()
	lines := strings.Split(strings.TrimSpace(block), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "go run ./cmd/roomcast serve") {
		w.t.Fatalf("the block's last line does not start the server: %s", last)
	}
	lines[len(lines)-1] = strings.Replace(last, "go run ./cmd/roomcast serve", "exec go run ./cmd/roomcast serve", 1) +
		" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0"
	cmd := w.command(context.Background(), w.script(strings.Join(lines, "\n")))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	s := &readmeServer{log: &lockedBuffer{}}
	copied := make(chan struct{})
	var stop sync.Once
	w.t.Cleanup(func() {
		stop.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-copied
			if err := cmd.Wait(); err != nil {
				w.t.Errorf("roomcast serve ended with %v; log:\n%s", err, s.log.String())
			}
		})
	})
	logLines := bufio.NewScanner(stderr)
	addrs := regexp.MustCompile(`grpc_addr=(\S+) http_addr=`)
	for logLines.Scan() {
		line := logLines.Text()
		s.log.Write([]byte(line + "\n"))
		if m := addrs.FindStringSubmatch(line); m != nil {
			s.grpcAddr = m[1]
			go func() {
				defer close(copied)
				_, _ = io.Copy(s.log, stderr)
			}()
			return s
		}
	}
	close(copied)
	w.t.Fatalf("the server ended without serving:\n%s", s.log.String())
	return nil
}

// readmeSection returns the README from a heading to the next one of its
// level, so that markers are looked up where the walkthrough is.
func readmeSection(t *testing.T, readme, heading string) string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading)
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	rest := readme[i+1:]
	if end := strings.Index(rest[len(heading):], "\n## "); end >= 0 {
		return rest[:len(heading)+end+1]
	}
	return rest
}

// block returns the text of the code block after a marker.
func block(t *testing.T, readme, marker, language string) string {
	t.Helper()
	return strings.Join(markedBlock(t, readme, marker, language), "\n") + "\n"
}

// inlineJSON returns the JSON value the README shows inline, in
// backquotes, starting with prefix.
func inlineJSON(t *testing.T, text, prefix string) any {
	t.Helper()
	i := strings.Index(text, "`"+prefix)
	if i < 0 {
		t.Fatalf("README shows no `%s...`", prefix)
	}
	raw, _, _ := strings.Cut(text[i+1:], "`")
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("README's %s is not JSON: %v", raw, err)
	}
	return v
}

// jsonObjects reads a stream of JSON objects, as grpcurl prints frames.
func jsonObjects(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var v map[string]any
		if err := dec.Decode(&v); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("not a stream of JSON objects (%v):\n%s", err, b)
		}
		out = append(out, v)
	}
}

// field returns an object member that is an object, or nil.
func field(v map[string]any, name string) map[string]any {
	m, _ := v[name].(map[string]any)
	return m
}
