package bench

import (
	"bufio"
	"strings"
	"testing"
	"time"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestPayloadCarriesTheSendTime(t *testing.T) {
	p := newPayload(100)
	now := time.Now().UnixNano()
	s := p.stamp(now)
	if len(s) != 100 {
		t.Fatalf("len %d", len(s))
	}
	if got, ok := sentAt(s); !ok || got != now {
		t.Errorf("sentAt = %d, %v; want %d", got, ok, now)
	}
	// A small time is zero-padded, so the width never changes.
	if got, ok := sentAt(p.stamp(42)); !ok || got != 42 {
		t.Errorf("sentAt(stamp(42)) = %d, %v", got, ok)
	}
	for _, bad := range []string{"", "123", "hello world, not a timestamp"} {
		if _, ok := sentAt(bad); ok {
			t.Errorf("sentAt(%q) ok", bad)
		}
	}
}

func TestRecorderPercentiles(t *testing.T) {
	r := newRecorder()
	now := time.Now().UnixNano()
	p := newPayload(32)
	var evs []*roomcastv1.Event
	for i := 1; i <= 100; i++ { // 1 ms .. 100 ms
		evs = append(evs, &roomcastv1.Event{Data: structpb.NewStringValue(p.stamp(now - int64(i)*int64(time.Millisecond)))})
	}
	r.shard(0).deliver(evs[:50], now)
	r.shard(1).deliver(evs[50:], now)
	if d := r.delivered(); d != 100 {
		t.Errorf("delivered %d", d)
	}
	if r.lastDelivery() != now {
		t.Errorf("lastDelivery %d, want %d", r.lastDelivery(), now)
	}
	got := r.percentiles()
	near := func(v, want float64) bool { return v >= want*0.99 && v <= want*1.01 }
	if !near(got.p50, 50) || !near(got.p90, 90) || !near(got.p99, 99) || !near(got.max, 100) || got.count != 100 {
		t.Errorf("percentiles %+v, want about 50/90/99/100 ms of 100", got)
	}
}

func TestParseRSS(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int64
		ok   bool
	}{
		{"# HELP x\nprocess_resident_memory_bytes 1.2345678e+07\n", 12345678, true},
		{"process_resident_memory_bytes_other 5\nprocess_resident_memory_bytes{pid=\"1\"} 4096 1700000000\n", 4096, true},
		{"go_goroutines 5\n", 0, false},
	} {
		got, err := parseRSS(bufio.NewScanner(strings.NewReader(tc.text)), "test")
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseRSS(%q) = %d, %v; want %d", tc.text, got, err, tc.want)
		}
	}
}

func TestSummaryKeysAreSnakeCase(t *testing.T) {
	kb, rss := 1.5, int64(3)
	var b strings.Builder
	if err := (&Summary{Scenario: "idle", KBPerConn: &kb, ServerRSSBytes: &rss}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"kb_per_conn":1.5`, `"server_rss_bytes":3`, `"delivery_ratio":0`, `"p99_ms":0`} {
		if !strings.Contains(b.String(), k) {
			t.Errorf("%s not in %s", k, b.String())
		}
	}
}

func TestAutoSourceIPs(t *testing.T) {
	ports := ephemeralPorts()
	if n := autoSourceIPs("127.0.0.1:50051", 100); n != 0 {
		t.Errorf("100 connections spread over %d addresses", n)
	}
	if n := autoSourceIPs("127.0.0.1:50051", 3*ports); n < 3 {
		t.Errorf("%d connections over %d ports each spread over %d addresses", 3*ports, ports, n)
	}
	if n := autoSourceIPs("[::1]:50051", 3*ports); n != 0 {
		t.Errorf("IPv6 target spread over %d IPv4 addresses", n)
	}
}
