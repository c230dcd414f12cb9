package policy

import (
	"encoding/json"
	"testing"
	"time"
)

func TestStrikesResetAfterAQuietPeriod(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := &socketState{resetAfter: time.Minute}
	for i, at := range []struct {
		after time.Duration
		want  int
	}{
		{0, 1},
		{59 * time.Second, 2}, // within a minute of the last strike
		{118 * time.Second, 3},
		{178 * time.Second, 1}, // a minute after the last: a fresh count
		{179 * time.Second, 2},
	} {
		if got := st.addStrike(t0.Add(at.after)); got != at.want {
			t.Fatalf("strike %d at +%v: count %d, want %d", i, at.after, got, at.want)
		}
	}

	never := &socketState{}
	for i := range 5 {
		if got := never.addStrike(t0.Add(time.Duration(i) * 24 * time.Hour)); got != i+1 {
			t.Fatalf("without a reset, strike %d a day apart: count %d", i+1, got)
		}
	}
}

// The admin API shows the count that the next strike would build on.
func TestStrikesShownAfterReset(t *testing.T) {
	st := &socketState{resetAfter: time.Millisecond}
	st.addStrike(time.Now().Add(-time.Second))
	b, err := json.Marshal(st)
	if err != nil || string(b) != `{"strikes":0}` {
		t.Fatalf("MarshalJSON = %s, %v; want no strikes once reset", b, err)
	}
	st = &socketState{resetAfter: time.Hour}
	st.addStrike(time.Now())
	if b, _ := json.Marshal(st); string(b) != `{"strikes":1}` {
		t.Fatalf("MarshalJSON = %s, want 1 strike", b)
	}
}
