package bench

import (
	"bufio"
	"slices"
	"strings"
	"testing"
	"time"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"google.golang.org/protobuf/proto"
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
	// Half as one batch frame, half as frames of one event: the way the
	// server sends them, read the way subscribers read them.
	batch, err := proto.Marshal(&roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_Events{
		Events: &roomcastv1.EventBatch{Events: evs[:50]}}})
	if err != nil {
		t.Fatal(err)
	}
	stamps, ok := eventStamps(batch, nil)
	if !ok || len(stamps) != 50 {
		t.Fatalf("batch frame: %d stamps, events %v; want 50", len(stamps), ok)
	}
	r.shard(0).deliver(stamps, now)
	for _, e := range evs[50:] {
		single, err := proto.Marshal(&roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_Event{Event: e}})
		if err != nil {
			t.Fatal(err)
		}
		stamps, ok := eventStamps(single, nil)
		if !ok || len(stamps) != 1 {
			t.Fatalf("single event frame: %v, events %v", stamps, ok)
		}
		r.shard(1).deliver(stamps, now)
	}
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

func TestParseMetric(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       float64
		ok         bool
	}{
		{rssMetric, "# HELP x\nprocess_resident_memory_bytes 1.2345678e+07\n", 12345678, true},
		{rssMetric, "process_resident_memory_bytes_other 5\nprocess_resident_memory_bytes{pid=\"1\"} 4096 1700000000\n", 4096, true},
		{rssMetric, "go_goroutines 5\n", 0, false},
		{cpuMetric, "process_resident_memory_bytes 4096\nprocess_cpu_seconds_total 12.75\n", 12.75, true},
		{cpuMetric, "process_cpu_seconds_total x\n", 0, false},
	} {
		got, err := parseMetric(bufio.NewScanner(strings.NewReader(tc.text)), tc.name, "test")
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseMetric(%q, %q) = %v, %v; want %v", tc.name, tc.text, got, err, tc.want)
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

func TestParseAddrs(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []string
		err  string // a part of the error; "" for none
	}{
		{"127.0.0.1:50051", []string{"127.0.0.1:50051"}, ""},
		{"127.0.0.1:50051,127.0.0.1:50052, localhost:50053", []string{"127.0.0.1:50051", "127.0.0.1:50052", "localhost:50053"}, ""},
		{"[::1]:1,:2", []string{"[::1]:1", ":2"}, ""},
		{"127.0.0.1:50051,", nil, "empty address"},
		{",127.0.0.1:50051", nil, "empty address"},
		{"", nil, "empty address"},
		{"127.0.0.1:50051,10.0.0.1:50051", nil, "loopback"},
		{"127.0.0.1:50051,127.0.0.1", nil, "missing port"},
		// ":50051" is dialled as 127.0.0.1:50051: the same node twice.
		{"127.0.0.1:50051,:50051", nil, "twice"},
	} {
		got, err := parseAddrs(tc.list)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("parseAddrs(%q): %v", tc.list, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseAddrs(%q) = %v, %v; want an error about %q", tc.list, got, err, tc.err)
		case tc.err == "" && !slices.Equal(got, tc.want):
			t.Errorf("parseAddrs(%q) = %v, want %v", tc.list, got, tc.want)
		}
	}
	if got := (Config{Addr: "127.0.0.1:1, :2"}).targets(); !slices.Equal(got, []string{"127.0.0.1:1", "127.0.0.1:2"}) {
		t.Errorf("targets %v", got)
	}
}

