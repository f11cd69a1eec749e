package componentserver

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestServeAnswersMetricsAndHealth(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "capstan_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Inc()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	done := make(chan error, 1)
	go func() { done <- Serve(t.Context(), addr, reg) }()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(path string) string {
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := client.Get("https://" + addr + path)
			if err == nil {
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return string(body)
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %v", path, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if got := get("/healthz"); got != "ok" {
		t.Errorf("/healthz = %q, want ok", got)
	}
	if got := get("/metrics"); !strings.Contains(got, "capstan_test_total 1") {
		t.Errorf("/metrics lacks the registered counter:\n%s", got)
	}
}
