package policy_test

import (
	"slices"
	"testing"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/policy"
)

// roomsOf returns the socket's rooms besides its own, sorted.
func roomsOf(srv *testkit.Server, namespace, sid string) []string {
	var out []string
	for _, r := range srv.Of(namespace).Socket(sid).Rooms() {
		if r != sid {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

func wantRooms(t *testing.T, srv *testkit.Server, namespace, sid string, want ...string) {
	t.Helper()
	if got := roomsOf(srv, namespace, sid); !slices.Equal(got, want) {
		t.Fatalf("rooms = %v, want %v", got, want)
	}
}

func TestE2ERoomGlobs(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{
			Auth:   mustJWT(t, policy.JWTConfig{Secret: secret}),
			Access: policy.Access{RoomsClaim: "rooms"},
			Rooms:  policy.Rooms{Join: []string{"team-*", "lobby"}},
		}
		p.Apply(srv.Of("/secure"))
	})
	st := srv.Open(t)
	// The claim narrows the policy's globs: team-red only, and lobby.
	sid := mustConnect(t, st, "/secure", hs256(t, claims("rooms", []string{"team-red", "lobby", "staff"})))

	st.Send(roomsFrame(1, "/secure", true, "team-red"))
	wantReply(t, st, 1, "", "")
	st.Send(roomsFrame(2, "/secure", true, "team-blue")) // the policy allows it, the claim does not
	wantReply(t, st, 2, server.CodePermissionDenied, policy.CodeRoomNotAllowed)
	st.Send(roomsFrame(3, "/secure", true, "staff")) // the claim allows it, the policy does not
	wantReply(t, st, 3, server.CodePermissionDenied, policy.CodeRoomNotAllowed)

	// One forbidden room refuses the whole frame: nothing changes.
	st.Send(roomsFrame(4, "/secure", true, "lobby", "team-blue"))
	r := wantReply(t, st, 4, server.CodePermissionDenied, policy.CodeRoomNotAllowed)
	if room := r.Error.Data.GetStructValue().GetFields()["room"].GetStringValue(); room != "team-blue" {
		t.Fatalf("refusal names room %q", room)
	}
	wantRooms(t, srv, "/secure", sid, "team-red")

	// Leaving is always allowed: it only narrows what the socket hears.
	st.Send(roomsFrame(5, "/secure", false, "team-red", "never-joined"))
	wantReply(t, st, 5, "", "")
	wantRooms(t, srv, "/secure", sid)
}

func TestE2ERoomsClaimMissingGrantsNoRoom(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{Auth: mustJWT(t, policy.JWTConfig{Secret: secret}), Access: policy.Access{RoomsClaim: "rooms"}}
		p.Apply(srv.Of("/secure"))
	})
	st := srv.Open(t)
	mustConnect(t, st, "/secure", hs256(t, claims()))
	st.Send(roomsFrame(1, "/secure", true, "lobby"))
	wantReply(t, st, 1, server.CodePermissionDenied, policy.CodeRoomNotAllowed)
}

func TestE2EServerOnlyRooms(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{Rooms: policy.Rooms{ServerOnly: true}}
		p.Apply(srv.Of("/secure"))
	})
	st := srv.Open(t)
	sid := mustConnect(t, st, "/secure", "")
	st.Send(roomsFrame(1, "/secure", true, "news"))
	wantReply(t, st, 1, server.CodePermissionDenied, policy.CodeRoomsServerOnly)

	// Server code still moves sockets, and the client hears the room.
	if err := srv.Of("/secure").Socket(sid).Join("news"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Of("/secure").To("news").Emit("headline", "hi"); err != nil {
		t.Fatal(err)
	}
	if ev := st.Event(); ev.Event != "headline" {
		t.Fatalf("got %v", ev)
	}
	st.Send(roomsFrame(2, "/secure", false, "news"))
	wantReply(t, st, 2, server.CodePermissionDenied, policy.CodeRoomsServerOnly)
	wantRooms(t, srv, "/secure", sid, "news")
}

func TestE2EMaxRoomsPerSocket(t *testing.T) {
	srv := testkit.Start(t, func(srv *server.Server) {
		p := &policy.Policy{Rooms: policy.Rooms{MaxPerSocket: 2}}
		p.Apply(srv.Of("/secure"))
	})
	st := srv.Open(t)
	sid := mustConnect(t, st, "/secure", "")
	st.Send(roomsFrame(1, "/secure", true, "a", "b"))
	wantReply(t, st, 1, "", "")
	st.Send(roomsFrame(2, "/secure", true, "c"))
	wantReply(t, st, 2, server.CodeResourceExhausted, policy.CodeTooManyRooms)
	st.Send(roomsFrame(3, "/secure", true, "a", "b")) // already in them: no growth
	wantReply(t, st, 3, "", "")
	st.Send(roomsFrame(4, "/secure", true, "c", "c", "a"))
	wantReply(t, st, 4, server.CodeResourceExhausted, policy.CodeTooManyRooms)
	wantRooms(t, srv, "/secure", sid, "a", "b")

	st.Send(roomsFrame(5, "/secure", false, "a"))
	wantReply(t, st, 5, "", "")
	st.Send(roomsFrame(6, "/secure", true, "c", "c"))
	wantReply(t, st, 6, "", "")
	wantRooms(t, srv, "/secure", sid, "b", "c")
}
