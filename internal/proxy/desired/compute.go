package desired

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Input is what the forwarding is computed from. Compute does not modify it.
type Input struct {
	Services []*corev1.Service
	Slices   []*discoveryv1.EndpointSlice
	// NodeName is this node's name: endpoints with this nodeName are local.
	NodeName string
	// NodeLabels are the node's labels (its topology.kubernetes.io/zone picks zone hints);
	// nil while the Node is unknown.
	NodeLabels map[string]string
	// Family is the IP family to compute for. Default IPv4.
	Family corev1.IPFamily
	// Masquerade is copied to the State. PodCIDRs are the cluster's pod ranges; the first
	// of the family becomes the State's PodCIDR.
	Masquerade Masquerade
	PodCIDRs   []netip.Prefix
}

// defaultAffinitySeconds is upstream's ClientIP timeout when the service gives none.
const defaultAffinitySeconds = 10800

// Compute returns the forwarding for in.
func Compute(in Input) *State {
	family := in.Family
	if family == "" {
		family = corev1.IPv4Protocol
	}
	st := &State{Masquerade: in.Masquerade}
	for _, p := range in.PodCIDRs {
		if isFamily(p.Addr(), family) {
			st.Masquerade.PodCIDR = p.Masked()
			break
		}
	}
	bySvc := map[string][]*discoveryv1.EndpointSlice{}
	for _, sl := range in.Slices {
		if string(sl.AddressType) != string(family) {
			continue
		}
		svc := sl.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			continue
		}
		key := sl.Namespace + "/" + svc
		bySvc[key] = append(bySvc[key], sl)
	}
	zone := in.NodeLabels[corev1.LabelTopologyZone]
	for _, svc := range in.Services {
		clusterIP, ok := serviceClusterIP(svc, family)
		if !ok {
			continue
		}
		svcSlices := bySvc[svc.Namespace+"/"+svc.Name]
		for i := range svc.Spec.Ports {
			sp := servicePort(svc, &svc.Spec.Ports[i], clusterIP, family)
			eps := endpointsFor(svcSlices, sp.Name, in.NodeName, family)
			categorize(&sp, eps, svc, in.NodeName, zone)
			st.Services = append(st.Services, sp)
		}
	}
	sortServices(st.Services)
	return st
}

func sortServices(s []ServicePort) {
	slices.SortFunc(s, func(a, b ServicePort) int {
		switch {
		case a.Name.Less(b.Name):
			return -1
		case b.Name.Less(a.Name):
			return 1
		}
		return 0
	})
}

// serviceClusterIP is the service's cluster IP of the family; false for headless and
// ExternalName services and those without an address of the family.
func serviceClusterIP(svc *corev1.Service, family corev1.IPFamily) (netip.Addr, bool) {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return netip.Addr{}, false
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	for _, s := range ips {
		if ip, err := netip.ParseAddr(s); err == nil && isFamily(ip, family) {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

func isFamily(ip netip.Addr, family corev1.IPFamily) bool {
	ip = ip.Unmap()
	if family == corev1.IPv6Protocol {
		return ip.Is6()
	}
	return ip.Is4()
}

func externallyAccessible(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		return true
	}
	return len(svc.Spec.ExternalIPs) > 0
}

func servicePort(svc *corev1.Service, p *corev1.ServicePort, clusterIP netip.Addr, family corev1.IPFamily) ServicePort {
	proto := p.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	sp := ServicePort{
		Name:      ServicePortName{Namespace: svc.Namespace, Name: svc.Name, Port: p.Name, Protocol: proto},
		ClusterIP: clusterIP,
		Port:      p.Port,
	}
	isLB := svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	if isLB || svc.Spec.Type == corev1.ServiceTypeNodePort {
		sp.NodePort = p.NodePort
	}
	sp.ExternalIPs = parseAddrs(svc.Spec.ExternalIPs, family)
	if isLB {
		var ips []string
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			// ipMode Proxy: the load balancer delivers to the node, not to the VIP.
			if ing.IPMode != nil && *ing.IPMode == corev1.LoadBalancerIPModeProxy {
				continue
			}
			ips = append(ips, ing.IP)
		}
		sp.LoadBalancerIPs = parseAddrs(ips, family)
		for _, r := range svc.Spec.LoadBalancerSourceRanges {
			if pr, err := netip.ParsePrefix(strings.TrimSpace(r)); err == nil && isFamily(pr.Addr(), family) {
				sp.LoadBalancerSourceRanges = append(sp.LoadBalancerSourceRanges, pr.Masked())
			}
		}
	}
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		sp.AffinitySeconds = defaultAffinitySeconds
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			sp.AffinitySeconds = *c.ClientIP.TimeoutSeconds
		}
	}
	sp.InternalPolicyLocal = svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
	sp.ExternalPolicyLocal = externallyAccessible(svc) && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	if isLB && sp.ExternalPolicyLocal {
		sp.HealthCheckNodePort = svc.Spec.HealthCheckNodePort
	}
	return sp
}

