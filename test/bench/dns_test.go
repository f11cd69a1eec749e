package bench

import (
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	capstantesting "capstan/internal/testing"
)

// The DNS benchmark runs `capstan server` (no scheduler, no controllers) and `capstan dns`
// as subprocesses on loopback ports, creates one Service, then sends a fixed number of
// queries over UDP from dnsWorkers clients, each waiting for its answer before the next
// question. It reports queries/s and the p50/p99 round trip seen by the clients, for:
//   - service: a Service name, answered from the informer cache;
//   - forwarded-cached: a name outside the cluster, answered from the forwarding cache
//     (the in-process fake upstream sees it once).
//
// The clients share the machine's cores with the server, so queries/s is a floor.

const (
	dnsQueries = 200_000
	dnsWorkers = 16
)

func BenchmarkDNSCachedQueries(b *testing.B) {
	cases := []struct{ name, qname string }{
		{"service", "bench.default.svc.cluster.local."},
		{"forwarded-cached", "example.test."},
	}
	for range b.N {
		srv := startServerArgs(b, "--disable-scheduler", "--disable-controller-manager")
		c := srv.client(mediaPB)
		if _, err := c.CoreV1().Services("default").Create(b.Context(), &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "bench"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
		}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		upstream := startBenchUpstream(b)
		addr := startDNSProcess(b, srv, upstream)
		for _, tc := range cases {
			b.Run(tc.name, func(b *testing.B) {
				// Warm: the informer has the Service, the cache has the forwarded name.
				deadline := time.Now().Add(10 * time.Second)
				for {
					r, err := dns.Exchange(question(tc.qname), addr)
					if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
						break
					}
					if time.Now().After(deadline) {
						b.Fatalf("%s never answered: %v %v", tc.qname, r, err)
					}
					time.Sleep(20 * time.Millisecond)
				}
				qps, p50, p99 := runDNSLoad(b, addr, tc.qname)
				b.ReportMetric(qps, "queries/s")
				b.ReportMetric(p50, "p50-ms")
				b.ReportMetric(p99, "p99-ms")
			})
		}
	}
}

func question(name string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	return m
}

// runDNSLoad sends dnsQueries questions from dnsWorkers UDP clients.
func runDNSLoad(b *testing.B, addr, qname string) (qps, p50ms, p99ms float64) {
	b.Helper()
	per := dnsQueries / dnsWorkers
	lat := make([][]time.Duration, dnsWorkers)
	errs := make(chan error, dnsWorkers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range dnsWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := dns.Dial("udp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			ls := make([]time.Duration, 0, per)
			m := question(qname)
			for i := range per {
				m.Id = uint16(i)
				t0 := time.Now()
				_ = conn.SetDeadline(t0.Add(2 * time.Second))
				if err := conn.WriteMsg(m); err != nil {
					errs <- err
					return
				}
				r, err := conn.ReadMsg()
				if err != nil {
					errs <- fmt.Errorf("query %d: %w", i, err)
					return
				}
				ls = append(ls, time.Since(t0))
				if r.Id != m.Id || len(r.Answer) == 0 {
					errs <- fmt.Errorf("query %d: bad answer %v", i, r)
					return
				}
			}
			lat[w] = ls
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	ms := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / float64(time.Millisecond) }
	return float64(len(all)) / elapsed.Seconds(), ms(0.50), ms(0.99)
}

// startBenchUpstream is an in-process resolver on loopback answering example.test.
func startBenchUpstream(b *testing.B) string {
	b.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Name == "example.test." {
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "example.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 3600},
				A: net.IPv4(192, 0, 2, 10)}}
		} else {
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = s.ActivateAndServe() }()
	b.Cleanup(func() { _ = s.Shutdown() })
	return pc.LocalAddr().String()
}

// startDNSProcess runs `capstan dns` against srv on a free loopback port and returns its
// address once it serves.
func startDNSProcess(b *testing.B, srv *serverProcess, upstream string) string {
	b.Helper()
	var lastErr error
	for range 3 {
		ports, err := freePorts(1)
		if err != nil {
			b.Fatal(err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		cmd := exec.Command(capstantesting.Binary(b), "dns", "--kubeconfig", srv.kubeconfig,
			"--listen", addr, "--http-listen", "", "--publish-service=false", "--upstream", upstream)
		logs := &tailBuffer{max: 64 << 10}
		exited := make(chan struct{})
		if err := waitForLine(cmd, logs, "DNS server is ready", exited); err != nil {
			lastErr = err
			continue
		}
		b.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(stopTimeout):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
		return addr
	}
	b.Fatalf("starting capstan dns: %v", lastErr)
	return ""
}
