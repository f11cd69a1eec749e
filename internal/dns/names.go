package dns

import (
	"net/netip"
	"strconv"
	"strings"
)

// nameKind is the kind of name a query asks for inside the cluster zone.
type nameKind int

const (
	// nameNone is a name that cannot exist in the zone (NXDOMAIN whatever the store holds).
	nameNone nameKind = iota
	nameApex
	nameVersion      // dns-version.<zone>
	nameSvcRoot      // svc.<zone>
	nameSvcNamespace // <ns>.svc.<zone>
	nameService      // <svc>.<ns>.svc.<zone>
	nameEndpoint     // <ep>.<svc>.<ns>.svc.<zone>
	nameSRVProto     // _<proto>.<svc>.<ns>.svc.<zone>: the parent of SRV names, no records
	nameSRV          // _<port>._<proto>.<svc>.<ns>.svc.<zone>
	namePodRoot      // pod.<zone>
	namePodNamespace // <ns>.pod.<zone>
	namePod          // <a-b-c-d>.<ns>.pod.<zone>
)

// clusterName is a parsed name of the cluster zone.
type clusterName struct {
	kind      nameKind
	namespace string
	service   string
	// endpoint is the first label of an endpoint name.
	endpoint string
	// port and proto of an SRV name, without the underscores ("http", "tcp").
	port, proto string
	podIP       netip.Addr
}

// inZone reports whether the lower-case, fully qualified name is the zone or under it.
func inZone(name, zone string) bool {
	return name == zone || strings.HasSuffix(name, "."+zone)
}

// parseName parses a lower-case, fully qualified name of the zone (itself lower case and
// fully qualified, e.g. "cluster.local."). ok is false for names outside the zone.
func parseName(name, zone string) (n clusterName, ok bool) {
	if !inZone(name, zone) {
		return clusterName{}, false
	}
	if name == zone {
		return clusterName{kind: nameApex}, true
	}
	rel := strings.TrimSuffix(name, "."+zone)
	labels := strings.Split(rel, ".")
	// Walk from the zone down: labels[len-1] is the one right under the zone.
	l := len(labels)
	switch labels[l-1] {
	case "dns-version":
		if l == 1 {
			return clusterName{kind: nameVersion}, true
		}
	case "svc":
		return parseServiceName(labels[:l-1]), true
	case "pod":
		return parsePodName(labels[:l-1]), true
	}
	return clusterName{}, true
}

// parseServiceName parses the labels left of "svc.<zone>".
func parseServiceName(labels []string) clusterName {
	l := len(labels)
	switch l {
	case 0:
		return clusterName{kind: nameSvcRoot}
	case 1:
		return clusterName{kind: nameSvcNamespace, namespace: labels[0]}
	case 2:
		return clusterName{kind: nameService, namespace: labels[1], service: labels[0]}
	case 3:
		n := clusterName{namespace: labels[2], service: labels[1]}
		if proto, ok := underscored(labels[0]); ok {
			n.kind, n.proto = nameSRVProto, proto
			return n
		}
		n.kind, n.endpoint = nameEndpoint, labels[0]
		return n
	case 4:
		port, ok1 := underscored(labels[0])
		proto, ok2 := underscored(labels[1])
		if ok1 && ok2 {
			return clusterName{kind: nameSRV, namespace: labels[3], service: labels[2], port: port, proto: proto}
		}
	}
	return clusterName{}
}

// parsePodName parses the labels left of "pod.<zone>".
func parsePodName(labels []string) clusterName {
	switch len(labels) {
	case 0:
		return clusterName{kind: namePodRoot}
	case 1:
		return clusterName{kind: namePodNamespace, namespace: labels[0]}
	case 2:
		if ip, ok := parseDashedIP(labels[0]); ok {
			return clusterName{kind: namePod, namespace: labels[1], podIP: ip}
		}
	}
	return clusterName{}
}

func underscored(label string) (string, bool) {
	if len(label) < 2 || label[0] != '_' {
		return "", false
	}
	return label[1:], true
}

// parseDashedIP reads an address written with dashes for its separators: 10-42-0-5 or
// fd00--5 (IPv6, where "--" is "::").
func parseDashedIP(label string) (netip.Addr, bool) {
	if strings.Count(label, "-") == 3 {
		if ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", ".")); err == nil && ip.Is4() {
			return ip, true
		}
	}
	ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", ":"))
	if err != nil || !ip.Is6() || ip.Is4In6() || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	return ip, true
}

// dashedIP writes an address as one DNS label: 10-42-0-5, fd00--5.
func dashedIP(ip netip.Addr) string {
	if ip.Is4() {
		return strings.ReplaceAll(ip.String(), ".", "-")
	}
	return strings.ReplaceAll(ip.String(), ":", "-")
}

// parseReverse reads the address of a full reverse name: d.c.b.a.in-addr.arpa. or the 32
// nibbles of an ip6.arpa. name. Partial reverse names (a network) are not addresses.
func parseReverse(name string) (netip.Addr, bool) {
	switch {
	case strings.HasSuffix(name, ".in-addr.arpa."):
		labels := strings.Split(strings.TrimSuffix(name, ".in-addr.arpa."), ".")
		if len(labels) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, s := range labels {
			v, err := strconv.ParseUint(s, 10, 8)
			if err != nil || (len(s) > 1 && s[0] == '0') {
				return netip.Addr{}, false
			}
			b[3-i] = byte(v)
		}
		return netip.AddrFrom4(b), true
	case strings.HasSuffix(name, ".ip6.arpa."):
		labels := strings.Split(strings.TrimSuffix(name, ".ip6.arpa."), ".")
		if len(labels) != 32 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i, s := range labels {
			if len(s) != 1 {
				return netip.Addr{}, false
			}
			v, err := strconv.ParseUint(s, 16, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			pos := 31 - i // nibble index from the most significant
			if pos%2 == 0 {
				b[pos/2] |= byte(v) << 4
			} else {
				b[pos/2] |= byte(v)
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}