func parseAddrs(in []string, family corev1.IPFamily) []netip.Addr {
	var out []netip.Addr
	for _, s := range in {
		if ip, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil && isFamily(ip, family) {
			out = append(out, ip.Unmap())
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// hintedEndpoint is an endpoint with the topology hints Compute needs but the State does
// not keep.
type hintedEndpoint struct {
	Endpoint
	zones, nodes []string
}

// endpointsFor collects the port's endpoints from the service's slices: the slice port with
// the same name and protocol gives the target port. An address in several slices counts
// once, ready if any says so.
func endpointsFor(sls []*discoveryv1.EndpointSlice, name ServicePortName, nodeName string, family corev1.IPFamily) []hintedEndpoint {
	seen := map[Endpoint]int{} // keyed by IP and port only
	var out []hintedEndpoint
	for _, sl := range sls {
		port, ok := slicePort(sl, name)
		if !ok {
			continue
		}
		for i := range sl.Endpoints {
			e := &sl.Endpoints[i]
			if len(e.Addresses) == 0 {
				continue
			}
			ip, err := netip.ParseAddr(e.Addresses[0])
			if err != nil || !isFamily(ip, family) {
				continue
			}
			c := e.Conditions
			ep := hintedEndpoint{Endpoint: Endpoint{
				IP: ip.Unmap(), Port: port,
				Local:       nodeName != "" && e.NodeName != nil && *e.NodeName == nodeName,
				Ready:       c.Ready == nil || *c.Ready,
				Terminating: c.Terminating != nil && *c.Terminating,
			}}
			// A nil serving condition defers to ready.
			ep.Serving = ep.Ready
			if c.Serving != nil {
				ep.Serving = *c.Serving
			}
			if h := e.Hints; h != nil {
				for _, z := range h.ForZones {
					ep.zones = append(ep.zones, z.Name)
				}
				for _, n := range h.ForNodes {
					ep.nodes = append(ep.nodes, n.Name)
				}
			}
			key := Endpoint{IP: ep.IP, Port: ep.Port}
			if j, dup := seen[key]; dup {
				if ep.Ready && !out[j].Ready {
					out[j] = ep
				}
				continue
			}
			seen[key] = len(out)
			out = append(out, ep)
		}
	}
	slices.SortFunc(out, func(a, b hintedEndpoint) int { return compareEndpoints(a.Endpoint, b.Endpoint) })
	return out
}

func slicePort(sl *discoveryv1.EndpointSlice, name ServicePortName) (int32, bool) {
	for _, p := range sl.Ports {
		pname := ""
		if p.Name != nil {
			pname = *p.Name
		}
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if pname == name.Port && proto == name.Protocol && p.Port != nil {
			return *p.Port, true
		}
	}
	return 0, false
}

// categorize fills the endpoint lists of sp the way upstream's proxies choose them: each
// policy takes the ready endpoints, or when there are none the serving and terminating
// ones; the Cluster policy honours topology hints when every ready endpoint has one and
// one names this node (node hints) or its zone (zone hints).
func categorize(sp *ServicePort, eps []hintedEndpoint, svc *corev1.Service, nodeName, zone string) {
	usesLocal := sp.InternalPolicyLocal || sp.ExternalPolicyLocal
	// Externally reachable ports need Cluster endpoints even under the Local external
	// policy: traffic from pods and from the node itself ignores that policy.
	usesCluster := !sp.InternalPolicyLocal || externallyAccessible(svc)
	for _, e := range eps {
		if e.Ready || (e.Serving && e.Terminating) {
			sp.HasAnyEndpoints = true
		}
	}
	if usesCluster {
		match := topologyFilter(eps, nodeName, zone)
		sp.ClusterEndpoints = pick(eps, func(e hintedEndpoint) bool { return e.Ready && match(e) })
		if len(sp.ClusterEndpoints) == 0 {
			sp.ClusterEndpoints = pick(eps, func(e hintedEndpoint) bool { return e.Serving && e.Terminating })
		}
	}
	if usesLocal {
		sp.LocalEndpoints = pick(eps, func(e hintedEndpoint) bool { return e.Local && e.Ready })
		if len(sp.LocalEndpoints) == 0 {
			sp.LocalEndpoints = pick(eps, func(e hintedEndpoint) bool { return e.Local && e.Serving && e.Terminating })
		}
	}
}

func pick(eps []hintedEndpoint, keep func(hintedEndpoint) bool) []Endpoint {
	var out []Endpoint
	for _, e := range eps {
		if keep(e) {
			out = append(out, e.Endpoint)
		}
	}
	return out
}

// topologyFilter returns which ready endpoints the Cluster policy may use given the hints:
// all of them unless every ready endpoint carries a hint of a kind and some hint of that
// kind names this node (node hints, preferred) or its zone.
func topologyFilter(eps []hintedEndpoint, nodeName, zone string) func(hintedEndpoint) bool {
	allNode, allZone, forNode, forZone, anyReady := true, true, false, false, false
	for _, e := range eps {
		if !e.Ready {
			continue
		}
		anyReady = true
		if len(e.nodes) == 0 {
			allNode = false
		} else if slices.Contains(e.nodes, nodeName) {
			forNode = true
		}
		if len(e.zones) == 0 {
			allZone = false
		} else if zone != "" && slices.Contains(e.zones, zone) {
			forZone = true
		}
	}
	switch {
	case !anyReady:
	case allNode && forNode:
		return func(e hintedEndpoint) bool { return slices.Contains(e.nodes, nodeName) }
	case allZone && forZone:
		return func(e hintedEndpoint) bool { return slices.Contains(e.zones, zone) }
	}
	return func(hintedEndpoint) bool { return true }
}
