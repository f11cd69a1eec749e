// Package userspace is the proxy's userspace mode: service traffic is forwarded by this
// process, not by netfilter. Each service port gets a proxy socket on a random local port
// (a TCP listener or a UDP socket on every address of the node) for its cluster IP, and a
// second one for its external addresses (node port, external IPs, load-balancer IPs) when
// it has any; nat rules of its own chains send the traffic there: KUBE-PORTALS-CONTAINER
// (from PREROUTING: pods and the outside) and KUBE-PORTALS-HOST (from OUTPUT: the node
// itself) for service addresses, KUBE-NODEPORT-CONTAINER and KUBE-NODEPORT-HOST for node
// ports on any local address, 127.0.0.1 included. Every rule is a REDIRECT to the proxy
// port: upstream's old userspace mode DNATed the node's own traffic to the node IP so that
// UDP replies left from the address the request was sent to; this mode answers each
// datagram from the address it arrived on (IP_PKTINFO), so it needs no node IP.
//
// The proxy picks endpoints round robin among the ready ones (terminating ones only when
// none is ready, as package desired decides), sticks a client IP to its endpoint for the
// ClientIP affinity timeout, honours both traffic policies (external traffic from outside
// the pod range and the node goes to local endpoints only under the Local policy), and
// forwards a UDP client address through one session per client that ends after
// UDPIdleTimeout without traffic, or at once when its endpoint goes. Endpoints see the
// node's address, never the client's: every connection is the proxy's own, so masquerade
// settings do not apply and hairpin traffic needs nothing. Service ports without usable
// endpoints are rejected (or dropped, under a Local policy) by rules of the filter table's
// KUBE-PORTALS-FILTER chain, as the other modes do. SCTP ports are not supported: they get
// no rules and a log line.
//
// Rule text is built by a pure function (rules.go, golden-tested) and loaded with
// iptables-restore through a runner.Runner: everything on a full sync, only the rules of
// changed service ports (-D and -A lines) otherwise. A change of endpoints alone touches no
// rule at all. Sockets are opened through Options.Sockets, so the proxy can serve another
// network namespace. IPv4 only; it never touches chains it does not own.
package userspace
