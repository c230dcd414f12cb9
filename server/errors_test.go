package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

// A refusal's Cause is for the operator: the hub logs it with the refused
// connect and never puts it in a frame, also when the middleware's error
// is wrapped and has no code of its own.
func TestConnectRefusalCauseIsLoggedNotSent(t *testing.T) {
	cause := errors.New("audience is elsewhere")
	log, withLog := testkit.CaptureLog(t)
	srv := testkit.StartInProcess(t, func(s *server.Server) {
		s.Of("/coded").Use(func(context.Context, *server.ConnectRequest) error {
			return &server.Error{Code: server.CodeUnauthenticated, Message: "invalid token",
				Data: map[string]any{"code": "INVALID_TOKEN"}, Cause: cause}
		})
		s.Of("/wrapped").Use(func(context.Context, *server.ConnectRequest) error {
			return fmt.Errorf("checking: %w", &server.Error{Message: "invalid token", Cause: cause})
		})
	}, withLog)

	for _, tc := range []struct{ namespace, code string }{
		{"/coded", server.CodeUnauthenticated},
		{"/wrapped", server.CodePermissionDenied},
	} {
		st := srv.Open(t)
		st.SendJSON(`{"ref":5,"connect":{"namespace":"` + tc.namespace + `"}}`)
		refused := st.Next()
		reply := st.Reply()
		if ce := refused.GetConnectError(); ce == nil || ce.Message != "invalid token" {
			t.Fatalf("%s: got %v, want connect_error \"invalid token\"", tc.namespace, refused)
		}
		if reply.GetError().GetCode() != tc.code {
			t.Fatalf("%s: reply %v, want code %s", tc.namespace, reply, tc.code)
		}
		for _, frame := range []string{protojson.Format(refused), protojson.Format(reply)} {
			if strings.Contains(frame, "elsewhere") {
				t.Fatalf("%s: the cause reached the client: %s", tc.namespace, frame)
			}
		}
		testkit.Eventually(t, "the refusal's cause in the log", func() bool {
			return len(log.Lines("namespace connect refused", "namespace="+tc.namespace, `cause="audience is elsewhere"`)) == 1
		})
	}
}

func TestErrorUnwrapsToItsCause(t *testing.T) {
	cause := errors.New("signature is invalid")
	err := fmt.Errorf("middleware: %w", &server.Error{Code: server.CodeUnauthenticated, Message: "invalid token", Cause: cause})
	if !errors.Is(err, cause) {
		t.Fatal("errors.Is does not find the cause")
	}
	if strings.Contains(err.Error(), "signature") {
		t.Fatalf("Error() = %q: the cause is not part of the refusal's text", err)
	}
}
