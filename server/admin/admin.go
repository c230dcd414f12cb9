// Package admin is roomcast's AdminService: Socket.IO's server instance
// API (list namespaces, rooms and sockets; emit from outside; make sockets
// join, leave or disconnect; stats), over gRPC and, through grpc-gateway,
// as REST/JSON. It only uses the hub's public API, which goes through each
// namespace's adapter, so the same calls become cluster-wide when the
// adapter spans nodes.
package admin

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/server"
	"github.com/roomcast/roomcast/server/adapter"
)

// Service implements roomcastv1.AdminServiceServer.
type Service struct {
	roomcastv1.UnimplementedAdminServiceServer
	srv *server.Server
	log *slog.Logger
}

// New returns the admin service of a hub.
func New(srv *server.Server, log *slog.Logger) *Service { return &Service{srv: srv, log: log} }

func (a *Service) ListNamespaces(ctx context.Context, _ *roomcastv1.ListNamespacesRequest) (*roomcastv1.ListNamespacesResponse, error) {
	counts, partial := a.srv.FetchNamespaces(ctx)
	resp := &roomcastv1.ListNamespacesResponse{MissingNodes: partial.Missing}
	for name, sockets := range counts {
		resp.Namespaces = append(resp.Namespaces, &roomcastv1.NamespaceInfo{Name: name, Sockets: int64(sockets)})
	}
	sort.Slice(resp.Namespaces, func(i, j int) bool { return resp.Namespaces[i].Name < resp.Namespaces[j].Name })
	return resp, a.unreachable(ctx, partial)
}

func (a *Service) ListRooms(ctx context.Context, req *roomcastv1.ListRoomsRequest) (*roomcastv1.ListRoomsResponse, error) {
	ns, err := a.namespace(req.Namespace)
	if err != nil {
		return nil, err
	}
	sizes, partial := ns.FetchRoomSizes(ctx)
	var sids map[string]bool
	if !req.IncludeSocketRooms {
		// A socket's own room is named by its sid, on whichever node.
		sockets, _ := ns.To().FetchSockets(ctx)
		sids = make(map[string]bool, len(sockets))
		for _, s := range sockets {
			sids[s.SID] = true
		}
	}
	resp := &roomcastv1.ListRoomsResponse{MissingNodes: partial.Missing}
	for room, members := range sizes {
		if !sids[room] {
			resp.Rooms = append(resp.Rooms, &roomcastv1.RoomInfo{Name: room, Members: int64(members)})
		}
	}
	sort.Slice(resp.Rooms, func(i, j int) bool { return resp.Rooms[i].Name < resp.Rooms[j].Name })
	return resp, a.unreachable(ctx, partial)
}

func (a *Service) ListSockets(ctx context.Context, req *roomcastv1.ListSocketsRequest) (*roomcastv1.ListSocketsResponse, error) {
	ns, err := a.namespace(req.Namespace)
	if err != nil {
		return nil, err
	}
	if err := validateRooms("rooms", req.Rooms); err != nil {
		return nil, err
	}
	sockets, partial := ns.To(req.Rooms...).FetchSockets(ctx)
	resp := &roomcastv1.ListSocketsResponse{MissingNodes: partial.Missing}
	for _, s := range sockets {
		resp.Sockets = append(resp.Sockets, &roomcastv1.SocketInfo{
			Sid:          s.SID,
			Namespace:    s.Namespace,
			Rooms:        s.Rooms,
			ConnectedAt:  timestamppb.New(s.ConnectedAt),
			Peer:         s.Peer,
			MetadataKeys: s.MetadataKeys,
			AuthKeys:     s.AuthKeys,
			Data:         s.Data,
			Node:         s.Node,
		})
	}
	sort.Slice(resp.Sockets, func(i, j int) bool {
		return resp.Sockets[i].ConnectedAt.AsTime().Before(resp.Sockets[j].ConnectedAt.AsTime())
	})
	return resp, a.unreachable(ctx, partial)
}

func (a *Service) Emit(_ context.Context, req *roomcastv1.EmitRequest) (*roomcastv1.EmitResponse, error) {
	ns, err := a.namespace(req.Namespace)
	if err != nil {
		return nil, err
	}
	if err := server.ValidateEvent(req.Event); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "event: %s", message(err))
	}
	if err := validateRooms("rooms", req.Rooms); err != nil {
		return nil, err
	}
	if err := validateRooms("except_rooms", req.ExceptRooms); err != nil {
		return nil, err
	}
	op := ns.To(req.Rooms...).Except(req.ExceptRooms...)
	if req.Volatile {
		op = op.Volatile()
	}
	var data any = req.Data
	if len(req.Binary) > 0 {
		if req.Data != nil {
			return nil, status.Error(codes.InvalidArgument, "data and binary: send one of them")
		}
		data = req.Binary
	}
	n, err := op.Emit(req.Event, data)
	if err != nil {
		return nil, grpcError(err)
	}
	return &roomcastv1.EmitResponse{Recipients: int64(n)}, nil
}

