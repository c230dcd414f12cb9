package e2e

import (
	"testing"

	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

func TestBroadcastToRoomSkipsSender(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, aliceSID := connected(t, srv, "/", "general")
	bob, _ := connected(t, srv, "/", "general")
	carol, _ := connected(t, srv, "/", "general", "other")
	dave, _ := connected(t, srv, "/", "other")

	alice.Send(broadcast(3, "/", "typing", "alice", "general"))
	wantEvent(t, bob, "/", "typing", "alice", aliceSID)
	wantEvent(t, carol, "/", "typing", "alice", aliceSID)
	wantReply(t, alice, 3, "")
	barrier(t, srv, "/", alice, bob, carol, dave)

	// Without a ref: still never to the sender.
	alice.SendJSON(`{"broadcast":{"namespace":"/","event":"typing","data":"again","rooms":["general","other"]}}`)
	for _, st := range []*testkit.Stream{bob, carol, dave} {
		wantEvent(t, st, "/", "typing", "again", aliceSID)
	}
	barrier(t, srv, "/", alice, bob, carol, dave)
}

func TestBroadcastWithoutRoomsReachesEveryoneElse(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, aliceSID := connected(t, srv, "/")
	bob, _ := connected(t, srv, "/", "x")
	carol, _ := connected(t, srv, "/")

	alice.Send(broadcast(1, "/", "hello all", nil))
	wantEvent(t, bob, "/", "hello all", nil, aliceSID)
	wantEvent(t, carol, "/", "hello all", nil, aliceSID)
	wantReply(t, alice, 1, "")
	barrier(t, srv, "/", alice, bob, carol)
}

func TestBroadcastToOwnRoomOnlyReachesNobody(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, aliceSID := connected(t, srv, "/", "solo")
	bob, _ := connected(t, srv, "/", "other")

	alice.Send(broadcast(1, "/", "echo?", nil, "solo"))
	wantReply(t, alice, 1, "")
	alice.Send(broadcast(2, "/", "echo?", nil, aliceSID))
	wantReply(t, alice, 2, "")
	barrier(t, srv, "/", alice, bob)
}

func TestSocketBroadcastFromServerSkipsThatSocket(t *testing.T) {
	srv := testkit.Start(t, nil)
	alice, aliceSID := connected(t, srv, "/", "room")
	bob, _ := connected(t, srv, "/", "room")
	carol, _ := connected(t, srv, "/")

	s := srv.Of("/").Socket(aliceSID)
	if s == nil {
		t.Fatalf("socket %s not found", aliceSID)
	}
	// socket.to(room).emit: the room without the socket.
	if n, err := s.To("room").Emit("joined", "alice"); err != nil || n != 1 {
		t.Fatalf("To(room).Emit = %d, %v; want 1", n, err)
	}
	wantEvent(t, bob, "/", "joined", "alice", aliceSID)
	barrier(t, srv, "/", alice, bob, carol)

	// socket.broadcast.emit: the namespace without the socket.
	if n, err := s.Broadcast().Emit("left", "alice"); err != nil || n != 2 {
		t.Fatalf("Broadcast().Emit = %d, %v; want 2", n, err)
	}
	wantEvent(t, bob, "/", "left", "alice", aliceSID)
	wantEvent(t, carol, "/", "left", "alice", aliceSID)
	barrier(t, srv, "/", alice, bob, carol)
}

func TestOnConnectionJoinsAndAnnounces(t *testing.T) {
	srv := testkit.Start(t, func(s *server.Server) {
		s.Of("/").OnConnection(func(sock *server.Socket) {
			if err := sock.Join("lobby"); err != nil {
				panic(err)
			}
			if err := sock.Emit("welcome", sock.ID()); err != nil {
				panic(err)
			}
			if _, err := sock.To("lobby").Emit("joined", sock.ID()); err != nil {
				panic(err)
			}
		})
	})
	alice := srv.Open(t)
	aliceSID := alice.Connect("/")
	wantEvent(t, alice, "/", "welcome", aliceSID, "")

	bob := srv.Open(t)
	bobSID := bob.Connect("/")
	wantEvent(t, bob, "/", "welcome", bobSID, "")
	wantEvent(t, alice, "/", "joined", bobSID, bobSID)

	// Both are in the lobby.
	bob.Send(emit(1, "/", "hi lobby", nil, "lobby"))
	wantEvent(t, alice, "/", "hi lobby", nil, bobSID)
	wantEvent(t, bob, "/", "hi lobby", nil, bobSID)
	wantReply(t, bob, 1, "")
	barrier(t, srv, "/", alice, bob)
}
