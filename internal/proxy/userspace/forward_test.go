package userspace

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/runner"
)

// The forwarding tests run real proxy sockets on loopback; the rules go to a fake runner.

// tcpBackend is a loopback TCP server that reads its client until EOF, then answers
// "<name> <client ip> <what it read>" and closes.
func tcpBackend(t *testing.T, name string) desired.Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				in, _ := io.ReadAll(c)
				host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
				fmt.Fprintf(c, "%s %s %s", name, host, in)
			}()
		}
	}()
	return endpointAt(t, ln.Addr().String())
}

// udpBackend is a loopback UDP server that answers each datagram with its name.
func udpBackend(t *testing.T, name string) desired.Endpoint {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(name), from)
		}
	}()
	return endpointAt(t, pc.LocalAddr().String())
}

func endpointAt(t *testing.T, addr string) desired.Endpoint {
	t.Helper()
	ap := netip.MustParseAddrPort(addr)
	return desired.Endpoint{IP: ap.Addr(), Port: int32(ap.Port()), Ready: true, Serving: true}
}

// service is a cluster-IP service port with the given endpoints.
func service(name string, proto corev1.Protocol, eps ...desired.Endpoint) desired.ServicePort {
	return desired.ServicePort{
		Name:      desired.ServicePortName{Namespace: "ns", Name: name, Protocol: proto},
		ClusterIP: netip.MustParseAddr("10.43.0.100"), Port: 80,
		ClusterEndpoints: eps, HasAnyEndpoints: len(eps) > 0,
	}
}

func newTestProxier(t *testing.T, opts Options) (*Proxier, *runner.Fake) {
	t.Helper()
	fake := &runner.Fake{}
	opts.Runner = fake
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, fake
}

func syncServices(t *testing.T, p *Proxier, sps ...desired.ServicePort) {
	t.Helper()
	st := &desired.State{Services: sps, Masquerade: desired.Masquerade{PodCIDR: netip.MustParsePrefix("10.42.0.0/16")}}
	if err := p.Sync(t.Context(), st); err != nil {
		t.Fatal(err)
	}
}

// proxyAddr is where the proxy listens for the service port's cluster IP (external false)
// or external addresses.
func proxyAddr(t *testing.T, p *Proxier, name string, proto corev1.Protocol, external bool) string {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.services[desired.ServicePortName{Namespace: "ns", Name: name, Protocol: proto}]
	if s == nil {
		t.Fatalf("no sockets for %s", name)
	}
	pt := s.internal
	if external {
		pt = s.external
	}
	return fmt.Sprintf("127.0.0.1:%d", pt.port())
}

// ask connects to addr from the local address from (127.0.0.1 when empty), sends msg,
// half-closes, and returns the answer.
func ask(t *testing.T, from, addr, msg string) (string, error) {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp4", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

func backendName(answer string) string { name, _, _ := strings.Cut(answer, " "); return name }

func TestTCPRoundRobinOverReadyEndpoints(t *testing.T) {
	t.Parallel()
	p, _ := newTestProxier(t, Options{})
	a, b, c := tcpBackend(t, "a"), tcpBackend(t, "b"), tcpBackend(t, "c")
	syncServices(t, p, service("rr", corev1.ProtocolTCP, a, b, c))
	addr := proxyAddr(t, p, "rr", corev1.ProtocolTCP, false)
	var got []string
	for range 6 {
		answer, err := ask(t, "", addr, "hello")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(answer, " 127.0.0.1 hello") {
			t.Errorf("answer %q: the request did not arrive whole before the half close", answer)
		}
		got = append(got, backendName(answer))
	}
	if strings.Join(got, "") != "abcabc" {
		t.Errorf("connections went to %v, want a b c in turn", got)
	}
}

func TestTCPClientIPAffinityHoldsUntilItsTimeout(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p, _ := newTestProxier(t, Options{Clock: clk})
	sp := service("sticky", corev1.ProtocolTCP, tcpBackend(t, "a"), tcpBackend(t, "b"), tcpBackend(t, "c"))
	sp.AffinitySeconds = 10
	syncServices(t, p, sp)
	addr := proxyAddr(t, p, "sticky", corev1.ProtocolTCP, false)
	name := func(from string) string {
		t.Helper()
		answer, err := ask(t, from, addr, "")
		if err != nil {
			t.Fatal(err)
		}
		return backendName(answer)
	}
	first, other := name("127.0.0.1"), name("127.0.0.2")
	if first == other {
		t.Errorf("two clients share endpoint %s; the second should take the next one", first)
	}
	for range 5 {
		clk.SetTime(clk.Now().Add(9 * time.Second)) // used within the timeout each time
		if got := name("127.0.0.1"); got != first {
			t.Fatalf("affinity broke: %s after %s", got, first)
		}
	}
	clk.SetTime(clk.Now().Add(11 * time.Second))
	if got := name("127.0.0.1"); got == first {
		t.Errorf("the client stuck to %s past its affinity timeout", got)
	}
}

func TestTCPWithoutEndpointsIsRejected(t *testing.T) {
	t.Parallel()
	p, fake := newTestProxier(t, Options{})
	syncServices(t, p, service("empty", corev1.ProtocolTCP))
	var restore string
	for _, c := range fake.Calls() {
		if strings.HasPrefix(c.Line, "iptables-restore") {
			restore = c.Stdin
		}
	}
	if !strings.Contains(restore, `-A KUBE-PORTALS-FILTER -m comment --comment "ns/empty has no endpoints" -m tcp -p tcp -d 10.43.0.100/32 --dport 80 -j REJECT`) {
		t.Errorf("no REJECT rule for the port without endpoints:\n%s", restore)
	}
	// A connection that reaches the socket anyway (sent before the rules changed) is
	// closed at once, not left hanging.
	start := time.Now()
	answer, err := ask(t, "", proxyAddr(t, p, "empty", corev1.ProtocolTCP, false), "x")
	if answer != "" || time.Since(start) > time.Second {
		t.Errorf("got %q (%v) after %v, want the connection closed at once", answer, err, time.Since(start))
	}
}

func TestTCPSkipsAnEndpointThatRefuses(t *testing.T) {
	t.Parallel()
	p, _ := newTestProxier(t, Options{})
	dead := endpointAt(t, closedPort(t))
	syncServices(t, p, service("dead", corev1.ProtocolTCP, dead, tcpBackend(t, "live")))
	addr := proxyAddr(t, p, "dead", corev1.ProtocolTCP, false)
	for range 4 {
		if answer, err := ask(t, "", addr, ""); err != nil || backendName(answer) != "live" {
			t.Fatalf("got %q (%v), want the live endpoint", answer, err)
		}
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// udpAsk sends msg from c to addr and returns the answer and where it came from.
func udpAsk(t *testing.T, c *net.UDPConn, addr string) (string, string) {
	t.Helper()
	if _, err := c.WriteToUDP([]byte("hi"), net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr))); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 100)
	n, from, err := c.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n]), from.String()
}

