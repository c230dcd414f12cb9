package server

import (
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics exposes the hub to Prometheus. Counts are read from the hub when
// scraped, so the hot path pays only for the fan-out histogram.
type metrics struct {
	srv      *Server
	registry *prometheus.Registry
	grpc     *grpcprom.ServerMetrics // handled RPCs by code, from the interceptors
	fanout   prometheus.Histogram

	clients, streams, streamsEnded, sockets, rooms, eventsIn, delivered, dropped, adapterUp *prometheus.Desc
}

func newMetrics(srv *Server) *metrics {
	m := &metrics{
		srv:      srv,
		registry: prometheus.NewRegistry(),
		grpc:     grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram()),
		fanout: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "roomcast_fanout_seconds",
			Help:    "Time to hand one emit to every local recipient's queue.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10), // 1µs .. 0.26s
		}),
		clients: prometheus.NewDesc("roomcast_clients", "Connected client streams.", nil, nil),
		streams: prometheus.NewDesc("roomcast_client_streams_total",
			"ChatService/Connect streams started (grpc_server_* metrics leave Connect out).", nil, nil),
		streamsEnded: prometheus.NewDesc("roomcast_client_streams_ended_total",
			"ChatService/Connect streams ended, by reason.", []string{"reason"}, nil),
		adapterUp: prometheus.NewDesc("roomcast_adapter_up", "1 while the adapter reaches the rest of the cluster.", nil, nil),
		sockets:   prometheus.NewDesc("roomcast_sockets", "Connected sockets by namespace.", []string{"namespace"}, nil),
		rooms:     prometheus.NewDesc("roomcast_rooms", "Rooms by namespace, sockets' own rooms not counted.", []string{"namespace"}, nil),
		eventsIn:  prometheus.NewDesc("roomcast_events_received_total", "Events received from clients by namespace.", []string{"namespace"}, nil),
		delivered: prometheus.NewDesc("roomcast_events_queued_total", "Event deliveries handed to client queues by namespace.", []string{"namespace"}, nil),
		dropped:   prometheus.NewDesc("roomcast_dropped_total", "Volatile events dropped, clients disconnected as slow consumers, and broadcasts the adapter could not hand to other nodes.", []string{"reason"}, nil),
	}
	m.registry.MustRegister(m, m.grpc,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the Prometheus registry behind /metrics, so that
// embedders can add their own collectors.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.registry }

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.fanout.Describe(ch)
	for _, d := range []*prometheus.Desc{m.clients, m.streams, m.streamsEnded, m.sockets, m.rooms, m.eventsIn, m.delivered, m.dropped, m.adapterUp} {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.fanout.Collect(ch)
	st := m.srv.Stats()
	ch <- prometheus.MustNewConstMetric(m.clients, prometheus.GaugeValue, float64(st.Clients))
	ch <- prometheus.MustNewConstMetric(m.streams, prometheus.CounterValue, float64(m.srv.stats.streams.Load()))
	for reason, n := range m.srv.stats.endedByReason() {
		ch <- prometheus.MustNewConstMetric(m.streamsEnded, prometheus.CounterValue, float64(n), reason)
	}
	up := 1.0
	if m.srv.AdapterStatus() != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(m.adapterUp, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(m.dropped, prometheus.CounterValue, float64(st.DroppedVolatile), "volatile")
	ch <- prometheus.MustNewConstMetric(m.dropped, prometheus.CounterValue, float64(st.SlowConsumers), "slow consumer")
	if d, ok := m.srv.opts.adapters.(interface{ Dropped() int64 }); ok {
		ch <- prometheus.MustNewConstMetric(m.dropped, prometheus.CounterValue, float64(d.Dropped()), "adapter")
	}
	for _, ns := range m.srv.Namespaces() {
		sockets, rooms := ns.Counts()
		ch <- prometheus.MustNewConstMetric(m.sockets, prometheus.GaugeValue, float64(sockets), ns.name)
		ch <- prometheus.MustNewConstMetric(m.rooms, prometheus.GaugeValue, float64(rooms), ns.name)
		ch <- prometheus.MustNewConstMetric(m.eventsIn, prometheus.CounterValue, float64(ns.eventsIn.Load()), ns.name)
		ch <- prometheus.MustNewConstMetric(m.delivered, prometheus.CounterValue, float64(ns.queued.Load()), ns.name)
	}
}
