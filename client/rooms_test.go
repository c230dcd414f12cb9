package client_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/roomcast/roomcast/client"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
)

func TestJoinAndLeaveReportRooms(t *testing.T) {
	srv := testkit.Start(t, nil)
	s, _ := connect(t, srv, "/")
	join(t, s, "b", "a")
	want := []string{"a", "b", s.ID()}
	slices.Sort(want)
	if got := s.Rooms(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after join: rooms %v, want %v", got, want)
	}
	server := srv.Of("/").Socket(s.ID()).Rooms()
	slices.Sort(server)
	if !reflect.DeepEqual(server, want) {
		t.Fatalf("the server has rooms %v, want %v", server, want)
	}
	if err := s.Leave(ctxFor(t), "a"); err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(r string) bool { return r == "a" })
	if got := s.Rooms(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after leave: rooms %v, want %v", got, want)
	}
}

func TestJoinRefusalIsReplyError(t *testing.T) {
	srv := testkit.Start(t, nil)
	s, _ := connect(t, srv, "/")
	err := s.Join(ctxFor(t), "")
	var re *client.ReplyError
	if !errors.As(err, &re) || re.Code != server.CodeInvalidArgument {
		t.Fatalf("join of an empty room: got %v, want a %s reply error", err, server.CodeInvalidArgument)
	}
	if got := s.Rooms(); !reflect.DeepEqual(got, []string{s.ID()}) {
		t.Fatalf("a refused join changed rooms to %v", got)
	}
}

func TestFramesNeedAConnectedSocket(t *testing.T) {
	srv := testkit.Start(t, nil)
	s := dial(t, srv).Socket("/")
	if err := s.Join(ctxFor(t), "a"); !errors.Is(err, client.ErrNotConnected) {
		t.Fatalf("join: got %v, want ErrNotConnected", err)
	}
	if err := s.Emit(ctxFor(t), "x", nil); !errors.Is(err, client.ErrNotConnected) {
		t.Fatalf("emit: got %v, want ErrNotConnected", err)
	}
}
