package pki_test

import (
	"crypto/x509"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"capstan/internal/pki"
)

func TestServingCertSpec(t *testing.T) {
	t.Parallel()
	required := []string{
		"kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local", "localhost",
	}
	tests := []struct {
		name      string
		hostname  string
		nodeIPs   []net.IP
		extraSANs []string
		serviceIP net.IP
		wantDNS   []string // beyond the required names
		wantIPs   []string // beyond 127.0.0.1
	}{
		{
			name:      "a single node gets the service names, its hostname and its IPs",
			hostname:  "node1",
			nodeIPs:   []net.IP{net.ParseIP("192.168.1.10")},
			serviceIP: net.ParseIP("10.43.0.1"),
			wantDNS:   []string{"node1"},
			wantIPs:   []string{"10.43.0.1", "192.168.1.10"},
		},
		{
			name:      "extra SANs that are IPs go to the IPs and the rest to the DNS names",
			hostname:  "node1",
			extraSANs: []string{"api.example.com", "203.0.113.7", " lb.example.com ", "2001:db8::1"},
			serviceIP: net.ParseIP("10.43.0.1"),
			wantDNS:   []string{"node1", "api.example.com", "lb.example.com"},
			wantIPs:   []string{"10.43.0.1", "203.0.113.7", "2001:db8::1"},
		},
		{
			name:     "duplicates are removed whatever their spelling",
			hostname: "localhost",
			nodeIPs: []net.IP{
				net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.2"), net.ParseIP("10.0.0.2").To4(),
				net.ParseIP("::ffff:10.43.0.1"),
			},
			extraSANs: []string{"kubernetes", "KUBERNETES.default", "10.0.0.2", "10.43.0.1", "127.0.0.1", ""},
			serviceIP: net.ParseIP("10.43.0.1"),
			wantIPs:   []string{"10.43.0.1", "10.0.0.2"},
		},
		{
			name:      "a dual-stack node keeps both families",
			hostname:  "node1",
			nodeIPs:   []net.IP{net.ParseIP("10.0.0.2"), net.ParseIP("fd00::2")},
			serviceIP: net.ParseIP("fd43::1"),
			wantDNS:   []string{"node1"},
			wantIPs:   []string{"fd43::1", "10.0.0.2", "fd00::2"},
		},
		{
			name: "an empty hostname and a nil service IP are skipped",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := pki.ServingCertSpec(tt.hostname, tt.nodeIPs, tt.extraSANs, tt.serviceIP)

			if spec.CommonName != "kube-apiserver" {
				t.Errorf("CN = %q, want kube-apiserver", spec.CommonName)
			}
			if !slices.Equal(spec.Usages, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
				t.Errorf("usages = %v, want ServerAuth", spec.Usages)
			}

			wantDNS := append(slices.Clone(required), tt.wantDNS...)
			gotDNS := map[string]bool{}
			for _, n := range spec.DNSNames {
				if n == "" || strings.TrimSpace(n) != n {
					t.Errorf("malformed DNS name %q", n)
				}
				if gotDNS[strings.ToLower(n)] {
					t.Errorf("duplicate DNS name %q in %v", n, spec.DNSNames)
				}
				gotDNS[strings.ToLower(n)] = true
			}
			for _, n := range wantDNS {
				if !gotDNS[strings.ToLower(n)] {
					t.Errorf("DNS name %q missing from %v", n, spec.DNSNames)
				}
			}
			if len(gotDNS) != len(wantDNS) {
				t.Errorf("DNS names = %v, want exactly %v", spec.DNSNames, wantDNS)
			}

			wantIPs := append([]string{"127.0.0.1"}, tt.wantIPs...)
			gotIPs := map[netip.Addr]bool{}
			for _, ip := range spec.IPs {
				a, ok := netip.AddrFromSlice(ip)
				if !ok {
					t.Fatalf("invalid IP %v", ip)
				}
				a = a.Unmap()
				if gotIPs[a] {
					t.Errorf("duplicate IP %s in %v", a, spec.IPs)
				}
				gotIPs[a] = true
			}
			for _, s := range wantIPs {
				if !gotIPs[netip.MustParseAddr(s)] {
					t.Errorf("IP %s missing from %v", s, spec.IPs)
				}
			}
			if len(gotIPs) != len(wantIPs) {
				t.Errorf("IPs = %v, want exactly %v", spec.IPs, wantIPs)
			}
		})
	}
}

func TestServingCertSpecDoesNotAliasItsArguments(t *testing.T) {
	t.Parallel()
	nodeIPs := []net.IP{net.ParseIP("10.0.0.2").To4()}
	spec := pki.ServingCertSpec("n", nodeIPs, nil, nil)
	nodeIPs[0][3] = 99
	if !slices.ContainsFunc(spec.IPs, net.ParseIP("10.0.0.2").Equal) {
		t.Errorf("changing the caller's slice changed the spec: %v", spec.IPs)
	}
}
