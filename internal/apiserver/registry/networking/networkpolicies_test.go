package networking

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func TestNetworkPolicyDefaults(t *testing.T) {
	t.Parallel()
	s := findResource(t, "networkpolicies").Strategy
	cases := []struct {
		name  string
		spec  networkingv1.NetworkPolicySpec
		types []networkingv1.PolicyType
	}{
		{name: "an empty policy applies to ingress", types: []networkingv1.PolicyType{"Ingress"}},
		{name: "a policy with egress rules applies to ingress and egress",
			spec:  networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{}}},
			types: []networkingv1.PolicyType{"Ingress", "Egress"}},
		{name: "explicit policy types are kept",
			spec:  networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Egress"}, Ingress: []networkingv1.NetworkPolicyIngressRule{{}}},
			types: []networkingv1.PolicyType{"Egress"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			np := &networkingv1.NetworkPolicy{Spec: c.spec}
			s.Default(np)
			if len(np.Spec.PolicyTypes) != len(c.types) {
				t.Fatalf("policyTypes = %v, want %v", np.Spec.PolicyTypes, c.types)
			}
			for i := range c.types {
				if np.Spec.PolicyTypes[i] != c.types[i] {
					t.Errorf("policyTypes = %v, want %v", np.Spec.PolicyTypes, c.types)
				}
			}
		})
	}
	t.Run("ports default to TCP", func(t *testing.T) {
		t.Parallel()
		np := &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{}, {Protocol: ptr.To(corev1.ProtocolUDP)}}}},
			Egress:  []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{}}}},
		}}
		s.Default(np)
		if *np.Spec.Ingress[0].Ports[0].Protocol != corev1.ProtocolTCP || *np.Spec.Ingress[0].Ports[1].Protocol != corev1.ProtocolUDP ||
			*np.Spec.Egress[0].Ports[0].Protocol != corev1.ProtocolTCP {
			t.Errorf("ports = %+v %+v", np.Spec.Ingress[0].Ports, np.Spec.Egress[0].Ports)
		}
	})
}

func TestNetworkPolicyValidation(t *testing.T) {
	t.Parallel()
	s := findResource(t, "networkpolicies").Strategy
	port := func(p networkingv1.NetworkPolicyPort) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{p}}}}}
	}
	peer := func(p networkingv1.NetworkPolicyPeer) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{p}}}}}
	}
	num := intstr.FromInt32(80)
	cases := []struct {
		name string
		np   *networkingv1.NetworkPolicy
		want []wantErr
	}{
		{name: "a port range is valid", np: port(networkingv1.NetworkPolicyPort{Port: &num, EndPort: ptr.To[int32](90)})},
		{name: "a named port is valid", np: port(networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromString("http"))})},
		{name: "an unknown protocol is not supported", np: port(networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.Protocol("ICMP"))}),
			want: []wantErr{{"spec.ingress[0].ports[0].protocol", field.ErrorTypeNotSupported}}},
		{name: "a port number must be in range", np: port(networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromInt32(0))}),
			want: []wantErr{{"spec.ingress[0].ports[0].port", field.ErrorTypeInvalid}}},
		{name: "endPort may not be below port", np: port(networkingv1.NetworkPolicyPort{Port: &num, EndPort: ptr.To[int32](79)}),
			want: []wantErr{{"spec.ingress[0].ports[0].endPort", field.ErrorTypeInvalid}}},
		{name: "endPort needs a numeric port", np: port(networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromString("http")), EndPort: ptr.To[int32](90)}),
			want: []wantErr{{"spec.ingress[0].ports[0].endPort", field.ErrorTypeInvalid}}},
		{name: "a peer must select something", np: peer(networkingv1.NetworkPolicyPeer{}),
			want: []wantErr{{"spec.egress[0].to[0]", field.ErrorTypeRequired}}},
		{name: "an ip block must stand alone", np: peer(networkingv1.NetworkPolicyPeer{
			IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}, PodSelector: &metav1.LabelSelector{}}),
			want: []wantErr{{"spec.egress[0].to[0]", field.ErrorTypeForbidden}}},
		{name: "an ip block needs a CIDR", np: peer(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{}}),
			want: []wantErr{{"spec.egress[0].to[0].ipBlock.cidr", field.ErrorTypeRequired}}},
		{name: "an ip block CIDR must parse", np: peer(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0"}}),
			want: []wantErr{{"spec.egress[0].to[0].ipBlock.cidr", field.ErrorTypeInvalid}}},
		{name: "an exception must lie inside the CIDR", np: peer(networkingv1.NetworkPolicyPeer{
			IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16", "192.168.0.0/16"}}}),
			want: []wantErr{{"spec.egress[0].to[0].ipBlock.except[1]", field.ErrorTypeInvalid}}},
		{name: "a selector must be valid", np: peer(networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{"a": "b c"}}}),
			want: []wantErr{{"spec.egress[0].to[0].namespaceSelector.matchLabels", field.ErrorTypeInvalid}}},
		{name: "policy types must be Ingress or Egress", np: &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{"Ingress", "Sideways"}}},
			want: []wantErr{{"spec.policyTypes[1]", field.ErrorTypeNotSupported}}},
		{name: "at most two policy types", np: &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress", "Ingress"}}},
			want: []wantErr{{"spec.policyTypes", field.ErrorTypeInvalid}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkErrs(t, s.Validate(t.Context(), c.np), c.want...)
			checkErrs(t, s.ValidateUpdate(t.Context(), c.np, &networkingv1.NetworkPolicy{}), c.want...)
		})
	}
	t.Run("a stored invalid CIDR stays updatable", func(t *testing.T) {
		t.Parallel()
		old := peer(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0"}})
		checkErrs(t, s.ValidateUpdate(t.Context(), old.DeepCopy(), old))
	})
}

