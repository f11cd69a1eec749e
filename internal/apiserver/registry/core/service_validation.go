package core

import (
	"fmt"
	"net"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// maxClientIPAffinitySeconds is upstream's cap on sessionAffinityConfig.clientIP.timeoutSeconds.
const maxClientIPAffinitySeconds = 86400

var (
	serviceTypes = []corev1.ServiceType{corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName,
		corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort}
	sessionAffinities    = []corev1.ServiceAffinity{corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone}
	servicePortProtocols = []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}
	svcIPFamilies        = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	svcIPFamilyPolicies  = []corev1.IPFamilyPolicy{corev1.IPFamilyPolicyPreferDualStack,
		corev1.IPFamilyPolicyRequireDualStack, corev1.IPFamilyPolicySingleStack}
	externalTrafficPolicies = []corev1.ServiceExternalTrafficPolicy{corev1.ServiceExternalTrafficPolicyCluster,
		corev1.ServiceExternalTrafficPolicyLocal}
	internalTrafficPolicies = []corev1.ServiceInternalTrafficPolicy{corev1.ServiceInternalTrafficPolicyCluster,
		corev1.ServiceInternalTrafficPolicyLocal}
	trafficDistributions = []string{corev1.ServiceTrafficDistributionPreferClose,
		corev1.ServiceTrafficDistributionPreferSameZone, corev1.ServiceTrafficDistributionPreferSameNode}
	loadBalancerIPModes = []corev1.LoadBalancerIPMode{corev1.LoadBalancerIPModeProxy, corev1.LoadBalancerIPModeVIP}
)

// validateService checks a service's spec; used on create and, with the update checks, on
// update.
func validateService(svc *corev1.Service) field.ErrorList {
	spec := &svc.Spec
	specPath := field.NewPath("spec")
	errs := serviceTopologyAnnotationErrs(svc)
	if len(spec.Ports) == 0 && !serviceIsHeadless(svc) && spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(specPath.Child("ports"), ""))
	}
	errs = append(errs, serviceTypeErrs(svc, specPath)...)
	errs = append(errs, servicePortsErrs(svc, specPath.Child("ports"))...)
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(spec.Selector, specPath.Child("selector"))...)
	}
	errs = append(errs, sessionAffinityErrs(spec, specPath)...)
	errs = append(errs, serviceClusterIPsErrs(svc)...)
	for i, ip := range spec.ExternalIPs {
		p := specPath.Child("externalIPs").Index(i)
		if ipErrs := validation.IsValidIP(p, ip); len(ipErrs) != 0 {
			errs = append(errs, ipErrs...)
		} else {
			errs = append(errs, nonSpecialIPErrs(ip, p)...)
		}
	}
	errs = append(errs, sourceRangesErrs(svc)...)
	if spec.AllocateLoadBalancerNodePorts != nil && spec.Type != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(specPath.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer && spec.AllocateLoadBalancerNodePorts == nil {
		// Upstream reports this one without the spec prefix.
		errs = append(errs, field.Required(field.NewPath("allocateLoadBalancerNodePorts"), ""))
	}
	errs = append(errs, loadBalancerClassErrs(nil, svc)...)
	errs = append(errs, trafficPolicyErrs(svc, specPath)...)
	return errs
}

// serviceTopologyAnnotationErrs rejects disagreeing topology-mode and topology-aware-hints
// annotations.
func serviceTopologyAnnotationErrs(svc *corev1.Service) field.ErrorList {
	hints, hintsSet := svc.Annotations[corev1.DeprecatedAnnotationTopologyAwareHints]
	mode, modeSet := svc.Annotations[corev1.AnnotationTopologyMode]
	if hintsSet && modeSet && hints != mode {
		return field.ErrorList{field.Invalid(field.NewPath("metadata", "annotations").Key(corev1.AnnotationTopologyMode), mode,
			fmt.Sprintf("must match annotations[%s] when both are specified", corev1.DeprecatedAnnotationTopologyAwareHints))}
	}
	return nil
}

