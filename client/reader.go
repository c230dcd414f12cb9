package client

import (
	"errors"
	"fmt"
	"io"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// read is the client's one reader: it routes every ServerFrame, in order,
// and never runs user code, so replies keep flowing while handlers wait.
func (c *Client) read() {
	for {
		f, err := c.stream.Recv()
		if err != nil {
			c.end(err)
			return
		}
		c.route(f)
	}
}

func (c *Client) route(f *roomcastv1.ServerFrame) {
	switch fr := f.Frame.(type) {
	case *roomcastv1.ServerFrame_Connected:
		c.Socket(fr.Connected.Namespace).markConnected(fr.Connected.Sid)
	case *roomcastv1.ServerFrame_ConnectError:
		// Nothing to do: every connect carries a ref, and the reply to it
		// repeats the refusal with its data.
	case *roomcastv1.ServerFrame_Disconnected:
		if s := c.existingSocket(fr.Disconnected.Namespace); s != nil {
			s.markDisconnected(fr.Disconnected.Reason)
		}
	case *roomcastv1.ServerFrame_Event:
		c.deliver(fr.Event)
	case *roomcastv1.ServerFrame_Events:
		for _, e := range fr.Events.Events {
			c.deliver(e)
		}
	case *roomcastv1.ServerFrame_Reply:
		c.answer(fr.Reply)
	}
}

func (c *Client) existingSocket(namespace string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sockets[namespace]
}

func (c *Client) deliver(e *roomcastv1.Event) {
	s := c.existingSocket(e.Namespace)
	if s == nil {
		return // the server only sends events to namespaces we entered
	}
	c.inbox.push(func() { s.handle(e) })
}

// answer hands a reply to the call waiting for its ref. A reply with ref 0
// refuses a frame that had none; nobody waits for it but OnError.
func (c *Client) answer(r *roomcastv1.Reply) {
	if r.Ref != 0 {
		c.requests.resolve(r) // false: the caller stopped waiting
		return
	}
	if r.Error != nil {
		err := replyError(r.Error)
		c.inbox.push(func() { c.reportError(err) })
	}
}

// end records why the stream ended, fails the calls waiting for replies,
// disconnects every socket, and lets the queued handlers finish.
func (c *Client) end(err error) {
	c.mu.Lock()
	reason := ReasonTransportError
	switch {
	case c.closing:
		reason = ReasonClientDisconnect
		c.err = ErrClosed
	case errors.Is(err, io.EOF):
		reason = ReasonTransportClose
		c.err = fmt.Errorf("%w: the server ended the stream", ErrClosed)
	default:
		c.err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	sockets := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		sockets = append(sockets, s)
	}
	c.mu.Unlock()

	c.requests.end()
	for _, s := range sockets {
		s.markDisconnected(reason)
	}
	c.inbox.close()
	close(c.ended)
}
