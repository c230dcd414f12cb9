package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/internal/testkit"
	"github.com/roomcast/roomcast/server"
	redisadapter "github.com/roomcast/roomcast/server/adapter/redis"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// redisClient connects to the Redis of ROOMCAST_TEST_REDIS_URL, or skips.
// Its connections carry the name, so that a test can find its own.
func redisClient(t *testing.T, name string) *goredis.Client {
	t.Helper()
	url := os.Getenv("ROOMCAST_TEST_REDIS_URL")
	if url == "" {
		t.Skip("set ROOMCAST_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run the Redis adapter tests")
	}
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatalf("ROOMCAST_TEST_REDIS_URL: %v", err)
	}
	opts.ClientName = name
	client := goredis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	return client
}

// node is one roomcast server of a test cluster.
type node struct {
	*testkit.Server
	id      string
	cluster *redisadapter.Cluster
	prefix  string // of the cluster's keys and channels, and its connections' name
}

// startCluster runs n nodes on loopback sharing one Redis under a prefix
// of the test's own, so that tests can run side by side.
func startCluster(t *testing.T, n int, tune func(*redisadapter.Options), configure func(*server.Server)) []*node {
	t.Helper()
	prefix := "roomcast-test-" + randomHex(6)
	client := redisClient(t, prefix)
	var nodes []*node
	for i := range n {
		id := fmt.Sprintf("node-%d", i)
		opts := redisadapter.Options{Client: client, NodeID: id, Prefix: prefix, RequestTimeout: 2 * time.Second}
		if tune != nil {
			tune(&opts)
		}
		cluster, err := redisadapter.New(context.Background(), opts)
		if err != nil {
			t.Fatalf("join cluster: %v", err)
		}
		// Registered before the server so that it runs after the server
		// has stopped.
		t.Cleanup(func() { cluster.Close() })
		srv := testkit.Start(t, configure, server.WithAdapter(cluster), server.WithNodeID(id))
		nodes = append(nodes, &node{Server: srv, id: id, cluster: cluster, prefix: prefix})
	}
	return nodes
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func emitFrame(broadcast bool, event string, data any, rooms, except []string) *roomcastv1.ClientFrame {
	value, err := structpb.NewValue(data)
	if err != nil {
		panic(err)
	}
	ef := &roomcastv1.EmitFrame{Namespace: "/", Event: event, Data: value, Rooms: rooms, ExceptRooms: except}
	if broadcast {
		return &roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Broadcast{Broadcast: ef}}
	}
	return &roomcastv1.ClientFrame{Frame: &roomcastv1.ClientFrame_Emit{Emit: ef}}
}

// member is a client of one node, connected to "/".
type member struct {
	*testkit.Stream
	sid string
}

func join(t *testing.T, n *node, rooms ...string) member {
	t.Helper()
	st := n.Open(t)
	sid := st.Connect("/")
	if len(rooms) > 0 {
		st.Join("/", rooms...)
	}
	return member{Stream: st, sid: sid}
}

// expectData reads one event and checks its data and sender.
func expectData(t *testing.T, m member, want, from string) {
	t.Helper()
	e := m.Event()
	if e.Data.GetStringValue() != want || e.FromSid != from {
		t.Fatalf("socket %s got %q from %s, want %q from %s", m.sid, e.Data.GetStringValue(), e.FromSid, want, from)
	}
}

// settle makes sure the cluster delivers across nodes before a test
// counts: a namespace's subscription is made when the namespace is, which
// is before any client could connect, but a marker proves it end to end.
func settle(t *testing.T, from member, to ...member) {
	t.Helper()
	from.Send(emitFrame(false, "marker", "marker", []string{from.sid}, nil))
	expectData(t, from, "marker", from.sid)
	for _, m := range to {
		// A private message from another node proves that node's
		// subscription carries this namespace.
		from.Send(emitFrame(false, "marker", "marker", []string{m.sid}, nil))
		expectData(t, m, "marker", from.sid)
	}
}

