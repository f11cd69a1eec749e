package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	capstandns "capstan/internal/dns"
	"capstan/internal/network"
	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
)

// fakeResolver is an upstream resolver on a loopback port: example.test has an address,
// big.example.test has too many to fit a UDP answer, everything else is NXDOMAIN. It counts
// the questions it gets.
type fakeResolver struct {
	addr  string
	mu    sync.Mutex
	asked map[string]int
}

func startFakeResolver(t *testing.T) *fakeResolver {
	t.Helper()
	f := &fakeResolver{asked: map[string]int{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	f.addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) { f.serve(w, r, true) })}
	tcp := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) { f.serve(w, r, false) })}
	for _, s := range []*dns.Server{udp, tcp} {
		go func() { _ = s.ActivateAndServe() }()
	}
	t.Cleanup(func() {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
	})
	return f
}

func (f *fakeResolver) serve(w dns.ResponseWriter, r *dns.Msg, udp bool) {
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	f.mu.Lock()
	f.asked[name+"/"+dns.TypeToString[q.Qtype]]++
	f.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	switch {
	case name == "example.test." && q.Qtype == dns.TypeA:
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 10)})
	case name == "big.example.test." && q.Qtype == dns.TypeA:
		for i := range 120 {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, byte(i+1))})
		}
		if udp {
			m.Truncate(512)
		}
	case name == "example.test." || name == "big.example.test.":
	default:
		m.Rcode = dns.RcodeNameError
		m.Ns = append(m.Ns, &dns.SOA{Hdr: dns.RR_Header{Name: "test.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
			Ns: "ns.test.", Mbox: "h.test.", Serial: 1, Refresh: 1, Retry: 1, Expire: 1, Minttl: 30})
	}
	_ = w.WriteMsg(m)
}

func (f *fakeResolver) count(name string, qtype uint16) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asked[name+"/"+dns.TypeToString[qtype]]
}

// startDNS runs a DNS server on loopback ports against the API server until the test ends.
func startDNS(t *testing.T, s *capstantesting.Server, opts capstandns.Options) *capstandns.Server {
	t.Helper()
	opts.Config = s.Config
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	opts.HTTPListen = "127.0.0.1:0"
	d, err := capstandns.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("dns server: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("dns server did not stop")
		}
	})
	poll(t, 10*time.Second, "the DNS server to sync", func() bool { return d.Ready() })
	return d
}

