package core

import (
	"context"
	"net"
	"reflect"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry"
)

func servicesResource() registry.Resource {
	return registry.Resource{
		GVK:            coreGVK("Service"),
		Plural:         "services",
		Singular:       "service",
		Namespaced:     true,
		ShortNames:     []string{"svc"},
		Categories:     []string{"all"},
		Status:         true,
		Strategy:       serviceStrategy{},
		Table:          serviceTable(),
		Fields:         serviceFields,
		NameValidation: apimachineryvalidation.NameIsDNS1035Label,
	}
}

// serviceFields are the field-selector fields upstream supports for services; kube-proxy
// uses spec.clusterIP!=None to skip headless services.
func serviceFields(obj runtime.Object) fields.Set {
	svc := obj.(*corev1.Service)
	return fields.Set{
		"spec.clusterIP": svc.Spec.ClusterIP,
		"spec.type":      string(svc.Spec.Type),
	}
}

// ServiceNeedsClusterIP reports whether svc is of a type that carries a virtual cluster IP
// that must be allocated or reserved: every type but ExternalName, unless headless
// (clusterIP "None"). The allocator allocates when spec.clusterIP is empty and reserves
// spec.clusterIPs otherwise.
func ServiceNeedsClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

// ServiceNeedsNodePorts reports whether every port of svc must have a node port: NodePort
// services, and LoadBalancer services unless allocateLoadBalancerNodePorts is false.
func ServiceNeedsNodePorts(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeLoadBalancer:
		return svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

// ServiceNeedsHealthCheckNodePort reports whether svc needs spec.healthCheckNodePort: a
// LoadBalancer service with externalTrafficPolicy Local.
func ServiceNeedsHealthCheckNodePort(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer &&
		svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

// ServiceNodePorts returns the distinct non-zero node ports set on svc's ports, in port
// order. The health-check node port is not included.
func ServiceNodePorts(svc *corev1.Service) []int32 {
	var out []int32
	seen := map[int32]bool{}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 && !seen[p.NodePort] {
			seen[p.NodePort] = true
			out = append(out, p.NodePort)
		}
	}
	return out
}

// serviceExternallyAccessible reports whether svc is reachable from outside the cluster,
// the services externalTrafficPolicy applies to.
func serviceExternallyAccessible(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeClusterIP:
		return len(svc.Spec.ExternalIPs) > 0
	}
	return false
}

// serviceIsHeadless reports whether svc's cluster IPs are exactly ["None"].
func serviceIsHeadless(svc *corev1.Service) bool {
	return len(svc.Spec.ClusterIPs) == 1 && svc.Spec.ClusterIPs[0] == corev1.ClusterIPNone
}

type serviceStrategy struct{ registry.DefaultStrategy }

func (serviceStrategy) Default(obj runtime.Object) { defaultService(obj.(*corev1.Service)) }

// PrepareForCreate clears status and fills spec.clusterIPs from a lone spec.clusterIP, as
// clients that only know the singular field expect.
func (serviceStrategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	svc := obj.(*corev1.Service)
	svc.Status = corev1.ServiceStatus{}
	if svc.Spec.ClusterIP != "" && len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
}

// PrepareForUpdate keeps status, carries allocated values a client left out (an apply of
// a manifest without clusterIP or nodePort), reconciles clusterIP with clusterIPs and
// drops values the new type no longer uses.
func (serviceStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	svc, oldSvc := obj.(*corev1.Service), old.(*corev1.Service)
	svc.Status = *oldSvc.Status.DeepCopy()
	keepAllocatedServiceValues(svc, oldSvc)
	normalizeServiceClusterIPs(svc, oldSvc)
	dropServiceTypeFields(svc, oldSvc)
}

func (serviceStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateService(obj.(*corev1.Service))
}

