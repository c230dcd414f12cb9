package bench

import "context"

// runRooms is many small rooms with several publishers, each owning
// every Publishers-th room and publishing to its rooms in turn: many
// small fan-outs at once, where the room index and per-client writers
// are what is measured rather than one big fan-out.
func runRooms(ctx context.Context, cfg Config, sum *Summary) error {
	return runPubSub(ctx, cfg, pubsubShape{rooms: cfg.Rooms, perRoom: cfg.SubscribersPerRoom, publishers: cfg.Publishers}, sum)
}
