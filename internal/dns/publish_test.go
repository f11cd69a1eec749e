package dns

import (
	"net"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestDesiredService(t *testing.T) {
	t.Parallel()
	svc := desiredService("10.43.0.10")
	if svc.Namespace != "kube-system" || svc.Name != "kube-dns" || svc.Labels["k8s-app"] != "kube-dns" {
		t.Errorf("meta = %+v", svc.ObjectMeta)
	}
	if svc.Spec.Selector != nil {
		t.Error("the Service has a selector: the endpoints controller would fight the DNS servers")
	}
	if svc.Spec.ClusterIP != "10.43.0.10" {
		t.Errorf("clusterIP = %q", svc.Spec.ClusterIP)
	}
	got := map[string]string{}
	for _, p := range svc.Spec.Ports {
		got[p.Name] = string(p.Protocol) + "/" + p.TargetPort.String()
	}
	want := map[string]string{"dns": "UDP/53", "dns-tcp": "TCP/53", "metrics": "TCP/9153"}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("ports = %v, want %v", got, want)
	}
}

func TestDesiredSlice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		addr        string
		metricsPort int32
		wantType    discoveryv1.AddressType
		wantPorts   int
	}{
		{"an IPv4 server with metrics", "192.0.2.2", 9153, discoveryv1.AddressTypeIPv4, 3},
		{"an IPv6 server without metrics", "2001:db8::2", 0, discoveryv1.AddressTypeIPv6, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := desiredSlice("kube-dns-node1", net.ParseIP(tt.addr), "node1", 53, tt.metricsPort)
			if s.AddressType != tt.wantType || len(s.Ports) != tt.wantPorts {
				t.Errorf("type %s ports %d", s.AddressType, len(s.Ports))
			}
			if s.Labels[discoveryv1.LabelManagedBy] != ManagedBy || s.Labels[discoveryv1.LabelServiceName] != "kube-dns" {
				t.Errorf("labels = %v", s.Labels)
			}
			e := s.Endpoints[0]
			if e.Addresses[0] != tt.addr || !*e.Conditions.Ready || *e.NodeName != "node1" {
				t.Errorf("endpoint = %+v", e)
			}
		})
	}
}

func TestEndpointsFor(t *testing.T) {
	t.Parallel()
	a := desiredSlice("kube-dns-a", net.ParseIP("192.0.2.3"), "", 53, 9153)
	b := desiredSlice("kube-dns-b", net.ParseIP("192.0.2.2"), "", 53, 9153)
	odd := desiredSlice("kube-dns-c", net.ParseIP("192.0.2.9"), "", 5353, 0)
	down := desiredSlice("kube-dns-d", net.ParseIP("192.0.2.4"), "", 53, 9153)
	down.Endpoints[0].Conditions.Ready = ptr.To(false)

	got := endpointsFor([]*discoveryv1.EndpointSlice{a, odd, b, down})
	if got.Labels[discoveryv1.LabelSkipMirror] != "true" {
		t.Error("Endpoints not labelled skip-mirror")
	}
	ports := []corev1.EndpointPort{
		{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
		{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP},
		{Name: "metrics", Port: 9153, Protocol: corev1.ProtocolTCP},
	}
	want := []corev1.EndpointSubset{
		{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.2"}, {IP: "192.0.2.3"}}, Ports: ports},
		{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.9"}}, Ports: []corev1.EndpointPort{
			{Name: "dns", Port: 5353, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", Port: 5353, Protocol: corev1.ProtocolTCP}}},
	}
	if !equality.Semantic.DeepEqual(got.Subsets, want) {
		t.Errorf("subsets:\n got %+v\nwant %+v", got.Subsets, want)
	}
	if empty := endpointsFor(nil); len(empty.Subsets) != 0 {
		t.Errorf("no slices gave subsets %+v", empty.Subsets)
	}
}

func TestSliceUpToDate(t *testing.T) {
	t.Parallel()
	want := desiredSlice("kube-dns-a", net.ParseIP("192.0.2.3"), "", 53, 9153)
	same := want.DeepCopy()
	same.ObjectMeta = metav1.ObjectMeta{Name: want.Name, ResourceVersion: "7", Labels: map[string]string{"extra": "x",
		discoveryv1.LabelServiceName: "kube-dns", discoveryv1.LabelManagedBy: ManagedBy, "k8s-app": "kube-dns"}}
	if !sliceUpToDate(same, want) {
		t.Error("a slice with extra labels and a resourceVersion is not up to date")
	}
	moved := want.DeepCopy()
	moved.Endpoints[0].Addresses[0] = "192.0.2.99"
	if sliceUpToDate(moved, want) {
		t.Error("a slice with another address is up to date")
	}
}

func TestSliceName(t *testing.T) {
	t.Parallel()
	ip := net.ParseIP("192.0.2.2")
	for in, want := range map[string]string{
		"node1": "kube-dns-node1", "Node_1.Example": "kube-dns-node-1.example", "": "kube-dns-192-0-2-2", "___": "kube-dns-192-0-2-2",
	} {
		if got := sliceName(in, ip); got != want {
			t.Errorf("sliceName(%q) = %q, want %q", in, got, want)
		}
	}
}
