package network

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"capstan/internal/network"
)

// TestConflistWithRealPlugins runs the conflist through the plugins containerd would run:
// pods get addresses from the node's range behind the cni0 gateway, with the MTU asked for,
// reach the gateway and each other, and give their address back on DEL.
func TestConflistWithRealPlugins(t *testing.T) {
	requireRoot(t)
	node := newNS(t, "cni-node")
	confDir, leases := t.TempDir(), t.TempDir()
	podCIDR := netip.MustParsePrefix("10.42.9.0/24")
	if _, err := network.WriteConflist(confDir, network.CNIConfig{PodCIDR: podCIDR, MTU: 1400, IPAMDataDir: leases}); err != nil {
		t.Fatal(err)
	}
	host := newCNIHost(t, node, confDir)
	p1 := host.addPod(t, "cni-p1")
	p2 := host.addPod(t, "cni-p2")

	gw := netip.MustParseAddr("10.42.9.1")
	for _, p := range []pod{p1, p2} {
		if !podCIDR.Contains(p.IP) || p.IP == gw {
			t.Errorf("pod %s got %s, want an address of %s other than the gateway", p.Name, p.IP, podCIDR)
		}
		if p.GW != gw {
			t.Errorf("pod %s has gateway %s, want %s", p.Name, p.GW, gw)
		}
		h := handle(t, p.ns)
		eth0, err := h.LinkByName("eth0")
		if err != nil {
			t.Fatal(err)
		}
		if eth0.Attrs().MTU != 1400 {
			t.Errorf("pod %s eth0 MTU = %d, want 1400", p.Name, eth0.Attrs().MTU)
		}
		lo, err := h.LinkByName("lo")
		if err != nil || lo.Attrs().OperState.String() == "down" {
			t.Errorf("pod %s lo is not up: %v", p.Name, err)
		}
	}
	if p1.IP == p2.IP {
		t.Fatalf("both pods got %s", p1.IP)
	}
	bridge, err := handle(t, node).LinkByName(network.DefaultBridge)
	if err != nil {
		t.Fatalf("no %s bridge in the node: %v", network.DefaultBridge, err)
	}
	if bridge.Type() != "bridge" {
		t.Errorf("%s is a %s", network.DefaultBridge, bridge.Type())
	}

	// The gateway (the node) and the other pod answer, and see the pod's own address.
	for _, target := range []struct {
		what string
		in   ns
		addr string
	}{
		{"the gateway", node, gw.String() + ":0"},
		{"the other pod", p2.ns, p2.IP.String() + ":0"},
	} {
		addr := whoAmI(t, target.in, target.addr)
		got, err := ask(p1.ns, addr)
		if err != nil {
			t.Fatalf("pod %s cannot reach %s at %s: %v", p1.Name, target.what, addr, err)
		}
		if got != p1.IP.String() {
			t.Errorf("%s saw the pod as %s, want %s", target.what, got, p1.IP)
		}
	}

	// DEL gives the address back to host-local.
	lease := filepath.Join(leases, network.DefaultNetworkName, p1.IP.String())
	if _, err := os.Stat(lease); err != nil {
		t.Fatalf("no lease for %s: %v", p1.IP, err)
	}
	t.Run("DEL releases the address", func(t *testing.T) {
		if err := p1.Del(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(lease); !os.IsNotExist(err) {
			t.Errorf("lease file %s still there after DEL (%v)", lease, err)
		}
	})
}