// serviceTypeErrs checks spec.type and the rules that depend on it.
func serviceTypeErrs(svc *corev1.Service, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	switch spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		if serviceIsHeadless(svc) {
			errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(0), spec.ClusterIPs[0],
				fmt.Sprintf("may not be set to 'None' for %s services", spec.Type)))
		}
	case corev1.ServiceTypeExternalName:
		if len(spec.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(spec.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if spec.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		// A trailing dot marks the name fully qualified.
		if cname := strings.TrimSuffix(spec.ExternalName, "."); cname != "" {
			for _, msg := range validation.IsDNS1123Subdomain(cname) {
				errs = append(errs, field.Invalid(specPath.Child("externalName"), cname, msg))
			}
		} else {
			errs = append(errs, field.Required(specPath.Child("externalName"), ""))
		}
	case "":
		errs = append(errs, field.Required(specPath.Child("type"), ""))
	}
	if spec.Type != "" && !slices.Contains(serviceTypes, spec.Type) {
		errs = append(errs, field.NotSupported(specPath.Child("type"), spec.Type, serviceTypes))
	}
	return errs
}

// servicePortsErrs checks each port and the uniqueness of names, node ports and
// port/protocol pairs.
func servicePortsErrs(svc *corev1.Service, portsPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	ports := svc.Spec.Ports
	names := map[string]bool{}
	type key struct {
		protocol corev1.Protocol
		port     int32
	}
	nodePorts, servicePorts := map[key]bool{}, map[key]bool{}
	for i := range ports {
		p, path := &ports[i], portsPath.Index(i)
		errs = append(errs, servicePortErrs(p, len(ports) > 1, names, path)...)
		if svc.Spec.Type == corev1.ServiceTypeClusterIP && p.NodePort != 0 {
			errs = append(errs, field.Forbidden(path.Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
		}
		if p.NodePort != 0 {
			k := key{p.Protocol, p.NodePort}
			if nodePorts[k] {
				errs = append(errs, field.Duplicate(path.Child("nodePort"), p.NodePort))
			}
			nodePorts[k] = true
		}
		k := key{p.Protocol, p.Port}
		if servicePorts[k] {
			errs = append(errs, field.Duplicate(path, corev1.ServicePort{Protocol: p.Protocol, Port: p.Port}))
		}
		servicePorts[k] = true
	}
	return errs
}

// servicePortErrs checks one service port; names are required when there are several and
// must be unique DNS labels.
func servicePortErrs(p *corev1.ServicePort, requireName bool, names map[string]bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case requireName && p.Name == "":
		errs = append(errs, field.Required(path.Child("name"), ""))
	case p.Name != "":
		errs = append(errs, dns1123LabelErrs(p.Name, path.Child("name"))...)
		if names[p.Name] {
			errs = append(errs, field.Duplicate(path.Child("name"), p.Name))
		}
		names[p.Name] = true
	}
	for _, msg := range validation.IsValidPortNum(int(p.Port)) {
		errs = append(errs, field.Invalid(path.Child("port"), p.Port, msg))
	}
	errs = append(errs, portProtocolErrs(p.Protocol, path.Child("protocol"))...)
	errs = append(errs, portNumOrNameErrs(p.TargetPort, path.Child("targetPort"))...)
	if p.AppProtocol != nil {
		errs = append(errs, qualifiedNameFieldErrs(*p.AppProtocol, path.Child("appProtocol"))...)
	}
	return errs
}

// portNumOrNameErrs checks a target port: a number in 1-65535 or an IANA service name.
func portNumOrNameErrs(port intstr.IntOrString, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Type == intstr.String {
		for _, msg := range validation.IsValidPortName(port.StrVal) {
			errs = append(errs, field.Invalid(path, port.StrVal, msg))
		}
		return errs
	}
	for _, msg := range validation.IsValidPortNum(port.IntValue()) {
		errs = append(errs, field.Invalid(path, port.IntValue(), msg))
	}
	return errs
}

// portProtocolErrs checks a port protocol: TCP, UDP or SCTP.
func portProtocolErrs(protocol corev1.Protocol, path *field.Path) field.ErrorList {
	if protocol == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	if !slices.Contains(servicePortProtocols, protocol) {
		return field.ErrorList{field.NotSupported(path, protocol, servicePortProtocols)}
	}
	return nil
}

// sessionAffinityErrs checks spec.sessionAffinity and its config.
func sessionAffinityErrs(spec *corev1.ServiceSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	path := specPath.Child("sessionAffinity")
	if spec.SessionAffinity == "" {
		errs = append(errs, field.Required(path, ""))
	} else if !slices.Contains(sessionAffinities, spec.SessionAffinity) {
		errs = append(errs, field.NotSupported(path, spec.SessionAffinity, sessionAffinities))
	}
	cfgPath := specPath.Child("sessionAffinityConfig")
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityNone:
		if spec.SessionAffinityConfig != nil {
			errs = append(errs, field.Forbidden(cfgPath, "must not be set when session affinity is None"))
		}
	case corev1.ServiceAffinityClientIP:
		const when = "when session affinity type is ClientIP"
		cfg := spec.SessionAffinityConfig
		switch {
		case cfg == nil:
			errs = append(errs, field.Required(cfgPath, when))
		case cfg.ClientIP == nil:
			errs = append(errs, field.Required(cfgPath.Child("clientIP"), when))
		case cfg.ClientIP.TimeoutSeconds == nil:
			errs = append(errs, field.Required(cfgPath.Child("clientIP", "timeoutSeconds"), when))
		case *cfg.ClientIP.TimeoutSeconds <= 0 || *cfg.ClientIP.TimeoutSeconds > maxClientIPAffinitySeconds:
			errs = append(errs, field.Invalid(cfgPath.Child("clientIP", "timeoutSeconds"), *cfg.ClientIP.TimeoutSeconds,
				fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds)))
		}
	}
	return errs
}