func TestEmitAndBroadcastReachEveryNodeOnce(t *testing.T) {
	nodes := startCluster(t, 3, nil, nil)
	a := join(t, nodes[0], "general")
	b := join(t, nodes[1], "general")
	c := join(t, nodes[2], "general", "vip")
	outsider := join(t, nodes[2])
	settle(t, a, b, c, outsider)

	a.Send(emitFrame(false, "chat", "to general", []string{"general"}, nil))
	for _, m := range []member{a, b, c} {
		expectData(t, m, "to general", a.sid)
	}

	// A broadcast never reaches its sender, on any node.
	b.Send(emitFrame(true, "chat", "broadcast", []string{"general"}, nil))
	expectData(t, a, "broadcast", b.sid)
	expectData(t, c, "broadcast", b.sid)

	// Union across nodes: c is in both rooms and gets one copy.
	a.Send(emitFrame(false, "chat", "union", []string{"general", "vip"}, nil))
	for _, m := range []member{a, b, c} {
		expectData(t, m, "union", a.sid)
	}

	// Except rooms are resolved on every node.
	a.Send(emitFrame(false, "chat", "except vip", []string{"general"}, []string{"vip"}))
	expectData(t, a, "except vip", a.sid)
	expectData(t, b, "except vip", a.sid)

	// The whole namespace, every node.
	c.Send(emitFrame(false, "chat", "everyone", nil, nil))
	for _, m := range []member{a, b, c, outsider} {
		expectData(t, m, "everyone", c.sid)
	}

	// A private message to a socket on another node.
	a.Send(emitFrame(false, "chat", "private", []string{outsider.sid}, nil))
	expectData(t, outsider, "private", a.sid)

	// Nothing more arrived anywhere: each delivery happened once.
	for _, m := range []member{a, b, c, outsider} {
		m.NoFrame(200 * time.Millisecond)
	}
}

func TestOrderPerPublisherAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 2, nil, nil)
	pub := join(t, nodes[0], "room")
	sub := join(t, nodes[1], "room")
	settle(t, pub, sub)

	const n = 300
	for i := range n {
		pub.Send(emitFrame(true, "seq", fmt.Sprint(i), []string{"room"}, nil))
	}
	for i, e := range sub.Events(n) {
		if got := e.Data.GetStringValue(); got != fmt.Sprint(i) {
			t.Fatalf("event %d carried %s: order lost across nodes", i, got)
		}
	}
}

func TestAdminRequestsSpanTheCluster(t *testing.T) {
	nodes := startCluster(t, 3, nil, nil)
	a := join(t, nodes[0], "general")
	b := join(t, nodes[1], "general")
	c := join(t, nodes[2])
	settle(t, a, b, c)
	ctx := context.Background()
	ns := nodes[0].Of("/")

	sockets, partial := ns.To("general").FetchSockets(ctx)
	if len(partial.Missing) != 0 || partial.Err != nil {
		t.Fatalf("partial answer: %+v", partial)
	}
	where := map[string]string{}
	for _, s := range sockets {
		where[s.SID] = s.Node
	}
	if len(where) != 2 || where[a.sid] != "node-0" || where[b.sid] != "node-1" {
		t.Fatalf("fetch sockets in general: %v, want a on node-0 and b on node-1", where)
	}

	// Join a socket of another node to a room; it then receives the room.
	if n, partial, err := ns.To(c.sid).SocketsJoin(ctx, "general"); err != nil || n != 1 || len(partial.Missing) != 0 {
		t.Fatalf("sockets join: n=%d partial=%+v err=%v", n, partial, err)
	}
	a.Send(emitFrame(false, "chat", "after join", []string{"general"}, nil))
	for _, m := range []member{a, b, c} {
		expectData(t, m, "after join", a.sid)
	}

	sizes, _ := ns.FetchRoomSizes(ctx)
	if sizes["general"] != 3 {
		t.Fatalf("room sizes across the cluster: %v, want general: 3", sizes)
	}
	counts, _ := nodes[1].FetchNamespaces(ctx)
	if counts["/"] != 3 {
		t.Fatalf("namespaces across the cluster: %v, want /: 3", counts)
	}

	if n, _, err := ns.To(c.sid).SocketsLeave(ctx, "general"); err != nil || n != 1 {
		t.Fatalf("sockets leave: n=%d err=%v", n, err)
	}
	if n, _ := ns.To("general").DisconnectSockets(ctx, "maintenance"); n != 2 {
		t.Fatalf("disconnect sockets reached %d, want 2", n)
	}
	for _, m := range []member{a, b} {
		if d := m.Next().GetDisconnected(); d == nil || d.Reason != "maintenance" {
			t.Fatalf("socket %s got %v, want disconnected for maintenance", m.sid, d)
		}
	}
	c.NoFrame(200 * time.Millisecond)
}

