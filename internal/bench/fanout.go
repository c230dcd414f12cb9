package bench

import "context"

// runFanout is one room of Subscribers subscribers and one publisher in
// the same room: the cost of one message to many recipients, the case
// that batching and encode-once are for.
func runFanout(ctx context.Context, cfg Config, sum *Summary) error {
	return runPubSub(ctx, cfg, pubsubShape{rooms: 1, perRoom: cfg.Subscribers, publishers: 1}, sum)
}
