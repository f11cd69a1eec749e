package dns

import (
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// versionText is the schema version of the Kubernetes DNS specification answered at
// dns-version.<zone>.
const versionText = "1.1.0"

// zone answers the names of the cluster domain from a Store. It is pure: the same store
// contents and question give the same result.
type zone struct {
	// origin is the lower-case, fully qualified domain, e.g. "cluster.local.".
	origin string
	store  Store
	// ttl of records, negTTL of negative answers (the SOA's TTL and minimum).
	ttl, negTTL uint32
	// serial of the SOA record.
	serial uint32
}

// result is an answer before it becomes a message.
type result struct {
	rcode             int
	answer, ns, extra []dns.RR
	// authoritative: the name is the zone's (cluster names and known reverse names).
	authoritative bool
}

// resolve answers q, a question for a name of the zone.
func (z *zone) resolve(q dns.Question) result {
	name := strings.ToLower(dns.Fqdn(q.Name))
	n, _ := parseName(name, z.origin)
	owner := q.Name
	switch n.kind {
	case nameApex:
		if q.Qtype == dns.TypeSOA || q.Qtype == dns.TypeANY {
			soa := z.soa()
			soa.Hdr.Ttl = z.ttl
			return z.records([]dns.RR{soa})
		}
		return z.nodata()
	case nameVersion:
		if q.Qtype == dns.TypeTXT || q.Qtype == dns.TypeANY {
			return z.records([]dns.RR{&dns.TXT{Hdr: z.hdr(owner, dns.TypeTXT), Txt: []string{versionText}}})
		}
		return z.nodata()
	case nameSvcRoot, namePodRoot:
		return z.nodata()
	case nameSvcNamespace:
		if z.store.HasServices(n.namespace) {
			return z.nodata()
		}
	case namePodNamespace:
		if z.store.HasPods(n.namespace) {
			return z.nodata()
		}
	case nameService:
		if svc := z.store.Service(n.namespace, n.service); svc != nil {
			return z.service(owner, svc, q.Qtype)
		}
	case nameEndpoint:
		if svc := z.store.Service(n.namespace, n.service); svc != nil && isHeadless(svc) {
			return z.endpoint(owner, svc, n.endpoint, q.Qtype)
		}
	case nameSRVProto:
		if svc := z.store.Service(n.namespace, n.service); svc != nil && len(z.srvPorts(svc, "", n.proto)) > 0 {
			return z.nodata()
		}
	case nameSRV:
		if svc := z.store.Service(n.namespace, n.service); svc != nil && len(z.srvPorts(svc, n.port, n.proto)) > 0 {
			if q.Qtype != dns.TypeSRV && q.Qtype != dns.TypeANY {
				return z.nodata()
			}
			return z.srv(owner, svc, n.port, n.proto)
		}
	case namePod:
		for _, pod := range z.store.PodsByIP(n.podIP) {
			if pod.Namespace == n.namespace {
				return z.records(addrRecords(owner, []netip.Addr{n.podIP}, q.Qtype, z.ttl))
			}
		}
	}
	return z.nxdomain()
}

// service answers the name of a Service.
func (z *zone) service(owner string, svc *corev1.Service, qtype uint16) result {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		target := strings.TrimSpace(svc.Spec.ExternalName)
		if target == "" {
			return z.nodata()
		}
		return z.records([]dns.RR{&dns.CNAME{Hdr: z.hdr(owner, dns.TypeCNAME), Target: dns.Fqdn(target)}})
	}
	if qtype == dns.TypeSRV {
		return z.srv(owner, svc, "", "")
	}
	if !isHeadless(svc) {
		return z.records(addrRecords(owner, serviceIPs4and6(svc), qtype, z.ttl))
	}
	eps := readyEndpoints(svc, z.store.EndpointSlices(svc.Namespace, svc.Name))
	addrs := make([]netip.Addr, 0, len(eps))
	for _, ep := range eps {
		if !slices.Contains(addrs, ep.addr) {
			addrs = append(addrs, ep.addr)
		}
	}
	return z.records(addrRecords(owner, addrs, qtype, z.ttl))
}

