package memory

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// A room set, through a random mix of adds, replacements and removals,
// always holds what a map would: each sid once, with its latest
// recipient, and an index that agrees with the list (none for a room of
// one or none).
func TestRoomSetMatchesAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s roomSet
	want := map[string]*recorder{}
	for step := range 5000 {
		sid := fmt.Sprint("s", rng.IntN(12))
		if rng.IntN(3) == 0 {
			s.remove(sid)
			delete(want, sid)
		} else {
			r := &recorder{id: sid}
			s.add(sid, r)
			want[sid] = r
		}
		if s.len() != len(want) {
			t.Fatalf("step %d: %d members, want %d", step, s.len(), len(want))
		}
		for i, m := range s.list {
			if want[m.sid] != m.r {
				t.Fatalf("step %d: %s has recipient %p, want %p", step, m.sid, m.r, want[m.sid])
			}
			if s.index != nil && s.index[m.sid] != i {
				t.Fatalf("step %d: index says %s is at %d, it is at %d", step, m.sid, s.index[m.sid], i)
			}
		}
		if (s.index == nil) != (s.len() <= 1) {
			t.Fatalf("step %d: index %v for %d members, want one exactly when there are two or more", step, s.index, s.len())
		}
		if s.index != nil && len(s.index) != s.len() {
			t.Fatalf("step %d: index of %d for %d members", step, len(s.index), s.len())
		}
	}
}
