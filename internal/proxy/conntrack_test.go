package proxy

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/proxy/desired"
)

func udpPort(name string, nodePort int32, eps ...string) desired.ServicePort {
	sp := desired.ServicePort{
		Name:      desired.ServicePortName{Namespace: "ns", Name: name, Protocol: corev1.ProtocolUDP},
		ClusterIP: netip.MustParseAddr("10.43.0.10"), Port: 53, NodePort: nodePort,
		ExternalIPs: []netip.Addr{netip.MustParseAddr("192.0.2.1")},
	}
	for _, e := range eps {
		sp.ClusterEndpoints = append(sp.ClusterEndpoints, desired.Endpoint{IP: netip.MustParseAddr(e), Port: 53, Ready: true, Serving: true})
	}
	return sp
}

func TestStaleConntrack(t *testing.T) {
	t.Parallel()
	tcp := udpPort("web", 0, "10.42.0.5")
	tcp.Name.Protocol = corev1.ProtocolTCP
	for _, tc := range []struct {
		name       string
		prev, next []desired.ServicePort
		want       []string
	}{
		{
			name: "a removed UDP endpoint loses its entries to every service address and the node port",
			prev: []desired.ServicePort{udpPort("dns", 30053, "10.42.0.1", "10.42.0.2")},
			next: []desired.ServicePort{udpPort("dns", 30053, "10.42.0.1")},
			want: []string{
				"-D -p udp --orig-dst 10.43.0.10 --dst-nat 10.42.0.2",
				"-D -p udp --orig-dst 192.0.2.1 --dst-nat 10.42.0.2",
				"-D -p udp --orig-port-dst 30053 --dst-nat 10.42.0.2",
			},
		},
		{
			name: "a deleted UDP service loses the entries to its endpoints",
			prev: []desired.ServicePort{udpPort("dns", 0, "10.42.0.1")},
			want: []string{"-D -p udp --orig-dst 10.43.0.10 --dst-nat 10.42.0.1", "-D -p udp --orig-dst 192.0.2.1 --dst-nat 10.42.0.1"},
		},
		{
			name: "a UDP service that gets its first endpoint loses its un-NATed entries",
			prev: []desired.ServicePort{udpPort("dns", 30053)},
			next: []desired.ServicePort{udpPort("dns", 30053, "10.42.0.1")},
			want: []string{"-D -p udp --orig-dst 10.43.0.10", "-D -p udp --orig-dst 192.0.2.1", "-D -p udp --orig-port-dst 30053"},
		},
		{
			name: "a UDP endpoint that moves to another port loses its entries",
			prev: []desired.ServicePort{udpPort("dns", 0, "10.42.0.1")},
			next: []desired.ServicePort{movedPort(udpPort("dns", 0, "10.42.0.1"), 5353)},
			want: []string{"-D -p udp --orig-dst 10.43.0.10 --dst-nat 10.42.0.1", "-D -p udp --orig-dst 192.0.2.1 --dst-nat 10.42.0.1"},
		},
		{
			name: "unchanged UDP endpoints keep their entries",
			prev: []desired.ServicePort{udpPort("dns", 0, "10.42.0.1")},
			next: []desired.ServicePort{udpPort("dns", 0, "10.42.0.1")},
		},
		{
			name: "TCP endpoints are left alone",
			prev: []desired.ServicePort{tcp},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, args := range staleConntrack(&desired.State{Services: tc.prev}, &desired.State{Services: tc.next}) {
				got = append(got, strings.Join(args, " "))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// movedPort is sp with its endpoints on port.
func movedPort(sp desired.ServicePort, port int32) desired.ServicePort {
	for i := range sp.ClusterEndpoints {
		sp.ClusterEndpoints[i].Port = port
	}
	return sp
}

// The first sync cannot know what an earlier run left in conntrack (NAT to endpoints or
// proxy ports gone since), so UDP ports with endpoints start without entries.
func TestStaleConntrackOnTheFirstSync(t *testing.T) {
	t.Parallel()
	tcp := udpPort("web", 0, "10.42.0.5")
	tcp.Name.Protocol = corev1.ProtocolTCP
	next := &desired.State{Services: []desired.ServicePort{udpPort("dns", 30053, "10.42.0.1"), udpPort("none", 0), tcp}}
	var got []string
	for _, args := range staleConntrack(nil, next) {
		got = append(got, strings.Join(args, " "))
	}
	want := []string{"-D -p udp --orig-dst 10.43.0.10", "-D -p udp --orig-dst 192.0.2.1", "-D -p udp --orig-port-dst 30053"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
