package userspace

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/runner"
)

// restores returns the iptables-restore inputs among calls.
func restores(calls []runner.Call) []string {
	var out []string
	for _, c := range calls {
		if strings.HasPrefix(c.Line, "iptables-restore") {
			out = append(out, c.Stdin)
		}
	}
	return out
}

func TestSyncIsFullFirstThenWritesOnlyChangedRules(t *testing.T) {
	t.Parallel()
	p, fake := newTestProxier(t, Options{})
	web := service("web", corev1.ProtocolTCP, tcpBackend(t, "a"))
	syncServices(t, p, web)
	calls := fake.Calls()
	checks := 0
	for _, c := range calls {
		if strings.HasPrefix(c.Line, "iptables -w -t ") && strings.Contains(c.Line, " -C ") {
			checks++
		}
	}
	if checks != len(jumps()) {
		t.Errorf("the first sync checked %d jumps, want %d", checks, len(jumps()))
	}
	if r := restores(calls); len(r) != 1 || !strings.Contains(r[0], ":KUBE-PORTALS-CONTAINER - [0:0]") {
		t.Fatalf("the first sync did not write the chains whole: %q", r)
	}
	if !p.WroteNetfilter() {
		t.Error("WroteNetfilter() = false after the first sync")
	}

	syncServices(t, p, web)
	if calls := fake.Calls(); len(calls) != 0 {
		t.Errorf("a sync without changes ran %v", calls)
	}
	// Other endpoints, same rules: nothing to run.
	syncServices(t, p, service("web", corev1.ProtocolTCP, tcpBackend(t, "b")))
	if calls := fake.Calls(); len(calls) != 0 {
		t.Errorf("an endpoint change ran %v", calls)
	}
	if p.WroteNetfilter() {
		t.Error("WroteNetfilter() = true after an endpoint change, which the balancer alone takes")
	}
	// Scaled to zero: its redirects go, a reject comes, nothing else is written.
	syncServices(t, p, service("web", corev1.ProtocolTCP))
	r := restores(fake.Calls())
	if len(r) != 1 || strings.Contains(r[0], ":KUBE-") || !strings.Contains(r[0], "-D KUBE-PORTALS-HOST ") ||
		!strings.Contains(r[0], "-A KUBE-PORTALS-FILTER ") {
		t.Errorf("scaling to zero wrote %q, want only the port's rule changes", r)
	}
	if !p.WroteNetfilter() {
		t.Error("WroteNetfilter() = false after scaling to zero")
	}
	if got := p.RuleCounts(); got["filter"] != 1 || got["nat"] != 0 {
		t.Errorf("RuleCounts() = %v, want one filter rule", got)
	}

	st := &desired.State{Full: true, Services: []desired.ServicePort{service("web", corev1.ProtocolTCP)}}
	if err := p.Sync(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if r := restores(fake.Calls()); len(r) != 1 || !strings.Contains(r[0], ":KUBE-PORTALS-FILTER - [0:0]") {
		t.Errorf("a sync asked to be full wrote %q", r)
	}
}

func TestSyncAfterAFailureIsFull(t *testing.T) {
	t.Parallel()
	p, fake := newTestProxier(t, Options{})
	fail := true
	fake.Respond = func(line, _ string) ([]byte, error) {
		if fail && strings.HasPrefix(line, "iptables-restore") {
			return nil, errors.New("boom")
		}
		return nil, nil
	}
	web := service("web", corev1.ProtocolTCP, tcpBackend(t, "a"))
	st := &desired.State{Services: []desired.ServicePort{web}}
	if err := p.Sync(t.Context(), st); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Sync() = %v, want the restore's error", err)
	}
	fake.Calls()
	fail = false
	if err := p.Sync(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if r := restores(fake.Calls()); len(r) != 1 || !strings.Contains(r[0], ":KUBE-PORTALS-CONTAINER") || !strings.Contains(r[0], "web cluster IP") {
		t.Errorf("the sync after a failure wrote %q, want everything", r)
	}
}

func refusedAt(t *testing.T, addr string) bool {
	t.Helper()
	c, err := net.DialTimeout("tcp4", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err != nil
}

func TestSocketsFollowTheServicePorts(t *testing.T) {
	t.Parallel()
	p, _ := newTestProxier(t, Options{})
	np := service("np", corev1.ProtocolTCP, tcpBackend(t, "a"))
	np.NodePort = 30080
	syncServices(t, p, np)
	internal, external := proxyAddr(t, p, "np", corev1.ProtocolTCP, false), proxyAddr(t, p, "np", corev1.ProtocolTCP, true)
	if answer, err := ask(t, "", external, ""); err != nil || backendName(answer) != "a" {
		t.Fatalf("the node port's socket answered %q (%v)", answer, err)
	}
	// The node port goes: only its socket closes.
	syncServices(t, p, service("np", corev1.ProtocolTCP, tcpBackend(t, "a")))
	if !refusedAt(t, external) || refusedAt(t, internal) {
		t.Errorf("after the node port went: external socket open %v, cluster IP socket open %v, want false and true",
			!refusedAt(t, external), !refusedAt(t, internal))
	}
	// The service port goes: its socket closes.
	syncServices(t, p)
	if !refusedAt(t, internal) {
		t.Error("the socket of a deleted service port still accepts")
	}
}

func TestCleanupRemovesEveryChainAndClosesSockets(t *testing.T) {
	t.Parallel()
	p, fake := newTestProxier(t, Options{})
	syncServices(t, p, service("web", corev1.ProtocolTCP, tcpBackend(t, "a")))
	addr := proxyAddr(t, p, "web", corev1.ProtocolTCP, false)
	fake.Calls()
	// Each jump is there once: the second delete fails.
	deleted := map[string]bool{}
	fake.Respond = func(line, _ string) ([]byte, error) {
		if strings.Contains(line, " -D ") {
			if deleted[line] {
				return nil, errors.New("no such rule")
			}
			deleted[line] = true
		}
		return nil, nil
	}
	if err := p.Cleanup(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(deleted) != len(jumps()) {
		t.Errorf("deleted %d jumps, want %d", len(deleted), len(jumps()))
	}
	r := restores(fake.Calls())
	for _, c := range []string{chainFilter, chainPortalsContainer, chainPortalsHost, chainNodePortContainer, chainNodePortHost} {
		if len(r) != 1 || !strings.Contains(r[0], "-X "+c+"\n") {
			t.Errorf("chain %s not deleted by %q", c, r)
		}
	}
	if !refusedAt(t, addr) {
		t.Error("a proxy socket is still open after Cleanup")
	}
	// A new proxier cleans up what an earlier process left, with no state of its own.
	fresh, fake2 := newTestProxier(t, Options{})
	if err := fresh.Cleanup(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := restores(fake2.Calls()); len(r) != 1 || !strings.Contains(r[0], "-X KUBE-PORTALS-FILTER") {
		t.Errorf("a fresh Cleanup wrote %q", r)
	}
	fake2.Respond = func(line, _ string) ([]byte, error) {
		if strings.HasPrefix(line, "iptables-restore") {
			return nil, errors.New("busy")
		}
		return nil, errors.New("no such rule")
	}
	if err := fresh.Cleanup(t.Context()); err == nil || !strings.Contains(err.Error(), "busy") {
		t.Errorf("Cleanup() = %v, want the restore's error", err)
	}
}

func TestSCTPPortsGetNoRulesAndOneLogLine(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	p, fake := newTestProxier(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	sctp := service("assoc", corev1.ProtocolSCTP, desired.Endpoint{IP: netip.MustParseAddr("10.42.0.9"), Port: 9, Ready: true})
	syncServices(t, p, sctp)
	syncServices(t, p, sctp)
	if n := strings.Count(logs.String(), "does not support"); n != 1 {
		t.Errorf("%d log lines about SCTP, want 1:\n%s", n, logs.String())
	}
	for _, r := range restores(fake.Calls()) {
		if strings.Contains(r, "sctp") {
			t.Errorf("rules for an SCTP port:\n%s", r)
		}
	}
	if len(p.services) != 0 {
		t.Errorf("sockets opened for an SCTP port")
	}
}

func TestNewRejectsANegativeUDPTimeout(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{UDPIdleTimeout: -time.Second}); err == nil {
		t.Error("New accepted a negative UDP idle timeout")
	}
}

// brokenSockets fails to listen, or hands out a packet socket that is not UDP.
type brokenSockets struct {
	HostSockets
	listenErr bool
}

func (b *brokenSockets) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	if b.listenErr {
		return nil, errors.New("no ports left")
	}
	return b.HostSockets.Listen(ctx, network, address)
}

func (b *brokenSockets) ListenPacket(context.Context, string, string) (net.PacketConn, error) {
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func TestSyncReportsSocketsItCannotOpenAndRetries(t *testing.T) {
	t.Parallel()
	sockets := &brokenSockets{listenErr: true}
	p, fake := newTestProxier(t, Options{Sockets: sockets})
	web := service("web", corev1.ProtocolTCP, tcpBackend(t, "a"))
	dns := service("dns", corev1.ProtocolUDP, udpBackend(t, "a"))
	st := &desired.State{Services: []desired.ServicePort{dns, web}}
	err := p.Sync(t.Context(), st)
	if err == nil || !strings.Contains(err.Error(), "no ports left") || !strings.Contains(err.Error(), "want a *net.UDPConn") {
		t.Fatalf("Sync() = %v, want both socket errors", err)
	}
	fake.Calls()
	sockets.listenErr = false
	if err := p.Sync(t.Context(), &desired.State{Services: []desired.ServicePort{web}}); err != nil {
		t.Fatal(err)
	}
	if r := restores(fake.Calls()); len(r) != 1 || !strings.Contains(r[0], ":KUBE-PORTALS-CONTAINER") || !strings.Contains(r[0], "web cluster IP") {
		t.Errorf("the retry wrote %q, want everything", r)
	}
}