func TestSilentNodeIsReportedMissing(t *testing.T) {
	nodes := startCluster(t, 2, func(o *redisadapter.Options) { o.RequestTimeout = 300 * time.Millisecond }, nil)
	a := join(t, nodes[0], "general")
	b := join(t, nodes[1], "general")
	settle(t, a, b)

	// A node that heartbeats but never answers, as a hung process would.
	client := redisClient(t, "ghost")
	if err := client.ZAdd(context.Background(), nodes[0].prefix+":nodes", goredis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: "ghost"}).Err(); err != nil {
		t.Fatal(err)
	}
	sockets, partial := nodes[0].Of("/").To("general").FetchSockets(context.Background())
	if !slices.Equal(partial.Missing, []string{"ghost"}) {
		t.Fatalf("missing nodes %v, want [ghost]", partial.Missing)
	}
	if len(sockets) != 2 {
		t.Fatalf("got %d sockets, want the 2 of the nodes that answered", len(sockets))
	}
}

func TestDeliveryResumesAfterRedisDropsSubscribers(t *testing.T) {
	nodes := startCluster(t, 2, nil, nil)
	a := join(t, nodes[0], "room")
	b := join(t, nodes[1], "room")
	settle(t, a, b)

	killSubscribers(t, nodes[0].prefix)

	// Local delivery never stopped; cross-node delivery comes back by
	// itself once go-redis has resubscribed.
	a.Send(emitFrame(false, "chat", "local", []string{a.sid}, nil))
	expectData(t, a, "local", a.sid)
	deadline := time.Now().Add(testkit.Timeout)
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatal("cross-node delivery did not resume")
		}
		a.Send(emitFrame(false, "chat", fmt.Sprint("probe ", i), []string{b.sid}, nil))
		if e := b.PollEvent(100 * time.Millisecond); e != nil {
			if e.FromSid != a.sid {
				t.Fatalf("b got %v, want a probe from %s", e, a.sid)
			}
			break
		}
	}
	if nodes[0].cluster.Status() != nil || nodes[1].cluster.Status() != nil {
		t.Fatalf("adapters still report Redis down after delivering: %v", nodes[0].cluster.Status())
	}
}

// killSubscribers drops this test's pub/sub connections, as a Redis
// restart would, leaving those of tests running beside it alone.
func killSubscribers(t *testing.T, name string) {
	t.Helper()
	client := redisClient(t, "killer")
	ctx := context.Background()
	list, err := client.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		fields := map[string]string{}
		for _, kv := range strings.Fields(line) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				fields[k] = v
			}
		}
		if fields["name"] == name && strings.Contains(fields["flags"], "P") {
			if err := client.Do(ctx, "CLIENT", "KILL", "ID", fields["id"]).Err(); err != nil {
				t.Fatalf("CLIENT KILL ID %s: %v", fields["id"], err)
			}
			killed++
		}
	}
	if killed == 0 {
		t.Fatalf("no pub/sub connection named %s to kill", name)
	}
}

func TestDuplicateNodeIDIsRefused(t *testing.T) {
	nodes := startCluster(t, 1, nil, nil)
	_, err := redisadapter.New(context.Background(), redisadapter.Options{
		Client: redisClient(t, nodes[0].prefix), NodeID: nodes[0].id, Prefix: nodes[0].prefix,
	})
	if err == nil || !strings.Contains(err.Error(), "already live") {
		t.Fatalf("a second node named %s joined: %v", nodes[0].id, err)
	}
}
