package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/policy"
)

func TestE2EPermissionsClaim(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{Auth: mustJWT(t, policy.JWTConfig{Secret: secret}), Access: policy.Access{PermissionsClaim: "perms"}}
		p.Apply(srv.Of("/secure"))
	})
	listener := srv.Open(t)
	mustConnect(t, listener, "/secure", hs256(t, claims()))
	speaker := srv.Open(t)
	mustConnect(t, speaker, "/secure", hs256(t, claims("perms", "emit broadcast")))
	emitter := srv.Open(t)
	mustConnect(t, emitter, "/secure", hs256(t, claims("perms", []string{"emit"})))

	// A token with neither permission may only listen.
	listener.Send(emitFrame(1, "/secure", "msg", "x", false))
	wantReply(t, listener, 1, server.CodePermissionDenied, policy.CodeEmitNotAllowed)
	listener.Send(emitFrame(2, "/secure", "msg", "x", true))
	wantReply(t, listener, 2, server.CodePermissionDenied, policy.CodeBroadcastNotAllowed)

	emitter.Send(emitFrame(3, "/secure", "msg", "x", true))
	wantReply(t, emitter, 3, server.CodePermissionDenied, policy.CodeBroadcastNotAllowed)

	// Nothing of the refused frames was delivered; what the speaker says is.
	speaker.Send(emitFrame(4, "/secure", "msg", "from speaker", true))
	wantReply(t, speaker, 4, "", "")
	for _, st := range []*testkit.Stream{listener, emitter} {
		if ev := st.Event(); ev.Event != "msg" || ev.Data.GetStringValue() != "from speaker" {
			t.Fatalf("got %v", ev)
		}
	}
	emitter.Send(emitFrame(5, "/secure", "msg", "from emitter", false))
	if r := nextReply(t, emitter); r.Ref != 5 || r.Error != nil {
		t.Fatalf("emit: %v", r)
	}
	if ev := listener.Event(); ev.Data.GetStringValue() != "from emitter" {
		t.Fatalf("got %v", ev)
	}
}

func TestE2EEventAllowDeny(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{Events: policy.Events{Allow: []string{"chat.*", "ping"}, Deny: []string{"chat.admin*"}}}
		p.Apply(srv.Of("/secure"))
	})
	st := srv.Open(t)
	mustConnect(t, st, "/secure", "")
	for i, tc := range []struct {
		event string
		ok    bool
	}{
		{"chat.message", true},
		{"ping", true},
		{"chat.admin", false},
		{"chat.administer", false},
		{"pong", false},
		{"chat", false},
	} {
		ref := uint64(i + 1)
		st.Send(emitFrame(ref, "/secure", tc.event, nil, true))
		if tc.ok {
			wantReply(t, st, ref, "", "")
		} else {
			wantReply(t, st, ref, server.CodePermissionDenied, policy.CodeEventNotAllowed)
		}
	}
}

func TestE2EPayloadLimit(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{Limits: policy.Limits{MaxPayloadBytes: 64}}
		p.Apply(srv.Of("/secure"))
	})
	st := srv.Open(t)
	mustConnect(t, st, "/secure", "")
	st.Send(emitFrame(1, "/secure", "msg", strings.Repeat("x", 40), true))
	wantReply(t, st, 1, "", "")
	st.Send(emitFrame(2, "/secure", "msg", strings.Repeat("x", 100), true))
	r := wantReply(t, st, 2, server.CodeResourceExhausted, policy.CodePayloadTooLarge)
	if limit := r.Error.Data.GetStructValue().GetFields()["limit"].GetNumberValue(); limit != 64 {
		t.Fatalf("limit in data = %v", limit)
	}
	// Binary counts too.
	f := emitFrame(3, "/secure", "msg", nil, true)
	f.GetBroadcast().Binary = make([]byte, 65)
	st.Send(f)
	wantReply(t, st, 3, server.CodeResourceExhausted, policy.CodePayloadTooLarge)
	st.NoFrame(50 * time.Millisecond)
}