// sourceRangesErrs checks spec.loadBalancerSourceRanges, or the legacy annotation when the
// field is empty.
func sourceRangesErrs(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	notLB := svc.Spec.Type != corev1.ServiceTypeLoadBalancer
	const lbOnly = "may only be used when `type` is 'LoadBalancer'"
	if ranges := svc.Spec.LoadBalancerSourceRanges; len(ranges) > 0 {
		// Upstream names this field with a capital L.
		path := field.NewPath("spec", "LoadBalancerSourceRanges")
		if notLB {
			errs = append(errs, field.Forbidden(path, lbOnly))
		}
		for i, r := range ranges {
			errs = append(errs, validation.IsValidCIDR(path.Index(i), strings.TrimSpace(r))...)
		}
		return errs
	}
	val, ok := svc.Annotations[corev1.AnnotationLoadBalancerSourceRangesKey]
	if !ok {
		return nil
	}
	path := field.NewPath("metadata", "annotations").Key(corev1.AnnotationLoadBalancerSourceRangesKey)
	if notLB {
		errs = append(errs, field.Forbidden(path, lbOnly))
	}
	if val = strings.TrimSpace(val); val != "" {
		for _, r := range strings.Split(val, ",") {
			errs = append(errs, validation.IsValidCIDR(path, strings.TrimSpace(r))...)
		}
	}
	return errs
}

