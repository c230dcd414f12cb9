package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestReadmeRESTAdmin runs the README's curl examples, as written, against
// `roomcast serve --admin-token s3cret` while a grpcurl client sits in the
// room they act on.
func TestReadmeRESTAdmin(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; .ci/run installs it")
	}
	readme := readFile(t, "../../README.md")
	grpcurl := goTool(t, "grpcurl")
	grpcAddr, httpAddr := startServe(t, "--admin-token", "s3cret")

	alice := startGrpcurl(t, grpcurl, findLine(t, readme, "grpcurl -plaintext -d @ "), grpcAddr)
	alice.send(frames(t, readme, "alice"))
	sid := alice.next(t)["connected"].(map[string]any)["sid"].(string)

	outputs := map[string]string{}
	for _, line := range markedBlock(t, readme, "<!-- curl: admin -->", "sh") {
		cmd := strings.Replace(line, "localhost:8080", httpAddr, 1) + " --fail-with-body"
		out, err := exec.Command("bash", "-c", cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		if !json.Valid(out) {
			t.Fatalf("%s printed no JSON: %s", line, out)
		}
		outputs[line] = string(out)
	}

	for line, out := range outputs {
		switch {
		case strings.Contains(line, "sockets?rooms=general") && !strings.Contains(out, sid):
			t.Errorf("%s did not list the grpcurl client %s: %s", line, sid, out)
		case strings.Contains(line, "/rooms") && !strings.Contains(out, `"general"`):
			t.Errorf("%s did not list room general: %s", line, out)
		case strings.HasSuffix(line, "/v1/stats") && !strings.Contains(out, `"clients"`):
			t.Errorf("%s printed no client count: %s", line, out)
		}
	}

	event := alice.nextEvent(t)
	if event["event"] != "chat message" || event["data"] != "hello from REST" {
		t.Fatalf("grpcurl client got %v, want the REST emit", event)
	}
	gone, ok := alice.next(t)["disconnected"].(map[string]any)
	if !ok || gone["reason"] != "maintenance" || gone["namespace"] != "/" {
		t.Fatalf("grpcurl client got %v, want disconnected for maintenance", gone)
	}
}
