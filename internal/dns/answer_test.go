package dns

import (
	"testing"

	"github.com/miekg/dns"
)

// canon renders zone-file lines the way miekg/dns prints records.
func canon(t *testing.T, lines ...string) []string {
	t.Helper()
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("bad record %q: %v", l, err)
		}
		out = append(out, rr.String())
	}
	return out
}

func TestZoneResolve(t *testing.T) {
	t.Parallel()
	z := testZone(t, fixtures()...)
	const nx, ok = dns.RcodeNameError, dns.RcodeSuccess
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		extra  []string
	}{
		{"a ClusterIP service answers its IP", "web.default.svc.cluster.local.", dns.TypeA, ok,
			[]string{"web.default.svc.cluster.local. 30 IN A 10.43.0.20"}, nil},
		{"names are case-insensitive and keep the asked case", "WEB.Default.svc.cluster.local.", dns.TypeA, ok,
			[]string{"WEB.Default.svc.cluster.local. 30 IN A 10.43.0.20"}, nil},
		{"an IPv4-only service has no AAAA (NODATA)", "web.default.svc.cluster.local.", dns.TypeAAAA, ok, nil, nil},
		{"a dual-stack service answers AAAA", "dual.default.svc.cluster.local.", dns.TypeAAAA, ok,
			[]string{"dual.default.svc.cluster.local. 30 IN AAAA fd00:43::21"}, nil},
		{"ANY gives both families", "dual.default.svc.cluster.local.", dns.TypeANY, ok,
			[]string{"dual.default.svc.cluster.local. 30 IN A 10.43.0.21", "dual.default.svc.cluster.local. 30 IN AAAA fd00:43::21"}, nil},
		{"a service with records of another type is NODATA", "web.default.svc.cluster.local.", dns.TypeMX, ok, nil, nil},
		{"a missing service is NXDOMAIN", "nope.default.svc.cluster.local.", dns.TypeA, nx, nil, nil},
		{"a namespace with services is NODATA", "default.svc.cluster.local.", dns.TypeA, ok, nil, nil},
		{"a namespace without services is NXDOMAIN", "empty-ns.svc.cluster.local.", dns.TypeA, nx, nil, nil},
		{"svc.<zone> is an empty non-terminal", "svc.cluster.local.", dns.TypeA, ok, nil, nil},
		{"the apex answers SOA", "cluster.local.", dns.TypeSOA, ok,
			[]string{"cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"}, nil},
		{"the apex has no A", "cluster.local.", dns.TypeA, ok, nil, nil},
		{"an unknown name under the zone is NXDOMAIN", "foo.cluster.local.", dns.TypeA, nx, nil, nil},
		{"a search-path expansion under the zone is NXDOMAIN", "web.default.svc.cluster.local.default.svc.cluster.local.", dns.TypeA, nx, nil, nil},
		{"dns-version answers the spec version", "dns-version.cluster.local.", dns.TypeTXT, ok,
			[]string{`dns-version.cluster.local. 30 IN TXT "1.1.0"`}, nil},

		{"a headless service answers its ready endpoints once each, sorted", "db.default.svc.cluster.local.", dns.TypeA, ok,
			[]string{"db.default.svc.cluster.local. 30 IN A 10.42.0.5", "db.default.svc.cluster.local. 30 IN A 10.42.0.6",
				"db.default.svc.cluster.local. 30 IN A 10.42.0.8"}, nil},
		{"a headless endpoint by hostname", "db-0.db.default.svc.cluster.local.", dns.TypeA, ok,
			[]string{"db-0.db.default.svc.cluster.local. 30 IN A 10.42.0.5"}, nil},
		{"a not-ready endpoint has no name", "db-2.db.default.svc.cluster.local.", dns.TypeA, nx, nil, nil},
		{"an endpoint without hostname is named by its address", "10-42-0-8.db.default.svc.cluster.local.", dns.TypeA, ok,
			[]string{"10-42-0-8.db.default.svc.cluster.local. 30 IN A 10.42.0.8"}, nil},
		{"an endpoint name exists without AAAA", "db-0.db.default.svc.cluster.local.", dns.TypeAAAA, ok, nil, nil},
		{"endpoint names are only for headless services", "x.web.default.svc.cluster.local.", dns.TypeA, nx, nil, nil},
		{"a headless service with no endpoints is NODATA", "empty.default.svc.cluster.local.", dns.TypeA, ok, nil, nil},
		{"publishNotReadyAddresses publishes not-ready endpoints", "starting.nr.other.svc.cluster.local.", dns.TypeA, ok,
			[]string{"starting.nr.other.svc.cluster.local. 30 IN A 10.42.1.3"}, nil},
		{"an IPv6 headless service answers AAAA", "db6.v6.svc.cluster.local.", dns.TypeAAAA, ok,
			[]string{"db6.v6.svc.cluster.local. 30 IN AAAA fd00:42::5"}, nil},
		{"an IPv6 endpoint is named with dashes", "fd00-42--5.db6.v6.svc.cluster.local.", dns.TypeAAAA, ok,
			[]string{"fd00-42--5.db6.v6.svc.cluster.local. 30 IN AAAA fd00:42::5"}, nil},

		{"SRV of a named port points at the service", "_http._tcp.web.default.svc.cluster.local.", dns.TypeSRV, ok,
			[]string{"_http._tcp.web.default.svc.cluster.local. 30 IN SRV 0 100 80 web.default.svc.cluster.local."},
			[]string{"web.default.svc.cluster.local. 30 IN A 10.43.0.20"}},
		{"SRV of a UDP port", "_dns._udp.web.default.svc.cluster.local.", dns.TypeSRV, ok,
			[]string{"_dns._udp.web.default.svc.cluster.local. 30 IN SRV 0 100 53 web.default.svc.cluster.local."},
			[]string{"web.default.svc.cluster.local. 30 IN A 10.43.0.20"}},
		{"SRV with the wrong protocol is NXDOMAIN", "_http._udp.web.default.svc.cluster.local.", dns.TypeSRV, nx, nil, nil},
		{"SRV names are case-insensitive", "_HTTP._TCP.web.default.svc.cluster.local.", dns.TypeSRV, ok,
			[]string{"_HTTP._TCP.web.default.svc.cluster.local. 30 IN SRV 0 100 80 web.default.svc.cluster.local."},
			[]string{"web.default.svc.cluster.local. 30 IN A 10.43.0.20"}},
		{"an SRV name has no A", "_http._tcp.web.default.svc.cluster.local.", dns.TypeA, ok, nil, nil},
		{"the protocol level of SRV names is an empty non-terminal", "_tcp.web.default.svc.cluster.local.", dns.TypeA, ok, nil, nil},
		{"a protocol without named ports is NXDOMAIN", "_sctp.web.default.svc.cluster.local.", dns.TypeA, nx, nil, nil},
		{"headless SRV lists each ready endpoint", "_pg._tcp.db.default.svc.cluster.local.", dns.TypeSRV, ok,
			[]string{
				"_pg._tcp.db.default.svc.cluster.local. 30 IN SRV 0 33 5432 db-0.db.default.svc.cluster.local.",
				"_pg._tcp.db.default.svc.cluster.local. 30 IN SRV 0 33 5432 db-1.db.default.svc.cluster.local.",
				"_pg._tcp.db.default.svc.cluster.local. 30 IN SRV 0 33 5432 10-42-0-8.db.default.svc.cluster.local.",
			},
			[]string{
				"db-0.db.default.svc.cluster.local. 30 IN A 10.42.0.5",
				"db-1.db.default.svc.cluster.local. 30 IN A 10.42.0.6",
				"10-42-0-8.db.default.svc.cluster.local. 30 IN A 10.42.0.8",
			}},
		{"SRV on a service name lists all its ports", "web.default.svc.cluster.local.", dns.TypeSRV, ok,
			[]string{
				"web.default.svc.cluster.local. 30 IN SRV 0 100 80 web.default.svc.cluster.local.",
				"web.default.svc.cluster.local. 30 IN SRV 0 100 53 web.default.svc.cluster.local.",
			},
			[]string{"web.default.svc.cluster.local. 30 IN A 10.43.0.20"}},

		{"an ExternalName service is a CNAME", "ext.default.svc.cluster.local.", dns.TypeA, ok,
			[]string{"ext.default.svc.cluster.local. 30 IN CNAME example.com."}, nil},
		{"an ExternalName service is a CNAME for every type", "ext.default.svc.cluster.local.", dns.TypeCNAME, ok,
			[]string{"ext.default.svc.cluster.local. 30 IN CNAME example.com."}, nil},

		{"a pod A record", "10-42-0-9.default.pod.cluster.local.", dns.TypeA, ok,
			[]string{"10-42-0-9.default.pod.cluster.local. 30 IN A 10.42.0.9"}, nil},
		{"a pod IPv6 record", "fd00-42--9.v6.pod.cluster.local.", dns.TypeAAAA, ok,
			[]string{"fd00-42--9.v6.pod.cluster.local. 30 IN AAAA fd00:42::9"}, nil},
		{"a pod has no AAAA for its IPv4", "10-42-0-9.default.pod.cluster.local.", dns.TypeAAAA, ok, nil, nil},
		{"a pod IP in another namespace is NXDOMAIN", "10-42-0-9.other.pod.cluster.local.", dns.TypeA, nx, nil, nil},
		{"a host-network pod's IP has no pod record", "192-0-2-2.default.pod.cluster.local.", dns.TypeA, nx, nil, nil},
		{"a finished pod's IP has no pod record", "10-42-0-10.default.pod.cluster.local.", dns.TypeA, nx, nil, nil},
		{"an IP no pod has is NXDOMAIN", "10-42-9-9.default.pod.cluster.local.", dns.TypeA, nx, nil, nil},
		{"a label that is not an IP is NXDOMAIN", "web.default.pod.cluster.local.", dns.TypeA, nx, nil, nil},
		{"a namespace with pods is NODATA", "default.pod.cluster.local.", dns.TypeA, ok, nil, nil},
		{"a namespace without pods is NXDOMAIN", "nope.pod.cluster.local.", dns.TypeA, nx, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := z.resolve(dns.Question{Name: tt.qname, Qtype: tt.qtype, Qclass: dns.ClassINET})
			if res.rcode != tt.rcode {
				t.Errorf("rcode = %s, want %s", dns.RcodeToString[res.rcode], dns.RcodeToString[tt.rcode])
			}
			if got, want := texts(res.answer), canon(t, tt.answer...); !equalTexts(got, want) {
				t.Errorf("answer:\n got %q\nwant %q", got, want)
			}
			if got, want := texts(res.extra), canon(t, tt.extra...); !equalTexts(got, want) {
				t.Errorf("extra:\n got %q\nwant %q", got, want)
			}
			if !res.authoritative {
				t.Error("not authoritative")
			}
			// Negative answers (NXDOMAIN and NODATA) carry the SOA whose minimum is the
			// negative TTL; positive ones carry none.
			if len(res.answer) == 0 {
				if len(res.ns) != 1 || res.ns[0].Header().Rrtype != dns.TypeSOA || res.ns[0].Header().Ttl != 5 {
					t.Errorf("negative answer authority = %q, want the SOA with TTL 5", texts(res.ns))
				}
			} else if len(res.ns) != 0 {
				t.Errorf("positive answer has authority %q", texts(res.ns))
			}
		})
	}
}