// endpoint answers <ep>.<svc>.<ns>.svc.<zone> of a headless Service.
func (z *zone) endpoint(owner string, svc *corev1.Service, name string, qtype uint16) result {
	var addrs []netip.Addr
	for _, ep := range readyEndpoints(svc, z.store.EndpointSlices(svc.Namespace, svc.Name)) {
		if ep.name == name && !slices.Contains(addrs, ep.addr) {
			addrs = append(addrs, ep.addr)
		}
	}
	if len(addrs) == 0 {
		return z.nxdomain()
	}
	return z.records(addrRecords(owner, addrs, qtype, z.ttl))
}

// srv answers SRV for the ports of svc matching port and proto ("" matches any), with the
// targets' addresses as additional records.
func (z *zone) srv(owner string, svc *corev1.Service, port, proto string) result {
	var answer, extra []dns.RR
	base := svc.Name + "." + svc.Namespace + ".svc." + z.origin
	if !isHeadless(svc) {
		addrs := addrRecords(base, serviceIPs4and6(svc), dns.TypeANY, z.ttl)
		for _, p := range svc.Spec.Ports {
			if matchesPort(p.Name, p.Protocol, port, proto) {
				answer = append(answer, &dns.SRV{Hdr: z.hdr(owner, dns.TypeSRV), Priority: 0, Weight: 100, Port: uint16(p.Port), Target: base})
			}
		}
		if len(answer) > 0 {
			extra = addrs
		}
		return result{rcode: dns.RcodeSuccess, answer: answer, extra: extra, ns: z.soaIfEmpty(answer), authoritative: true}
	}
	type target struct {
		host string
		port int32
	}
	var targets []target
	seenHost := map[string]bool{}
	for _, ep := range readyEndpoints(svc, z.store.EndpointSlices(svc.Namespace, svc.Name)) {
		host := ep.name + "." + base
		for _, p := range ep.ports {
			if p.Port == nil || !matchesPort(deref(p.Name), derefProto(p.Protocol), port, proto) {
				continue
			}
			t := target{host, *p.Port}
			if slices.Contains(targets, t) {
				continue
			}
			targets = append(targets, t)
			if !seenHost[host+"/"+ep.addr.String()] {
				seenHost[host+"/"+ep.addr.String()] = true
				extra = append(extra, addrRecords(host, []netip.Addr{ep.addr}, dns.TypeANY, z.ttl)...)
			}
		}
	}
	weight := uint16(100)
	if len(targets) > 0 {
		weight = uint16(max(1, 100/len(targets)))
	}
	for _, t := range targets {
		answer = append(answer, &dns.SRV{Hdr: z.hdr(owner, dns.TypeSRV), Priority: 0, Weight: weight, Port: uint16(t.port), Target: t.host})
	}
	return result{rcode: dns.RcodeSuccess, answer: answer, extra: extra, ns: z.soaIfEmpty(answer), authoritative: true}
}

// srvPorts lists the port names of svc (its spec and, for headless Services, its slices)
// that match port and proto; an SRV name exists exactly when this is not empty.
func (z *zone) srvPorts(svc *corev1.Service, port, proto string) []string {
	var out []string
	for _, p := range svc.Spec.Ports {
		if p.Name != "" && matchesPort(p.Name, p.Protocol, port, proto) {
			out = append(out, p.Name)
		}
	}
	if isHeadless(svc) {
		for _, s := range z.store.EndpointSlices(svc.Namespace, svc.Name) {
			for _, p := range s.Ports {
				if deref(p.Name) != "" && matchesPort(deref(p.Name), derefProto(p.Protocol), port, proto) {
					out = append(out, deref(p.Name))
				}
			}
		}
	}
	return out
}

