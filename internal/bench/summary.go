package bench

import (
	"encoding/json"
	"io"
	"math"
)

// Summary is the result of a run, printed as one JSON line. The keys
// every scenario has come first; the Socket.IO harness prints the same
// keys for the scenarios it has.
//
// What the latency figures measure depends on the scenario: for fanout
// and rooms, from just before a publisher's send to a subscriber's
// receipt of the frame; for churn, from dial to the join's reply; idle has
// none.
type Summary struct {
	Scenario       string  `json:"scenario"`
	Clients        int     `json:"clients"`
	ConnectSeconds float64 `json:"connect_seconds"`
	// Seconds is the measured phase: publishing and draining for fanout
	// and rooms, connecting for churn, holding for idle.
	Seconds        float64 `json:"seconds"`
	Published      int64   `json:"published"`
	PublishedPerS  float64 `json:"published_per_s"`
	Expected       int64   `json:"expected"`
	Delivered      int64   `json:"delivered"`
	DeliveryRatio  float64 `json:"delivery_ratio"`
	DeliveriesPerS float64 `json:"deliveries_per_s"`
	P50Ms          float64 `json:"p50_ms"`
	P90Ms          float64 `json:"p90_ms"`
	P99Ms          float64 `json:"p99_ms"`
	MaxMs          float64 `json:"max_ms"`
	// Dropped is Expected - Delivered: volatile drops, subscribers
	// disconnected as slow consumers, refused emits, or what was still in
	// flight when the drain time ran out.
	Dropped int64 `json:"dropped"`
	// Errors counts failed connects, failed sends, refused frames and
	// clients that the server disconnected.
	Errors int64 `json:"errors"`
	// Disconnects counts clients whose stream the server ended before the
	// run closed it (for example as slow consumers).
	Disconnects int64 `json:"disconnects"`
	// Interrupted is set when the run was cancelled (Ctrl-C) and the
	// summary covers only what ran.
	Interrupted bool `json:"interrupted"`

	// The shape of the run. Nodes is the number of addresses given, the
	// nodes of a cluster (1 for one server); roomcast only.
	Nodes int `json:"nodes"`
	// ClientTransport is the clients' HTTP/2 stack (--transport).
	ClientTransport string  `json:"client_transport,omitempty"`
	Subscribers     int     `json:"subscribers,omitempty"`
	Publishers      int     `json:"publishers,omitempty"`
	Rooms           int     `json:"rooms,omitempty"`
	PayloadBytes    int     `json:"payload_bytes,omitempty"`
	Window          int     `json:"window,omitempty"`
	TargetRate      float64 `json:"target_rate,omitempty"`
	Volatile        bool    `json:"volatile,omitempty"`

	// idle: the server's RSS before and after connecting, and the
	// difference per connection.
	KBPerConn            *float64 `json:"kb_per_conn,omitempty"`
	ServerRSSBytes       *int64   `json:"server_rss_bytes,omitempty"`
	ServerRSSBeforeBytes *int64   `json:"server_rss_before_bytes,omitempty"`

	// fanout and rooms against one server whose --http-addr is given: the
	// CPU time it spent from the first send to the last delivery, and that
	// time per delivery.
	ServerCPUSeconds           *float64 `json:"server_cpu_seconds,omitempty"`
	ServerCPUMicrosPerDelivery *float64 `json:"server_cpu_us_per_delivery,omitempty"`

	// churn
	Connects     *int64   `json:"connects,omitempty"`
	ConnectsPerS *float64 `json:"connects_per_s,omitempty"`
	Skipped      *int64   `json:"skipped,omitempty"`

	// Warnings are conditions that make the numbers less trustworthy.
	Warnings []string `json:"warnings,omitempty"`
}

// setDeliveries fills the fields that follow from published, expected and
// delivered over seconds.
func (s *Summary) setDeliveries(published, expected, delivered int64, publishSeconds, deliverSeconds float64) {
	s.Published, s.Expected, s.Delivered = published, expected, delivered
	s.Dropped = max(expected-delivered, 0)
	// Nothing expected is nothing missing: the ratio is 1, and published
	// tells whether anything ran.
	s.DeliveryRatio = 1
	if expected > 0 {
		s.DeliveryRatio = float64(delivered) / float64(expected)
	}
	s.PublishedPerS = perSecond(published, publishSeconds)
	s.DeliveriesPerS = perSecond(delivered, deliverSeconds)
}

func (s *Summary) setLatency(p percentiles) {
	s.P50Ms, s.P90Ms, s.P99Ms, s.MaxMs = p.p50, p.p90, p.p99, p.max
}

func (s *Summary) warn(msg string) { s.Warnings = append(s.Warnings, msg) }

func perSecond(n int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(n) / seconds
}

// round keeps a summary readable: a microsecond is the histogram's unit,
// so three decimals of milliseconds lose nothing.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// WriteJSON writes the summary as one line.
func (s *Summary) WriteJSON(w io.Writer) error {
	c := *s
	for _, f := range []*float64{&c.ConnectSeconds, &c.Seconds, &c.PublishedPerS, &c.DeliveryRatio,
		&c.DeliveriesPerS, &c.P50Ms, &c.P90Ms, &c.P99Ms, &c.MaxMs} {
		*f = round(*f)
	}
	for _, p := range []**float64{&c.KBPerConn, &c.ConnectsPerS, &c.ServerCPUSeconds, &c.ServerCPUMicrosPerDelivery} {
		if *p != nil {
			v := round(**p)
			*p = &v
		}
	}
	return json.NewEncoder(w).Encode(&c) // Encode ends the line
}
