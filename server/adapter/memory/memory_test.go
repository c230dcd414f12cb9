package memory

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/roomcast/roomcast/server/adapter"
)

// recorder is a Recipient that keeps what it is handed.
type recorder struct {
	id     string
	refuse atomic.Bool // Deliver reports false, as a socket with a full queue

	mu           sync.Mutex
	packets      []*adapter.Packet
	disconnected []string // reasons given to Disconnect
}

func newRecorder(id string) *recorder { return &recorder{id: id} }

func (r *recorder) ID() string { return r.id }

func (r *recorder) Deliver(p *adapter.Packet) bool {
	if r.refuse.Load() {
		return false
	}
	r.mu.Lock()
	r.packets = append(r.packets, p)
	r.mu.Unlock()
	return true
}

func (r *recorder) Info() adapter.SocketInfo { return adapter.SocketInfo{SID: r.id, Node: "test"} }

func (r *recorder) Disconnect(reason string) {
	r.mu.Lock()
	r.disconnected = append(r.disconnected, reason)
	r.mu.Unlock()
}

func (r *recorder) received() []*adapter.Packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.packets)
}

// sockets builds recorders and registers each in its own sid-room, as the
// namespace does.
func sockets(a *Adapter, ids ...string) map[string]*recorder {
	out := make(map[string]*recorder, len(ids))
	for _, id := range ids {
		r := newRecorder(id)
		a.AddAll(r, id)
		out[id] = r
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func assertStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("%s = %v, want %v", what, sorted(got), sorted(want))
	}
}

func TestAddAllRoomsAndSizes(t *testing.T) {
	a := New()
	rs := sockets(a, "s1", "s2")
	a.AddAll(rs["s1"], "general", "news")
	a.AddAll(rs["s2"], "general")
	a.AddAll(rs["s1"], "general") // joining twice changes nothing

	assertStrings(t, "Rooms(s1)", a.Rooms("s1"), []string{"s1", "general", "news"})
	assertStrings(t, "Rooms(s2)", a.Rooms("s2"), []string{"s2", "general"})
	if got := a.Rooms("nobody"); got != nil {
		t.Fatalf("Rooms of an unknown sid = %v, want nil", got)
	}
	want := map[string]int{"s1": 1, "s2": 1, "general": 2, "news": 1}
	if got := a.RoomSizes(); !maps.Equal(got, want) {
		t.Fatalf("RoomSizes = %v, want %v", got, want)
	}
}

func TestAddAllWithoutRoomsRegisters(t *testing.T) {
	a := New()
	a.AddAll(newRecorder("s1"))
	assertStrings(t, "Sockets(all)", a.Sockets(adapter.Targets{}), []string{"s1"})
	if got := a.Rooms("s1"); len(got) != 0 {
		t.Fatalf("Rooms = %v, want none", got)
	}
}

func TestSockets(t *testing.T) {
	a := New()
	rs := sockets(a, "s1", "s2", "s3", "s4")
	a.AddAll(rs["s1"], "a")
	a.AddAll(rs["s2"], "a", "b")
	a.AddAll(rs["s3"], "b")

	for _, tc := range []struct {
		name string
		t    adapter.Targets
		want []string
	}{
		{"namespace", adapter.Targets{}, []string{"s1", "s2", "s3", "s4"}},
		{"one room", adapter.Targets{Rooms: []string{"a"}}, []string{"s1", "s2"}},
		{"union once each", adapter.Targets{Rooms: []string{"a", "b", "a"}}, []string{"s1", "s2", "s3"}},
		{"except", adapter.Targets{Rooms: []string{"a", "b"}, Except: []string{"b"}}, []string{"s1"}},
		{"namespace except", adapter.Targets{Except: []string{"a", "s4"}}, []string{"s3"}},
		{"sid room", adapter.Targets{Rooms: []string{"s3"}}, []string{"s3"}},
		{"unknown room", adapter.Targets{Rooms: []string{"nowhere"}}, nil},
		{"unknown except", adapter.Targets{Rooms: []string{"b"}, Except: []string{"nowhere"}}, []string{"s2", "s3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertStrings(t, "Sockets", a.Sockets(tc.t), tc.want)
		})
	}
}