func (serviceStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	svc, oldSvc := obj.(*corev1.Service), old.(*corev1.Service)
	errs := serviceClusterIPsUpdateErrs(oldSvc, svc)
	errs = append(errs, serviceIPFamiliesUpdateErrs(oldSvc, svc)...)
	errs = append(errs, loadBalancerClassErrs(oldSvc, svc)...)
	if ServiceNeedsHealthCheckNodePort(oldSvc) && ServiceNeedsHealthCheckNodePort(svc) &&
		svc.Spec.HealthCheckNodePort != oldSvc.Spec.HealthCheckNodePort {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "healthCheckNodePort"), "field is immutable"))
	}
	return append(errs, validateService(svc)...)
}

func (serviceStrategy) ValidateStatusUpdate(_ context.Context, obj, _ runtime.Object) field.ErrorList {
	svc := obj.(*corev1.Service)
	return loadBalancerStatusErrs(&svc.Status.LoadBalancer, &svc.Spec, field.NewPath("status", "loadBalancer"))
}

// defaultService applies upstream's service defaults, plus the IP family fields upstream's
// allocator fills in (this cluster is single-stack IPv4 unless the client picked IPv6 IPs).
func defaultService(svc *corev1.Service) {
	spec := &svc.Spec
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityNone:
		spec.SessionAffinityConfig = nil
	case corev1.ServiceAffinityClientIP:
		cfg := spec.SessionAffinityConfig
		if cfg == nil || cfg.ClientIP == nil || cfg.ClientIP.TimeoutSeconds == nil {
			spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{
				ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To(corev1.DefaultClientIPServiceAffinitySeconds)},
			}
		}
	}
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	if serviceExternallyAccessible(svc) && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if spec.InternalTrafficPolicy == nil && (spec.Type == corev1.ServiceTypeClusterIP ||
		spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer) {
		spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyCluster)
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer {
		if spec.AllocateLoadBalancerNodePorts == nil {
			spec.AllocateLoadBalancerNodePorts = ptr.To(true)
		}
		for i, ing := range svc.Status.LoadBalancer.Ingress {
			if ing.IP != "" && ing.IPMode == nil {
				svc.Status.LoadBalancer.Ingress[i].IPMode = ptr.To(corev1.LoadBalancerIPModeVIP)
			}
		}
	}
	defaultServiceIPFamilies(svc)
}

// defaultServiceIPFamilies fills ipFamilyPolicy and svcIPFamilies for services that use cluster
// IPs: SingleStack (RequireDualStack for headless services without a selector, as
// upstream), and the families of the requested IPs, else IPv4.
func defaultServiceIPFamilies(svc *corev1.Service) {
	spec := &svc.Spec
	if spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	headless := spec.ClusterIP == corev1.ClusterIPNone
	if spec.IPFamilyPolicy == nil {
		policy := corev1.IPFamilyPolicySingleStack
		if headless && len(spec.Selector) == 0 {
			policy = corev1.IPFamilyPolicyRequireDualStack
		}
		spec.IPFamilyPolicy = &policy
	}
	if len(spec.IPFamilies) != 0 {
		return
	}
	ips := spec.ClusterIPs
	if len(ips) == 0 && spec.ClusterIP != "" {
		ips = []string{spec.ClusterIP}
	}
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			continue
		}
		family := corev1.IPv4Protocol
		if ip.To4() == nil {
			family = corev1.IPv6Protocol
		}
		if !slices.Contains(spec.IPFamilies, family) {
			spec.IPFamilies = append(spec.IPFamilies, family)
		}
	}
	if len(spec.IPFamilies) == 0 {
		spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
	}
}

// keepAllocatedServiceValues copies the cluster IPs, node ports and health-check node port
// of old into svc where svc leaves them empty and both types still use them.
func keepAllocatedServiceValues(svc, old *corev1.Service) {
	if old.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.Type != corev1.ServiceTypeExternalName {
		if svc.Spec.ClusterIP == "" {
			svc.Spec.ClusterIP = old.Spec.ClusterIP
		}
		if len(svc.Spec.ClusterIPs) == 0 && len(old.Spec.ClusterIPs) > 0 {
			svc.Spec.ClusterIPs = append([]string(nil), old.Spec.ClusterIPs...)
		}
	}
	if serviceUsesNodePorts(old) && serviceUsesNodePorts(svc) {
		inNew := map[int32]bool{}
		for _, p := range svc.Spec.Ports {
			inNew[p.NodePort] = p.NodePort != 0
		}
		byName := map[string]int32{}
		for _, p := range old.Spec.Ports {
			byName[p.Name] = p.NodePort
		}
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if p.NodePort == 0 && !inNew[byName[p.Name]] {
				p.NodePort = byName[p.Name]
			}
		}
	}
	if ServiceNeedsHealthCheckNodePort(old) && ServiceNeedsHealthCheckNodePort(svc) && svc.Spec.HealthCheckNodePort == 0 {
		svc.Spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
	}
}