func matchesPort(name string, protocol corev1.Protocol, port, proto string) bool {
	if protocol == "" {
		protocol = corev1.ProtocolTCP
	}
	return (port == "" || strings.EqualFold(name, port)) && (proto == "" || strings.EqualFold(string(protocol), proto))
}

// endpointAddr is one ready address of a headless Service.
type endpointAddr struct {
	// name is the endpoint's DNS label: its hostname, else its address with dashes.
	name  string
	addr  netip.Addr
	ports []discoveryv1.EndpointPort
}

// readyEndpoints lists the addresses DNS publishes for svc: ready endpoints (a nil Ready
// condition counts as ready, as the API documents), or all when the Service publishes
// not-ready addresses. Sorted by address for stable answers.
func readyEndpoints(svc *corev1.Service, sl []*discoveryv1.EndpointSlice) []endpointAddr {
	var out []endpointAddr
	for _, s := range sl {
		if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		for _, ep := range s.Endpoints {
			if !svc.Spec.PublishNotReadyAddresses && ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				name := dashedIP(ip)
				if ep.Hostname != nil && *ep.Hostname != "" {
					name = strings.ToLower(*ep.Hostname)
				}
				out = append(out, endpointAddr{name: name, addr: ip, ports: s.Ports})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b endpointAddr) int { return a.addr.Compare(b.addr) })
	return out
}

func isHeadless(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP == corev1.ClusterIPNone
}

func serviceIPs4and6(svc *corev1.Service) []netip.Addr {
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 {
		ips = []string{svc.Spec.ClusterIP}
	}
	var out []netip.Addr
	for _, s := range ips {
		if ip, err := netip.ParseAddr(s); err == nil {
			out = append(out, ip)
		}
	}
	return out
}

// addrRecords are the A (IPv4) or AAAA (IPv6) records of addrs that qtype asks for; ANY
// asks for both.
func addrRecords(owner string, addrs []netip.Addr, qtype uint16, ttl uint32) []dns.RR {
	var out []dns.RR
	for _, ip := range addrs {
		switch {
		case ip.Is4() && (qtype == dns.TypeA || qtype == dns.TypeANY):
			out = append(out, &dns.A{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: net.IP(ip.AsSlice())})
		case ip.Is6() && (qtype == dns.TypeAAAA || qtype == dns.TypeANY):
			out = append(out, &dns.AAAA{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: ttl}, AAAA: net.IP(ip.AsSlice())})
		}
	}
	return out
}

func (z *zone) hdr(owner string, rrtype uint16) dns.RR_Header {
	return dns.RR_Header{Name: owner, Rrtype: rrtype, Class: dns.ClassINET, Ttl: z.ttl}
}

// soa is the zone's SOA with the negative TTL, as it goes into the authority section.
func (z *zone) soa() *dns.SOA {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: z.origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: z.negTTL},
		Ns:      "ns.dns." + z.origin,
		Mbox:    "hostmaster." + z.origin,
		Serial:  z.serial,
		Refresh: 7200, Retry: 1800, Expire: 86400,
		Minttl: z.negTTL,
	}
}

func (z *zone) soaIfEmpty(answer []dns.RR) []dns.RR {
	if len(answer) == 0 {
		return []dns.RR{z.soa()}
	}
	return nil
}

// records is a positive answer, NODATA when rrs is empty.
func (z *zone) records(rrs []dns.RR) result {
	return result{rcode: dns.RcodeSuccess, answer: rrs, ns: z.soaIfEmpty(rrs), authoritative: true}
}

func (z *zone) nodata() result {
	return result{rcode: dns.RcodeSuccess, ns: []dns.RR{z.soa()}, authoritative: true}
}

func (z *zone) nxdomain() result {
	return result{rcode: dns.RcodeNameError, ns: []dns.RR{z.soa()}, authoritative: true}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefProto(p *corev1.Protocol) corev1.Protocol {
	if p == nil {
		return corev1.ProtocolTCP
	}
	return *p
}