func TestDel(t *testing.T) {
	a := New()
	rs := sockets(a, "s1", "s2")
	a.AddAll(rs["s1"], "a", "b", "c")
	a.AddAll(rs["s2"], "a")

	a.Del("s1", "a", "c", "never-joined")
	assertStrings(t, "Rooms(s1)", a.Rooms("s1"), []string{"s1", "b"})
	assertStrings(t, "Sockets(a)", a.Sockets(adapter.Targets{Rooms: []string{"a"}}), []string{"s2"})

	a.Del("nobody", "a") // unknown sids are ignored
	assertStrings(t, "Sockets(a)", a.Sockets(adapter.Targets{Rooms: []string{"a"}}), []string{"s2"})

	// Leaving every room keeps the socket registered: only DelAll forgets it.
	a.Del("s1", "s1", "b")
	assertStrings(t, "Sockets(all)", a.Sockets(adapter.Targets{}), []string{"s1", "s2"})
}

func TestEmptyRoomsAreDeleted(t *testing.T) {
	a := New()
	rs := sockets(a, "s1", "s2")
	a.AddAll(rs["s1"], "a", "b")
	a.AddAll(rs["s2"], "b")

	a.Del("s1", "a")
	if _, ok := a.RoomSizes()["a"]; ok {
		t.Fatalf("room a is still listed after its last member left: %v", a.RoomSizes())
	}
	a.DelAll("s2")
	want := map[string]int{"s1": 1, "b": 1}
	if got := a.RoomSizes(); !maps.Equal(got, want) {
		t.Fatalf("RoomSizes = %v, want %v", got, want)
	}
	a.DelAll("s1")
	if got := a.RoomSizes(); len(got) != 0 {
		t.Fatalf("RoomSizes after everyone left = %v, want empty", got)
	}
	for i := range a.rooms {
		if n := len(a.rooms[i].m); n != 0 {
			t.Fatalf("room shard %d still holds %d rooms", i, n)
		}
		if n := len(a.members[i].m); n != 0 {
			t.Fatalf("member shard %d still holds %d sockets", i, n)
		}
	}
}

func TestDelAll(t *testing.T) {
	a := New()
	rs := sockets(a, "s1", "s2")
	a.AddAll(rs["s1"], "a", "b")
	a.AddAll(rs["s2"], "a")

	a.DelAll("s1")
	a.DelAll("s1")     // twice is harmless
	a.DelAll("nobody") // so is an unknown sid
	if got := a.Rooms("s1"); got != nil {
		t.Fatalf("Rooms(s1) after DelAll = %v, want nil", got)
	}
	assertStrings(t, "Sockets(all)", a.Sockets(adapter.Targets{}), []string{"s2"})
	assertStrings(t, "Sockets(a)", a.Sockets(adapter.Targets{Rooms: []string{"a"}}), []string{"s2"})

	p := &adapter.Packet{Event: []byte("x")}
	if n := a.Broadcast(p, adapter.Targets{Rooms: []string{"a", "b"}}); n != 1 {
		t.Fatalf("Broadcast after DelAll reached %d sockets, want 1", n)
	}
	if got := rs["s1"].received(); len(got) != 0 {
		t.Fatalf("a forgotten socket got %d packets", len(got))
	}
}

