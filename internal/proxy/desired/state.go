package desired

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// State is the whole forwarding of one node for one IP family.
type State struct {
	// Full asks the mode to rewrite everything it owns instead of only what changed since
	// its last successful sync. The sync loop sets it at start, every --sync-period and after
	// a failed sync; Compute leaves it false.
	Full bool
	// Masquerade says which traffic to service addresses is source-NATed to the node.
	Masquerade Masquerade
	// Services holds one entry per service port with rules, sorted by Name. Headless and
	// ExternalName services have none.
	Services []ServicePort
}

// Masquerade is the node-wide masquerade decision for traffic to cluster IPs. Traffic to
// node ports, external IPs and load-balancer IPs is decided per service (see
// ServicePort.ExternalPolicyLocal); traffic from an endpoint to its own service (hairpin) is
// always masqueraded, or the endpoint would answer itself from the wrong address.
type Masquerade struct {
	// All masquerades every connection to a cluster IP (--masquerade-all).
	All bool
	// PodCIDR is the source range that counts as inside the cluster (upstream's
	// --cluster-cidr): connections to a cluster IP from anywhere else are masqueraded, so
	// replies come back through this node. Invalid (and All false) masquerades no cluster-IP
	// traffic.
	PodCIDR netip.Prefix
}

// ServicePortName names one port of one service; with the protocol it is unique.
type ServicePortName struct {
	Namespace, Name string
	// Port is the port's name, "" for a single unnamed port.
	Port     string
	Protocol corev1.Protocol
}

// String is "namespace/name:port", or "namespace/name" for an unnamed port, as upstream
// writes it in rule comments.
func (n ServicePortName) String() string {
	if n.Port == "" {
		return n.Namespace + "/" + n.Name
	}
	return n.Namespace + "/" + n.Name + ":" + n.Port
}

// Less orders names by namespace, name, port and protocol.
func (n ServicePortName) Less(o ServicePortName) bool {
	if n.Namespace != o.Namespace {
		return n.Namespace < o.Namespace
	}
	if n.Name != o.Name {
		return n.Name < o.Name
	}
	if n.Port != o.Port {
		return n.Port < o.Port
	}
	return n.Protocol < o.Protocol
}

// Endpoint is one backend of a service port.
type Endpoint struct {
	IP   netip.Addr
	Port int32
	// Local is true when the endpoint runs on this node.
	Local bool
	// Conditions from the EndpointSlice (nil ready and serving mean true, nil terminating
	// false).
	Ready, Serving, Terminating bool
}

// String is "ip:port" ("[ip]:port" for IPv6).
func (e Endpoint) String() string {
	return netip.AddrPortFrom(e.IP, uint16(e.Port)).String()
}

// Action is what happens to traffic that has no usable endpoint.
type Action int

const (
	// Forward: there are usable endpoints.
	Forward Action = iota
	// Reject answers at once (ICMP port unreachable: connection refused): the service has
	// no usable endpoint anywhere.
	Reject
	// Drop silently discards: endpoints exist, but none on this node, and the traffic
	// policy is Local.
	Drop
)

func (a Action) String() string {
	return [...]string{"forward", "reject", "drop"}[a]
}

// Target is the iptables target of a Reject or Drop: REJECT or DROP.
func (a Action) Target() string { return strings.ToUpper(a.String()) }

// Why says, for a rule's comment, why traffic is rejected or dropped.
func (a Action) Why() string {
	if a == Drop {
		return "has no local endpoints"
	}
	return "has no endpoints"
}

// ServicePort is the forwarding of one service port.
type ServicePort struct {
	Name ServicePortName
	// ClusterIP of the port's family; always valid.
	ClusterIP netip.Addr
	Port      int32
	// NodePort, 0 when none.
	NodePort int32
	// ExternalIPs and LoadBalancerIPs (ingress IPs of the status, except those in ipMode
	// Proxy) of the family.
	ExternalIPs, LoadBalancerIPs []netip.Addr
	// LoadBalancerSourceRanges, when set, are the only sources allowed to the
	// load-balancer IPs; the rest is dropped.
	LoadBalancerSourceRanges []netip.Prefix
	// AffinitySeconds is the ClientIP session affinity timeout; 0 means no affinity.
	AffinitySeconds int32
	// InternalPolicyLocal: traffic to the cluster IP only goes to endpoints on this node.
	InternalPolicyLocal bool
	// ExternalPolicyLocal: traffic from outside the cluster to a node port, external IP or
	// load-balancer IP only goes to endpoints on this node, unmasqueraded (the client's
	// address is kept). Traffic from pods and from the node itself still goes to any
	// endpoint (the node's masqueraded). Only set for externally accessible services.
	ExternalPolicyLocal bool
	// HealthCheckNodePort of a LoadBalancer service with the Local external policy.
	HealthCheckNodePort int32
	// ClusterEndpoints are the endpoints the Cluster traffic policy uses (nil when no traffic
	// of the service uses it), LocalEndpoints those the Local policy uses (nil when none
	// does). Each is the ready endpoints, or when there are none, the serving and terminating
	// ones; Cluster endpoints are narrowed by topology hints first. Sorted by address.
	ClusterEndpoints, LocalEndpoints []Endpoint
	// HasAnyEndpoints is true when some endpoint anywhere is ready, or serving and
	// terminating.
	HasAnyEndpoints bool
}

// ExternallyAccessible is true when the port has a node port, external IPs or
// load-balancer IPs.
func (s *ServicePort) ExternallyAccessible() bool {
	return s.NodePort != 0 || len(s.ExternalIPs) > 0 || len(s.LoadBalancerIPs) > 0
}