func TestZoneReverse(t *testing.T) {
	t.Parallel()
	z := testZone(t, fixtures()...)
	v6rev, err := dns.ReverseAddr("fd00:43::21")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		ours   bool
		answer []string
	}{
		{"a ClusterIP names its service", "20.0.43.10.in-addr.arpa.", dns.TypePTR, true,
			[]string{"20.0.43.10.in-addr.arpa. 30 IN PTR web.default.svc.cluster.local."}},
		{"an IPv6 ClusterIP names its service", v6rev, dns.TypePTR, true,
			[]string{v6rev + " 30 IN PTR dual.default.svc.cluster.local."}},
		{"a headless endpoint with a hostname names it", "5.0.42.10.in-addr.arpa.", dns.TypePTR, true,
			[]string{"5.0.42.10.in-addr.arpa. 30 IN PTR db-0.db.default.svc.cluster.local."}},
		{"a pod IP names the pod record", "9.0.42.10.in-addr.arpa.", dns.TypePTR, true,
			[]string{"9.0.42.10.in-addr.arpa. 30 IN PTR 10-42-0-9.default.pod.cluster.local."}},
		{"a known IP asked for another type is NODATA", "20.0.43.10.in-addr.arpa.", dns.TypeA, true, nil},
		{"an endpoint without hostname and no pod is not the cluster's", "8.0.42.10.in-addr.arpa.", dns.TypePTR, false, nil},
		{"a host-network pod's IP is not the cluster's", "2.2.0.192.in-addr.arpa.", dns.TypePTR, false, nil},
		{"an unknown IP is forwarded", "1.1.1.1.in-addr.arpa.", dns.TypePTR, false, nil},
		{"a network, not an address, is forwarded", "42.10.in-addr.arpa.", dns.TypePTR, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, ours := z.reverse(dns.Question{Name: tt.qname, Qtype: tt.qtype, Qclass: dns.ClassINET})
			if ours != tt.ours {
				t.Fatalf("ours = %v, want %v", ours, tt.ours)
			}
			if got, want := texts(res.answer), canon(t, tt.answer...); !equalTexts(got, want) {
				t.Errorf("answer:\n got %q\nwant %q", got, want)
			}
			if ours && res.rcode != dns.RcodeSuccess {
				t.Errorf("rcode = %s", dns.RcodeToString[res.rcode])
			}
		})
	}
}
