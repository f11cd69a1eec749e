package endpointslice

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

var httpPorts = []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}}

func ep(i int) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.0.%d.%d", i/250, i%250)},
		TargetRef: nil, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}
}

func eps(from, to int) []discoveryv1.Endpoint {
	var out []discoveryv1.Endpoint
	for i := from; i < to; i++ {
		out = append(out, ep(i))
	}
	return out
}

func slice(name string, endpoints []discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, AddressType: discoveryv1.AddressTypeIPv4,
		Ports: httpPorts, Endpoints: endpoints}
	sortEndpoints(s.Endpoints)
	return s
}

// describe renders a plan as "create [n n] update [name:n] delete [name]".
func describe(p plan) string {
	var c, u, d []string
	for _, s := range p.create {
		c = append(c, fmt.Sprint(len(s.Endpoints)))
	}
	for _, s := range p.update {
		u = append(u, fmt.Sprintf("%s:%d", s.Name, len(s.Endpoints)))
	}
	for _, s := range p.delete {
		d = append(d, s.Name)
	}
	sort.Strings(c)
	sort.Strings(u)
	sort.Strings(d)
	return fmt.Sprintf("create %v update %v delete %v", c, u, d)
}

func TestPlanSlices(t *testing.T) {
	t.Parallel()
	g := func(e []discoveryv1.Endpoint) []group {
		return []group{{AddressType: discoveryv1.AddressTypeIPv4, Ports: httpPorts, Endpoints: e}}
	}
	tests := []struct {
		name     string
		existing []*discoveryv1.EndpointSlice
		groups   []group
		want     string
	}{
		{name: "a new service gets slices of at most 100", groups: g(eps(0, 250)), want: "create [100 100 50] update [] delete []"},
		{name: "no endpoints make one placeholder", want: "create [0] update [] delete []"},
		{name: "an existing placeholder is kept", existing: []*discoveryv1.EndpointSlice{{ObjectMeta: metav1.ObjectMeta{Name: "p"}, AddressType: discoveryv1.AddressTypeIPv4}},
			want: "create [] update [] delete []"},
		{name: "an unchanged slice is not written", existing: []*discoveryv1.EndpointSlice{slice("a", eps(0, 10))}, groups: g(eps(0, 10)),
			want: "create [] update [] delete []"},
		{name: "a new endpoint tops up a slice with room", existing: []*discoveryv1.EndpointSlice{slice("a", eps(0, 10))}, groups: g(eps(0, 11)),
			want: "create [] update [a:11] delete []"},
		{name: "a removed endpoint rewrites only its slice",
			existing: []*discoveryv1.EndpointSlice{slice("a", eps(0, 100)), slice("b", eps(100, 150))}, groups: g(eps(1, 150)),
			want: "create [] update [a:99] delete []"},
		{name: "new endpoints fill the slice being rewritten first",
			existing: []*discoveryv1.EndpointSlice{slice("a", eps(0, 100)), slice("b", eps(100, 150))},
			groups:   g(append(eps(1, 150), eps(150, 152)...)), want: "create [] update [a:100 b:51] delete []"},
		{name: "slices left empty are deleted",
			existing: []*discoveryv1.EndpointSlice{slice("a", eps(0, 5)), slice("b", eps(5, 10))}, groups: g(eps(0, 5)),
			want: "create [] update [] delete [b]"},
		{name: "a changed endpoint (readiness) is rewritten in place",
			existing: []*discoveryv1.EndpointSlice{slice("a", eps(0, 5))},
			groups: g(func() []discoveryv1.Endpoint {
				e := eps(0, 5)
				e[2].Conditions.Ready = ptr.To(false)
				return e
			}()), want: "create [] update [a:5] delete []"},
		{name: "slices of a port list no longer wanted are deleted",
			existing: []*discoveryv1.EndpointSlice{{ObjectMeta: metav1.ObjectMeta{Name: "old"}, AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps(0, 3)}},
			groups:   g(eps(0, 3)), want: "create [3] update [] delete [old]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := planSlices(tt.existing, tt.groups, 100, discoveryv1.AddressTypeIPv4)
			if got := describe(p); got != tt.want {
				t.Errorf("plan %s, want %s", got, tt.want)
			}
			seen := map[string]bool{}
			for _, s := range append(p.create, p.update...) {
				for _, e := range s.Endpoints {
					if seen[e.Addresses[0]] {
						t.Errorf("endpoint %s planned twice", e.Addresses[0])
					}
					seen[e.Addresses[0]] = true
				}
			}
		})
	}
}

func TestPlanSlicesDoesNotChangeTheCache(t *testing.T) {
	t.Parallel()
	a := slice("a", eps(0, 10))
	before := strings.Join(a.Endpoints[3].Addresses, ",")
	planSlices([]*discoveryv1.EndpointSlice{a}, []group{{AddressType: discoveryv1.AddressTypeIPv4, Ports: httpPorts, Endpoints: eps(5, 20)}}, 100, discoveryv1.AddressTypeIPv4)
	if len(a.Endpoints) != 10 || strings.Join(a.Endpoints[3].Addresses, ",") != before {
		t.Error("planning changed an existing slice")
	}
}
