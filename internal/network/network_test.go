package network

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// fakeDataplane keeps the state the Network last asked for.
type fakeDataplane struct {
	mu       sync.Mutex
	conflist CNIConfig
	rules    string
	routes   Desired
	vx       vxlanSpec
	cleaned  bool
}

func (f *fakeDataplane) prepareHost(context.Context, HostOptions) ([]SysctlChange, error) {
	return []SysctlChange{{"net.ipv4.ip_forward", "0", "1"}}, nil
}

func (f *fakeDataplane) underlay(netip.Addr) (underlay, error) {
	return underlay{IP: netip.MustParseAddr("192.168.1.10"), Device: "eth0", Index: 2, MTU: 1500, Subnets: prefixes("192.168.1.0/24")}, nil
}

func (f *fakeDataplane) writeConflist(_ string, c CNIConfig) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	changed := f.conflist != c
	f.conflist = c
	return changed, nil
}

func (f *fakeDataplane) applyRules(_ context.Context, rules string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = rules
	return nil
}

func (f *fakeDataplane) removeRules(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules, f.cleaned = "", true
	return nil
}

func (f *fakeDataplane) applyRoutes(d Desired, vx vxlanSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes, f.vx = d, vx
	return nil
}

func (f *fakeDataplane) state() (CNIConfig, Desired, vxlanSpec, string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conflist, f.routes, f.vx, f.rules, f.cleaned
}

