package bench

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/iptables"
	"capstan/internal/proxy/nftables"
	"capstan/internal/proxy/runner"
	"capstan/internal/proxy/userspace"
)

// The proxy benchmarks program N services of 10 endpoints each into the netfilter tables
// of a network namespace made for the run (never the host's), through the proxy mode's own
// code and tools, and report:
//   - full-s: the first, full sync (every chain written);
//   - change-ms: then a partial sync after one endpoint of one service changed;
//   - rules: the rules the mode owns afterwards.
//
// The state is built directly (desired.Compute is not timed); they need root.

// proxyState is n service ports with 10 ready endpoints each.
func proxyState(n int) *desired.State {
	st := &desired.State{Masquerade: desired.Masquerade{PodCIDR: netip.MustParsePrefix("10.42.0.0/16")}}
	for i := range n {
		sp := desired.ServicePort{
			Name:      desired.ServicePortName{Namespace: "bench", Name: fmt.Sprintf("svc-%05d", i), Port: "http", Protocol: corev1.ProtocolTCP},
			ClusterIP: netip.AddrFrom4([4]byte{10, 43, byte(i >> 8), byte(i)}), Port: 80,
		}
		for j := range 10 {
			k := i*10 + j
			sp.ClusterEndpoints = append(sp.ClusterEndpoints, desired.Endpoint{
				IP: netip.AddrFrom4([4]byte{10, 42, byte(k >> 8), byte(k)}), Port: 8080, Ready: true, Serving: true,
			})
		}
		sp.HasAnyEndpoints = true
		st.Services = append(st.Services, sp)
	}
	return st
}

func benchNetns(b *testing.B) runner.Runner {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("the proxy benchmarks need root (a network namespace and its netfilter tables)")
	}
	name := fmt.Sprintf("capbench-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		b.Fatalf("ip netns add: %v: %s", err, out)
	}
	b.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	return runner.Exec{Prefix: []string{"ip", "netns", "exec", name}}
}

func BenchmarkProxyIPTables(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			run := benchNetns(b)
			p, err := iptables.New(iptables.Options{Runner: run})
			if err != nil {
				b.Fatal(err)
			}
			benchProxy(b, n, p.Sync, p.RuleCounts)
		})
	}
}

func BenchmarkProxyNFTables(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			run := benchNetns(b)
			p, err := nftables.New(nftables.Options{Runner: run})
			if err != nil {
				b.Fatal(err)
			}
			benchProxy(b, n, p.Sync, p.RuleCounts)
		})
	}
}

// BenchmarkProxyUserspace syncs like the other modes, and reports to-zero-ms: a partial
// sync after one service port lost its endpoints. The rules go into the namespace's
// tables; the proxy sockets (one per service port) open on the host's loopback.
func BenchmarkProxyUserspace(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			run := benchNetns(b)
			p, err := userspace.New(userspace.Options{Runner: run, Sockets: &loopbackSockets{}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = p.Close() })
			benchProxy(b, n, p.Sync, p.RuleCounts)
			// An endpoint change touches no rule in this mode; a port scaled to zero does
			// (its redirects deleted, a reject added).
			zero := proxyState(n)
			zero.Services[n/2].ClusterEndpoints, zero.Services[n/2].HasAnyEndpoints = nil, false
			start := time.Now()
			if err := p.Sync(b.Context(), zero); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "to-zero-ms")
		})
	}
}

// benchProxy runs the full sync of n services and the one-endpoint change after it.
func benchProxy(b *testing.B, n int, sync func(context.Context, *desired.State) error, counts func() map[string]int) {
	for range b.N {
		st := proxyState(n)
		st.Full = true
		start := time.Now()
		if err := sync(b.Context(), st); err != nil {
			b.Fatal(err)
		}
		full := time.Since(start)

		next := proxyState(n)
		next.Services[n/2].ClusterEndpoints[3].IP = netip.MustParseAddr("10.99.0.1")
		start = time.Now()
		if err := sync(b.Context(), next); err != nil {
			b.Fatal(err)
		}
		change := time.Since(start)
		b.ReportMetric(full.Seconds(), "full-s")
		b.ReportMetric(float64(change.Microseconds())/1000, "change-ms")
		total := 0
		for _, c := range counts() {
			total += c
		}
		b.ReportMetric(float64(total), "rules")
	}
}