// ask sends one question to addr over network ("udp" or "tcp").
func ask(t *testing.T, addr, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("asking %s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

// rdata is the answer section as "TYPE value" strings.
func rdata(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		h := rr.Header()
		out = append(out, dns.TypeToString[h.Rrtype]+" "+strings.TrimPrefix(rr.String(), h.String()))
	}
	return out
}

func dnsFixtures(t *testing.T, c kubernetes.Interface, ns string) (webIP string) {
	t.Helper()
	ctx := t.Context()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The plain server runs no serviceaccount controller.
	capstantesting.CreateDefaultServiceAccount(t, c, ns)
	web, err := c.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}, {Name: "syslog", Port: 514, Protocol: corev1.ProtocolUDP}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec:       corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Name: "pg", Port: 5432, Protocol: corev1.ProtocolTCP}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "db-1", Labels: map[string]string{
			discoveryv1.LabelServiceName: "db", discoveryv1.LabelManagedBy: "dns-test"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.42.0.5"}, Hostname: ptr.To("db-0"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
			{Addresses: []string{"10.42.0.6"}, Hostname: ptr.To("db-1"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
			{Addresses: []string{"10.42.0.7"}, Hostname: ptr.To("db-2"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
		},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("pg"), Port: ptr.To[int32](5432), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.test"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p1"},
		Spec:       corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.42.0.9", PodIPs: []corev1.PodIP{{IP: "10.42.0.9"}}}
	if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return web.Spec.ClusterIP
}

func startPlainServer(t *testing.T) *capstantesting.Server {
	// No controllers: the test writes the EndpointSlices it wants and nothing rewrites them.
	return capstantesting.StartServerWith(t, func(o *server.Options) {
		o.DisableControllerManager, o.DisableScheduler = true, true
	})
}

func TestIntegrationDNSRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := startPlainServer(t)
	up := startFakeResolver(t)
	webIP := dnsFixtures(t, s.Client, "dnsns")
	d := startDNS(t, s, capstandns.Options{Upstreams: []string{up.addr}})
	poll(t, 5*time.Second, "the fixtures in the DNS caches", func() bool {
		return ask(t, d.Addr(), "udp", "10-42-0-9.dnsns.pod.cluster.local.", dns.TypeA).Rcode == dns.RcodeSuccess
	})
	webRev, _ := dns.ReverseAddr(webIP)

	tests := []struct {
		name  string
		qname string
		qtype uint16
		rcode int
		want  []string
	}{
		{"a ClusterIP service", "web.dnsns.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A " + webIP}},
		{"no AAAA for an IPv4 service: NODATA", "web.dnsns.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess, nil},
		{"a missing service: NXDOMAIN", "nope.dnsns.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil},
		{"a namespace with services: NODATA", "dnsns.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, nil},
		{"a namespace without services: NXDOMAIN", "nothing-here.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil},
		{"a headless service: its ready endpoints", "db.dnsns.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.42.0.5", "A 10.42.0.6"}},
		{"a headless endpoint by hostname", "db-1.db.dnsns.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.42.0.6"}},
		{"a not-ready endpoint: NXDOMAIN", "db-2.db.dnsns.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil},
		{"SRV of a named TCP port", "_http._tcp.web.dnsns.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"SRV 0 100 80 web.dnsns.svc.cluster.local."}},
		{"SRV of a named UDP port", "_syslog._udp.web.dnsns.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"SRV 0 100 514 web.dnsns.svc.cluster.local."}},
		{"SRV of a port that is not there: NXDOMAIN", "_http._udp.web.dnsns.svc.cluster.local.", dns.TypeSRV, dns.RcodeNameError, nil},
		{"headless SRV: one target per endpoint", "_pg._tcp.db.dnsns.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"SRV 0 50 5432 db-0.db.dnsns.svc.cluster.local.", "SRV 0 50 5432 db-1.db.dnsns.svc.cluster.local."}},
		{"ExternalName: CNAME, chased upstream", "ext.dnsns.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
			[]string{"CNAME example.test.", "A 192.0.2.10"}},
		{"a pod A record", "10-42-0-9.dnsns.pod.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.42.0.9"}},
		{"a pod IP in another namespace: NXDOMAIN", "10-42-0-9.default.pod.cluster.local.", dns.TypeA, dns.RcodeNameError, nil},
		{"PTR of a service IP", webRev, dns.TypePTR, dns.RcodeSuccess, []string{"PTR web.dnsns.svc.cluster.local."}},
		{"PTR of a headless endpoint", "5.0.42.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, []string{"PTR db-0.db.dnsns.svc.cluster.local."}},
		{"PTR of a pod IP", "9.0.42.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, []string{"PTR 10-42-0-9.dnsns.pod.cluster.local."}},
		{"the kubernetes service", "kubernetes.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.43.0.1"}},
		{"a forwarded name", "example.test.", dns.TypeA, dns.RcodeSuccess, []string{"A 192.0.2.10"}},
		{"a forwarded NXDOMAIN", "nope.test.", dns.TypeA, dns.RcodeNameError, nil},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				r := ask(t, d.Addr(), network, tt.qname, tt.qtype)
				if r.Rcode != tt.rcode {
					t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
				}
				if got := rdata(r); !slices.Equal(got, tt.want) {
					t.Errorf("answer %q, want %q", got, tt.want)
				}
				if len(r.Answer) == 0 && (len(r.Ns) == 0 || r.Ns[0].Header().Rrtype != dns.TypeSOA) {
					t.Errorf("a negative answer without SOA: %v", r)
				}
				if strings.HasSuffix(tt.qname, ".cluster.local.") && len(r.Answer) > 0 && r.Answer[0].Header().Ttl != 30 {
					t.Errorf("TTL %d, want 30", r.Answer[0].Header().Ttl)
				}
				if strings.HasSuffix(tt.qname, ".cluster.local.") && len(r.Answer) == 0 && r.Ns[0].Header().Ttl != 5 {
					t.Errorf("negative TTL %d, want 5", r.Ns[0].Header().Ttl)
				}
			})
		}
	}
}

func TestIntegrationDNSUpdates(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := startPlainServer(t)
	d := startDNS(t, s, capstandns.Options{Upstreams: []string{"127.0.0.1:9"}})
	ctx, c := t.Context(), s.Client
	const name = "late.default.svc.cluster.local."
	if r := ask(t, d.Addr(), "udp", name, dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Fatalf("before create: %s", dns.RcodeToString[r.Rcode])
	}

	// within a second of each change the answer follows it
	within := func(what string, cond func(*dns.Msg) bool) {
		t.Helper()
		start := time.Now()
		poll(t, time.Second, what, func() bool { return cond(ask(t, d.Addr(), "udp", name, dns.TypeA)) })
		t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
	}
	svc, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "late"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	within("a created service answers", func(r *dns.Msg) bool {
		return slices.Equal(rdata(r), []string{"A " + svc.Spec.ClusterIP})
	})
	if err := c.CoreV1().Services("default").Delete(ctx, "late", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	within("a deleted service is NXDOMAIN", func(r *dns.Msg) bool { return r.Rcode == dns.RcodeNameError })

	if _, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "late"}, Spec: corev1.ServiceSpec{ClusterIP: "None"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	within("a headless service without endpoints is NODATA", func(r *dns.Msg) bool {
		return r.Rcode == dns.RcodeSuccess && len(r.Answer) == 0
	})
	es, err := c.DiscoveryV1().EndpointSlices("default").Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "late-1", Labels: map[string]string{discoveryv1.LabelServiceName: "late"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.42.3.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
			{Addresses: []string{"10.42.3.2"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	within("new endpoints answer", func(r *dns.Msg) bool {
		return slices.Equal(rdata(r), []string{"A 10.42.3.1", "A 10.42.3.2"})
	})
	es.Endpoints[0].Conditions.Ready = ptr.To(false)
	if _, err := c.DiscoveryV1().EndpointSlices("default").Update(ctx, es, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	within("an endpoint that turns unready leaves the answer", func(r *dns.Msg) bool {
		return slices.Equal(rdata(r), []string{"A 10.42.3.2"})
	})
}

func TestIntegrationDNSForwarding(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := startPlainServer(t)
	up := startFakeResolver(t)
	d := startDNS(t, s, capstandns.Options{Upstreams: []string{"127.0.0.1:1", up.addr}, UpstreamTimeout: 300 * time.Millisecond})

	// The first upstream refuses (nothing listens on port 1); the second answers.
	for i := range 5 {
		r := ask(t, d.Addr(), "udp", "example.test.", dns.TypeA)
		if got := rdata(r); !slices.Equal(got, []string{"A 192.0.2.10"}) {
			t.Fatalf("query %d: %q", i, got)
		}
		if ttl := r.Answer[0].Header().Ttl; ttl > 60 || ttl < 55 {
			t.Errorf("query %d: TTL %d, want the upstream's 60 counting down", i, ttl)
		}
	}
	if n := up.count("example.test.", dns.TypeA); n != 1 {
		t.Errorf("the upstream was asked %d times for a cached name, want 1", n)
	}
	for range 3 {
		if r := ask(t, d.Addr(), "udp", "nope.test.", dns.TypeA); r.Rcode != dns.RcodeNameError {
			t.Fatalf("forwarded NXDOMAIN: %s", dns.RcodeToString[r.Rcode])
		}
	}
	if n := up.count("nope.test.", dns.TypeA); n != 1 {
		t.Errorf("the upstream was asked %d times for a cached NXDOMAIN, want 1", n)
	}

	// A large upstream answer: the forwarder retries over TCP, a UDP client gets it
	// truncated and a TCP client whole.
	r := ask(t, d.Addr(), "udp", "big.example.test.", dns.TypeA)
	if !r.Truncated {
		t.Errorf("a 120-record answer over UDP was not truncated (%d records)", len(r.Answer))
	}
	if r := ask(t, d.Addr(), "tcp", "big.example.test.", dns.TypeA); len(r.Answer) != 120 || r.Truncated {
		t.Errorf("over TCP: %d records, TC=%v; want 120", len(r.Answer), r.Truncated)
	}

	// /healthz and /metrics
	get := func(path string) string {
		resp, err := http.Get("http://" + d.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", path, resp.Status)
		}
		return string(body)
	}
	if h := get("/healthz"); h != "ok" {
		t.Errorf("/healthz = %q", h)
	}
	m := get("/metrics")
	for _, want := range []string{
		`capstan_dns_requests_total{proto="udp",type="A"}`, `capstan_dns_requests_total{proto="tcp",type="A"}`,
		"capstan_dns_cache_hits_total 7", `capstan_dns_request_duration_seconds_bucket{source="cache"`,
		`capstan_dns_responses_total{rcode="NXDOMAIN",source="cache"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestIntegrationDNSTruncatesLargeClusterAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := startPlainServer(t)
	ctx := t.Context()
	if _, err := s.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "many"}, Spec: corev1.ServiceSpec{ClusterIP: "None"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "many-1", Labels: map[string]string{discoveryv1.LabelServiceName: "many"}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for i := range 100 {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.42.5.%d", i+1)}})
	}
	if _, err := s.Client.DiscoveryV1().EndpointSlices("default").Create(ctx, es, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := startDNS(t, s, capstandns.Options{Upstreams: []string{"127.0.0.1:9"}})
	const name = "many.default.svc.cluster.local."
	poll(t, 5*time.Second, "the endpoints", func() bool { return len(ask(t, d.Addr(), "tcp", name, dns.TypeA).Answer) == 100 })
	r := ask(t, d.Addr(), "udp", name, dns.TypeA)
	if !r.Truncated || len(r.Answer) >= 100 {
		t.Errorf("UDP: TC=%v with %d records; want truncated", r.Truncated, len(r.Answer))
	}
	// dns.Client retries nothing by itself; a resolver would now ask over TCP, as above.
}

// nodeIP is this machine's address on its default route: endpoints may not be loopback
// addresses, so publishing tests listen there (on a free port).
func nodeIP(t *testing.T) string {
	ip := network.NodeIP()
	if ip.IsLoopback() {
		t.Skip("no default route: no non-loopback address to publish")
	}
	return ip.String()
}

func TestIntegrationDNSWithdrawsOnStop(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ip := nodeIP(t)
	s := startPlainServer(t)
	opts := capstandns.Options{Config: s.Config, Listen: "127.0.0.1:0", Upstreams: []string{"127.0.0.1:9"},
		Publish: &capstandns.Publish{Address: net.ParseIP(ip), Name: "withdraw-test"}}
	d, err := capstandns.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	c := s.Client
	poll(t, 10*time.Second, "the slice", func() bool {
		_, err := c.DiscoveryV1().EndpointSlices("kube-system").Get(t.Context(), "kube-dns-withdraw-test", metav1.GetOptions{})
		return err == nil
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("dns server did not stop")
	}
	if _, err := c.DiscoveryV1().EndpointSlices("kube-system").Get(t.Context(), "kube-dns-withdraw-test", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("slice after stop: %v, want NotFound", err)
	}
	ep, err := c.CoreV1().Endpoints("kube-system").Get(t.Context(), "kube-dns", metav1.GetOptions{})
	if err != nil || len(ep.Subsets) != 0 {
		t.Errorf("Endpoints after stop: %+v, %v; want no subsets", ep, err)
	}
}