func node(name, ip, cidr string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDR: cidr}}
	if cidr != "" {
		n.Spec.PodCIDRs = []string{cidr}
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}
	return n
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startNetwork(t *testing.T, backend Backend, cleanup bool, objs ...*corev1.Node) (*Network, *fakeDataplane, *fake.Clientset, func()) {
	t.Helper()
	client := fake.NewClientset()
	for _, o := range objs {
		if _, err := client.CoreV1().Nodes().Create(t.Context(), o, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := New(Options{NodeName: "a", Client: client, Backend: backend, CNIConfDir: "/unused", CleanupOnStop: cleanup,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	dp := &fakeDataplane{}
	n.dp = dp
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			stop()
		}
	})
	return n, dp, client, stop
}

func TestNetworkFollowsThePodCIDR(t *testing.T) {
	t.Parallel()
	n, dp, client, _ := startNetwork(t, BackendVXLAN, false)
	select {
	case <-n.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("not ready without a Node")
	}
	if got := n.PodCIDR().String(); got != "10.42.0.0/24" {
		t.Errorf("before the node exists the range is %s, want the fallback 10.42.0.0/24", got)
	}
	c, _, _, _, _ := dp.state()
	if c.MTU != 1450 {
		t.Errorf("vxlan pod MTU = %d, want 1500-50", c.MTU)
	}
	eventually(t, "the masquerade rules are applied", func() bool {
		_, _, _, rules, _ := dp.state()
		return rules != ""
	})

	if _, err := client.CoreV1().Nodes().Create(t.Context(), node("a", "192.168.1.10", "10.42.7.0/24"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the conflist has the node's podCIDR", func() bool {
		c, _, vx, _, _ := dp.state()
		return c.PodCIDR.String() == "10.42.7.0/24" && vx.Addr.String() == "10.42.7.0/32"
	})
	if got := n.PodCIDR().String(); got != "10.42.7.0/24" {
		t.Errorf("PodCIDR() = %s", got)
	}
}

func TestNetworkRoutesFollowNodes(t *testing.T) {
	t.Parallel()
	_, dp, client, stop := startNetwork(t, BackendHostGW, true,
		node("a", "192.168.1.10", "10.42.0.0/24"), node("b", "192.168.1.11", "10.42.1.0/24"))
	eventually(t, "a route to b", func() bool {
		_, d, _, _, _ := dp.state()
		return render(d) == "vxlan=false\nroute 10.42.1.0/24 via 192.168.1.11 dev eth0\n"
	})
	c, _, _, _, _ := dp.state()
	if c.MTU != 1500 {
		t.Errorf("host-gw pod MTU = %d, want the underlay's 1500", c.MTU)
	}

	if _, err := client.CoreV1().Nodes().Create(t.Context(), node("c", "10.0.0.7", "10.42.2.0/24"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "c, off the segment, goes through the overlay", func() bool {
		_, d, vx, _, _ := dp.state()
		return d.VXLAN && len(d.Routes) == 2 && vx.MAC.String() == "0e:42:c0:a8:01:0a" && vx.MTU == 1450
	})

	if err := client.CoreV1().Nodes().Delete(t.Context(), "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b's route is gone with b", func() bool {
		_, d, _, _, _ := dp.state()
		return len(d.Routes) == 1 && d.Routes[0].Dst.String() == "10.42.2.0/24"
	})

	stop()
	_, d, _, rules, cleaned := dp.state()
	if !cleaned || rules != "" || d.VXLAN || len(d.Routes) != 0 {
		t.Errorf("after stopping with CleanupOnStop: cleaned=%v rules=%q routes=%s", cleaned, rules, render(d))
	}
}

func TestNewChecksOptions(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset()
	for name, o := range map[string]Options{
		"no node name":    {Client: client, CNIConfDir: "/x"},
		"no client":       {NodeName: "a", CNIConfDir: "/x"},
		"no conf dir":     {NodeName: "a", Client: client},
		"a bad backend":   {NodeName: "a", Client: client, CNIConfDir: "/x", Backend: "udp"},
		"an IPv6 cluster": {NodeName: "a", Client: client, CNIConfDir: "/x", ClusterCIDR: netip.MustParsePrefix("fd00::/48")},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestChoosePodCIDR(t *testing.T) {
	t.Parallel()
	cluster := netip.MustParsePrefix("10.42.0.0/16")
	tests := []struct {
		name    string
		node    []netip.Prefix
		current string
		want    string
	}{
		{"the node's range", prefixes("10.42.3.0/24", "10.42.4.0/24"), "", "10.42.3.0/24"},
		{"a changed node range replaces the current one", prefixes("10.42.3.0/24"), "10.42.0.0/24", "10.42.3.0/24"},
		{"before node IPAM the fallback", nil, "", "10.42.0.0/24"},
		{"a node that loses its range keeps the current one", nil, "10.42.3.0/24", "10.42.3.0/24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cur netip.Prefix
			if tt.current != "" {
				cur = netip.MustParsePrefix(tt.current)
			}
			if got := choosePodCIDR(tt.node, cur, cluster); got.String() != tt.want {
				t.Errorf("choosePodCIDR = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSameForNetwork(t *testing.T) {
	t.Parallel()
	base := node("b", "192.168.1.11", "10.42.1.0/24")
	heartbeat := base.DeepCopy()
	heartbeat.ResourceVersion = "7"
	heartbeat.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	heartbeat.Labels = map[string]string{"x": "y"}
	moved := base.DeepCopy()
	moved.Status.Addresses[0].Address = "192.168.1.12"
	recidr := base.DeepCopy()
	recidr.Spec.PodCIDRs = []string{"10.42.9.0/24"}
	for name, tt := range map[string]struct {
		cur  *corev1.Node
		same bool
	}{
		"a heartbeat":       {heartbeat, true},
		"a new InternalIP":  {moved, false},
		"a new podCIDR":     {recidr, false},
		"an unchanged node": {base, true},
	} {
		if got := sameForNetwork(base, tt.cur); got != tt.same {
			t.Errorf("%s: sameForNetwork = %v, want %v", name, got, tt.same)
		}
	}
}

func TestNetworkStartsFromThePreviousConflistWithoutTheAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	prev := netip.MustParsePrefix("10.42.5.0/24")
	if _, err := WriteConflist(dir, CNIConfig{PodCIDR: prev}); err != nil {
		t.Fatal(err)
	}
	client := fake.NewClientset()
	client.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("the API server is away")
	})
	n, err := New(Options{NodeName: "a", Client: client, CNIConfDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	n.dp = &fakeDataplane{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-n.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("not ready with a conflist from the previous run")
	}
	if got := n.PodCIDR(); got != prev {
		t.Errorf("PodCIDR() = %s, want the previous run's %s", got, prev)
	}
}
