package proxy

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	capstantesting "capstan/internal/testing"
)

func TestProxyIPTables(t *testing.T) {
	requireRoot(t, "iptables", "iptables-restore", "iptables-save", "nft")
	testProxy(t, "iptables", func(n ns) string { return n.Run(t, "iptables-save") })
}

func TestProxyNFTables(t *testing.T) {
	requireRoot(t, "nft", "iptables-save")
	testProxy(t, "nftables", func(n ns) string { return n.Run(t, "nft", "list", "ruleset") })
}

func TestProxyUserspace(t *testing.T) {
	requireRoot(t, "iptables", "iptables-restore", "iptables-save", "nft")
	testProxy(t, "userspace", func(n ns) string { return n.Run(t, "iptables-save") })
}

func TestProxySwitchingModesCleansTheOldOne(t *testing.T) {
	requireRoot(t, "nft", "iptables-save")
	c := startCluster(t, "iptables")
	p := c.node.addPod(t)
	svc := c.service("web", corev1.ProtocolTCP, nil)
	c.endpoints(svc, ep{pod: p, ready: true})
	waitReachable(t, c.node.NS, clusterAddr(svc))
	c.stop()

	c.startProxy(t, "nftables")
	eventually(t, "the nftables table", func() error {
		if !strings.Contains(c.node.NS.Run(t, "nft", "list", "tables"), "kube-proxy") {
			return fmt.Errorf("no kube-proxy table yet")
		}
		return nil
	})
	waitReachable(t, c.node.NS, clusterAddr(svc))
	eventually(t, "the iptables rules gone", func() error {
		if strings.Contains(c.node.NS.Run(t, "iptables-save"), "KUBE-") {
			return fmt.Errorf("iptables rules left")
		}
		return nil
	})
	c.stop()

	c.startProxy(t, "userspace")
	eventually(t, "the nftables table gone and the userspace chains there", func() error {
		if strings.Contains(c.node.NS.Run(t, "nft", "list", "tables"), "kube-proxy") {
			return fmt.Errorf("the kube-proxy table is left")
		}
		if !strings.Contains(c.node.NS.Run(t, "iptables-save", "-t", "nat"), "KUBE-PORTALS-CONTAINER") {
			return fmt.Errorf("no userspace chains yet")
		}
		return nil
	})
	waitReachable(t, c.node.NS, clusterAddr(svc))
	c.stop()

	c.startProxy(t, "iptables")
	eventually(t, "the userspace chains gone", func() error {
		if dump := c.node.NS.Run(t, "iptables-save"); strings.Contains(dump, "KUBE-PORTALS-") || strings.Contains(dump, "KUBE-NODEPORT-") {
			return fmt.Errorf("userspace rules left")
		}
		return nil
	})
	waitReachable(t, c.node.NS, clusterAddr(svc))
}