// trafficPolicyErrs checks externalTrafficPolicy, healthCheckNodePort,
// internalTrafficPolicy and trafficDistribution.
func trafficPolicyErrs(svc *corev1.Service, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	etp := specPath.Child("externalTrafficPolicy")
	switch {
	case !serviceExternallyAccessible(svc):
		if spec.ExternalTrafficPolicy != "" {
			errs = append(errs, field.Invalid(etp, spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
		}
	case spec.ExternalTrafficPolicy == "":
		errs = append(errs, field.Required(etp, ""))
	case !slices.Contains(externalTrafficPolicies, spec.ExternalTrafficPolicy):
		errs = append(errs, field.NotSupported(etp, spec.ExternalTrafficPolicy, externalTrafficPolicies))
	}
	hc := specPath.Child("healthCheckNodePort")
	switch {
	case !ServiceNeedsHealthCheckNodePort(svc):
		if spec.HealthCheckNodePort != 0 {
			errs = append(errs, field.Invalid(hc, spec.HealthCheckNodePort,
				"may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
		}
	case spec.HealthCheckNodePort == 0:
		// The allocator assigns it; only a value set by the client is checked.
	default:
		for _, msg := range validation.IsValidPortNum(int(spec.HealthCheckNodePort)) {
			errs = append(errs, field.Invalid(hc, spec.HealthCheckNodePort, msg))
		}
	}
	itp := specPath.Child("internalTrafficPolicy")
	if spec.InternalTrafficPolicy == nil {
		if spec.Type == corev1.ServiceTypeClusterIP || spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer {
			errs = append(errs, field.Required(itp, ""))
		}
	} else if !slices.Contains(internalTrafficPolicies, *spec.InternalTrafficPolicy) {
		errs = append(errs, field.NotSupported(itp, *spec.InternalTrafficPolicy, internalTrafficPolicies))
	}
	if td := spec.TrafficDistribution; td != nil && !slices.Contains(trafficDistributions, *td) {
		errs = append(errs, field.NotSupported(specPath.Child("trafficDistribution"), *td, trafficDistributions))
	}
	return errs
}

// loadBalancerClassErrs checks spec.loadBalancerClass: LoadBalancer only, a qualified name,
// and fixed once a LoadBalancer service has one (old is nil on create).
func loadBalancerClassErrs(old, svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("spec", "loadBalancerClass")
	isLB := svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	if old != nil && old.Spec.Type == corev1.ServiceTypeLoadBalancer && isLB &&
		!ptr.Equal(old.Spec.LoadBalancerClass, svc.Spec.LoadBalancerClass) {
		errs = append(errs, field.Invalid(path, svc.Spec.LoadBalancerClass, "may not change once set"))
	}
	if svc.Spec.LoadBalancerClass == nil {
		return errs
	}
	if !isLB {
		return append(errs, field.Forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
	}
	return append(errs, qualifiedNameFieldErrs(*svc.Spec.LoadBalancerClass, path)...)
}

// serviceClusterIPsErrs checks clusterIP, clusterIPs, svcIPFamilies and ipFamilyPolicy
// together (ExternalName services are checked by serviceTypeErrs).
func serviceClusterIPsErrs(svc *corev1.Service) field.ErrorList {
	spec := &svc.Spec
	if spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var errs field.ErrorList
	ipsPath := field.NewPath("spec", "clusterIPs")
	switch {
	case spec.ClusterIP != "" && len(spec.ClusterIPs) == 0:
		errs = append(errs, field.Required(ipsPath, ""))
	case spec.ClusterIP != "" && spec.ClusterIPs[0] != spec.ClusterIP:
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "first value must match `clusterIP`"))
	case spec.ClusterIP == "" && len(spec.ClusterIPs) != 0:
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}
	famPath := field.NewPath("spec", "ipFamilies")
	seen := map[corev1.IPFamily]bool{}
	for i, f := range spec.IPFamilies {
		if !slices.Contains(svcIPFamilies, f) {
			errs = append(errs, field.NotSupported(famPath.Index(i), f, svcIPFamilies))
		}
		if seen[f] {
			errs = append(errs, field.Duplicate(famPath.Index(i), f))
		}
		seen[f] = true
	}
	if p := spec.IPFamilyPolicy; p != nil && !slices.Contains(svcIPFamilyPolicies, *p) {
		errs = append(errs, field.NotSupported(field.NewPath("spec", "ipFamilyPolicy"), *p, svcIPFamilyPolicies))
	}
	return append(errs, clusterIPValuesErrs(svc, ipsPath)...)
}

// clusterIPValuesErrs checks the addresses in spec.clusterIPs: "None" alone or at most one
// valid IP per family, matching svcIPFamilies position by position.
func clusterIPValuesErrs(svc *corev1.Service, ipsPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	ips := svc.Spec.ClusterIPs
	invalid := false
	for i, ip := range ips {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(ips) > 1 {
				invalid = true
				errs = append(errs, field.Invalid(ipsPath, ips, "'None' must be the first and only value"))
			}
			continue
		}
		ipErrs := validation.IsValidIP(ipsPath.Index(i), ip)
		invalid = invalid || len(ipErrs) != 0
		errs = append(errs, ipErrs...)
	}
	if len(ips) > 2 {
		errs = append(errs, field.Invalid(ipsPath, ips, "may only hold up to 2 values"))
	}
	if invalid {
		return errs
	}
	if len(ips) > 1 && !isDualStackPair(ips) {
		errs = append(errs, field.Invalid(ipsPath, ips, "may specify no more than one IP for each IP family"))
	}
	if serviceIsHeadless(svc) {
		return errs
	}
	for i, ip := range ips {
		if i >= len(svc.Spec.IPFamilies) {
			break
		}
		v6 := isIPv6Addr(ip)
		switch fam := svc.Spec.IPFamilies[i]; {
		case fam == corev1.IPv4Protocol && v6:
			errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
		case fam == corev1.IPv6Protocol && !v6:
			errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
		}
	}
	return errs
}

// serviceClusterIPsUpdateErrs forbids changing the primary cluster IP, and changing any
// cluster IP except by adding or (with ipFamilyPolicy SingleStack) releasing the secondary.
// Changes to or from ExternalName and between headless forms are free.
func serviceClusterIPsUpdateErrs(old, svc *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if serviceIsHeadless(old) && serviceIsHeadless(svc) {
		return nil
	}
	var errs field.ErrorList
	path := field.NewPath("spec", "clusterIPs")
	oldIPs, newIPs := old.Spec.ClusterIPs, svc.Spec.ClusterIPs
	const changed = "may not change once set"
	switch {
	case len(oldIPs) == len(newIPs):
		for i := range oldIPs {
			if oldIPs[i] != newIPs[i] {
				errs = append(errs, field.Invalid(path.Index(i), newIPs, changed))
			}
		}
	case len(oldIPs) > len(newIPs):
		if len(newIPs) == 0 {
			errs = append(errs, field.Invalid(path.Index(0), newIPs, "primary clusterIP can not be unset"))
		}
		if len(newIPs) > 0 && newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(path.Index(0), newIPs, changed))
		}
		if len(newIPs) == 1 && !svcSingleStack(svc) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.Spec.IPFamilyPolicy,
				"must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	default:
		if len(oldIPs) > 0 && newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(path.Index(0), newIPs, changed))
		}
	}
	return errs
}

