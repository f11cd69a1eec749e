package desired_test

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/desired/desiredtest"
	"capstan/internal/testing/golden"
)

func TestComputeGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		podCIDRs []netip.Prefix
	}{
		{"services", []netip.Prefix{netip.MustParsePrefix("fd00:42::/56"), netip.MustParsePrefix("10.42.0.0/16")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := desiredtest.Load(t, filepath.Join("testdata", tc.name+".yaml"))
			in.PodCIDRs = tc.podCIDRs
			got := desired.Compute(in).Dump()
			golden.Check(t, tc.name+".golden", []byte(got))
		})
	}
}

// ep is an endpoint on node at ip with the given conditions ("r" ready, "s" serving, "t"
// terminating; the rest false).
func ep(ip, node, conds string) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{
		Addresses: []string{ip}, NodeName: ptr.To(node),
		Conditions: discoveryv1.EndpointConditions{
			Ready:       ptr.To(strings.Contains(conds, "r")),
			Serving:     ptr.To(strings.Contains(conds, "s")),
			Terminating: ptr.To(strings.Contains(conds, "t")),
		},
	}
}

func TestComputeChoosesEndpoints(t *testing.T) {
	t.Parallel()
	local := corev1.ServiceInternalTrafficPolicyLocal
	for _, tc := range []struct {
		name                     string
		itp                      *corev1.ServiceInternalTrafficPolicy
		etpLocal                 bool
		endpoints                []discoveryv1.Endpoint
		wantInternal             []string
		wantExternal             []string
		internalAction, external desired.Action
	}{
		{
			name:         "ready endpoints are used and unready ones are not",
			endpoints:    []discoveryv1.Endpoint{ep("10.0.0.1", "a", "rs"), ep("10.0.0.2", "b", "")},
			wantInternal: []string{"10.0.0.1:80"}, wantExternal: []string{"10.0.0.1:80"},
		},
		{
			name:         "terminating endpoints are ignored while any endpoint is ready",
			endpoints:    []discoveryv1.Endpoint{ep("10.0.0.1", "b", "rs"), ep("10.0.0.2", "a", "st")},
			wantInternal: []string{"10.0.0.1:80"}, wantExternal: []string{"10.0.0.1:80"},
		},
		{
			name:         "serving terminating endpoints are used when none is ready",
			endpoints:    []discoveryv1.Endpoint{ep("10.0.0.1", "b", "st"), ep("10.0.0.2", "a", "t")},
			wantInternal: []string{"10.0.0.1:80"}, wantExternal: []string{"10.0.0.1:80"},
		},
		{
			name:           "no usable endpoint rejects",
			endpoints:      []discoveryv1.Endpoint{ep("10.0.0.2", "a", "t")},
			internalAction: desired.Reject, external: desired.Reject,
		},
		{
			name:         "the Local external policy uses only this node's endpoints",
			etpLocal:     true,
			endpoints:    []discoveryv1.Endpoint{ep("10.0.0.1", "a", "rs"), ep("10.0.0.2", "b", "rs")},
			wantInternal: []string{"10.0.0.1:80", "10.0.0.2:80"}, wantExternal: []string{"10.0.0.1:80"},
		},
		{
			name:         "the Local policy falls back to this node's terminating endpoints, not to remote ones",
			etpLocal:     true,
			endpoints:    []discoveryv1.Endpoint{ep("10.0.0.1", "a", "st"), ep("10.0.0.2", "b", "rs")},
			wantInternal: []string{"10.0.0.2:80"}, wantExternal: []string{"10.0.0.1:80"},
		},
		{
			name:         "the Local external policy drops when the endpoints are elsewhere",
			etpLocal:     true,
			endpoints:    []discoveryv1.Endpoint{ep("10.0.0.2", "b", "rs")},
			wantInternal: []string{"10.0.0.2:80"}, external: desired.Drop,
		},
		{
			name:           "the Local internal policy drops when the endpoints are elsewhere",
			itp:            &local,
			endpoints:      []discoveryv1.Endpoint{ep("10.0.0.2", "b", "rs")},
			wantExternal:   []string{"10.0.0.2:80"},
			internalAction: desired.Drop,
		},
		{
			name:           "the Local policies reject when there are no endpoints anywhere",
			itp:            &local,
			etpLocal:       true,
			internalAction: desired.Reject, external: desired.Reject,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "svc"},
				Spec: corev1.ServiceSpec{
					Type: corev1.ServiceTypeNodePort, ClusterIP: "10.43.0.1", InternalTrafficPolicy: tc.itp,
					Ports: []corev1.ServicePort{{Name: "p", Port: 80, NodePort: 30000, Protocol: corev1.ProtocolTCP}},
				},
			}
			if tc.etpLocal {
				svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			}
			slice := &discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: "svc-1", Labels: map[string]string{discoveryv1.LabelServiceName: "svc"}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("p"), Port: ptr.To[int32](80)}},
				Endpoints:   tc.endpoints,
			}
			st := desired.Compute(desired.Input{Services: []*corev1.Service{svc}, Slices: []*discoveryv1.EndpointSlice{slice}, NodeName: "a"})
			if len(st.Services) != 1 {
				t.Fatalf("got %d service ports, want 1", len(st.Services))
			}
			sp := &st.Services[0]
			if got := names(sp.InternalEndpoints()); strings.Join(got, " ") != strings.Join(tc.wantInternal, " ") {
				t.Errorf("internal endpoints %v, want %v", got, tc.wantInternal)
			}
			if got := names(sp.ExternalEndpoints()); strings.Join(got, " ") != strings.Join(tc.wantExternal, " ") {
				t.Errorf("external endpoints %v, want %v", got, tc.wantExternal)
			}
			if got := sp.InternalAction(); got != tc.internalAction {
				t.Errorf("internal action %v, want %v", got, tc.internalAction)
			}
			if got := sp.ExternalAction(); got != tc.external {
				t.Errorf("external action %v, want %v", got, tc.external)
			}
		})
	}
}

func names(eps []desired.Endpoint) []string {
	var out []string
	for _, e := range eps {
		out = append(out, e.String())
	}
	return out
}

func TestServicePortNameString(t *testing.T) {
	t.Parallel()
	for n, want := range map[desired.ServicePortName]string{
		{Namespace: "ns", Name: "svc", Port: "http"}: "ns/svc:http",
		{Namespace: "ns", Name: "svc"}:               "ns/svc",
	} {
		if got := n.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", n, got, want)
		}
	}
}
