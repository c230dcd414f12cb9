package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sort"
	"sync"

	clusterv1 "github.com/roomcast/roomcast/gen/roomcast/cluster/v1"
	"github.com/roomcast/roomcast/server/adapter"
)

// pendingRequest collects the answers to one request.
type pendingRequest struct {
	mu        sync.Mutex
	waiting   map[string]bool // nodes not heard from yet
	responses []*clusterv1.Response
	complete  chan struct{} // closed when every node has answered
}

func (p *pendingRequest) add(node string, r *clusterv1.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.waiting[node] {
		return // a node not asked, or a duplicate
	}
	delete(p.waiting, node)
	p.responses = append(p.responses, r)
	if len(p.waiting) == 0 {
		close(p.complete)
	}
}

func newRequest(namespace string, t adapter.Targets, set func(*clusterv1.Request)) *clusterv1.Request {
	var id [12]byte
	_, _ = rand.Read(id[:])
	req := &clusterv1.Request{
		Id: hex.EncodeToString(id[:]), Namespace: namespace, Rooms: t.Rooms, ExceptRooms: t.Except,
	}
	set(req)
	return req
}

func opFetchSockets() func(*clusterv1.Request) {
	return func(r *clusterv1.Request) {
		r.Op = &clusterv1.Request_FetchSockets{FetchSockets: &clusterv1.FetchSockets{}}
	}
}

func opAddRooms(rooms []string) func(*clusterv1.Request) {
	return func(r *clusterv1.Request) {
		r.Op = &clusterv1.Request_AddRooms{AddRooms: &clusterv1.ChangeRooms{Rooms: rooms}}
	}
}

func opRemoveRooms(rooms []string) func(*clusterv1.Request) {
	return func(r *clusterv1.Request) {
		r.Op = &clusterv1.Request_RemoveRooms{RemoveRooms: &clusterv1.ChangeRooms{Rooms: rooms}}
	}
}

func opDisconnect(reason string) func(*clusterv1.Request) {
	return func(r *clusterv1.Request) {
		r.Op = &clusterv1.Request_DisconnectSockets{DisconnectSockets: &clusterv1.DisconnectSockets{Reason: reason}}
	}
}

func opRoomSizes() func(*clusterv1.Request) {
	return func(r *clusterv1.Request) { r.Op = &clusterv1.Request_RoomSizes{RoomSizes: &clusterv1.RoomSizes{}} }
}

func opNamespaces() func(*clusterv1.Request) {
	return func(r *clusterv1.Request) { r.Op = &clusterv1.Request_Namespaces{Namespaces: &clusterv1.Namespaces{}} }
}

// request asks every other live node and waits for their answers until
// they are all in, ctx ends, or RequestTimeout passes. It never fails:
// what did not answer is in the Partial.
func (c *Cluster) request(ctx context.Context, req *clusterv1.Request) ([]*clusterv1.Response, adapter.Partial) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	nodes, err := c.otherNodes(ctx)
	if err != nil {
		c.health.down(err)
		return nil, adapter.Partial{Missing: nodes, Err: err}
	}
	if len(nodes) == 0 {
		return nil, adapter.Partial{}
	}
	p := &pendingRequest{waiting: make(map[string]bool, len(nodes)), complete: make(chan struct{})}
	for _, n := range nodes {
		p.waiting[n] = true
	}
	c.mu.Lock()
	c.pending[req.Id] = p
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, req.Id)
		c.mu.Unlock()
	}()

	msg := &clusterv1.Message{Node: c.opts.NodeID, Body: &clusterv1.Message_Request{Request: req}}
	if err := c.publishNow(ctx, c.opts.requestChannel(), msg); err != nil {
		return nil, adapter.Partial{Missing: nodes, Err: err}
	}
	select {
	case <-p.complete:
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var missing []string
	for n := range p.waiting {
		missing = append(missing, n)
	}
	sort.Strings(missing)
	return p.responses, adapter.Partial{Missing: missing}
}

// answer acts on another node's request for this node's sockets and
// publishes the response to that node.
func (c *Cluster) answer(from string, req *clusterv1.Request) {
	resp := &clusterv1.Response{Id: req.Id}
	t := adapter.Targets{Rooms: req.Rooms, Except: req.ExceptRooms}
	if _, ok := req.Op.(*clusterv1.Request_Namespaces); ok {
		resp.Sizes = toSizes(c.local.LocalNamespaces())
	} else if a := c.adapter(req.Namespace); a != nil {
		switch op := req.Op.(type) {
		case *clusterv1.Request_FetchSockets:
			for _, s := range a.LocalFetchSockets(t) {
				resp.Sockets = append(resp.Sockets, toProtoSocket(s))
			}
		case *clusterv1.Request_AddRooms:
			resp.Count = int64(a.LocalAddSockets(t, op.AddRooms.Rooms))
		case *clusterv1.Request_RemoveRooms:
			resp.Count = int64(a.LocalDelSockets(t, op.RemoveRooms.Rooms))
		case *clusterv1.Request_DisconnectSockets:
			resp.Count = int64(a.LocalDisconnectSockets(t, op.DisconnectSockets.Reason))
		case *clusterv1.Request_RoomSizes:
			resp.Sizes = toSizes(a.RoomSizes())
		}
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestTimeout)
	defer cancel()
	msg := &clusterv1.Message{Node: c.opts.NodeID, Body: &clusterv1.Message_Response{Response: resp}}
	if err := c.publishNow(ctx, c.opts.responseChannel(from), msg); err != nil && c.ctx.Err() == nil {
		c.opts.Logger.Debug("redis adapter could not answer a request", "to", from, "error", err)
	}
}

func (c *Cluster) collect(from string, resp *clusterv1.Response) {
	c.mu.Lock()
	p := c.pending[resp.Id]
	c.mu.Unlock()
	if p != nil {
		p.add(from, resp)
	}
}

func toSizes(m map[string]int) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = int64(v)
	}
	return out
}
