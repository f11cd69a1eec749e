package bench

import (
	"context"
	"io"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/runner"
	"capstan/internal/proxy/userspace"
)

// loopbackSockets opens the userspace mode's listeners on 127.0.0.1 instead of every
// address of the host, and keeps their addresses.
type loopbackSockets struct {
	userspace.HostSockets
	listened []string
}

func (s *loopbackSockets) Listen(ctx context.Context, network, _ string) (net.Listener, error) {
	ln, err := s.HostSockets.Listen(ctx, network, "127.0.0.1:0")
	if err == nil {
		s.listened = append(s.listened, ln.Addr().String())
	}
	return ln, err
}

func (s *loopbackSockets) ListenPacket(ctx context.Context, network, _ string) (net.PacketConn, error) {
	return s.HostSockets.ListenPacket(ctx, network, "127.0.0.1:0")
}

// BenchmarkProxyUserspaceForwarding compares a TCP connection through the userspace
// proxy with a direct one, on loopback (no netfilter: the client dials the proxy socket):
//   - *-MBps: one connection sends 1 GiB to a server that discards it;
//   - rtt-*-us: round trips of one byte on an open connection (10,000), p50 and p99;
//   - conn-*-us: connect, one round trip, close (2,000), p50 and p99.
func BenchmarkProxyUserspaceForwarding(b *testing.B) {
	backend := startSink(b)
	sockets := &loopbackSockets{}
	p, err := userspace.New(userspace.Options{Runner: &runner.Fake{}, Sockets: sockets})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() })
	ep := netip.MustParseAddrPort(backend)
	st := &desired.State{Services: []desired.ServicePort{{
		Name:      desired.ServicePortName{Namespace: "bench", Name: "sink", Protocol: corev1.ProtocolTCP},
		ClusterIP: netip.MustParseAddr("10.43.0.1"), Port: 80, HasAnyEndpoints: true,
		ClusterEndpoints: []desired.Endpoint{{IP: ep.Addr(), Port: int32(ep.Port()), Ready: true, Serving: true}},
	}}}
	if err := p.Sync(b.Context(), st); err != nil {
		b.Fatal(err)
	}
	if len(sockets.listened) != 1 {
		b.Fatalf("the proxier opened %v, want one listener", sockets.listened)
	}
	proxied := sockets.listened[0]
	for range b.N {
		hideNsPerOp(b)
		for _, path := range []struct{ name, addr string }{{"direct", backend}, {"proxied", proxied}} {
			b.ReportMetric(throughput(b, path.addr, 1<<30), path.name+"-MBps")
			rtt := roundTrips(b, path.addr, 10000)
			b.ReportMetric(percentileUS(rtt, 50), "rtt-"+path.name+"-p50-us")
			b.ReportMetric(percentileUS(rtt, 99), "rtt-"+path.name+"-p99-us")
			conn := connects(b, path.addr, 2000)
			b.ReportMetric(percentileUS(conn, 50), "conn-"+path.name+"-p50-us")
			b.ReportMetric(percentileUS(conn, 99), "conn-"+path.name+"-p99-us")
		}
	}
}

// startSink serves a protocol for the three measurements: the first byte of a connection
// says what it wants: 's' (sink: read to EOF, then answer one byte) or 'e' (echo every
// byte back).
func startSink(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				kind := make([]byte, 1)
				if _, err := io.ReadFull(c, kind); err != nil {
					return
				}
				if kind[0] == 's' {
					_, _ = io.Copy(io.Discard, c)
					_, _ = c.Write([]byte{1})
					return
				}
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func throughput(b *testing.B, addr string, size int64) float64 {
	b.Helper()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Write([]byte{'s'}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	for sent := int64(0); sent < size; sent += int64(len(buf)) {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		b.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf[:1]); err != nil {
		b.Fatal(err)
	}
	return float64(size) / (1 << 20) / time.Since(start).Seconds()
}

func roundTrips(b *testing.B, addr string, n int) []time.Duration {
	b.Helper()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	one := []byte{'e'}
	if _, err := c.Write(one); err != nil {
		b.Fatal(err)
	}
	out := make([]time.Duration, n)
	for i := range out {
		start := time.Now()
		if _, err := c.Write(one); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, one); err != nil {
			b.Fatal(err)
		}
		out[i] = time.Since(start)
	}
	return out
}

func connects(b *testing.B, addr string, n int) []time.Duration {
	b.Helper()
	out := make([]time.Duration, n)
	one := []byte{'e'}
	for i := range out {
		start := time.Now()
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(append([]byte{'e'}, one...)); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, one); err != nil {
			b.Fatal(err)
		}
		out[i] = time.Since(start)
		c.Close()
	}
	return out
}

func percentileUS(d []time.Duration, p int) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[(len(s)-1)*p/100].Nanoseconds()) / 1000
}
