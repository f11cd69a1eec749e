package dns

import (
	"net/netip"
	"testing"
)

func TestParseName(t *testing.T) {
	t.Parallel()
	ip := netip.MustParseAddr
	tests := []struct {
		name string
		in   string
		inZ  bool
		want clusterName
	}{
		{"a name outside the zone", "example.com.", false, clusterName{}},
		{"a name that only ends like the zone", "notcluster.local.", false, clusterName{}},
		{"the apex", "cluster.local.", true, clusterName{kind: nameApex}},
		{"the version name", "dns-version.cluster.local.", true, clusterName{kind: nameVersion}},
		{"svc root", "svc.cluster.local.", true, clusterName{kind: nameSvcRoot}},
		{"a namespace of services", "default.svc.cluster.local.", true, clusterName{kind: nameSvcNamespace, namespace: "default"}},
		{"a service", "web.default.svc.cluster.local.", true, clusterName{kind: nameService, namespace: "default", service: "web"}},
		{"an endpoint", "db-0.db.ns.svc.cluster.local.", true, clusterName{kind: nameEndpoint, namespace: "ns", service: "db", endpoint: "db-0"}},
		{"an SRV protocol level", "_tcp.web.ns.svc.cluster.local.", true, clusterName{kind: nameSRVProto, namespace: "ns", service: "web", proto: "tcp"}},
		{"an SRV name", "_http._tcp.web.ns.svc.cluster.local.", true, clusterName{kind: nameSRV, namespace: "ns", service: "web", port: "http", proto: "tcp"}},
		{"four labels without underscores", "a.b.web.ns.svc.cluster.local.", true, clusterName{}},
		{"five labels under svc", "x._http._tcp.web.ns.svc.cluster.local.", true, clusterName{}},
		{"an empty underscore label", "_._tcp.web.ns.svc.cluster.local.", true, clusterName{}},
		{"pod root", "pod.cluster.local.", true, clusterName{kind: namePodRoot}},
		{"a namespace of pods", "ns.pod.cluster.local.", true, clusterName{kind: namePodNamespace, namespace: "ns"}},
		{"an IPv4 pod", "10-42-0-5.ns.pod.cluster.local.", true, clusterName{kind: namePod, namespace: "ns", podIP: ip("10.42.0.5")}},
		{"an IPv6 pod", "fd00-42--5.ns.pod.cluster.local.", true, clusterName{kind: namePod, namespace: "ns", podIP: ip("fd00:42::5")}},
		{"a pod label that is no IP", "10-42-0.ns.pod.cluster.local.", true, clusterName{}},
		{"a pod label with leading zeros", "010-42-0-5.ns.pod.cluster.local.", true, clusterName{}},
		{"another top label", "foo.cluster.local.", true, clusterName{}},
		{"dns-version with a child", "x.dns-version.cluster.local.", true, clusterName{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, inZ := parseName(tt.in, "cluster.local.")
			if inZ != tt.inZ || got != tt.want {
				t.Errorf("parseName(%q) = %+v, %v; want %+v, %v", tt.in, got, inZ, tt.want, tt.inZ)
			}
		})
	}
}

func TestDashedIPRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"10.42.0.5", "0.0.0.0", "255.255.255.255", "fd00:42::5", "::1", "2001:db8:1:2:3:4:5:6"} {
		ip := netip.MustParseAddr(s)
		got, ok := parseDashedIP(dashedIP(ip))
		if !ok || got != ip {
			t.Errorf("%s -> %q -> %v, %v", s, dashedIP(ip), got, ok)
		}
	}
}

func TestParseReverse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // "" for not an address
	}{
		{"an IPv4 address", "4.3.2.1.in-addr.arpa.", "1.2.3.4"},
		{"an IPv4 network", "3.2.1.in-addr.arpa.", ""},
		{"an octet out of range", "256.3.2.1.in-addr.arpa.", ""},
		{"an octet with a leading zero", "04.3.2.1.in-addr.arpa.", ""},
		{"an IPv6 address", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::1"},
		{"an IPv6 label of two nibbles", "10.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", ""},
		{"an IPv6 network", "8.b.d.0.1.0.0.2.ip6.arpa.", ""},
		{"not reverse", "example.com.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseReverse(tt.in)
			if tt.want == "" {
				if ok {
					t.Errorf("parseReverse(%q) = %v, want none", tt.in, got)
				}
				return
			}
			if !ok || got != netip.MustParseAddr(tt.want) {
				t.Errorf("parseReverse(%q) = %v, %v; want %s", tt.in, got, ok, tt.want)
			}
		})
	}
}