// testProxy runs every scenario against one fake node; rules dumps the mode's rules.
func testProxy(t *testing.T, mode string, rules func(ns) string) {
	// In the userspace mode every connection to an endpoint is the proxy's own, so the
	// endpoint sees the node's address on the pods' bridge whoever the client is: there is
	// no source to keep or masquerade.
	const proxyAddr = "10.42.0.1"
	userspace := mode == "userspace"
	c := startCluster(t, mode)
	n := c.node
	p1, p2, p3 := n.addPod(t), n.addPod(t), n.addPod(t)
	all := []ep{{pod: p1, ready: true}, {pod: p2, ready: true}, {pod: p3, ready: true}}

	t.Run("a cluster IP reaches every one of three endpoints over 60 connections", func(t *testing.T) {
		svc := c.service("web", corev1.ProtocolTCP, nil)
		c.endpoints(svc, all...)
		addr := clusterAddr(svc)
		waitReachable(t, n.NS, addr)
		seen := map[string]int{}
		for range 60 {
			name, from, err := dial(n.NS, addr, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			seen[name]++
			// Traffic from the node itself (outside the pod range) is masqueraded to the
			// bridge's address.
			if from != "10.42.0.1" {
				t.Errorf("the endpoint saw the node's connection from %s, want the masqueraded 10.42.0.1", from)
			}
		}
		if len(seen) != 3 {
			t.Errorf("60 connections reached %v, want all three pods", seen)
		}
		// A pod reaching the service keeps its address (no masquerade inside the pod range).
		want := p1.IP
		if userspace {
			want = proxyAddr
		}
		eventually(t, "a pod reaches the service unmasqueraded", func() error {
			_, from, err := dial(p1.NS, addr, 200*time.Millisecond)
			if err == nil && from != want {
				return fmt.Errorf("the endpoint saw %s, want %s", from, want)
			}
			return err
		})
	})

	t.Run("a pod reaches itself through its service (hairpin)", func(t *testing.T) {
		svc := c.service("self", corev1.ProtocolTCP, nil)
		c.endpoints(svc, ep{pod: p2, ready: true})
		eventually(t, "the pod reaches itself", func() error {
			name, from, err := dial(p2.NS, clusterAddr(svc), 200*time.Millisecond)
			if err == nil && (name != p2.Name || from == p2.IP) {
				return fmt.Errorf("got %s from %s, want %s seeing a masqueraded source", name, from, p2.Name)
			}
			return err
		})
	})

	t.Run("a node port works from outside the node and from the node", func(t *testing.T) {
		svc := c.service("np", corev1.ProtocolTCP, func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort })
		c.endpoints(svc, all...)
		addr := net.JoinHostPort(n.IP, strconv.Itoa(int(svc.Spec.Ports[0].NodePort)))
		waitReachable(t, n.Client, addr)
		seen := map[string]bool{}
		for range 30 {
			name, _, err := dial(n.Client, addr, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			seen[name] = true
		}
		if len(seen) < 2 {
			t.Errorf("30 connections to the node port reached only %v", seen)
		}
		if _, _, err := dial(n.NS, addr, time.Second); err != nil {
			t.Errorf("the node port from the node itself: %v", err)
		}
	})

	t.Run("ClientIP affinity sticks to one endpoint", func(t *testing.T) {
		svc := c.service("sticky", corev1.ProtocolTCP, func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP })
		c.endpoints(svc, all...)
		addr := clusterAddr(svc)
		var first string
		waitReachable(t, p3.NS, addr)
		first, _, err := dial(p3.NS, addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for range 30 {
			name, _, err := dial(p3.NS, addr, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if name != first {
				t.Fatalf("affinity broke: %s after %s", name, first)
			}
		}
	})

	t.Run("scaling to no endpoints refuses connections within a second", func(t *testing.T) {
		svc := c.service("scale", corev1.ProtocolTCP, nil)
		c.endpoints(svc, all...)
		addr := clusterAddr(svc)
		waitReachable(t, n.NS, addr)
		start := time.Now()
		c.endpoints(svc)
		for {
			_, _, err := dial(n.NS, addr, 500*time.Millisecond)
			if refused(err) {
				break
			}
			if time.Since(start) > time.Second {
				t.Fatalf("no connection refused a second after scaling to zero (last: %v)", err)
			}
		}
		t.Logf("refused %v after scaling to zero", time.Since(start).Round(time.Millisecond))
		// And at once, not after a timeout.
		t0 := time.Now()
		if _, _, err := dial(p1.NS, addr, 3*time.Second); !refused(err) || time.Since(t0) > 500*time.Millisecond {
			t.Errorf("a pod's connection: %v after %v, want refused at once", err, time.Since(t0))
		}
	})

	t.Run("an endpoint that turns unready leaves the rotation", func(t *testing.T) {
		svc := c.service("ready", corev1.ProtocolTCP, nil)
		c.endpoints(svc, all...)
		addr := clusterAddr(svc)
		waitReachable(t, n.NS, addr)
		c.endpoints(svc, ep{pod: p1, ready: true}, ep{pod: p2, ready: true}, ep{pod: p3, ready: false})
		eventually(t, "pod3 out of the rotation", func() error {
			for range 30 {
				name, _, err := dial(n.NS, addr, time.Second)
				if err != nil {
					return err
				}
				if name == p3.Name {
					return fmt.Errorf("the unready %s still answers", name)
				}
			}
			return nil
		})
	})

	t.Run("a UDP service answers, and a flow moves on when its endpoint goes", func(t *testing.T) {
		svc := c.service("udp", corev1.ProtocolUDP, nil)
		c.endpoints(svc, ep{pod: p1, ready: true})
		addr := clusterAddr(svc)
		u := newUDPClient(t, n.NS)
		eventually(t, "the UDP service answers", func() error {
			name, err := u.ask(addr, 300*time.Millisecond)
			if err == nil && name != p1.Name {
				return fmt.Errorf("answered by %s", name)
			}
			return err
		})
		// The same socket keeps one conntrack entry NATed to pod1; when pod1 is replaced
		// by pod2 the entry must go, or the flow would be stuck on the gone endpoint.
		c.endpoints(svc, ep{pod: p2, ready: true})
		eventually(t, "the flow reaches pod2", func() error {
			name, err := u.ask(addr, 300*time.Millisecond)
			if err == nil && name != p2.Name {
				return fmt.Errorf("answered by %s", name)
			}
			return err
		})
	})

	t.Run("the Local external policy keeps the client's address and drops without a local endpoint", func(t *testing.T) {
		svc := c.service("local", corev1.ProtocolTCP, func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		})
		c.endpoints(svc, ep{pod: p1, ready: true})
		addr := net.JoinHostPort(n.IP, strconv.Itoa(int(svc.Spec.Ports[0].NodePort)))
		waitReachable(t, n.Client, addr)
		want := clientIP
		if userspace {
			want = proxyAddr
		}
		if _, from, err := dial(n.Client, addr, time.Second); err != nil || from != want {
			t.Errorf("the endpoint saw %q (%v), want %s", from, err, want)
		}
		// The only endpoint moves to another node: outside traffic is dropped (a timeout,
		// not a refusal: another node may still serve it), while the node itself still
		// reaches the service through its node port.
		c.endpoints(svc, ep{pod: p1, ready: true, node: "elsewhere"})
		eventually(t, "outside traffic dropped", func() error {
			_, _, err := dial(n.Client, addr, 300*time.Millisecond)
			if err == nil || refused(err) {
				return fmt.Errorf("dial: %v, want a timeout", err)
			}
			return nil
		})
		if _, _, err := dial(n.NS, addr, time.Second); err != nil {
			t.Errorf("the node's own connection to the node port: %v", err)
		}
	})

	t.Run("an external IP routed to the node reaches the endpoints", func(t *testing.T) {
		const extIP = "203.0.113.10"
		n.Client.Run(t, "ip", "route", "replace", extIP+"/32", "via", n.IP)
		svc := c.service("ext", corev1.ProtocolTCP, func(s *corev1.Service) { s.Spec.ExternalIPs = []string{extIP} })
		c.endpoints(svc, ep{pod: p2, ready: true})
		addr := net.JoinHostPort(extIP, "80")
		waitReachable(t, n.Client, addr)
		if name, _, err := dial(n.Client, addr, time.Second); err != nil || name != p2.Name {
			t.Errorf("external IP answered by %q (%v), want %s", name, err, p2.Name)
		}
	})

	t.Run("cleanup leaves no rule behind", func(t *testing.T) {
		c.stop()
		if r := rules(n.NS); !strings.Contains(r, "KUBE-") && !strings.Contains(r, "kube-proxy") {
			t.Fatal("no proxy rules before cleanup")
		}
		bin := capstantesting.Binary(t)
		out := n.NS.Run(t, bin, "proxy", "--cleanup")
		if !strings.Contains(out, "Removed") {
			t.Errorf("capstan proxy --cleanup said %q", out)
		}
		for _, dump := range []string{n.NS.Run(t, "iptables-save"), n.NS.Run(t, "nft", "list", "ruleset")} {
			if strings.Contains(dump, "KUBE-") || strings.Contains(dump, "kube-proxy") {
				t.Errorf("rules left after cleanup:\n%s", dump)
			}
		}
	})
}
