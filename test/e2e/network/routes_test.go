package network

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"capstan/internal/network"
	capstantesting "capstan/internal/testing"
)

// fakeNode is a namespace playing a node, with its Node object and a running Network.
type fakeNode struct {
	name    string
	ns      ns
	ip      netip.Addr
	podCIDR netip.Prefix
	net     *network.Network
	confDir string
	stop    func()
}

// topology wires two node namespaces: on one L2 segment, or on two segments joined by a
// router namespace. It returns the nodes' underlay IPs; with explicitIP false the Network
// must find them from the default route.
type topology func(t *testing.T, a, b ns) (aIP, bIP netip.Addr, explicitIP bool)

// oneSegment is a veth pair between the two nodes: 172.30.0.1 and .2 in 172.30.0.0/24.
func oneSegment(t *testing.T, a, b ns) (netip.Addr, netip.Addr, bool) {
	veth(t, a, "eth0", b, "eth0")
	run(t, "ip", "-n", a.Name, "addr", "add", "172.30.0.1/24", "dev", "eth0")
	run(t, "ip", "-n", b.Name, "addr", "add", "172.30.0.2/24", "dev", "eth0")
	return netip.MustParseAddr("172.30.0.1"), netip.MustParseAddr("172.30.0.2"), true
}

// routed puts the nodes on 172.30.1.0/24 and 172.30.2.0/24 with a router between them,
// each node's default route pointing at it; the router knows no pod range.
func routed(t *testing.T, a, b ns) (netip.Addr, netip.Addr, bool) {
	r := newNS(t, strings.TrimSuffix(a.Name[strings.LastIndex(a.Name, "-")+1:], "a")+"r")
	veth(t, a, "eth0", r, "r-a")
	veth(t, b, "eth0", r, "r-b")
	run(t, "ip", "-n", r.Name, "addr", "add", "172.30.1.1/24", "dev", "r-a")
	run(t, "ip", "-n", r.Name, "addr", "add", "172.30.2.1/24", "dev", "r-b")
	run(t, "ip", "netns", "exec", r.Name, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	run(t, "ip", "-n", a.Name, "addr", "add", "172.30.1.2/24", "dev", "eth0")
	run(t, "ip", "-n", b.Name, "addr", "add", "172.30.2.2/24", "dev", "eth0")
	run(t, "ip", "-n", a.Name, "route", "add", "default", "via", "172.30.1.1")
	run(t, "ip", "-n", b.Name, "route", "add", "default", "via", "172.30.2.1")
	return netip.MustParseAddr("172.30.1.2"), netip.MustParseAddr("172.30.2.2"), false
}

// registerNode creates the Node object a kubelet and node IPAM would have made.
func registerNode(t *testing.T, client kubernetes.Interface, name string, ip netip.Addr, podCIDR netip.Prefix) {
	t.Helper()
	ctx := t.Context()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.NodeSpec{PodCIDR: podCIDR.String(), PodCIDRs: []string{podCIDR.String()}},
	}
	created, err := client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	created.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: ip.String()},
		{Type: corev1.NodeHostName, Address: name},
	}
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// startNetwork runs the pod network of a fake node until the test ends (or stop).
func startNetwork(t *testing.T, client kubernetes.Interface, n *fakeNode, backend network.Backend, nodeIP netip.Addr) {
	t.Helper()
	n.confDir = t.TempDir()
	var err error
	n.net, err = network.New(network.Options{
		NodeName:      n.name,
		Client:        client,
		Backend:       backend,
		CNIConfDir:    n.confDir,
		IPAMDataDir:   t.TempDir(),
		NodeIP:        nodeIP,
		NetNS:         n.ns.Path,
		CleanupOnStop: true,
		ResyncPeriod:  200 * time.Millisecond,
		Logger:        testLogger(t).With("node", n.name),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.net.Run(ctx) }()
	stopped := false
	n.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pod network of %s: %v", n.name, err)
		}
	}
	t.Cleanup(n.stop)
	select {
	case <-n.net.Ready():
	case err := <-done:
		stopped = true
		t.Fatalf("pod network of %s stopped: %v", n.name, err)
	case <-time.After(20 * time.Second):
		t.Fatalf("pod network of %s not ready after 20s", n.name)
	}
}

