package redis

import (
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url     string
		cluster bool
		addrs   []string
	}{
		{"redis://127.0.0.1:6379/0", false, []string{"127.0.0.1:6379"}},
		{"rediss://u:p@redis.example.com:6380/2", false, []string{"redis.example.com:6380"}},
		{"unix:///run/redis.sock", false, []string{"/run/redis.sock"}},
		{"redis+cluster://10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000", true, []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"}},
		{"rediss+cluster://u:p@redis.example.com:7000", true, []string{"redis.example.com:7000"}},
	} {
		opts, err := ParseURL(tc.url)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if opts.Cluster() != tc.cluster {
			t.Errorf("%s: Cluster() = %v, want %v", tc.url, opts.Cluster(), tc.cluster)
		}
		c := opts.NewClient("roomcast:test")
		switch c := c.(type) {
		case *goredis.ClusterClient:
			if !tc.cluster || c.Options().ClientName != "roomcast:test" || len(c.Options().Addrs) != len(tc.addrs) {
				t.Errorf("%s: a cluster client with %+v", tc.url, c.Options())
			}
			for i, a := range tc.addrs {
				if c.Options().Addrs[i] != a {
					t.Errorf("%s: seed nodes %v, want %v", tc.url, c.Options().Addrs, tc.addrs)
				}
			}
		case *goredis.Client:
			if tc.cluster || c.Options().ClientName != "roomcast:test" || c.Options().Addr != tc.addrs[0] {
				t.Errorf("%s: a client with %+v", tc.url, c.Options())
			}
		default:
			t.Errorf("%s: a %T", tc.url, c)
		}
		_ = c.Close()
	}
	for _, bad := range []string{
		"http://127.0.0.1:6379",
		"redis+cluster://10.0.0.1:7000?colour=blue",
		"redis+sentinel://10.0.0.1:26379",
		"redis+cluster://10.0.0.1:7000/5", // a cluster has no databases
		"redis://u:hunter2@127.0.0.1:six/0",
		"redis+cluster://u:hunter2@127.0.0.1:70x0",
	} {
		_, err := ParseURL(bad)
		if err == nil {
			t.Errorf("%s: no error", bad)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error repeats the password: %v", bad, err)
		}
	}
	// Schemes are case-insensitive, as URLs' are.
	if opts, err := ParseURL("REDIS+CLUSTER://10.0.0.1:7000"); err != nil || !opts.Cluster() {
		t.Errorf("REDIS+CLUSTER://: %v", err)
	}
}
