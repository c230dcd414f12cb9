package server

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HTTPHandler serves the operations endpoints of the HTTP port: /healthz
// (the process is alive), /readyz (it accepts clients; false once shutting
// down) and /metrics (Prometheus). Readiness also reports the adapter: a
// node whose Redis is away still serves its own clients, so it stays
// ready, and says that cross-node delivery is paused.
func (s *Server) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.Ready() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
			return
		}
		body := map[string]string{"status": "ready", "adapter": "ok"}
		if err := s.AdapterStatus(); err != nil {
			body["adapter"] = err.Error()
		}
		writeJSON(w, http.StatusOK, body)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	return mux
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// AdapterStatus is nil while the adapter reaches the rest of the cluster
// (always, for the in-memory adapter), and says why not otherwise.
func (s *Server) AdapterStatus() error {
	if st, ok := s.opts.adapters.(interface{ Status() error }); ok {
		return st.Status()
	}
	return nil
}