// serviceUsesNodePorts reports whether svc's type can carry node ports.
func serviceUsesNodePorts(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
}

// normalizeServiceClusterIPs reconciles clusterIP and clusterIPs on update when a client
// changed or cleared only one of them.
func normalizeServiceClusterIPs(svc, old *corev1.Service) {
	sameIPs := slices.Equal(svc.Spec.ClusterIPs, old.Spec.ClusterIPs)
	if len(old.Spec.ClusterIPs) > 0 && len(svc.Spec.ClusterIPs) == 0 && old.Spec.ClusterIP == svc.Spec.ClusterIP {
		svc.Spec.ClusterIPs = append([]string(nil), old.Spec.ClusterIPs...)
		sameIPs = true
	}
	if old.Spec.ClusterIP == svc.Spec.ClusterIP || !sameIPs {
		return
	}
	if svc.Spec.ClusterIP == "" {
		svc.Spec.ClusterIPs = nil
	} else {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
}

// dropServiceTypeFields clears, on a type change, the values the new type does not use,
// unless the client also changed them (then validation reports the conflict).
func dropServiceTypeFields(svc, old *corev1.Service) {
	s, o := &svc.Spec, &old.Spec
	if o.Type != corev1.ServiceTypeExternalName && s.Type == corev1.ServiceTypeExternalName {
		if s.ClusterIP == o.ClusterIP && slices.Equal(s.ClusterIPs, o.ClusterIPs) {
			s.ClusterIP, s.ClusterIPs = "", nil
		}
		if slices.Equal(s.IPFamilies, o.IPFamilies) {
			s.IPFamilies = nil
		}
		if reflect.DeepEqual(s.IPFamilyPolicy, o.IPFamilyPolicy) {
			s.IPFamilyPolicy = nil
		}
	}
	if serviceUsesNodePorts(old) && !serviceUsesNodePorts(svc) && nodePortsUnchanged(svc, old) {
		for i := range s.Ports {
			s.Ports[i].NodePort = 0
		}
	}
	if ServiceNeedsHealthCheckNodePort(old) && !ServiceNeedsHealthCheckNodePort(svc) &&
		s.HealthCheckNodePort == o.HealthCheckNodePort {
		s.HealthCheckNodePort = 0
	}
	if o.Type == corev1.ServiceTypeLoadBalancer && s.Type != corev1.ServiceTypeLoadBalancer {
		if s.AllocateLoadBalancerNodePorts != nil && o.AllocateLoadBalancerNodePorts != nil &&
			*s.AllocateLoadBalancerNodePorts == *o.AllocateLoadBalancerNodePorts {
			s.AllocateLoadBalancerNodePorts = nil
		}
		if reflect.DeepEqual(s.LoadBalancerClass, o.LoadBalancerClass) {
			s.LoadBalancerClass = nil
		}
	}
	if serviceExternallyAccessible(old) && !serviceExternallyAccessible(svc) &&
		s.ExternalTrafficPolicy == o.ExternalTrafficPolicy {
		s.ExternalTrafficPolicy = ""
	}
	if s.Type != corev1.ServiceTypeLoadBalancer {
		svc.Status.LoadBalancer = corev1.LoadBalancerStatus{}
	}
}

// nodePortsUnchanged reports whether svc sets no node port that old did not have: a client
// that kept or removed node ports did not ask for new ones.
func nodePortsUnchanged(svc, old *corev1.Service) bool {
	had := map[int32]bool{}
	for _, p := range old.Spec.Ports {
		had[p.NodePort] = true
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 && !had[p.NodePort] {
			return false
		}
	}
	return true
}
