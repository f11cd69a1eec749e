package dns

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// reverse answers a reverse name (in-addr.arpa, ip6.arpa) when its address belongs to the
// cluster: a Service ClusterIP, a ready endpoint with a hostname of a headless Service, or
// a pod IP, in that order of preference. ok is false for addresses the cluster does not
// know; those are forwarded.
func (z *zone) reverse(q dns.Question) (res result, ok bool) {
	ip, ok := parseReverse(strings.ToLower(dns.Fqdn(q.Name)))
	if !ok {
		return result{}, false
	}
	names := z.namesOf(ip)
	if len(names) == 0 {
		return result{}, false
	}
	if q.Qtype != dns.TypePTR && q.Qtype != dns.TypeANY {
		return z.nodata(), true
	}
	rrs := make([]dns.RR, 0, len(names))
	for _, n := range names {
		rrs = append(rrs, &dns.PTR{Hdr: z.hdr(q.Name, dns.TypePTR), Ptr: n})
	}
	return z.records(rrs), true
}

// namesOf returns the cluster names of ip, sorted, from the most specific kind that has any.
func (z *zone) namesOf(ip netip.Addr) []string {
	var names []string
	for _, svc := range z.store.ServicesByIP(ip) {
		names = append(names, svc.Name+"."+svc.Namespace+".svc."+z.origin)
	}
	if len(names) > 0 {
		return sortedUnique(names)
	}
	for _, s := range z.store.EndpointSlicesByIP(ip) {
		svcName := s.Labels["kubernetes.io/service-name"]
		svc := z.store.Service(s.Namespace, svcName)
		if svc == nil || !isHeadless(svc) {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Hostname == nil || *ep.Hostname == "" || !slices.ContainsFunc(ep.Addresses, sameIP(ip)) {
				continue
			}
			if !svc.Spec.PublishNotReadyAddresses && ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			names = append(names, strings.ToLower(*ep.Hostname)+"."+svc.Name+"."+svc.Namespace+".svc."+z.origin)
		}
	}
	if len(names) > 0 {
		return sortedUnique(names)
	}
	for _, pod := range z.store.PodsByIP(ip) {
		names = append(names, dashedIP(ip)+"."+pod.Namespace+".pod."+z.origin)
	}
	return sortedUnique(names)
}

func sameIP(ip netip.Addr) func(string) bool {
	return func(s string) bool {
		a, err := netip.ParseAddr(s)
		return err == nil && a == ip
	}
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
