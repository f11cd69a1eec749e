package dns

import (
	"slices"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// newStore is an in-memory Store holding objs, indexed as the informers index them.
func newStore(t *testing.T, objs ...any) *IndexerStore {
	t.Helper()
	s := &IndexerStore{
		ServiceIndexer: cache.NewIndexer(cache.MetaNamespaceKeyFunc, ServiceIndexers()),
		SliceIndexer:   cache.NewIndexer(cache.MetaNamespaceKeyFunc, EndpointSliceIndexers()),
		PodIndexer:     cache.NewIndexer(cache.MetaNamespaceKeyFunc, PodIndexers()),
	}
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Service:
			err = s.ServiceIndexer.Add(o)
		case *discoveryv1.EndpointSlice:
			err = s.SliceIndexer.Add(o)
		case *corev1.Pod:
			stripped, _ := stripPod(o)
			err = s.PodIndexer.Add(stripped)
		default:
			t.Fatalf("unexpected fixture %T", o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func clusterIPService(ns, name string, ips []string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ips[0], ClusterIPs: ips, Ports: ports},
	}
}

func headlessService(ns, name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "None", ClusterIPs: []string{"None"}, Ports: ports},
	}
}

func externalNameService(ns, name, target string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target},
	}
}

func port(name string, proto corev1.Protocol, p int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: proto, Port: p}
}

type ep struct {
	ip       string
	hostname string
	ready    *bool
}

func slice(ns, svc, name string, at discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...ep) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: at,
		Ports:       ports,
	}
	for _, e := range eps {
		x := discoveryv1.Endpoint{Addresses: []string{e.ip}, Conditions: discoveryv1.EndpointConditions{Ready: e.ready}}
		if e.hostname != "" {
			x.Hostname = ptr.To(e.hostname)
		}
		s.Endpoints = append(s.Endpoints, x)
	}
	return s
}

func slicePort(name string, proto corev1.Protocol, p int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: ptr.To(name), Protocol: ptr.To(proto), Port: ptr.To(p)}
}

func pod(ns, name, ip string, hostNetwork bool, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{HostNetwork: hostNetwork, Containers: []corev1.Container{{Name: "c", Image: "i"}}},
		Status:     corev1.PodStatus{Phase: phase, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}},
	}
}

// fixtures is a small cluster every answer test reads.
func fixtures() []any {
	yes, no := ptr.To(true), ptr.To(false)
	pg := []discoveryv1.EndpointPort{slicePort("pg", corev1.ProtocolTCP, 5432)}
	return []any{
		clusterIPService("default", "web", []string{"10.43.0.20"},
			port("http", corev1.ProtocolTCP, 80), port("dns", corev1.ProtocolUDP, 53)),
		clusterIPService("default", "dual", []string{"10.43.0.21", "fd00:43::21"}, port("", corev1.ProtocolTCP, 80)),
		headlessService("default", "db", port("pg", corev1.ProtocolTCP, 5432)),
		slice("default", "db", "db-a", discoveryv1.AddressTypeIPv4, pg,
			ep{"10.42.0.6", "db-1", yes}, ep{"10.42.0.5", "db-0", yes}, ep{"10.42.0.7", "db-2", no}, ep{"10.42.0.8", "", nil}),
		// The same address again in a second slice (as during a slice split) is answered once.
		slice("default", "db", "db-b", discoveryv1.AddressTypeIPv4, pg, ep{"10.42.0.5", "db-0", yes}),
		headlessService("default", "empty"),
		externalNameService("default", "ext", "example.com"),
		externalNameService("default", "alias", "web.default.svc.cluster.local"),
		func() *corev1.Service {
			s := headlessService("other", "nr")
			s.Spec.PublishNotReadyAddresses = true
			return s
		}(),
		slice("other", "nr", "nr-a", discoveryv1.AddressTypeIPv4, nil, ep{"10.42.1.3", "starting", no}),
		headlessService("v6", "db6"),
		slice("v6", "db6", "db6-a", discoveryv1.AddressTypeIPv6, nil, ep{"fd00:42::5", "", yes}),
		pod("default", "p1", "10.42.0.9", false, corev1.PodRunning),
		pod("default", "host", "192.0.2.2", true, corev1.PodRunning),
		pod("default", "done", "10.42.0.10", false, corev1.PodSucceeded),
		pod("v6", "p6", "fd00:42::9", false, corev1.PodRunning),
	}
}

func testZone(t *testing.T, objs ...any) *zone {
	return &zone{origin: "cluster.local.", store: newStore(t, objs...), ttl: 30, negTTL: 5, serial: 1}
}

// texts renders records as their zone-file lines, for comparing with a table.
func texts(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.String())
	}
	return out
}

func equalTexts(a, b []string) bool {
	return slices.Equal(a, b) || (len(a) == 0 && len(b) == 0)
}