func TestNetworkPolicyTable(t *testing.T) {
	t.Parallel()
	r := findResource(t, "networkpolicies")
	if r.ShortNames[0] != "netpol" || r.Status {
		t.Errorf("identity: %+v", r)
	}
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "deny", CreationTimestamp: metav1.NewTime(now.Add(-48 * time.Hour))},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}
	checkRow(t, r.Table.Row(np, now), []any{"deny", "app=web", "2d"})
	np.Spec.PodSelector = metav1.LabelSelector{}
	checkRow(t, r.Table.Row(np, now), []any{"deny", "<none>", "2d"})
}

func TestIngressClass(t *testing.T) {
	t.Parallel()
	r := findResource(t, "ingressclasses")
	s := r.Strategy
	valid := func() *networkingv1.IngressClass {
		return &networkingv1.IngressClass{
			ObjectMeta: metav1.ObjectMeta{Name: "nginx"},
			Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx",
				Parameters: &networkingv1.IngressClassParametersReference{APIGroup: ptr.To("k8s.example.com"), Kind: "IngressParameters", Name: "p"}},
		}
	}
	t.Run("parameters default to the cluster scope", func(t *testing.T) {
		t.Parallel()
		ic := valid()
		s.Default(ic)
		if *ic.Spec.Parameters.Scope != "Cluster" {
			t.Errorf("scope = %v", *ic.Spec.Parameters.Scope)
		}
	})
	cases := []struct {
		name   string
		mutate func(*networkingv1.IngressClass)
		want   []wantErr
	}{
		{name: "a domain-prefixed controller is valid", mutate: func(*networkingv1.IngressClass) {}},
		{name: "the controller is required", mutate: func(ic *networkingv1.IngressClass) { ic.Spec.Controller = "" },
			want: []wantErr{{"spec.controller", field.ErrorTypeRequired}}},
		{name: "the controller must be domain prefixed", mutate: func(ic *networkingv1.IngressClass) { ic.Spec.Controller = "nginx" },
			want: []wantErr{{"spec.controller", field.ErrorTypeInvalid}}},
		{name: "namespace scoped parameters need a namespace", mutate: func(ic *networkingv1.IngressClass) {
			ic.Spec.Parameters.Scope = ptr.To("Namespace")
		}, want: []wantErr{{"spec.parameters.namespace", field.ErrorTypeRequired}}},
		{name: "cluster scoped parameters have no namespace", mutate: func(ic *networkingv1.IngressClass) {
			ic.Spec.Parameters.Namespace = ptr.To("ns")
		}, want: []wantErr{{"spec.parameters.namespace", field.ErrorTypeForbidden}}},
		{name: "an unknown scope is not supported", mutate: func(ic *networkingv1.IngressClass) { ic.Spec.Parameters.Scope = ptr.To("Node") },
			want: []wantErr{{"spec.parameters.scope", field.ErrorTypeNotSupported}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ic := valid()
			s.Default(ic)
			c.mutate(ic)
			checkErrs(t, s.Validate(t.Context(), ic), c.want...)
		})
	}
	t.Run("the controller is immutable", func(t *testing.T) {
		t.Parallel()
		old := valid()
		s.Default(old)
		ic := old.DeepCopy()
		ic.Spec.Controller = "example.com/other"
		errs := s.ValidateUpdate(t.Context(), ic, old)
		checkErrs(t, errs, wantErr{"spec.controller", field.ErrorTypeInvalid})
		if errs[0].Detail != "field is immutable" {
			t.Errorf("detail = %q", errs[0].Detail)
		}
	})
	t.Run("the table shows the controller and Kind.group/name parameters", func(t *testing.T) {
		t.Parallel()
		now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
		ic := valid()
		ic.CreationTimestamp = metav1.NewTime(now.Add(-time.Minute))
		checkRow(t, r.Table.Row(ic, now), []any{"nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/p", "60s"})
		ic.Spec.Parameters = nil
		checkRow(t, r.Table.Row(ic, now), []any{"nginx", "k8s.io/ingress-nginx", "<none>", "60s"})
	})
}