// ourRoutes lists the routes the pod network installed in a namespace.
func ourRoutes(t *testing.T, n ns) []string {
	t.Helper()
	rs, err := handle(t, n).RouteListFiltered(netlink.FAMILY_V4,
		&netlink.Route{Protocol: network.RouteProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.Dst.String())
	}
	return out
}

// TestPodsReachPodsOnOtherNodes: two fake nodes registered in a real API server, each running
// the pod network in its namespace and a pod made by the real CNI plugins. The pods reach
// each other by their own addresses (no masquerade between pods), reach the other node's
// address masqueraded, lose the route when the other Node is deleted, and the node's
// routes, overlay and rules are gone when its pod network stops.
func TestPodsReachPodsOnOtherNodes(t *testing.T) {
	requireRoot(t)
	s := capstantesting.StartServer(t)
	tests := []struct {
		name        string
		id          string
		topology    topology
		backend     network.Backend
		wantOverlay bool
	}{
		{"host-gw on one segment routes via the node IPs", "hg", oneSegment, network.BackendHostGW, false},
		{"vxlan across a router goes through the overlay", "vx", routed, network.BackendVXLAN, true},
		{"host-gw across a router falls back to the overlay", "hr", routed, network.BackendHostGW, true},
		{"vxlan on one segment goes through the overlay", "vs", oneSegment, network.BackendVXLAN, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &fakeNode{name: tt.id + "-a", ns: newNS(t, tt.id+"a"), podCIDR: netip.MustParsePrefix(fmt.Sprintf("10.42.%d.0/24", 100+2*i))}
			b := &fakeNode{name: tt.id + "-b", ns: newNS(t, tt.id+"b"), podCIDR: netip.MustParsePrefix(fmt.Sprintf("10.42.%d.0/24", 101+2*i))}
			aIP, bIP, explicit := tt.topology(t, a.ns, b.ns)
			a.ip, b.ip = aIP, bIP
			registerNode(t, s.Client, a.name, a.ip, a.podCIDR)
			registerNode(t, s.Client, b.name, b.ip, b.podCIDR)
			for _, n := range []*fakeNode{a, b} {
				var ip netip.Addr
				if explicit {
					ip = n.ip
				}
				startNetwork(t, s.Client, n, tt.backend, ip)
			}
			for _, n := range []*fakeNode{a, b} {
				eventually(t, 10*time.Second, n.name+" uses its podCIDR", func() error {
					if got := n.net.PodCIDR(); got != n.podCIDR {
						return fmt.Errorf("PodCIDR() = %s", got)
					}
					return nil
				})
			}
			pa := newCNIHost(t, a.ns, a.confDir).addPod(t, tt.id+"pa")
			pb := newCNIHost(t, b.ns, b.confDir).addPod(t, tt.id+"pb")
			if !a.podCIDR.Contains(pa.IP) || !b.podCIDR.Contains(pb.IP) {
				t.Fatalf("pods got %s and %s, outside their nodes' ranges %s and %s", pa.IP, pb.IP, a.podCIDR, b.podCIDR)
			}

			// Pod to pod, both ways, source addresses kept.
			for _, c := range []struct{ from, to pod }{{pa, pb}, {pb, pa}} {
				addr := whoAmI(t, c.to.ns, c.to.IP.String()+":0")
				eventually(t, 10*time.Second, fmt.Sprintf("%s reaches %s", c.from.IP, addr), func() error {
					got, err := ask(c.from.ns, addr)
					if err != nil {
						return err
					}
					if got != c.from.IP.String() {
						t.Fatalf("pod %s reached %s as %s: pod to pod traffic was masqueraded", c.from.IP, addr, got)
					}
					return nil
				})
			}

			// Leaving the cluster CIDR: masqueraded to the node's address.
			addr := whoAmI(t, b.ns, b.ip.String()+":0")
			eventually(t, 10*time.Second, "pod a reaches node b", func() error {
				got, err := ask(pa.ns, addr)
				if err != nil {
					return err
				}
				if got != a.ip.String() {
					return fmt.Errorf("node b saw pod a as %s, want node a's %s", got, a.ip)
				}
				return nil
			})

			// What someone else removes comes back at the next resync.
			run(t, "ip", "-n", a.ns.Name, "route", "del", b.podCIDR.String())
			run(t, "ip", "netns", "exec", a.ns.Name, "iptables", "-t", "nat", "-F", "CAPSTAN-NET-POSTRTG")
			eventually(t, 10*time.Second, "node a repairs its route and rules", func() error {
				if rs := ourRoutes(t, a.ns); len(rs) != 1 || rs[0] != b.podCIDR.String() {
					return fmt.Errorf("routes %v", rs)
				}
				rules, err := iptablesSave(a.ns)
				if err != nil {
					return err
				}
				if !strings.Contains(rules, "-A CAPSTAN-NET-POSTRTG") {
					return fmt.Errorf("no rules in CAPSTAN-NET-POSTRTG")
				}
				return nil
			})
			if got := strings.TrimSpace(run(t, "ip", "netns", "exec", a.ns.Name, "sysctl", "-n", "net.ipv4.ip_forward")); got != "1" {
				t.Errorf("node a's ip_forward = %s, want 1", got)
			}

			_, err := handle(t, a.ns).LinkByName(network.DefaultVXLANDevice)
			if hasOverlay := err == nil; hasOverlay != tt.wantOverlay {
				t.Errorf("node a has the overlay device: %v, want %v", hasOverlay, tt.wantOverlay)
			}
			rules, err := iptablesSave(a.ns)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"-A POSTROUTING -m comment --comment \"capstan pod network masquerade\" -j CAPSTAN-NET-POSTRTG", "-j CAPSTAN-NET-FORWARD"} {
				if !strings.Contains(rules, want) {
					t.Errorf("node a's rules lack %q:\n%s", want, rules)
				}
			}

			// Deleting node b takes its route away from node a.
			if err := s.Client.CoreV1().Nodes().Delete(t.Context(), b.name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "node a forgets node b", func() error {
				if rs := ourRoutes(t, a.ns); len(rs) != 0 {
					return fmt.Errorf("routes left: %v", rs)
				}
				if tt.wantOverlay {
					link, err := handle(t, a.ns).LinkByName(network.DefaultVXLANDevice)
					if err == nil {
						fdb, err := handle(t, a.ns).NeighList(link.Attrs().Index, 7 /* AF_BRIDGE */)
						if err != nil {
							return err
						}
						for _, f := range fdb {
							if f.IP != nil && f.IP.Equal(b.ip.AsSlice()) {
								return fmt.Errorf("FDB entry to %s left", b.ip)
							}
						}
					}
				}
				return nil
			})
			if _, err := ask(pa.ns, whoAmI(t, pb.ns, pb.IP.String()+":0")); err == nil {
				t.Errorf("pod a still reaches pod b after node b is gone")
			}

			// Stopping with CleanupOnStop leaves nothing of ours behind.
			a.stop()
			if _, err := handle(t, a.ns).LinkByName(network.DefaultVXLANDevice); err == nil {
				t.Errorf("the overlay device is still there after cleanup")
			}
			rules, err = iptablesSave(a.ns)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(rules, "CAPSTAN-NET-") {
				t.Errorf("rules left after cleanup:\n%s", rules)
			}
		})
	}
}