// InternalEndpoints are where traffic to the cluster IP goes.
func (s *ServicePort) InternalEndpoints() []Endpoint {
	if s.InternalPolicyLocal {
		return s.LocalEndpoints
	}
	return s.ClusterEndpoints
}

// ExternalEndpoints are where traffic from outside the cluster to the external addresses
// goes.
func (s *ServicePort) ExternalEndpoints() []Endpoint {
	if s.ExternalPolicyLocal {
		return s.LocalEndpoints
	}
	return s.ClusterEndpoints
}

// InternalAction says what traffic to the cluster IP does.
func (s *ServicePort) InternalAction() Action {
	return action(len(s.InternalEndpoints()) > 0, s.InternalPolicyLocal, s.HasAnyEndpoints)
}

// ExternalAction says what traffic from outside to the external addresses does.
func (s *ServicePort) ExternalAction() Action {
	return action(len(s.ExternalEndpoints()) > 0, s.ExternalPolicyLocal, s.HasAnyEndpoints)
}

func action(usable, local, any bool) Action {
	switch {
	case usable:
		return Forward
	case local && any:
		return Drop
	default:
		return Reject
	}
}

// AllEndpoints is the union of ClusterEndpoints and LocalEndpoints, sorted: every endpoint
// some traffic of the port may reach.
func (s *ServicePort) AllEndpoints() []Endpoint {
	if len(s.LocalEndpoints) == 0 {
		return s.ClusterEndpoints
	}
	if len(s.ClusterEndpoints) == 0 {
		return s.LocalEndpoints
	}
	out := append(append([]Endpoint{}, s.ClusterEndpoints...), s.LocalEndpoints...)
	slices.SortFunc(out, compareEndpoints)
	return slices.CompactFunc(out, func(a, b Endpoint) bool { return a.IP == b.IP && a.Port == b.Port })
}

// Equal reports whether two service ports forward the same way.
func (s *ServicePort) Equal(o *ServicePort) bool {
	return s.Name == o.Name && s.ClusterIP == o.ClusterIP && s.Port == o.Port && s.NodePort == o.NodePort &&
		slices.Equal(s.ExternalIPs, o.ExternalIPs) && slices.Equal(s.LoadBalancerIPs, o.LoadBalancerIPs) &&
		slices.Equal(s.LoadBalancerSourceRanges, o.LoadBalancerSourceRanges) &&
		s.AffinitySeconds == o.AffinitySeconds && s.InternalPolicyLocal == o.InternalPolicyLocal &&
		s.ExternalPolicyLocal == o.ExternalPolicyLocal && s.HealthCheckNodePort == o.HealthCheckNodePort &&
		slices.Equal(s.ClusterEndpoints, o.ClusterEndpoints) && slices.Equal(s.LocalEndpoints, o.LocalEndpoints) &&
		s.HasAnyEndpoints == o.HasAnyEndpoints
}

func compareEndpoints(a, b Endpoint) int {
	if c := a.IP.Compare(b.IP); c != 0 {
		return c
	}
	return int(a.Port) - int(b.Port)
}

// Dump writes the state in a stable, readable form (golden tests, debugging).
func (st *State) Dump() string {
	var b strings.Builder
	m := st.Masquerade
	fmt.Fprintf(&b, "masquerade: all=%v podCIDR=%v\n", m.All, m.PodCIDR)
	for i := range st.Services {
		s := &st.Services[i]
		fmt.Fprintf(&b, "%s %s %s\n", s.Name, strings.ToLower(string(s.Name.Protocol)), netip.AddrPortFrom(s.ClusterIP, uint16(s.Port)))
		if s.NodePort != 0 {
			fmt.Fprintf(&b, "  nodePort %d\n", s.NodePort)
		}
		if len(s.ExternalIPs) > 0 {
			fmt.Fprintf(&b, "  externalIPs %v\n", s.ExternalIPs)
		}
		if len(s.LoadBalancerIPs) > 0 {
			fmt.Fprintf(&b, "  loadBalancerIPs %v sourceRanges %v\n", s.LoadBalancerIPs, s.LoadBalancerSourceRanges)
		}
		if s.HealthCheckNodePort != 0 {
			fmt.Fprintf(&b, "  healthCheckNodePort %d\n", s.HealthCheckNodePort)
		}
		if s.AffinitySeconds != 0 {
			fmt.Fprintf(&b, "  affinity ClientIP %ds\n", s.AffinitySeconds)
		}
		fmt.Fprintf(&b, "  internal %s %s %s\n", policy(s.InternalPolicyLocal), s.InternalAction(), dumpEndpoints(s.InternalEndpoints()))
		if s.ExternallyAccessible() {
			fmt.Fprintf(&b, "  external %s %s %s\n", policy(s.ExternalPolicyLocal), s.ExternalAction(), dumpEndpoints(s.ExternalEndpoints()))
		}
	}
	return b.String()
}

func policy(local bool) string {
	if local {
		return "Local"
	}
	return "Cluster"
}

func dumpEndpoints(eps []Endpoint) string {
	parts := make([]string, len(eps))
	for i, e := range eps {
		var flags []string
		if e.Local {
			flags = append(flags, "local")
		}
		if !e.Ready {
			flags = append(flags, "notready")
			if e.Serving {
				flags = append(flags, "serving")
			}
		}
		if e.Terminating {
			flags = append(flags, "terminating")
		}
		parts[i] = e.String()
		if len(flags) > 0 {
			parts[i] += "(" + strings.Join(flags, ",") + ")"
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}