func TestBroadcast(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    adapter.Targets
		want []string
	}{
		{"namespace", adapter.Targets{}, []string{"s1", "s2", "s3", "s4"}},
		{"one room", adapter.Targets{Rooms: []string{"b"}}, []string{"s2", "s3"}},
		{"union", adapter.Targets{Rooms: []string{"a", "b"}}, []string{"s1", "s2", "s3"}},
		{"union except", adapter.Targets{Rooms: []string{"a", "b"}, Except: []string{"s2"}}, []string{"s1", "s3"}},
		{"namespace except rooms", adapter.Targets{Except: []string{"a", "b"}}, []string{"s4"}},
		{"one room except", adapter.Targets{Rooms: []string{"b"}, Except: []string{"a"}}, []string{"s3"}},
		{"nobody", adapter.Targets{Rooms: []string{"nowhere"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := New()
			rs := sockets(a, "s1", "s2", "s3", "s4")
			a.AddAll(rs["s1"], "a")
			a.AddAll(rs["s2"], "a", "b")
			a.AddAll(rs["s3"], "b")

			p := &adapter.Packet{Event: []byte("event"), Volatile: true}
			n := a.Broadcast(p, tc.t)
			if n != len(tc.want) {
				t.Fatalf("Broadcast reported %d sockets, want %d", n, len(tc.want))
			}
			for id, r := range rs {
				got := r.received()
				want := 0
				if slices.Contains(tc.want, id) {
					want = 1
				}
				if len(got) != want {
					t.Fatalf("%s got %d packets, want %d", id, len(got), want)
				}
				// The one encoding is shared, never copied.
				if want == 1 && got[0] != p {
					t.Fatalf("%s got a different packet", id)
				}
			}
		})
	}
}

func TestBroadcastCountsOnlyDelivered(t *testing.T) {
	a := New()
	rs := sockets(a, "s1", "s2", "s3")
	for _, r := range rs {
		a.AddAll(r, "room")
	}
	rs["s2"].refuse.Store(true)

	if n := a.Broadcast(&adapter.Packet{Event: []byte("x")}, adapter.Targets{Rooms: []string{"room"}}); n != 2 {
		t.Fatalf("Broadcast reported %d, want 2 (one recipient refused)", n)
	}
	// A refusal does not stop delivery to the others.
	for _, id := range []string{"s1", "s3"} {
		if got := len(rs[id].received()); got != 1 {
			t.Fatalf("%s got %d packets, want 1", id, got)
		}
	}
	if n := a.Broadcast(&adapter.Packet{Event: []byte("x")}, adapter.Targets{}); n != 2 {
		t.Fatalf("Broadcast to the namespace reported %d, want 2", n)
	}
}

