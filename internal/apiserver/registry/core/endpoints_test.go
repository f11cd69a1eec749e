package core

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func testEndpoints(mutate ...func(*corev1.Endpoints)) *corev1.Endpoints {
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: testCreated},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.42.0.5"}, {IP: "10.42.1.6"}},
			Ports:     []corev1.EndpointPort{{Port: 8080}},
		}},
	}
	for _, m := range mutate {
		m(ep)
	}
	return ep
}

func TestEndpointsDefaultsPortProtocolToTCP(t *testing.T) {
	t.Parallel()
	ep := testEndpoints()
	endpointsStrategy{}.Default(ep)
	if p := ep.Subsets[0].Ports[0].Protocol; p != corev1.ProtocolTCP {
		t.Errorf("protocol = %q", p)
	}
}

func TestEndpointsValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*corev1.Endpoints)
		want   []string
	}{
		{"ready addresses with one port are valid", func(*corev1.Endpoints) {}, nil},
		{"no subsets at all is valid", func(e *corev1.Endpoints) { e.Subsets = nil }, nil},
		{"a headless subset without ports is valid", func(e *corev1.Endpoints) { e.Subsets[0].Ports = nil }, nil},
		{"a subset needs addresses", func(e *corev1.Endpoints) { e.Subsets[0].Addresses = nil },
			[]string{"Required value subsets[0]"}},
		{"addresses must be IPs", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[1].IP = "node-1" },
			[]string{"Invalid value subsets[0].addresses[1].ip", "Invalid value subsets[0].addresses[1].ip"}},
		{"not-ready addresses may not be loopback", func(e *corev1.Endpoints) {
			e.Subsets[0].NotReadyAddresses = []corev1.EndpointAddress{{IP: "127.0.0.1"}}
		}, []string{"Invalid value subsets[0].notReadyAddresses[0].ip"}},
		{"link-local addresses are refused", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "169.254.169.254" },
			[]string{"Invalid value subsets[0].addresses[0].ip"}},
		{"hostnames must be DNS labels", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].Hostname = "a.b" },
			[]string{"Invalid value subsets[0].addresses[0].hostname"}},
		{"node names must be DNS subdomains", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].NodeName = ptr.To("Node_1") },
			[]string{"Invalid value subsets[0].addresses[0].nodeName"}},
		{"ports must be in range", func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Port = 0 },
			[]string{"Invalid value subsets[0].ports[0].port"}},
		{"several ports need names", func(e *corev1.Endpoints) {
			e.Subsets[0].Ports = append(e.Subsets[0].Ports, corev1.EndpointPort{Name: "b", Port: 9090})
		}, []string{"Required value subsets[0].ports[0].name"}},
		{"an unknown protocol is not supported", func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Protocol = "HTTP" },
			[]string{"Unsupported value subsets[0].ports[0].protocol"}},
		{"appProtocol must be a qualified name", func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].AppProtocol = ptr.To("a b") },
			[]string{"Invalid value subsets[0].ports[0].appProtocol"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectErrs(t, createErrs(t, endpointsStrategy{}, testEndpoints(tt.mutate)), tt.want...)
		})
	}
	t.Run("updates are validated like creates", func(t *testing.T) {
		t.Parallel()
		old := testEndpoints()
		ep := testEndpoints(func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Port = 70000 })
		expectErrs(t, updateErrs(t, endpointsStrategy{}, ep, old), "Invalid value subsets[0].ports[0].port")
	})
}

func TestEndpointsTable(t *testing.T) {
	t.Parallel()
	table := endpointsResource().Table
	if got := columnNames(table); !slices.Equal(got, []string{"Name", "Endpoints", "Age"}) {
		t.Fatalf("columns = %v", got)
	}
	tests := []struct {
		name string
		ep   *corev1.Endpoints
		want string
	}{
		{"endpoints without subsets show <none>", testEndpoints(func(e *corev1.Endpoints) { e.Subsets = nil }), "<none>"},
		{"addresses are joined with their port", testEndpoints(), "10.42.0.5:8080,10.42.1.6:8080"},
		{"IPv6 addresses are bracketed", testEndpoints(func(e *corev1.Endpoints) {
			e.Subsets[0].Addresses = []corev1.EndpointAddress{{IP: "fd00::5"}}
		}), "[fd00::5]:8080"},
		{"subsets without ports list bare IPs", testEndpoints(func(e *corev1.Endpoints) { e.Subsets[0].Ports = nil }),
			"10.42.0.5,10.42.1.6"},
		{"more than three endpoints are summarized", testEndpoints(func(e *corev1.Endpoints) {
			e.Subsets[0].Ports = []corev1.EndpointPort{{Name: "a", Port: 80}, {Name: "b", Port: 443}}
			e.Subsets = append(e.Subsets, corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: "10.42.2.7"}}})
		}), "10.42.0.5:80,10.42.1.6:80,10.42.0.5:443 + 2 more..."},
		{"not-ready addresses are not shown", testEndpoints(func(e *corev1.Endpoints) {
			e.Subsets[0].NotReadyAddresses = e.Subsets[0].Addresses
			e.Subsets[0].Addresses = nil
		}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectRow(t, table, tt.ep, testNow, "web", tt.want, "90m")
		})
	}
}
