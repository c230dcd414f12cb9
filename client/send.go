package client

import (
	"context"
	"errors"
	"io"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// send writes one frame. ctx bounds the wait for other senders; gRPC's
// own flow control is bounded by the stream, which Close cancels.
func (c *Client) send(ctx context.Context, f *roomcastv1.ClientFrame) error {
	select {
	case c.sendLock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.ended:
		return c.Err()
	}
	defer func() { <-c.sendLock }()
	err := c.stream.Send(f)
	if errors.Is(err, io.EOF) {
		// gRPC's Send reports only io.EOF on a broken stream; the reader
		// learns the real status from Recv.
		<-c.ended
		return c.Err()
	}
	return err
}

// request sends a frame with a fresh ref and waits for its reply.
func (c *Client) request(ctx context.Context, f *roomcastv1.ClientFrame) (*roomcastv1.Reply, error) {
	ref, answer, ok := c.requests.add()
	if !ok {
		return nil, c.Err()
	}
	f.Ref = ref
	if err := c.send(ctx, f); err != nil {
		c.requests.forget(ref)
		return nil, err
	}
	select {
	case r, ok := <-answer:
		if !ok {
			return nil, c.Err()
		}
		return r, nil
	case <-ctx.Done():
		c.requests.forget(ref)
		return nil, ctx.Err()
	}
}
