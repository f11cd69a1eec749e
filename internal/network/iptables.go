package network

import (
	"fmt"
	"net/netip"
	"strings"

	"capstan/internal/netfilter/jump"
)

// Chain names. Everything this package puts in netfilter lives in chains with the
// CAPSTAN-NET- prefix, reached by one jump rule per built-in chain.
const (
	ChainPostrouting = "CAPSTAN-NET-POSTRTG"
	ChainForward     = "CAPSTAN-NET-FORWARD"
)

// jumps enter our chains from the built-in ones.
func jumps() []jump.Jump {
	return []jump.Jump{
		{Table: "nat", Chain: "POSTROUTING", Append: true, Args: []string{"-m", "comment", "--comment", "capstan pod network masquerade", "-j", ChainPostrouting}},
		// Early (not appended), so a DROP policy or a REJECT appended by someone else does
		// not cut pods off; but after the service proxy's jumps (applyRules), whose
		// rejects must see pods' traffic first.
		{Table: "filter", Chain: "FORWARD", Args: []string{"-m", "comment", "--comment", "capstan pod network forwarding", "-j", ChainForward}},
	}
}

// MasqueradeRules returns iptables-restore input (for --noflush) that fills our chains:
//
//   - nat: pod to pod stays unmasqueraded (pods see each other's IPs); pod to anywhere else
//     but multicast is masqueraded to the node's address; traffic from outside the cluster to
//     this node's pods keeps its source, and to other nodes' pods is masqueraded so the
//     reply comes back through this node.
//   - filter: forwarding to and from the cluster CIDR is accepted.
//
// Declaring a chain in the input flushes it, so applying the text replaces our rules as a
// whole and leaves everyone else's alone.
func MasqueradeRules(cluster netip.Prefix, podCIDR netip.Prefix) string {
	c, p := cluster.Masked().String(), podCIDR.Masked().String()
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("*nat")
	w(":%s - [0:0]", ChainPostrouting)
	w(`-A %s -s %s -d %s -m comment --comment "pod to pod" -j RETURN`, ChainPostrouting, c, c)
	w(`-A %s -s %s ! -d 224.0.0.0/4 -m comment --comment "pod leaving the cluster" -j MASQUERADE --random-fully`, ChainPostrouting, c)
	if podCIDR.IsValid() {
		w(`-A %s ! -s %s -d %s -m comment --comment "to this node's pods" -j RETURN`, ChainPostrouting, c, p)
	}
	w(`-A %s ! -s %s -d %s -m comment --comment "to other nodes' pods" -j MASQUERADE --random-fully`, ChainPostrouting, c, c)
	w("COMMIT")
	w("*filter")
	w(":%s - [0:0]", ChainForward)
	w(`-A %s -s %s -m comment --comment "from pods" -j ACCEPT`, ChainForward, c)
	w(`-A %s -d %s -m comment --comment "to pods" -j ACCEPT`, ChainForward, c)
	w("COMMIT")
	return b.String()
}

// deleteChainsRules is iptables-restore input (for --noflush) that removes our chains; the
// jumps into them must be gone first. Declaring a missing chain creates it, so the text
// applies whether or not the chains exist.
func deleteChainsRules() string {
	return "*nat\n:" + ChainPostrouting + " - [0:0]\n-X " + ChainPostrouting + "\nCOMMIT\n" +
		"*filter\n:" + ChainForward + " - [0:0]\n-X " + ChainForward + "\nCOMMIT\n"
}
