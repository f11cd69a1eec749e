package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

type healthCheck struct {
	name  string
	check func(ctx context.Context) error
}

func isHealthPath(p string) bool {
	for _, root := range []string{"/healthz", "/livez", "/readyz"} {
		if p == root || strings.HasPrefix(p, root+"/") {
			return true
		}
	}
	return false
}

func (s *Server) healthChecks(root string) []healthCheck {
	checks := []healthCheck{
		{"ping", func(context.Context) error { return nil }},
		{"etcd", func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := s.opts.Etcd.Get(ctx, "health")
			return err
		}},
	}
	if root == "/readyz" || root == "/healthz" {
		checks = append(checks, healthCheck{"poststarthook/bootstrap-system-objects", func(context.Context) error {
			select {
			case <-s.ready:
				return nil
			default:
				return fmt.Errorf("not finished")
			}
		}})
	}
	return checks
}

// serveHealth answers /healthz, /livez, /readyz and their per-check paths like upstream:
// "ok" when healthy, the per-check list with ?verbose, 500 with the list when a check fails.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
	root := "/" + parts[0]
	only := ""
	if len(parts) == 2 {
		only = parts[1]
	}
	excluded := map[string]bool{}
	for _, e := range r.URL.Query()["exclude"] {
		excluded[e] = true
	}
	var b strings.Builder
	failed := false
	found := only == ""
	for _, c := range s.healthChecks(root) {
		if excluded[c.name] || (only != "" && c.name != only) {
			continue
		}
		found = true
		if err := c.check(r.Context()); err != nil {
			failed = true
			fmt.Fprintf(&b, "[-]%s failed: reason withheld\n", c.name)
		} else {
			fmt.Fprintf(&b, "[+]%s ok\n", c.name)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !found {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "404 page not found\n")
		return
	}
	name := strings.TrimPrefix(root, "/")
	if failed {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "%s%s check failed\n", b.String(), name)
		return
	}
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		fmt.Fprintf(w, "%s%s check passed\n", b.String(), name)
		return
	}
	fmt.Fprint(w, "ok")
}
