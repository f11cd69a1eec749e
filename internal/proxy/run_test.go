package proxy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	kubeproxy "capstan/internal/proxy"
	"capstan/internal/proxy/runner"
	capstantesting "capstan/internal/testing"
)

// This test is in an external package: internal/testing starts a server, whose agent runs
// the proxy, so an in-package test importing it would be an import cycle.

// restoreLog keeps the input of the last iptables-restore the fake saw.
type restoreLog struct {
	fake *runner.Fake
	last string
}

func (r *restoreLog) latest() string {
	for _, c := range r.fake.Calls() {
		if strings.HasPrefix(c.Line, "iptables-restore") {
			r.last = c.Stdin
		}
	}
	return r.last
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestIntegrationRunProgramsServicesFromTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	t.Parallel()
	s := capstantesting.StartServer(t)
	fake := &runner.Fake{}
	metricsAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- kubeproxy.Run(ctx, kubeproxy.Options{
			Config: s.Config, NodeName: "node-a", MinSyncPeriod: 10 * time.Millisecond,
			MetricsBindAddress: metricsAddr, Runner: fake, Logger: slog.New(slog.DiscardHandler),
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	rl := &restoreLog{fake: fake}
	eventually(t, "the kubernetes service in the rules", func() bool {
		return strings.Contains(rl.latest(), `"default/kubernetes:https cluster IP"`)
	})

	cs := s.Client
	svc, err := cs.CoreV1().Services("default").Create(t.Context(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rejected := fmt.Sprintf(`"default/web:http has no endpoints" -m tcp -p tcp -d %s/32 --dport 80 -j REJECT`, svc.Spec.ClusterIP)
	eventually(t, "the service without endpoints rejected", func() bool { return strings.Contains(rl.latest(), rejected) })

	_, err = cs.DiscoveryV1().EndpointSlices("default").Create(t.Context(), &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.42.0.7"}, NodeName: ptr.To("node-a")}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the endpoint in the rules", func() bool {
		in := rl.latest()
		return strings.Contains(in, "--to-destination 10.42.0.7:8080") && !strings.Contains(in, rejected)
	})

	// A service another proxy is named for gets nothing.
	_, err = cs.CoreV1().Services("default").Create(t.Context(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "other", Labels: map[string]string{"service.kubernetes.io/service-proxy-name": "else"}},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Services("default").Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted service gone from the rules", func() bool { return !strings.Contains(rl.latest(), "default/web:http") })
	if strings.Contains(rl.last, "default/other") {
		t.Error("a service named for another proxy got rules")
	}

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"kubeproxy_sync_proxy_rules_duration_seconds_count", "kubeproxy_network_programming_duration_seconds_count",
		`kubeproxy_sync_proxy_rules_iptables_total{table="nat"}`, "kubeproxy_sync_proxy_rules_last_timestamp_seconds"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(string(body), "kubeproxy_network_programming_duration_seconds_count 0\n") {
		t.Error("no network programming latency recorded")
	}
	resp, err = http.Get("http://" + metricsAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"lastUpdated":"20`) {
		t.Errorf("/healthz = %d %s", resp.StatusCode, body)
	}
}