func TestLayoutSpreadsSubscribersRoundRobin(t *testing.T) {
	specs, pubRooms := layout(pubsubShape{rooms: 2, perRoom: 3, publishers: 2}, 2)
	want := []clientSpec{
		{0, []string{"bench-0"}}, {1, []string{"bench-0"}}, {0, []string{"bench-0"}},
		{1, []string{"bench-1"}}, {0, []string{"bench-1"}}, {1, []string{"bench-1"}},
		{0, []string{"bench-0"}}, {0, []string{"bench-1"}}, // publishers, on the first node
		{1, []string{"bench-0"}}, {1, []string{"bench-1"}}, // their witnesses
	}
	if !slices.EqualFunc(specs, want, func(a, b clientSpec) bool { return a.node == b.node && slices.Equal(a.rooms, b.rooms) }) {
		t.Errorf("layout\n got %v\nwant %v", specs, want)
	}
	if len(pubRooms) != 2 || !slices.Equal(pubRooms[0], []string{"bench-0"}) || !slices.Equal(pubRooms[1], []string{"bench-1"}) {
		t.Errorf("publisher rooms %v", pubRooms)
	}

	// One node: the layout of a single server, no witnesses.
	specs, _ = layout(pubsubShape{rooms: 4, perRoom: 2, publishers: 2}, 1)
	if len(specs) != 10 {
		t.Fatalf("%d clients, want 8 subscribers and 2 publishers", len(specs))
	}
	for i, s := range specs {
		if s.node != 0 {
			t.Errorf("client %d on node %d", i, s.node)
		}
	}
	if !slices.Equal(specs[8].rooms, []string{"bench-0", "bench-2"}) {
		t.Errorf("publisher 0 owns %v, want bench-0 and bench-2", specs[8].rooms)
	}

	// Three nodes, two publishers: two witnesses each, on nodes 1 and 2.
	specs, _ = layout(pubsubShape{rooms: 1, perRoom: 4, publishers: 1}, 3)
	var nodes []int
	for _, s := range specs {
		nodes = append(nodes, s.node)
	}
	if !slices.Equal(nodes, []int{0, 1, 2, 0, 0, 1, 2}) {
		t.Errorf("nodes of the clients %v", nodes)
	}
}

func TestWindowReopensOnceEveryNodeHasTheMessage(t *testing.T) {
	p := newPublisher([]string{"r"}, 4, 3)
	take := func(n int) {
		t.Helper()
		for range n {
			select {
			case <-p.tokens:
			default:
				t.Fatal("window closed early")
			}
		}
	}
	free := func() int { return len(p.tokens) }
	take(4)
	p.arrive(0, 3) // the publisher's own node has 3
	p.arrive(1, 2)
	if free() != 0 {
		t.Fatalf("%d tokens back before node 2 had anything", free())
	}
	p.arrive(2, 1)
	if free() != 1 {
		t.Fatalf("%d tokens back, want 1: one message is on every node", free())
	}
	p.arrive(2, 3)
	if free() != 2 {
		t.Fatalf("%d tokens back, want 2: node 1 has only 2", free())
	}
	p.refuse() // the fourth message will arrive nowhere
	if free() != 3 {
		t.Fatalf("%d tokens back after a refusal, want 3", free())
	}
	p.lost(1) // node 1's witness is gone: it no longer holds the window
	if free() != 4 {
		t.Fatalf("%d tokens back after losing node 1, want 4", free())
	}
	// Strays never overfill the window.
	p.arrive(0, 10)
	p.arrive(2, 10)
	if free() != 4 {
		t.Fatalf("%d tokens, window is 4", free())
	}
}

func TestEventStampsLeavesOtherFrames(t *testing.T) {
	reply, err := proto.Marshal(&roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_Reply{
		Reply: &roomcastv1.Reply{Ref: 7, Error: &roomcastv1.Error{Code: "INVALID_ARGUMENT", Message: "no"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if stamps, ok := eventStamps(reply, nil); ok || len(stamps) != 0 {
		t.Fatalf("a reply read as events: %v", stamps)
	}
	// An event whose data is not a stamped string still counts, unstamped.
	plain, err := proto.Marshal(&roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_Event{
		Event: &roomcastv1.Event{Event: "x", Data: structpb.NewNumberValue(3)}}})
	if err != nil {
		t.Fatal(err)
	}
	if stamps, ok := eventStamps(plain, nil); !ok || len(stamps) != 1 || stamps[0] != 0 {
		t.Fatalf("an unstamped event: %v, %v; want one zero stamp", stamps, ok)
	}
}
