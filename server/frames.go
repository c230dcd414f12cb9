package server

import (
	"errors"

	"google.golang.org/protobuf/types/known/structpb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
)

// handle acts on one frame that middleware admitted. Every refusal is
// answered, with the frame's ref or with ref 0.
func (c *client) handle(f *roomcastv1.ClientFrame) {
	var (
		data    *structpb.Value
		refusal *Error
	)
	switch fr := f.Frame.(type) {
	case *roomcastv1.ClientFrame_Connect:
		onFreshStack(func() { c.onConnect(f.Ref, fr.Connect) })
		return
	case *roomcastv1.ClientFrame_Disconnect:
		refusal = c.onDisconnect(fr.Disconnect)
	case *roomcastv1.ClientFrame_Join:
		data, refusal = c.onRooms(fr.Join, true)
	case *roomcastv1.ClientFrame_Leave:
		data, refusal = c.onRooms(fr.Leave, false)
	case *roomcastv1.ClientFrame_Emit:
		data, refusal = c.onEmit(fr.Emit, false)
	case *roomcastv1.ClientFrame_Broadcast:
		data, refusal = c.onEmit(fr.Broadcast, true)
	case *roomcastv1.ClientFrame_Ack:
		refusal = c.onAck(fr.Ack)
	default:
		refusal = Errorf(CodeInvalidArgument,
			"empty frame: set one of connect, disconnect, join, leave, emit, broadcast, ack")
	}
	if refusal != nil || f.Ref != 0 {
		c.reply(f.Ref, data, refusal)
	}
}

// connected returns the client's socket in a namespace, or the refusal
// for a frame about a namespace it has not connected.
func (c *client) connected(namespace string) (*Socket, *Error) {
	name := canonicalNamespace(namespace)
	if s := c.socket(name); s != nil {
		return s, nil
	}
	return nil, Errorf(CodeFailedPrecondition, "%s %s", MessageNotConnected, name)
}

func (c *client) onConnect(ref uint64, cf *roomcastv1.ConnectFrame) {
	name := canonicalNamespace(cf.Namespace)
	adm, ok := c.sess.admitted[name]
	delete(c.sess.admitted, name)
	if !ok {
		c.reply(ref, nil, Errorf(CodeAlreadyExists, "already connected to namespace %s", name))
		return
	}
	s := &Socket{
		id:          newSID(),
		ns:          adm.ns,
		client:      c,
		handshake:   adm.handshake,
		connectedAt: adm.handshake.Time,
		data:        adm.data,
	}
	if !c.attach(s) {
		c.reply(ref, nil, Errorf(CodeAlreadyExists, "already connected to namespace %s", name))
		return
	}
	adm.ns.add(s)
	c.srv.stats.sockets.Add(1)
	c.send(&roomcastv1.ServerFrame{Frame: &roomcastv1.ServerFrame_Connected{
		Connected: &roomcastv1.Connected{Namespace: name, Sid: s.id},
	}})
	if ref != 0 {
		c.reply(ref, structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
			"sid": structpb.NewStringValue(s.id),
		}}), nil)
	}
	c.log.Info("namespace connect", "namespace", name, "sid", s.id)
	for _, fn := range adm.ns.listeners().onConnection {
		fn(s)
	}
}

func (c *client) onDisconnect(df *roomcastv1.DisconnectFrame) *Error {
	s, refusal := c.connected(df.Namespace)
	if refusal != nil {
		return refusal
	}
	c.disconnectSocket(s, ReasonClientNamespaceDisconnect, false)
	return nil
}

// onRooms joins or leaves rooms, all or none, and answers with the
// socket's rooms afterwards.
func (c *client) onRooms(rf *roomcastv1.RoomsFrame, join bool) (*structpb.Value, *Error) {
	s, refusal := c.connected(rf.Namespace)
	if refusal != nil {
		return nil, refusal
	}
	if len(rf.Rooms) == 0 {
		return nil, Errorf(CodeInvalidArgument, "rooms must not be empty")
	}
	for _, room := range rf.Rooms {
		if err := checkRoom(room); err != nil {
			return nil, err
		}
		if room == s.id {
			return nil, Errorf(CodeInvalidArgument, "room %q is the socket's own room, joined for as long as it is connected", room)
		}
		// A socket's own room carries its private messages.
		if s.ns.Socket(room) != nil {
			return nil, Errorf(CodePermissionDenied, "room %q is another socket's private room", room)
		}
	}
	if join {
		s.ns.adapter.AddAll(s, rf.Rooms...)
	} else {
		s.ns.adapter.Del(s.id, rf.Rooms...)
	}
	return roomsValue(s.Rooms()), nil
}

func roomsValue(rooms []string) *structpb.Value {
	list := make([]*structpb.Value, len(rooms))
	for i, r := range rooms {
		list[i] = structpb.NewStringValue(r)
	}
	return structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
		"rooms": structpb.NewListValue(&structpb.ListValue{Values: list}),
	}})
}

func (c *client) onEmit(ef *roomcastv1.EmitFrame, broadcast bool) (*structpb.Value, *Error) {
	s, refusal := c.connected(ef.Namespace)
	if refusal != nil {
		return nil, refusal
	}
	if err := checkEvent(ef.Event); err != nil {
		return nil, err
	}
	for _, rooms := range [][]string{ef.Rooms, ef.ExceptRooms} {
		for _, room := range rooms {
			if err := checkRoom(room); err != nil {
				return nil, err
			}
		}
	}
	if err := c.srv.checkPayload(ef.Data, ef.Binary); err != nil {
		return nil, err
	}
	c.srv.stats.eventsIn.Add(1)
	s.ns.eventsIn.Add(1)

	var answer any
	if h := s.ns.handler(ef.Event); h != nil {
		result, err := h(c.sess.ctx, s, eventOf(ef, broadcast))
		if err != nil {
			return nil, asError(err, CodeUnknown)
		}
		answer = result
	}
	op := BroadcastOperator{ns: s.ns, from: s.id, rooms: ef.Rooms, except: ef.ExceptRooms, volatile: ef.Volatile}
	if broadcast {
		op = op.Except(s.id)
	}
	if _, err := op.emit(ef.Event, ef.Data, ef.Binary); err != nil {
		return nil, asError(err, CodeInvalidArgument)
	}
	value, err := toValue(answer)
	if err != nil {
		return nil, Errorf(CodeInternal, "cannot encode the handler's answer: %v", err)
	}
	if err := c.srv.checkPayload(value, nil); err != nil {
		return nil, Errorf(CodeInternal, "the handler's answer: %s", err.Message)
	}
	return value, nil
}

func (c *client) onAck(af *roomcastv1.AckFrame) *Error {
	answer := ackAnswer{data: af.Data}
	if af.Error != "" {
		answer.err = errors.New(af.Error)
	}
	if !c.acks.resolve(af.AckId, answer) {
		return Errorf(CodeNotFound, "no event is waiting for ack_id %d", af.AckId)
	}
	return nil
}