// serviceIPFamiliesUpdateErrs applies the same rule as serviceClusterIPsUpdateErrs to
// spec.ipFamilies.
func serviceIPFamiliesUpdateErrs(old, svc *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if serviceIsHeadless(old) || serviceIsHeadless(svc) {
		return nil
	}
	var errs field.ErrorList
	path := field.NewPath("spec", "ipFamilies").Index(0)
	oldF, newF := old.Spec.IPFamilies, svc.Spec.IPFamilies
	const changed = "may not change once set"
	switch {
	case len(oldF) == len(newF):
		for i := range oldF {
			if oldF[i] != newF[i] {
				errs = append(errs, field.Invalid(path, newF, changed))
			}
		}
	case len(oldF) > len(newF):
		if len(svc.Spec.ClusterIPs) == 0 {
			errs = append(errs, field.Invalid(path, newF, "primary ipFamily can not be unset"))
		}
		if len(newF) > 0 && newF[0] != oldF[0] {
			errs = append(errs, field.Invalid(path, svc.Spec.ClusterIPs, changed))
		}
		if len(newF) == 1 && !svcSingleStack(svc) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.Spec.IPFamilyPolicy,
				"must be set to 'SingleStack' when releasing the secondary ipFamily"))
		}
	default:
		if len(oldF) > 0 && len(newF) > 0 && newF[0] != oldF[0] {
			errs = append(errs, field.Invalid(path, svc.Spec.ClusterIPs, changed))
		}
	}
	return errs
}

// loadBalancerStatusErrs checks status.loadBalancer: ingress only on LoadBalancer services,
// valid IPs with an ipMode, DNS hostnames.
func loadBalancerStatusErrs(status *corev1.LoadBalancerStatus, spec *corev1.ServiceSpec, path *field.Path) field.ErrorList {
	ingPath := path.Child("ingress")
	if spec.Type != corev1.ServiceTypeLoadBalancer && len(status.Ingress) != 0 {
		return field.ErrorList{field.Forbidden(ingPath, "may only be used when `spec.type` is 'LoadBalancer'")}
	}
	var errs field.ErrorList
	for i, ing := range status.Ingress {
		p := ingPath.Index(i)
		if ing.IP != "" {
			errs = append(errs, validation.IsValidIP(p.Child("ip"), ing.IP)...)
		}
		switch {
		case ing.IPMode == nil && ing.IP != "":
			errs = append(errs, field.Required(p.Child("ipMode"), "must be specified when `ip` is set"))
		case ing.IPMode != nil && ing.IP == "":
			errs = append(errs, field.Forbidden(p.Child("ipMode"), "may not be specified when `ip` is not set"))
		case ing.IPMode != nil && !slices.Contains(loadBalancerIPModes, *ing.IPMode):
			errs = append(errs, field.NotSupported(p.Child("ipMode"), *ing.IPMode, loadBalancerIPModes))
		}
		if ing.Hostname != "" {
			for _, msg := range validation.IsDNS1123Subdomain(ing.Hostname) {
				errs = append(errs, field.Invalid(p.Child("hostname"), ing.Hostname, msg))
			}
			if net.ParseIP(ing.Hostname) != nil {
				errs = append(errs, field.Invalid(p.Child("hostname"), ing.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

func svcSingleStack(svc *corev1.Service) bool {
	return svc.Spec.IPFamilyPolicy != nil && *svc.Spec.IPFamilyPolicy == corev1.IPFamilyPolicySingleStack
}

// isDualStackPair reports whether ips holds exactly one IPv4 and one IPv6 address.
func isDualStackPair(ips []string) bool {
	if len(ips) != 2 {
		return false
	}
	return isIPv6Addr(ips[0]) != isIPv6Addr(ips[1])
}

func isIPv6Addr(s string) bool {
	ip := net.ParseIP(s)
	return ip != nil && ip.To4() == nil
}

// dns1123LabelErrs checks that value is an RFC 1123 label.
func dns1123LabelErrs(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

// qualifiedNameFieldErrs checks that value is a qualified name ([prefix/]name).
func qualifiedNameFieldErrs(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}
