package discovery

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func validSlice() *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-abc", Namespace: "ns", Labels: map[string]string{"kubernetes.io/service-name": "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses: []string{"10.42.0.5"},
			NodeName:  ptr.To("node-1"),
			Hints:     &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "zone-a"}}},
		}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](8080)}},
	}
}

func TestEndpointSliceIdentityAndDefaults(t *testing.T) {
	t.Parallel()
	r := findResource(t, "endpointslices")
	if r.GVK.String() != "discovery.k8s.io/v1, Kind=EndpointSlice" || !r.Namespaced || r.Status || len(r.ShortNames) != 0 {
		t.Errorf("identity: %+v", r)
	}
	t.Run("ports default to an empty name and TCP", func(t *testing.T) {
		t.Parallel()
		eps := &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Port: ptr.To[int32](53)}}}
		r.Strategy.Default(eps)
		if eps.Ports[0].Name == nil || *eps.Ports[0].Name != "" || *eps.Ports[0].Protocol != corev1.ProtocolTCP {
			t.Errorf("port = %+v", eps.Ports[0])
		}
	})
}

func TestEndpointSliceValidation(t *testing.T) {
	t.Parallel()
	s := findResource(t, "endpointslices").Strategy
	manyAddresses := make([]string, 101)
	for i := range manyAddresses {
		manyAddresses[i] = fmt.Sprintf("10.0.0.%d", i+1)
	}
	cases := []struct {
		name   string
		mutate func(*discoveryv1.EndpointSlice)
		want   []wantErr
	}{
		{name: "an IPv4 slice with a named port is valid", mutate: func(*discoveryv1.EndpointSlice) {}},
		{name: "an FQDN slice takes host names", mutate: func(e *discoveryv1.EndpointSlice) {
			e.AddressType = discoveryv1.AddressTypeFQDN
			e.Endpoints[0].Addresses = []string{"db.example.com"}
		}},
		{name: "the address type is required", mutate: func(e *discoveryv1.EndpointSlice) { e.AddressType = "" },
			want: []wantErr{{"addressType", field.ErrorTypeRequired}}},
		{name: "an unknown address type is not supported", mutate: func(e *discoveryv1.EndpointSlice) { e.AddressType = "IP" },
			want: []wantErr{{"addressType", field.ErrorTypeNotSupported}}},
		{name: "an endpoint needs an address", mutate: func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].Addresses = nil },
			want: []wantErr{{"endpoints[0].addresses", field.ErrorTypeRequired}}},
		{name: "an endpoint has at most 100 addresses", mutate: func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].Addresses = manyAddresses },
			want: []wantErr{{"endpoints[0].addresses", field.ErrorTypeTooMany}}},
		{name: "an IPv6 address does not fit an IPv4 slice", mutate: func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].Addresses = []string{"fd00::1"} },
			want: []wantErr{{"endpoints[0].addresses[0]", field.ErrorTypeInvalid}}},
		{name: "an unparsable address is rejected", mutate: func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].Addresses = []string{"ten"} },
			want: []wantErr{{"endpoints[0].addresses[0]", field.ErrorTypeInvalid}, {"endpoints[0].addresses[0]", field.ErrorTypeInvalid}}},
		{name: "a loopback address is rejected", mutate: func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].Addresses = []string{"127.0.0.1"} },
			want: []wantErr{{"endpoints[0].addresses[0]", field.ErrorTypeInvalid}}},
		{name: "an FQDN slice rejects a bare name", mutate: func(e *discoveryv1.EndpointSlice) {
			e.AddressType = discoveryv1.AddressTypeFQDN
			e.Endpoints[0].Addresses = []string{"db"}
		}, want: []wantErr{{"endpoints[0].addresses[0]", field.ErrorTypeInvalid}}},
		{name: "a node name must be a DNS subdomain", mutate: func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].NodeName = ptr.To("Node_1") },
			want: []wantErr{{"endpoints[0].nodeName", field.ErrorTypeInvalid}}},
		{name: "a hostname must be a DNS label", mutate: func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].Hostname = ptr.To("a.b") },
			want: []wantErr{{"endpoints[0].hostname", field.ErrorTypeInvalid}}},
		{name: "zone hints may not repeat", mutate: func(e *discoveryv1.EndpointSlice) {
			e.Endpoints[0].Hints.ForZones = append(e.Endpoints[0].Hints.ForZones, discoveryv1.ForZone{Name: "zone-a"})
		}, want: []wantErr{{"endpoints[0].hints.forZones[1].name", field.ErrorTypeDuplicate}}},
		{name: "a port name must be a DNS label", mutate: func(e *discoveryv1.EndpointSlice) { e.Ports[0].Name = ptr.To("HTTP") },
			want: []wantErr{{"ports[0].name", field.ErrorTypeInvalid}}},
		{name: "port names must be unique", mutate: func(e *discoveryv1.EndpointSlice) { e.Ports = append(e.Ports, e.Ports[0]) },
			want: []wantErr{{"ports[1].name", field.ErrorTypeDuplicate}}},
		{name: "a port needs a protocol", mutate: func(e *discoveryv1.EndpointSlice) { e.Ports[0].Protocol = nil },
			want: []wantErr{{"ports[0].protocol", field.ErrorTypeRequired}}},
		{name: "an unknown protocol is not supported", mutate: func(e *discoveryv1.EndpointSlice) { e.Ports[0].Protocol = ptr.To(corev1.Protocol("ICMP")) },
			want: []wantErr{{"ports[0].protocol", field.ErrorTypeNotSupported}}},
		{name: "a port number must be in range", mutate: func(e *discoveryv1.EndpointSlice) { e.Ports[0].Port = ptr.To[int32](65536) },
			want: []wantErr{{"ports[0].port", field.ErrorTypeInvalid}}},
		{name: "an appProtocol must be a qualified name", mutate: func(e *discoveryv1.EndpointSlice) { e.Ports[0].AppProtocol = ptr.To("a/b/c") },
			want: []wantErr{{"ports[0].appProtocol", field.ErrorTypeInvalid}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			eps := validSlice()
			c.mutate(eps)
			checkErrs(t, s.Validate(t.Context(), eps), c.want...)
		})
	}
}

