package network

import (
	"cmp"
	"net"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

const (
	// DefaultVXLANDevice is the overlay device, named like flannel's.
	DefaultVXLANDevice = "flannel.1"
	// DefaultVNI is the overlay's VXLAN network identifier.
	DefaultVNI = 1
	// DefaultVXLANPort is the overlay's UDP port (flannel's, the Linux default 8472).
	DefaultVXLANPort = 8472
	// vxlanOverhead is what the VXLAN, UDP, IP and inner Ethernet headers cost of the MTU.
	vxlanOverhead = 50
	// RouteProtocol marks the routes this package installs (rtnetlink's protocol field), so
	// stale ones are found and removed without touching anyone else's.
	RouteProtocol = 99
)

// Peer is another node as the pod network sees it.
type Peer struct {
	Name string
	// IP is the node's InternalIP: the underlay address its pods are reached through.
	IP netip.Addr
	// PodCIDRs are the node's IPv4 pod ranges.
	PodCIDRs []netip.Prefix
}

// PeerFromNode reads the underlay address (the first IPv4 InternalIP) and the IPv4 pod
// ranges of a Node. ok is false when the node has either missing: it cannot be routed to yet.
func PeerFromNode(n *corev1.Node) (p Peer, ok bool) {
	p.Name = n.Name
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Is4() {
			p.IP = ip
			break
		}
	}
	p.PodCIDRs = podCIDRs(n)
	return p, p.IP.IsValid() && len(p.PodCIDRs) > 0
}

// podCIDRs returns the IPv4 ranges of spec.podCIDRs (or spec.podCIDR when that is empty).
func podCIDRs(n *corev1.Node) []netip.Prefix {
	raw := n.Spec.PodCIDRs
	if len(raw) == 0 && n.Spec.PodCIDR != "" {
		raw = []string{n.Spec.PodCIDR}
	}
	var out []netip.Prefix
	for _, s := range raw {
		if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Is4() {
			out = append(out, p.Masked())
		}
	}
	return out
}

// VTEPMAC is the hardware address of a node's VXLAN device, derived from its underlay IP so
// that every node knows every other node's without publishing it: a locally administered
// unicast address 0e:42:<the four bytes of the IP>.
func VTEPMAC(nodeIP netip.Addr) net.HardwareAddr {
	b := nodeIP.As4()
	return net.HardwareAddr{0x0e, 0x42, b[0], b[1], b[2], b[3]}
}

// Route is a route to a peer's pod range.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
	// Device is the underlay device (host-gw) or the VXLAN device.
	Device string
	// OnLink: the gateway is reachable on Device without a route to it (VXLAN).
	OnLink bool
}

// Neighbor is a permanent ARP entry on the VXLAN device: a peer's overlay address (the
// first address of its pod range) to its VTEP MAC.
type Neighbor struct {
	IP  netip.Addr
	MAC string
}

// FDB is a permanent forwarding entry on the VXLAN device: frames for a VTEP MAC are sent
// to that peer's underlay IP.
type FDB struct {
	MAC string
	Dst netip.Addr
}

// RouteInput is what the desired routes are computed from.
type RouteInput struct {
	Backend Backend
	// Self is this node's name; it is never routed to.
	Self string
	// SelfPodCIDRs are this node's ranges; a peer claiming an overlapping one is skipped.
	SelfPodCIDRs []netip.Prefix
	// Underlay is the device holding the node IP; UnderlaySubnets are the prefixes of its
	// addresses: a peer whose IP lies in one is on the same L2 segment.
	Underlay        string
	UnderlaySubnets []netip.Prefix
	// VXLANDevice is the overlay device's name.
	VXLANDevice string
	Peers       []Peer
}

// Desired is the routing state towards other nodes.
type Desired struct {
	// VXLAN is true when the overlay device must exist.
	VXLAN     bool
	Routes    []Route
	Neighbors []Neighbor
	FDB       []FDB
	// Skipped names peers that get no route, with why.
	Skipped map[string]string
}

// DesiredRoutes computes the routes, neighbour and FDB entries to every peer. With
// BackendVXLAN every peer goes through the overlay; with BackendHostGW a peer on the same L2
// segment gets a plain route via its IP and the others go through the overlay; with
// BackendNone there is nothing. The output is sorted, so equal inputs give equal outputs.
func DesiredRoutes(in RouteInput) Desired {
	d := Desired{Skipped: map[string]string{}}
	if in.Backend == BackendNone {
		return d
	}
	d.VXLAN = in.Backend == BackendVXLAN
	for _, p := range in.Peers {
		if p.Name == in.Self {
			continue
		}
		if !p.IP.Is4() || len(p.PodCIDRs) == 0 {
			d.Skipped[p.Name] = "no IPv4 InternalIP or podCIDR yet"
			continue
		}
		if overlapsAny(p.PodCIDRs, in.SelfPodCIDRs) {
			d.Skipped[p.Name] = "its podCIDR overlaps this node's"
			continue
		}
		direct := in.Backend == BackendHostGW && containsAddr(in.UnderlaySubnets, p.IP)
		if !direct {
			d.VXLAN = true
			mac := VTEPMAC(p.IP).String()
			d.FDB = append(d.FDB, FDB{MAC: mac, Dst: p.IP})
			for _, c := range p.PodCIDRs {
				d.Neighbors = append(d.Neighbors, Neighbor{IP: c.Addr(), MAC: mac})
				d.Routes = append(d.Routes, Route{Dst: c, Via: c.Addr(), Device: in.VXLANDevice, OnLink: true})
			}
			continue
		}
		for _, c := range p.PodCIDRs {
			d.Routes = append(d.Routes, Route{Dst: c, Via: p.IP, Device: in.Underlay})
		}
	}
	d.Routes = dedupRoutes(d.Routes)
	slices.SortFunc(d.Neighbors, func(a, b Neighbor) int { return a.IP.Compare(b.IP) })
	slices.SortFunc(d.FDB, func(a, b FDB) int { return cmp.Compare(a.MAC, b.MAC) })
	d.FDB = slices.Compact(d.FDB)
	return d
}

// dedupRoutes sorts by destination and keeps the first route of two peers claiming the same
// range (only one route per destination can exist in a table).
func dedupRoutes(rs []Route) []Route {
	slices.SortStableFunc(rs, func(a, b Route) int { return comparePrefix(a.Dst, b.Dst) })
	return slices.CompactFunc(rs, func(a, b Route) bool { return a.Dst == b.Dst })
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

func overlapsAny(a, b []netip.Prefix) bool {
	for _, x := range a {
		for _, y := range b {
			if x.Overlaps(y) {
				return true
			}
		}
	}
	return false
}

func containsAddr(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
