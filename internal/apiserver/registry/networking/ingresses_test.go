package networking

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// corev1Ref is a resource backend reference with nothing set.
var corev1Ref = corev1.TypedLocalObjectReference{}

func validIngress() *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To("nginx"),
			Rules: []networkingv1.IngressRule{{
				Host: "example.com",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path: "/", PathType: &prefix,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
					}},
				}},
			}},
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"*.example.com"}, SecretName: "tls"}},
		},
	}
}

func firstPath(ing *networkingv1.Ingress) *networkingv1.HTTPIngressPath {
	return &ing.Spec.Rules[0].HTTP.Paths[0]
}

func TestIngressValidation(t *testing.T) {
	t.Parallel()
	s := findResource(t, "ingresses").Strategy
	const p0 = "spec.rules[0].http.paths[0]"
	cases := []struct {
		name   string
		mutate func(*networkingv1.Ingress)
		want   []wantErr
	}{
		{name: "a prefix path to a service port is valid", mutate: func(*networkingv1.Ingress) {}},
		{name: "a wildcard host is valid", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "*.example.com" }},
		{name: "an ingress needs rules or a default backend", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules = nil },
			want: []wantErr{{"spec", field.ErrorTypeInvalid}}},
		{name: "pathType has no default and is required", mutate: func(i *networkingv1.Ingress) { firstPath(i).PathType = nil },
			want: []wantErr{{p0 + ".pathType", field.ErrorTypeRequired}}},
		{name: "an unknown pathType is not supported", mutate: func(i *networkingv1.Ingress) { firstPath(i).PathType = ptr.To(networkingv1.PathType("Regex")) },
			want: []wantErr{{p0 + ".pathType", field.ErrorTypeNotSupported}}},
		{name: "a prefix path must be absolute", mutate: func(i *networkingv1.Ingress) { firstPath(i).Path = "api" },
			want: []wantErr{{p0 + ".path", field.ErrorTypeInvalid}}},
		{name: "a path may not contain //", mutate: func(i *networkingv1.Ingress) { firstPath(i).Path = "/a//b" },
			want: []wantErr{{p0 + ".path", field.ErrorTypeInvalid}}},
		{name: "an implementation specific path may be empty", mutate: func(i *networkingv1.Ingress) {
			firstPath(i).Path = ""
			firstPath(i).PathType = ptr.To(networkingv1.PathTypeImplementationSpecific)
		}},
		{name: "a host may not be an IP address", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "010.0.0.1" },
			want: []wantErr{{"spec.rules[0].host", field.ErrorTypeInvalid}}},
		{name: "a host must be a DNS subdomain", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "Example_com" },
			want: []wantErr{{"spec.rules[0].host", field.ErrorTypeInvalid}}},
		{name: "a backend needs a service or a resource", mutate: func(i *networkingv1.Ingress) { firstPath(i).Backend.Service = nil },
			want: []wantErr{{p0 + ".backend", field.ErrorTypeInvalid}}},
		{name: "a service backend needs a name", mutate: func(i *networkingv1.Ingress) { firstPath(i).Backend.Service.Name = "" },
			want: []wantErr{{p0 + ".backend.service.name", field.ErrorTypeRequired}}},
		{name: "a service backend needs a port", mutate: func(i *networkingv1.Ingress) { firstPath(i).Backend.Service.Port.Number = 0 },
			want: []wantErr{{p0 + ".backend", field.ErrorTypeRequired}}},
		{name: "a service port number must be in range", mutate: func(i *networkingv1.Ingress) { firstPath(i).Backend.Service.Port.Number = 70000 },
			want: []wantErr{{p0 + ".backend.service.port.number", field.ErrorTypeInvalid}}},
		{name: "a service port may not have a name and a number", mutate: func(i *networkingv1.Ingress) { firstPath(i).Backend.Service.Port.Name = "http" },
			want: []wantErr{{p0 + ".backend", field.ErrorTypeInvalid}}},
		{name: "a resource backend needs kind and name", mutate: func(i *networkingv1.Ingress) {
			firstPath(i).Backend = networkingv1.IngressBackend{Resource: &corev1Ref}
		}, want: []wantErr{{p0 + ".backend.resource.kind", field.ErrorTypeRequired}, {p0 + ".backend.resource.name", field.ErrorTypeRequired}}},
		{name: "ingressClassName must be a DNS subdomain", mutate: func(i *networkingv1.Ingress) { i.Spec.IngressClassName = ptr.To("Bad Class") },
			want: []wantErr{{"spec.ingressClassName", field.ErrorTypeInvalid}}},
		{name: "a TLS secret name must be a DNS subdomain", mutate: func(i *networkingv1.Ingress) { i.Spec.TLS[0].SecretName = "Bad_Secret" },
			want: []wantErr{{"spec.tls[0].secretName", field.ErrorTypeInvalid}}},
		{name: "the class annotation must match ingressClassName", mutate: func(i *networkingv1.Ingress) {
			i.Annotations = map[string]string{"kubernetes.io/ingress.class": "traefik"}
		}, want: []wantErr{{"annotations.kubernetes.io/ingress.class", field.ErrorTypeInvalid}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ing := validIngress()
			c.mutate(ing)
			checkErrs(t, s.Validate(t.Context(), ing), c.want...)
		})
	}
}

