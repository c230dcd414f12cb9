package redis

import (
	"time"

	clusterv1 "github.com/roomcast/roomcast/gen/roomcast/cluster/v1"
	"github.com/roomcast/roomcast/server/adapter"
)

func toProtoSocket(s adapter.SocketInfo) *clusterv1.Socket {
	return &clusterv1.Socket{
		Sid:                 s.SID,
		Namespace:           s.Namespace,
		Rooms:               s.Rooms,
		ConnectedAtUnixNano: s.ConnectedAt.UnixNano(),
		Peer:                s.Peer,
		MetadataKeys:        s.MetadataKeys,
		AuthKeys:            s.AuthKeys,
		Data:                s.Data,
		Node:                s.Node,
	}
}

func fromProtoSocket(s *clusterv1.Socket) adapter.SocketInfo {
	return adapter.SocketInfo{
		SID:          s.Sid,
		Namespace:    s.Namespace,
		Rooms:        s.Rooms,
		ConnectedAt:  time.Unix(0, s.ConnectedAtUnixNano),
		Peer:         s.Peer,
		MetadataKeys: s.MetadataKeys,
		AuthKeys:     s.AuthKeys,
		Data:         s.Data,
		Node:         s.Node,
	}
}
