package redis

import (
	"errors"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	clusterv1 "github.com/roomcast/roomcast/gen/roomcast/cluster/v1"
	"github.com/roomcast/roomcast/server/adapter"
)

// receive reads the subscription until Close. go-redis reconnects and
// resubscribes by itself after an error; the loop only has to keep asking,
// pausing between failures so that an outage does not spin.
func (c *Cluster) receive() {
	defer c.wg.Done()
	pause := 50 * time.Millisecond
	for c.ctx.Err() == nil {
		msg, err := c.pubsub.ReceiveTimeout(c.ctx, 2*c.opts.Heartbeat)
		if err != nil {
			if c.ctx.Err() != nil || errors.Is(err, goredis.ErrClosed) {
				return
			}
			var netErr net.Error
			if errors.As(err, &netErr) && netErr.Timeout() {
				// Quiet, or a silently dead connection: a ping tells
				// which, and a failed ping makes go-redis reconnect.
				if err := c.pubsub.Ping(c.ctx); err != nil {
					c.health.down(err)
				}
				continue
			}
			c.health.down(err)
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, 2*time.Second)
			continue
		}
		pause = 50 * time.Millisecond
		switch m := msg.(type) {
		case *goredis.Message:
			c.health.ok()
			c.dispatch([]byte(m.Payload))
		case *goredis.Subscription, *goredis.Pong:
			c.health.ok()
		}
	}
}

func (c *Cluster) dispatch(payload []byte) {
	var m clusterv1.Message
	if err := proto.Unmarshal(payload, &m); err != nil {
		c.opts.Logger.Warn("redis adapter received a message it cannot decode", "error", err)
		return
	}
	if m.Node == c.opts.NodeID {
		return // this node delivered its own broadcast already
	}
	switch body := m.Body.(type) {
	case *clusterv1.Message_Broadcast:
		b := body.Broadcast
		if a := c.adapter(b.Namespace); a != nil {
			a.Adapter.Broadcast(&adapter.Packet{Event: b.Event, Volatile: b.Volatile},
				adapter.Targets{Rooms: b.Rooms, Except: b.ExceptRooms})
		}
	case *clusterv1.Message_Request:
		// Acting may disconnect sockets, which takes locks; the receive
		// loop goes on meanwhile.
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.answer(m.Node, body.Request)
		}()
	case *clusterv1.Message_Response:
		c.collect(m.Node, body.Response)
	}
}