func TestIngressUpdate(t *testing.T) {
	t.Parallel()
	s := findResource(t, "ingresses").Strategy
	t.Run("an update checks the new spec", func(t *testing.T) {
		t.Parallel()
		old := validIngress()
		ing := old.DeepCopy()
		firstPath(ing).PathType = nil
		checkErrs(t, s.ValidateUpdate(t.Context(), ing, old), wantErr{"spec.rules[0].http.paths[0].pathType", field.ErrorTypeRequired})
	})
	t.Run("a stored invalid TLS secret name stays updatable", func(t *testing.T) {
		t.Parallel()
		old := validIngress()
		old.Spec.TLS[0].SecretName = "Bad_Secret"
		checkErrs(t, s.ValidateUpdate(t.Context(), old.DeepCopy(), old))
	})
	t.Run("a stored service name that is only a DNS label stays updatable", func(t *testing.T) {
		t.Parallel()
		old := validIngress()
		firstPath(old).Backend.Service.Name = "1web"
		checkErrs(t, s.Validate(t.Context(), old), wantErr{"spec.rules[0].http.paths[0].backend.service.name", field.ErrorTypeInvalid})
		checkErrs(t, s.ValidateUpdate(t.Context(), old.DeepCopy(), old))
	})
}

func TestIngressStatusSplit(t *testing.T) {
	t.Parallel()
	s := findResource(t, "ingresses").Strategy
	withStatus := func(ip string) *networkingv1.Ingress {
		ing := validIngress()
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: ip}}
		return ing
	}
	t.Run("create drops the status", func(t *testing.T) {
		t.Parallel()
		ing := withStatus("10.0.0.1")
		s.PrepareForCreate(t.Context(), ing)
		if len(ing.Status.LoadBalancer.Ingress) != 0 {
			t.Errorf("status = %+v", ing.Status)
		}
	})
	t.Run("an update keeps the stored status", func(t *testing.T) {
		t.Parallel()
		old := withStatus("10.0.0.1")
		ing := withStatus("10.0.0.2")
		s.PrepareForUpdate(t.Context(), ing, old)
		if ing.Status.LoadBalancer.Ingress[0].IP != "10.0.0.1" {
			t.Errorf("status = %+v", ing.Status)
		}
	})
	t.Run("a status update keeps the stored spec", func(t *testing.T) {
		t.Parallel()
		old := withStatus("")
		ing := withStatus("10.0.0.2")
		ing.Spec.IngressClassName = ptr.To("other")
		s.PrepareForStatusUpdate(t.Context(), ing, old)
		if *ing.Spec.IngressClassName != "nginx" || ing.Status.LoadBalancer.Ingress[0].IP != "10.0.0.2" {
			t.Errorf("spec class %q status %+v", *ing.Spec.IngressClassName, ing.Status)
		}
	})
	t.Run("a status update checks addresses", func(t *testing.T) {
		t.Parallel()
		ing := withStatus("not-an-ip")
		ing.Status.LoadBalancer.Ingress = append(ing.Status.LoadBalancer.Ingress, networkingv1.IngressLoadBalancerIngress{Hostname: "1.2.3.4"})
		checkErrs(t, s.ValidateStatusUpdate(t.Context(), ing, validIngress()),
			wantErr{"status.loadBalancer.ingress[0].ip", field.ErrorTypeInvalid},
			wantErr{"status.loadBalancer.ingress[1].hostname", field.ErrorTypeInvalid})
	})
}

func TestIngressTable(t *testing.T) {
	t.Parallel()
	r := findResource(t, "ingresses")
	if r.ShortNames[0] != "ing" || !r.Status || !r.Namespaced {
		t.Errorf("identity: %+v", r)
	}
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	created := metav1.NewTime(now.Add(-3 * time.Hour))
	host := func(h string) networkingv1.IngressRule { return networkingv1.IngressRule{Host: h} }
	cases := []struct {
		name string
		ing  networkingv1.Ingress
		want []any
	}{
		{name: "an ingress without hosts, class or TLS shows *, <none> and 80",
			ing:  networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "a", CreationTimestamp: created}},
			want: []any{"a", "<none>", "*", "", "80", "3h"}},
		{name: "an ingress shows three hosts, sorted addresses and the TLS port",
			ing: networkingv1.Ingress{
				ObjectMeta: metav1.ObjectMeta{Name: "b", CreationTimestamp: created},
				Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("nginx"),
					Rules: []networkingv1.IngressRule{host("a.io"), host(""), host("b.io"), host("c.io"), host("d.io")},
					TLS:   []networkingv1.IngressTLS{{}}},
				Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{
					{IP: "10.0.0.2"}, {Hostname: "lb.example.com"}, {IP: "10.0.0.1"}, {IP: "10.0.0.2"}}}},
			},
			want: []any{"b", "nginx", "a.io,b.io,c.io + 2 more...", "10.0.0.1,10.0.0.2,lb.example.com", "80, 443", "3h"}},
	}
	var names []string
	for _, col := range r.Table.Columns {
		names = append(names, col.Name)
	}
	if got := strings.Join(names, ","); got != "Name,Class,Hosts,Address,Ports,Age" {
		t.Errorf("columns = %s", got)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkRow(t, r.Table.Row(&c.ing, now), c.want)
		})
	}
}