func TestEndpointSliceUpdate(t *testing.T) {
	t.Parallel()
	s := findResource(t, "endpointslices").Strategy
	t.Run("the address type is immutable", func(t *testing.T) {
		t.Parallel()
		old := validSlice()
		eps := old.DeepCopy()
		eps.AddressType = discoveryv1.AddressTypeFQDN
		eps.Endpoints[0].Addresses = []string{"web.example.com"}
		errs := s.ValidateUpdate(t.Context(), eps, old)
		checkErrs(t, errs, wantErr{"addressType", field.ErrorTypeInvalid})
		if errs[0].Detail != "field is immutable" {
			t.Errorf("detail = %q", errs[0].Detail)
		}
	})
	t.Run("create starts the generation at 1 and drops deprecated topology", func(t *testing.T) {
		t.Parallel()
		eps := validSlice()
		eps.Endpoints[0].DeprecatedTopology = map[string]string{"kubernetes.io/hostname": "node-1"}
		s.PrepareForCreate(t.Context(), eps)
		if eps.Generation != 1 || eps.Endpoints[0].DeprecatedTopology != nil {
			t.Errorf("generation %d topology %v", eps.Generation, eps.Endpoints[0].DeprecatedTopology)
		}
	})
	t.Run("changing endpoints bumps the generation", func(t *testing.T) {
		t.Parallel()
		old := validSlice()
		old.Generation = 3
		eps := old.DeepCopy()
		eps.Endpoints[0].Addresses = []string{"10.42.0.6"}
		s.PrepareForUpdate(t.Context(), eps, old)
		if eps.Generation != 4 {
			t.Errorf("generation = %d", eps.Generation)
		}
	})
	t.Run("changing annotations keeps the generation", func(t *testing.T) {
		t.Parallel()
		old := validSlice()
		old.Generation = 3
		eps := old.DeepCopy()
		eps.Annotations = map[string]string{"a": "b"}
		s.PrepareForUpdate(t.Context(), eps, old)
		if eps.Generation != 3 {
			t.Errorf("generation = %d", eps.Generation)
		}
	})
	t.Run("a node name kept only in the old topology moves to nodeName", func(t *testing.T) {
		t.Parallel()
		old := validSlice()
		old.Endpoints[0].NodeName = nil
		old.Endpoints[0].DeprecatedTopology = map[string]string{"kubernetes.io/hostname": "node-1"}
		eps := old.DeepCopy()
		eps.Endpoints[0].Addresses = []string{"10.42.0.9"}
		s.PrepareForUpdate(t.Context(), eps, old)
		if eps.Endpoints[0].NodeName == nil || *eps.Endpoints[0].NodeName != "node-1" || eps.Endpoints[0].DeprecatedTopology != nil {
			t.Errorf("endpoint = %+v", eps.Endpoints[0])
		}
	})
}

func TestEndpointSliceTable(t *testing.T) {
	t.Parallel()
	r := findResource(t, "endpointslices")
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	created := metav1.NewTime(now.Add(-30 * time.Second))
	cases := []struct {
		name string
		eps  *discoveryv1.EndpointSlice
		want []any
	}{
		{name: "an empty slice shows <unset>", eps: &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: "e", CreationTimestamp: created}, AddressType: "IPv4"},
			want: []any{"e", "IPv4", "<unset>", "<unset>", "30s"}},
		{name: "ports show numbers, names or *, and lists stop after three", eps: &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: "e", CreationTimestamp: created}, AddressType: "IPv4",
			Ports: []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}, {Name: ptr.To("dns")}, {}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1", "10.0.0.2"}}, {Addresses: []string{"10.0.0.3"}},
				{Addresses: []string{"10.0.0.4", "10.0.0.5"}}}},
			want: []any{"e", "IPv4", "80,dns,*", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...", "30s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkRow(t, r.Table.Row(c.eps, now), c.want)
		})
	}
}
