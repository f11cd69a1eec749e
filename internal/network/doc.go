// Package network is the pod network of a node. It owns four things and nothing else:
//
//   - host preparation: the sysctls pods need (ip_forward, bridge-nf-call-iptables and, for
//     the proxy, route_localnet), set idempotently (PrepareHost);
//   - the CNI network list that containerd's CRI plugin reads (bridge cni0 + host-local IPAM
//     over the node's spec.podCIDR + portmap), written atomically and rewritten when the
//     podCIDR changes (Conflist, WriteConflist);
//   - reachability of pods on other nodes: a route per node to its podCIDR via its InternalIP
//     when the node is on the same L2 segment (host-gw), otherwise a VXLAN overlay device
//     ("flannel.1" style) with one FDB and one neighbour entry per node (DesiredRoutes);
//   - masquerading of pod traffic that leaves the cluster CIDR, in iptables chains whose names
//     start with CAPSTAN-NET- (MasqueradeRules), so they never collide with the proxy's.
//
// The agent builds a Network with New and runs it; Run is level-triggered from a Node
// informer. The package does not create pods, does not touch the host's own addresses or
// default route, and programs no Service rules (that is the proxy's). Decisions (conflist
// text, desired routes, rule text) are pure functions; netlink, iptables and /proc/sys are
// reached through small interfaces at the edges. Only IPv4 is handled.
package network