func (a *Service) SocketsJoin(ctx context.Context, req *roomcastv1.SocketsJoinRequest) (*roomcastv1.SocketsJoinResponse, error) {
	op, err := a.selectForRooms(req.Namespace, req.Selector, req.Rooms)
	if err != nil {
		return nil, err
	}
	n, partial, err := op.SocketsJoin(ctx, req.Rooms...)
	if err != nil {
		return nil, grpcError(err)
	}
	return &roomcastv1.SocketsJoinResponse{Sockets: int64(n), MissingNodes: partial.Missing}, a.unreachable(ctx, partial)
}

func (a *Service) SocketsLeave(ctx context.Context, req *roomcastv1.SocketsLeaveRequest) (*roomcastv1.SocketsLeaveResponse, error) {
	op, err := a.selectForRooms(req.Namespace, req.Selector, req.Rooms)
	if err != nil {
		return nil, err
	}
	n, partial, err := op.SocketsLeave(ctx, req.Rooms...)
	if err != nil {
		return nil, grpcError(err)
	}
	return &roomcastv1.SocketsLeaveResponse{Sockets: int64(n), MissingNodes: partial.Missing}, a.unreachable(ctx, partial)
}

func (a *Service) DisconnectSockets(ctx context.Context, req *roomcastv1.DisconnectSocketsRequest) (*roomcastv1.DisconnectSocketsResponse, error) {
	ns, err := a.namespace(req.Namespace)
	if err != nil {
		return nil, err
	}
	op, err := selected(ns, req.Selector)
	if err != nil {
		return nil, err
	}
	n, partial := op.DisconnectSockets(ctx, req.Reason)
	return &roomcastv1.DisconnectSocketsResponse{Sockets: int64(n), MissingNodes: partial.Missing}, a.unreachable(ctx, partial)
}

// unreachable logs that other nodes could not be asked. The answer still
// stands for this node, so it is not an error of the call.
func (a *Service) unreachable(ctx context.Context, partial adapter.Partial) error {
	if partial.Err != nil {
		a.log.WarnContext(ctx, "admin answer covers this node only", "error", partial.Err)
	}
	return nil
}

func (a *Service) GetStats(context.Context, *roomcastv1.GetStatsRequest) (*roomcastv1.GetStatsResponse, error) {
	st := a.srv.Stats()
	resp := &roomcastv1.GetStatsResponse{
		Clients:          st.Clients,
		Sockets:          st.Sockets,
		NamespaceSockets: make(map[string]int64),
		EventsIn:         st.EventsIn,
		Deliveries:       st.Deliveries,
		DroppedVolatile:  st.DroppedVolatile,
		SlowConsumers:    st.SlowConsumers,
		UptimeSeconds:    time.Since(a.srv.StartedAt()).Seconds(),
		Version:          a.srv.Version(),
	}
	for _, ns := range a.srv.Namespaces() {
		sockets, rooms := ns.Counts()
		resp.NamespaceSockets[ns.Name()] = int64(sockets)
		resp.Rooms += int64(rooms)
	}
	return resp, nil
}

// namespace finds an existing namespace; creating one from outside would
// let a typo make namespaces.
func (a *Service) namespace(name string) (*server.Namespace, error) {
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "namespace: must not be empty (\"/\" is %2F in URL paths)")
	}
	if !strings.HasPrefix(name, "/") {
		return nil, status.Errorf(codes.InvalidArgument, "namespace: %q must start with /", name)
	}
	ns := a.srv.Lookup(name)
	if ns == nil {
		return nil, status.Errorf(codes.NotFound, "namespace %q not found", name)
	}
	return ns, nil
}

func (a *Service) selectForRooms(namespace string, sel *roomcastv1.Selector, rooms []string) (server.BroadcastOperator, error) {
	ns, err := a.namespace(namespace)
	if err != nil {
		return server.BroadcastOperator{}, err
	}
	if len(rooms) == 0 {
		return server.BroadcastOperator{}, status.Error(codes.InvalidArgument, "rooms: must not be empty")
	}
	if err := validateRooms("rooms", rooms); err != nil {
		return server.BroadcastOperator{}, err
	}
	return selected(ns, sel)
}

// selected returns the sockets in any of the selector's rooms or with any
// of its sids: each socket is in the room of its own sid.
func selected(ns *server.Namespace, sel *roomcastv1.Selector) (server.BroadcastOperator, error) {
	if err := validateRooms("selector.rooms", sel.GetRooms()); err != nil {
		return server.BroadcastOperator{}, err
	}
	if err := validateRooms("selector.sids", sel.GetSids()); err != nil {
		return server.BroadcastOperator{}, err
	}
	return ns.To(append(append([]string{}, sel.GetRooms()...), sel.GetSids()...)...), nil
}

func validateRooms(field string, rooms []string) error {
	for _, room := range rooms {
		if err := server.ValidateRoom(room); err != nil {
			return status.Errorf(codes.InvalidArgument, "%s: %s", field, message(err))
		}
	}
	return nil
}

func message(err error) string {
	if e, ok := err.(*server.Error); ok {
		return e.Message
	}
	return err.Error()
}

// grpcError maps the hub's refusal codes, which are gRPC code names, onto
// gRPC statuses.
func grpcError(err error) error {
	e, ok := err.(*server.Error)
	if !ok {
		return status.Error(codes.Internal, err.Error())
	}
	var code codes.Code
	if code.UnmarshalJSON([]byte(`"`+e.Code+`"`)) != nil {
		code = codes.Unknown
	}
	return status.Error(code, e.Message)
}
