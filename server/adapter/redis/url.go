package redis

import (
	"errors"
	"net/url"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// clusterSchemes mark a URL that names a Redis Cluster, by the scheme
// go-redis would read it with.
var clusterSchemes = map[string]string{"redis+cluster": "redis", "rediss+cluster": "rediss"}

// ClientOptions are a parsed Redis URL: one Redis, or a Redis Cluster.
type ClientOptions struct {
	single  *goredis.Options
	cluster *goredis.ClusterOptions
}

// ParseURL reads the Redis a URL names, with go-redis's parsers:
// redis://, rediss:// (TLS) or unix:// for one Redis, and
// redis+cluster:// or rediss+cluster:// for a Redis Cluster, whose seed
// nodes are the URL's host and its addr= parameters, as in
// redis+cluster://10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000.
//
// An error never repeats the URL, which may hold a password.
func ParseURL(rawURL string) (*ClientOptions, error) {
	scheme, rest, found := strings.Cut(rawURL, "://")
	if plain, ok := clusterSchemes[strings.ToLower(scheme)]; found && ok {
		// A cluster has no databases; go-redis would ignore a /N.
		if u, err := url.Parse(plain + "://" + rest); err == nil && strings.Trim(u.Path, "/") != "" {
			return nil, errors.New("a Redis Cluster has no databases: leave out the /DB path")
		}
		opts, err := goredis.ParseClusterURL(plain + "://" + rest)
		if err != nil {
			return nil, withoutURL(err)
		}
		return &ClientOptions{cluster: opts}, nil
	}
	opts, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, withoutURL(err)
	}
	return &ClientOptions{single: opts}, nil
}

// withoutURL drops the URL that a *url.Error repeats.
func withoutURL(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

// Cluster reports whether the URL named a Redis Cluster.
func (o *ClientOptions) Cluster() bool { return o.cluster != nil }

// NewClient opens a client, with name as its connections' name (what
// CLIENT LIST shows).
func (o *ClientOptions) NewClient(name string) goredis.UniversalClient {
	if o.cluster != nil {
		opts := *o.cluster
		opts.ClientName = name
		return goredis.NewClusterClient(&opts)
	}
	opts := *o.single
	opts.ClientName = name
	return goredis.NewClient(&opts)
}
