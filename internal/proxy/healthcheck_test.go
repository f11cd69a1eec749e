package proxy

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"capstan/internal/proxy/desired"
)

func lbPort(name string, hc int32, eps ...desired.Endpoint) desired.ServicePort {
	return desired.ServicePort{
		Name:                desired.ServicePortName{Namespace: "ns", Name: name, Port: "p", Protocol: "TCP"},
		ExternalPolicyLocal: true, HealthCheckNodePort: hc, LocalEndpoints: eps,
	}
}

func TestHealthChecksCountReadyLocalEndpoints(t *testing.T) {
	t.Parallel()
	ready := desired.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: 80, Local: true, Ready: true, Serving: true}
	terminating := desired.Endpoint{IP: netip.MustParseAddr("10.0.0.2"), Port: 80, Local: true, Serving: true, Terminating: true}
	st := &desired.State{Services: []desired.ServicePort{
		lbPort("a", 32001, ready, ready),
		lbPort("b", 32002, terminating),
		lbPort("c", 32003),
		lbPort("none", 0, ready),
	}}
	got := healthChecks(st)
	want := map[int32]healthCheck{
		32001: {Namespace: "ns", Name: "a", LocalEndpoints: 2},
		32002: {Namespace: "ns", Name: "b"},
		32003: {Namespace: "ns", Name: "c"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for port, hc := range want {
		if got[port] != hc {
			t.Errorf("port %d: got %+v, want %+v", port, got[port], hc)
		}
	}
}

func TestHealthServersFollowTheServices(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	addrs := map[int32]string{}
	hs := newHealthServers(func(port int32) (net.Listener, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			mu.Lock()
			addrs[port] = ln.Addr().String()
			mu.Unlock()
		}
		return ln, err
	}, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { hs.close(t.Context()) })
	get := func(port int32) (int, string) {
		mu.Lock()
		addr := addrs[port]
		mu.Unlock()
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	hs.update(map[int32]healthCheck{32001: {Namespace: "ns", Name: "a", LocalEndpoints: 1}, 32002: {Namespace: "ns", Name: "b"}})
	if code, body := get(32001); code != 200 || !strings.Contains(body, `"localEndpoints":1`) || !strings.Contains(body, `"name":"a"`) {
		t.Errorf("port with a local endpoint: %d %s", code, body)
	}
	if code, _ := get(32002); code != 503 {
		t.Errorf("port without local endpoints: %d, want 503", code)
	}
	hs.update(map[int32]healthCheck{32002: {Namespace: "ns", Name: "b", LocalEndpoints: 3}})
	if code, body := get(32002); code != 200 || !strings.Contains(body, `"localEndpoints":3`) {
		t.Errorf("after an update: %d %s", code, body)
	}
	if code, _ := get(32001); code != 0 {
		t.Errorf("a removed health check still answers %d", code)
	}
}