// TestConcurrent mixes joins, leaves and broadcasts; run with -race. Every
// Broadcast's count must match what recipients actually got, and the index
// must be empty once everyone has left.
func TestConcurrent(t *testing.T) {
	a := New()
	const (
		workers     = 8
		perWorker   = 16
		rounds      = 200
		broadcaster = 4
	)
	rooms := []string{"r0", "r1", "r2", "r3", "r4"}

	var all []*recorder
	for w := range workers {
		for i := range perWorker {
			all = append(all, newRecorder(fmt.Sprintf("w%d-s%d", w, i)))
		}
	}

	var delivered atomic.Int64
	stop := make(chan struct{})
	var bwg sync.WaitGroup
	for b := range broadcaster {
		bwg.Add(1)
		go func() {
			defer bwg.Done()
			p := &adapter.Packet{Event: []byte{byte(b)}}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var tg adapter.Targets
				switch i % 4 {
				case 1:
					tg.Rooms = rooms[i%len(rooms) : i%len(rooms)+1]
				case 2:
					tg.Rooms = rooms[:3]
					tg.Except = rooms[3:]
				case 3:
					tg.Except = rooms[:1]
				}
				delivered.Add(int64(a.Broadcast(p, tg)))
				_ = a.RoomSizes()
				_ = a.Sockets(tg)
			}
		}()
	}

	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := all[w*perWorker : (w+1)*perWorker]
			for i := range rounds {
				r := mine[i%len(mine)]
				switch i % 3 {
				case 0:
					a.AddAll(r, r.id, rooms[i%len(rooms)], rooms[(i+2)%len(rooms)])
				case 1:
					a.Del(r.id, rooms[i%len(rooms)])
					_ = a.Rooms(r.id)
				case 2:
					a.DelAll(r.id)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	bwg.Wait()

	var got int64
	for _, r := range all {
		got += int64(len(r.received()))
	}
	if got != delivered.Load() {
		t.Fatalf("recipients got %d packets, Broadcast reported %d", got, delivered.Load())
	}
	for _, r := range all {
		a.DelAll(r.id)
	}
	if sizes := a.RoomSizes(); len(sizes) != 0 {
		t.Fatalf("RoomSizes after everyone left = %v", sizes)
	}
	if sids := a.Sockets(adapter.Targets{}); len(sids) != 0 {
		t.Fatalf("Sockets after everyone left = %v", sids)
	}
}

// leaver is a recipient whose Disconnect leaves the index, as a socket
// does: the adapter must not hold its locks when it calls Disconnect.
type leaver struct {
	*recorder
	a *Adapter
}

func (l leaver) Disconnect(reason string) {
	l.recorder.Disconnect(reason)
	l.a.DelAll(l.id)
}

func TestLocalRequests(t *testing.T) {
	ctx := t.Context()
	f := NewFactory()
	a := f.New("/").(*Adapter)
	rs := map[string]*recorder{}
	for _, id := range []string{"s1", "s2", "s3"} {
		rs[id] = newRecorder(id)
		a.AddAll(leaver{rs[id], a}, id)
	}
	a.AddAll(leaver{rs["s1"], a}, "a")
	a.AddAll(leaver{rs["s2"], a}, "a")

	infos, partial := a.FetchSockets(ctx, adapter.Targets{Rooms: []string{"a"}})
	if partial.Missing != nil || partial.Err != nil {
		t.Fatalf("one node reported a partial answer: %+v", partial)
	}
	var sids []string
	for _, info := range infos {
		sids = append(sids, info.SID)
		if want := []string{info.SID, "a"}; !slices.Equal(info.Rooms, sorted(want)) {
			t.Fatalf("%s: Rooms = %v, want %v", info.SID, info.Rooms, sorted(want))
		}
	}
	assertStrings(t, "FetchSockets(a)", sids, []string{"s1", "s2"})

	if n, _ := a.AddSockets(ctx, adapter.Targets{Rooms: []string{"a"}}, []string{"b"}); n != 2 {
		t.Fatalf("AddSockets reached %d, want 2", n)
	}
	assertStrings(t, "Sockets(b)", a.Sockets(adapter.Targets{Rooms: []string{"b"}}), []string{"s1", "s2"})
	if n, _ := a.DelSockets(ctx, adapter.Targets{Rooms: []string{"s2"}}, []string{"a", "b"}); n != 1 {
		t.Fatalf("DelSockets reached %d, want 1", n)
	}
	assertStrings(t, "Rooms(s2)", a.Rooms("s2"), []string{"s2"})

	sizes, _ := a.ClusterRoomSizes(ctx)
	if want := map[string]int{"s1": 1, "s2": 1, "s3": 1, "a": 1, "b": 1}; !maps.Equal(sizes, want) {
		t.Fatalf("ClusterRoomSizes = %v, want %v", sizes, want)
	}
	if got := f.LocalNamespaces(); got["/"] != 3 {
		t.Fatalf("LocalNamespaces = %v, want / with 3 sockets", got)
	}

	if n, _ := a.DisconnectSockets(ctx, adapter.Targets{Rooms: []string{"b"}}, "kicked"); n != 1 {
		t.Fatalf("DisconnectSockets reached %d, want 1", n)
	}
	rs["s1"].mu.Lock()
	reasons := slices.Clone(rs["s1"].disconnected)
	rs["s1"].mu.Unlock()
	if !slices.Equal(reasons, []string{"kicked"}) {
		t.Fatalf("s1 was disconnected with %v, want [kicked]", reasons)
	}
	assertStrings(t, "Sockets(all)", a.Sockets(adapter.Targets{}), []string{"s2", "s3"})
	if n := a.Size(); n != 2 {
		t.Fatalf("Size = %d, want 2", n)
	}
}
