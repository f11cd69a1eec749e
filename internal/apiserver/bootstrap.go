package apiserver

import (
	"context"
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry/scheduling"
)

// bootstrap creates the system namespaces and the kubernetes Service with its Endpoints
// and EndpointSlice pointing at this server. It is idempotent: existing objects are kept,
// the endpoints are corrected when the address changed.
func (s *Server) bootstrap(ctx context.Context) error {
	ctx = withSystemWrite(ctx)
	for _, ns := range systemNamespaces {
		if err := s.ensure(ctx, "/v1/namespaces", "", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	for _, pc := range scheduling.SystemPriorityClasses() {
		if err := s.ensure(ctx, "scheduling.k8s.io/v1/priorityclasses", "", pc); err != nil {
			return err
		}
	}
	ip := s.opts.AdvertiseAddress
	if ip == nil {
		ip = net.ParseIP("127.0.0.1")
	}
	port := s.advertisedPort()
	svcIP := firstServiceIP(s.opts.ServiceCIDR)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default",
			Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: svcIP.String(),
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(port)}},
		},
	}
	if err := s.ensure(ctx, "/v1/services", "default", svc); err != nil {
		return err
	}
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default",
			Labels: map[string]string{"endpointslice.kubernetes.io/skip-mirror": "true"}},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: ip.String()}},
			Ports:     []corev1.EndpointPort{{Name: "https", Port: port, Protocol: corev1.ProtocolTCP}},
		}},
	}
	if err := s.ensureReplace(ctx, "/v1/endpoints", "default", ep); err != nil {
		return err
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default",
			Labels: map[string]string{discoveryv1.LabelServiceName: "kubernetes", discoveryv1.LabelManagedBy: "capstan-apiserver"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip.String()}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	return s.ensureReplace(ctx, "discovery.k8s.io/v1/endpointslices", "default", slice)
}

func firstServiceIP(cidr *net.IPNet) net.IP {
	ip := make(net.IP, len(cidr.IP))
	copy(ip, cidr.IP)
	ip[len(ip)-1]++
	return ip
}

// ensure creates obj unless it exists.
func (s *Server) ensure(ctx context.Context, handler, ns string, obj runtime.Object) error {
	h := s.handlers[handler]
	if h == nil {
		return nil
	}
	if _, err := h.create(ctx, ns, obj, false); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating %s: %w", handler, err)
	}
	return nil
}

// ensureReplace creates obj or replaces the stored one's content with it.
func (s *Server) ensureReplace(ctx context.Context, handler, ns string, obj runtime.Object) error {
	h := s.handlers[handler]
	if h == nil {
		return nil
	}
	name := objectName(obj)
	_, _, err := h.update(ctx, ns, name, modeSystem, false, func(existing runtime.Object) (runtime.Object, error) {
		o := obj.DeepCopyObject()
		m, _ := meta.Accessor(existing)
		om, _ := meta.Accessor(o)
		om.SetUID(m.GetUID())
		om.SetCreationTimestamp(m.GetCreationTimestamp())
		om.SetGeneration(m.GetGeneration())
		return o, nil
	})
	if apierrors.IsNotFound(err) {
		return s.ensure(ctx, handler, ns, obj)
	}
	if err != nil {
		return fmt.Errorf("updating %s: %w", handler, err)
	}
	return nil
}

func objectName(obj runtime.Object) string {
	if m, ok := obj.(metav1.Object); ok {
		return m.GetName()
	}
	return ""
}
