package network

import (
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func peer(name, ip string, cidrs ...string) Peer {
	p := Peer{Name: name, PodCIDRs: prefixes(cidrs...)}
	if ip != "" {
		p.IP = netip.MustParseAddr(ip)
	}
	return p
}

// render prints a Desired the way `ip route`/`bridge fdb`/`ip neigh` would, one per line.
func render(d Desired) string {
	var b strings.Builder
	fmt.Fprintf(&b, "vxlan=%v\n", d.VXLAN)
	for _, r := range d.Routes {
		onlink := ""
		if r.OnLink {
			onlink = " onlink"
		}
		fmt.Fprintf(&b, "route %s via %s dev %s%s\n", r.Dst, r.Via, r.Device, onlink)
	}
	for _, n := range d.Neighbors {
		fmt.Fprintf(&b, "neigh %s lladdr %s\n", n.IP, n.MAC)
	}
	for _, f := range d.FDB {
		fmt.Fprintf(&b, "fdb %s dst %s\n", f.MAC, f.Dst)
	}
	for _, name := range slices.Sorted(maps.Keys(d.Skipped)) {
		fmt.Fprintf(&b, "skip %s: %s\n", name, d.Skipped[name])
	}
	return b.String()
}

func TestDesiredRoutes(t *testing.T) {
	t.Parallel()
	base := RouteInput{
		Self:            "a",
		SelfPodCIDRs:    prefixes("10.42.0.0/24"),
		Underlay:        "eth0",
		UnderlaySubnets: prefixes("192.168.1.0/24"),
		VXLANDevice:     "flannel.1",
	}
	peers := []Peer{
		peer("a", "192.168.1.10", "10.42.0.0/24"),
		peer("c", "10.0.0.7", "10.42.2.0/24"),
		peer("b", "192.168.1.11", "10.42.1.0/24"),
	}
	tests := []struct {
		name    string
		backend Backend
		peers   []Peer
		want    string
	}{
		{
			name: "vxlan sends every other node through the overlay", backend: BackendVXLAN, peers: peers,
			want: `vxlan=true
route 10.42.1.0/24 via 10.42.1.0 dev flannel.1 onlink
route 10.42.2.0/24 via 10.42.2.0 dev flannel.1 onlink
neigh 10.42.1.0 lladdr 0e:42:c0:a8:01:0b
neigh 10.42.2.0 lladdr 0e:42:0a:00:00:07
fdb 0e:42:0a:00:00:07 dst 10.0.0.7
fdb 0e:42:c0:a8:01:0b dst 192.168.1.11
`,
		},
		{
			name: "host-gw routes a node on the segment directly and the rest through the overlay", backend: BackendHostGW, peers: peers,
			want: `vxlan=true
route 10.42.1.0/24 via 192.168.1.11 dev eth0
route 10.42.2.0/24 via 10.42.2.0 dev flannel.1 onlink
neigh 10.42.2.0 lladdr 0e:42:0a:00:00:07
fdb 0e:42:0a:00:00:07 dst 10.0.0.7
`,
		},
		{
			name: "host-gw with every node on the segment needs no overlay", backend: BackendHostGW, peers: peers[:1:1],
			want: "vxlan=false\n",
		},
		{
			name: "host-gw with one segment peer", backend: BackendHostGW, peers: []Peer{peers[2]},
			want: "vxlan=false\nroute 10.42.1.0/24 via 192.168.1.11 dev eth0\n",
		},
		{
			name: "vxlan keeps its device with no other node", backend: BackendVXLAN,
			want: "vxlan=true\n",
		},
		{
			name: "none programs nothing", backend: BackendNone, peers: peers,
			want: "vxlan=false\n",
		},
		{
			name: "nodes without an address or a range yet are skipped", backend: BackendVXLAN,
			peers: []Peer{peer("no-ip", "", "10.42.3.0/24"), peer("no-cidr", "192.168.1.12")},
			want: `vxlan=true
skip no-cidr: no IPv4 InternalIP or podCIDR yet
skip no-ip: no IPv4 InternalIP or podCIDR yet
`,
		},
		{
			name: "a node claiming this node's range is skipped", backend: BackendHostGW,
			peers: []Peer{peer("d", "192.168.1.13", "10.42.0.0/25")},
			want:  "vxlan=false\nskip d: its podCIDR overlaps this node's\n",
		},
		{
			name: "two nodes claiming one range: one route, to the first in range order", backend: BackendHostGW,
			peers: []Peer{peer("e", "192.168.1.14", "10.42.4.0/24"), peer("f", "192.168.1.15", "10.42.4.0/24")},
			want:  "vxlan=false\nroute 10.42.4.0/24 via 192.168.1.14 dev eth0\n",
		},
		{
			name: "a node with several ranges gets a route for each", backend: BackendVXLAN,
			peers: []Peer{peer("g", "10.0.0.8", "10.42.6.0/24", "10.42.5.0/24")},
			want: `vxlan=true
route 10.42.5.0/24 via 10.42.5.0 dev flannel.1 onlink
route 10.42.6.0/24 via 10.42.6.0 dev flannel.1 onlink
neigh 10.42.5.0 lladdr 0e:42:0a:00:00:08
neigh 10.42.6.0 lladdr 0e:42:0a:00:00:08
fdb 0e:42:0a:00:00:08 dst 10.0.0.8
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := base
			in.Backend = tt.backend
			in.Peers = tt.peers
			if got := render(DesiredRoutes(in)); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestDesiredRoutesIgnoresPeerOrder(t *testing.T) {
	t.Parallel()
	in := RouteInput{Backend: BackendHostGW, Self: "a", Underlay: "eth0", UnderlaySubnets: prefixes("192.168.1.0/24"), VXLANDevice: "v"}
	fwd := []Peer{peer("b", "192.168.1.2", "10.42.1.0/24"), peer("c", "10.1.1.1", "10.42.2.0/24"), peer("d", "10.1.1.2", "10.42.3.0/24")}
	rev := []Peer{fwd[2], fwd[1], fwd[0]}
	in.Peers = fwd
	a := DesiredRoutes(in)
	in.Peers = rev
	b := DesiredRoutes(in)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("peer order changed the result:\n%s\n%s", render(a), render(b))
	}
}

func TestPeerFromNode(t *testing.T) {
	t.Parallel()
	node := func(cidr string, cidrs []string, addrs ...corev1.NodeAddress) *corev1.Node {
		return &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "n"},
			Spec:       corev1.NodeSpec{PodCIDR: cidr, PodCIDRs: cidrs},
			Status:     corev1.NodeStatus{Addresses: addrs},
		}
	}
	internal := func(ip string) corev1.NodeAddress {
		return corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip}
	}
	tests := []struct {
		name   string
		node   *corev1.Node
		want   Peer
		wantOK bool
	}{
		{"the first IPv4 InternalIP and podCIDRs", node("10.42.1.0/24", []string{"fd00:42::/64", "10.42.1.0/24"},
			corev1.NodeAddress{Type: corev1.NodeHostName, Address: "n"}, internal("fd00::5"), internal("192.168.1.5"), internal("192.168.1.6")),
			peer("n", "192.168.1.5", "10.42.1.0/24"), true},
		{"podCIDR alone when podCIDRs is empty", node("10.42.2.0/24", nil, internal("192.168.1.5")),
			peer("n", "192.168.1.5", "10.42.2.0/24"), true},
		{"no range yet", node("", nil, internal("192.168.1.5")), peer("n", "192.168.1.5"), false},
		{"an ExternalIP is not an underlay address", node("10.42.2.0/24", nil, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "1.2.3.4"}),
			peer("n", "", "10.42.2.0/24"), false},
		{"garbage is ignored", node("x", []string{"y"}, internal("z")), peer("n", ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := PeerFromNode(tt.node)
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PeerFromNode = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestVTEPMACIsLocallyAdministeredUnicast(t *testing.T) {
	t.Parallel()
	mac := VTEPMAC(netip.MustParseAddr("192.0.2.2"))
	if mac.String() != "0e:42:c0:00:02:02" {
		t.Errorf("VTEPMAC = %s", mac)
	}
	if mac[0]&1 != 0 || mac[0]&2 == 0 {
		t.Errorf("%s is not a locally administered unicast address", mac)
	}
}
