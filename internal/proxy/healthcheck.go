package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"capstan/internal/proxy/desired"
)

// healthCheck is what one health-check node port answers: LoadBalancer services with the
// Local external traffic policy get one, and a load balancer sends traffic only to the nodes
// where it answers 200, those with a ready endpoint of the service.
type healthCheck struct {
	Namespace, Name string
	LocalEndpoints  int
}

// healthChecks returns the health-check node ports st asks for, with the number of ready
// endpoints on this node (terminating ones do not count: the node should be drained).
func healthChecks(st *desired.State) map[int32]healthCheck {
	out := map[int32]healthCheck{}
	for i := range st.Services {
		sp := &st.Services[i]
		if sp.HealthCheckNodePort == 0 {
			continue
		}
		n := 0
		for _, e := range sp.LocalEndpoints {
			if e.Ready {
				n++
			}
		}
		hc := out[sp.HealthCheckNodePort]
		hc.Namespace, hc.Name = sp.Name.Namespace, sp.Name.Name
		// Ports of one service share the health check; any of them with a local endpoint
		// makes the node worth sending traffic to.
		hc.LocalEndpoints = max(hc.LocalEndpoints, n)
		out[sp.HealthCheckNodePort] = hc
	}
	return out
}

// healthServers serves the health-check node ports, opening and closing listeners as
// services come and go.
type healthServers struct {
	listen func(port int32) (net.Listener, error)
	log    *slog.Logger

	mu      sync.Mutex
	checks  map[int32]healthCheck
	servers map[int32]*http.Server
}

func newHealthServers(listen func(int32) (net.Listener, error), log *slog.Logger) *healthServers {
	if listen == nil {
		listen = func(port int32) (net.Listener, error) {
			return net.Listen("tcp", ":"+strconv.Itoa(int(port)))
		}
	}
	return &healthServers{listen: listen, log: log, checks: map[int32]healthCheck{}, servers: map[int32]*http.Server{}}
}

// update serves exactly the given checks.
func (h *healthServers) update(checks map[int32]healthCheck) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = checks
	for port, srv := range h.servers {
		if _, ok := checks[port]; !ok {
			_ = srv.Close()
			delete(h.servers, port)
		}
	}
	for port := range checks {
		if h.servers[port] != nil {
			continue
		}
		ln, err := h.listen(port)
		if err != nil {
			// Retried at the next sync.
			h.log.Warn("Serving a health-check node port failed", "port", port, "err", err)
			continue
		}
		srv := &http.Server{Handler: h.handler(port), ReadHeaderTimeout: 5 * time.Second}
		h.servers[port] = srv
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				h.log.Warn("Health-check node port server stopped", "port", port, "err", err)
			}
		}()
	}
}

func (h *healthServers) handler(port int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h.mu.Lock()
		hc, ok := h.checks[port]
		h.mu.Unlock()
		if !ok {
			http.NotFound(w, nil)
			return
		}
		type svc struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		}
		body, _ := json.Marshal(struct {
			Service        svc  `json:"service"`
			LocalEndpoints int  `json:"localEndpoints"`
			Healthy        bool `json:"serviceProxyHealthy"`
		}{svc{hc.Namespace, hc.Name}, hc.LocalEndpoints, true})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if hc.LocalEndpoints == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintf(w, "%s\n", body)
	})
}

// close stops every server.
func (h *healthServers) close(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for port, srv := range h.servers {
		_ = srv.Shutdown(ctx)
		delete(h.servers, port)
	}
}
