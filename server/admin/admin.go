// Package admin is roomcast's AdminService: Socket.IO's server instance
// API (list namespaces, rooms and sockets; emit from outside; make sockets
// join, leave or disconnect; stats), over gRPC and, through grpc-gateway,
// as REST/JSON. It only uses the hub's public API, which goes through each
// namespace's adapter, so the same calls become cluster-wide when the
// adapter spans nodes.
package admin

import (
	"context"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	roomcastv1 "github.com/roomcast/roomcast/gen/roomcast/v1"
	"github.com/roomcast/roomcast/server"
)

// Service implements roomcastv1.AdminServiceServer.
type Service struct {
	roomcastv1.UnimplementedAdminServiceServer
	srv *server.Server
}

// New returns the admin service of a hub.
func New(srv *server.Server) *Service { return &Service{srv: srv} }

func (a *Service) ListNamespaces(context.Context, *roomcastv1.ListNamespacesRequest) (*roomcastv1.ListNamespacesResponse, error) {
	resp := &roomcastv1.ListNamespacesResponse{}
	for _, ns := range a.srv.Namespaces() {
		sockets, _ := ns.Counts()
		resp.Namespaces = append(resp.Namespaces, &roomcastv1.NamespaceInfo{Name: ns.Name(), Sockets: int64(sockets)})
	}
	return resp, nil
}

func (a *Service) ListRooms(_ context.Context, req *roomcastv1.ListRoomsRequest) (*roomcastv1.ListRoomsResponse, error) {
	ns, err := a.namespace(req.Namespace)
	if err != nil {
		return nil, err
	}
	resp := &roomcastv1.ListRoomsResponse{}
	for room, members := range ns.RoomSizes() {
		if !req.IncludeSocketRooms && ns.Socket(room) != nil {
			continue
		}
		resp.Rooms = append(resp.Rooms, &roomcastv1.RoomInfo{Name: room, Members: int64(members)})
	}
	sort.Slice(resp.Rooms, func(i, j int) bool { return resp.Rooms[i].Name < resp.Rooms[j].Name })
	return resp, nil
}

func (a *Service) ListSockets(_ context.Context, req *roomcastv1.ListSocketsRequest) (*roomcastv1.ListSocketsResponse, error) {
	ns, err := a.namespace(req.Namespace)
	if err != nil {
		return nil, err
	}
	if err := validateRooms("rooms", req.Rooms); err != nil {
		return nil, err
	}
	resp := &roomcastv1.ListSocketsResponse{}
	for _, s := range ns.To(req.Rooms...).Sockets() {
		resp.Sockets = append(resp.Sockets, a.socketInfo(s))
	}
	sort.Slice(resp.Sockets, func(i, j int) bool {
		return resp.Sockets[i].ConnectedAt.AsTime().Before(resp.Sockets[j].ConnectedAt.AsTime())
	})
	return resp, nil
}

func (a *Service) socketInfo(s *server.Socket) *roomcastv1.SocketInfo {
	hs := s.Handshake()
	info := &roomcastv1.SocketInfo{
		Sid:         s.ID(),
		Namespace:   s.Namespace().Name(),
		Rooms:       s.Rooms(),
		ConnectedAt: timestamppb.New(s.ConnectedAt()),
		Peer:        hs.Peer,
		Data:        toStruct(s.Data()),
		Node:        a.srv.NodeID(),
	}
	sort.Strings(info.Rooms)
	// Keys only: values such as authorization are secrets.
	for key := range hs.Metadata {
		info.MetadataKeys = append(info.MetadataKeys, key)
	}
	sort.Strings(info.MetadataKeys)
	for key := range hs.Auth.GetFields() {
		info.AuthKeys = append(info.AuthKeys, key)
	}
	sort.Strings(info.AuthKeys)
	return info
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

func (a *Service) SocketsJoin(_ context.Context, req *roomcastv1.SocketsJoinRequest) (*roomcastv1.SocketsJoinResponse, error) {
	sockets, err := a.selectForRooms(req.Namespace, req.Selector, req.Rooms)
	if err != nil {
		return nil, err
	}
	for _, s := range sockets {
		if err := s.Join(req.Rooms...); err != nil {
			return nil, grpcError(err)
		}
	}
	return &roomcastv1.SocketsJoinResponse{Sockets: int64(len(sockets))}, nil
}

func (a *Service) SocketsLeave(_ context.Context, req *roomcastv1.SocketsLeaveRequest) (*roomcastv1.SocketsLeaveResponse, error) {
	sockets, err := a.selectForRooms(req.Namespace, req.Selector, req.Rooms)
	if err != nil {
		return nil, err
	}
	for _, s := range sockets {
		s.Leave(req.Rooms...)
	}
	return &roomcastv1.SocketsLeaveResponse{Sockets: int64(len(sockets))}, nil
}

func (a *Service) DisconnectSockets(_ context.Context, req *roomcastv1.DisconnectSocketsRequest) (*roomcastv1.DisconnectSocketsResponse, error) {
	ns, err := a.namespace(req.Namespace)
	if err != nil {
		return nil, err
	}
	sockets, err := selected(ns, req.Selector)
	if err != nil {
		return nil, err
	}
	for _, s := range sockets {
		s.Disconnect(req.Reason)
	}
	return &roomcastv1.DisconnectSocketsResponse{Sockets: int64(len(sockets))}, nil
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
	if strings.HasPrefix(strings.ToUpper(name), "%2F") {
		// A REST path's percent-encoded name: real names start with "/".
		decoded, err := url.PathUnescape(name)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "namespace: %q is not a percent-encoded name", name)
		}
		name = decoded
	}
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

func (a *Service) selectForRooms(namespace string, sel *roomcastv1.Selector, rooms []string) ([]*server.Socket, error) {
	ns, err := a.namespace(namespace)
	if err != nil {
		return nil, err
	}
	if len(rooms) == 0 {
		return nil, status.Error(codes.InvalidArgument, "rooms: must not be empty")
	}
	if err := validateRooms("rooms", rooms); err != nil {
		return nil, err
	}
	return selected(ns, sel)
}

// selected returns the sockets in any of the selector's rooms or with any
// of its sids: each socket is in the room of its own sid.
func selected(ns *server.Namespace, sel *roomcastv1.Selector) ([]*server.Socket, error) {
	if err := validateRooms("selector.rooms", sel.GetRooms()); err != nil {
		return nil, err
	}
	if err := validateRooms("selector.sids", sel.GetSids()); err != nil {
		return nil, err
	}
	targets := append(append([]string{}, sel.GetRooms()...), sel.GetSids()...)
	return ns.To(targets...).Sockets(), nil
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

// toStruct shows what middleware attached, as JSON would.
func toStruct(data map[string]any) *structpb.Struct {
	if len(data) == 0 {
		return nil
	}
	if s, err := structpb.NewStruct(data); err == nil {
		return s
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil
	}
	s := &structpb.Struct{}
	if s.UnmarshalJSON(raw) != nil {
		return nil
	}
	return s
}