func udpClient(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// eventually polls cond until it holds or 5 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestUDPSessionsPerClientFollowTheirEndpoint(t *testing.T) {
	t.Parallel()
	p, _ := newTestProxier(t, Options{UDPIdleTimeout: time.Minute})
	a, b := udpBackend(t, "a"), udpBackend(t, "b")
	syncServices(t, p, service("dns", corev1.ProtocolUDP, a, b))
	addr := proxyAddr(t, p, "dns", corev1.ProtocolUDP, false)
	c1, c2 := udpClient(t), udpClient(t)

	got, from := udpAsk(t, c1, addr)
	if got != "a" || from != addr {
		t.Errorf("first client: %q from %s, want a from the proxy socket %s", got, from, addr)
	}
	if got, _ := udpAsk(t, c1, addr); got != "a" {
		t.Errorf("the first client's session moved to %q", got)
	}
	if got, _ := udpAsk(t, c2, addr); got != "b" {
		t.Errorf("second client: %q, want the next endpoint b", got)
	}
	portal := p.services[desired.ServicePortName{Namespace: "ns", Name: "dns", Protocol: corev1.ProtocolUDP}].internal.(*udpPortal)
	if n := portal.sessionCount(); n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
	// Endpoint a goes: its session ends at once, and its client moves to b.
	syncServices(t, p, service("dns", corev1.ProtocolUDP, b))
	if n := portal.sessionCount(); n != 1 {
		t.Errorf("%d sessions after an endpoint went, want 1", n)
	}
	if got, _ := udpAsk(t, c1, addr); got != "b" {
		t.Errorf("the first client reached %q after its endpoint went, want b", got)
	}
}

func TestUDPSessionsEndWhenIdle(t *testing.T) {
	t.Parallel()
	p, _ := newTestProxier(t, Options{UDPIdleTimeout: 50 * time.Millisecond})
	syncServices(t, p, service("idle", corev1.ProtocolUDP, udpBackend(t, "a")))
	addr := proxyAddr(t, p, "idle", corev1.ProtocolUDP, false)
	if got, _ := udpAsk(t, udpClient(t), addr); got != "a" {
		t.Fatalf("answer %q", got)
	}
	portal := p.services[desired.ServicePortName{Namespace: "ns", Name: "idle", Protocol: corev1.ProtocolUDP}].internal.(*udpPortal)
	eventually(t, "the idle session ends", func() bool { return portal.sessionCount() == 0 })
}

func TestExternalTrafficUnderTheLocalPolicy(t *testing.T) {
	t.Parallel()
	s := newServicePort(clocktesting.NewFakePassiveClock(time.Now()))
	s.update(&desired.ServicePort{ExternalPolicyLocal: true}, netip.MustParsePrefix("10.42.0.0/16"))
	loopback, nodeAddr := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.168.1.1")
	for _, tc := range []struct {
		name          string
		external      bool
		client, local string
		want          *pool
	}{
		{"the cluster IP goes to any endpoint", false, "192.168.1.2", nodeAddr.String(), s.cluster},
		{"outside traffic goes to local endpoints", true, "192.168.1.2", nodeAddr.String(), s.local},
		{"pods go to any endpoint", true, "10.42.3.4", "10.42.0.1", s.cluster},
		{"the node itself goes to any endpoint", true, "192.168.1.1", loopback.String(), s.cluster},
	} {
		got := s.chooser(tc.external)(netip.MustParseAddr(tc.client), netip.MustParseAddr(tc.local))
		if got != tc.want {
			t.Errorf("%s: got the other pool", tc.name)
		}
	}
	s.update(&desired.ServicePort{InternalPolicyLocal: true}, netip.Prefix{})
	if s.chooser(false)(nodeAddr, nodeAddr) != s.local {
		t.Error("the internal Local policy does not use local endpoints")
	}
}
