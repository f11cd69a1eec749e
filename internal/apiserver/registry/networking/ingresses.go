package networking

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// ingressClassAnnotation is the pre-ingressClassName way to pick a class.
const ingressClassAnnotation = "kubernetes.io/ingress.class"

var (
	pathTypes            = []string{"Exact", "ImplementationSpecific", "Prefix"}
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}
)

func ingressResource() registry.Resource {
	return registry.Resource{
		GVK:        networkingv1.SchemeGroupVersion.WithKind("Ingress"),
		Plural:     "ingresses",
		Singular:   "ingress",
		Namespaced: true,
		ShortNames: []string{"ing"},
		Status:     true,
		Strategy:   ingressStrategy{},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn,
				{Name: "Class", Type: "string", Description: "The name of the IngressClass resource that should be used for additional configuration"},
				{Name: "Hosts", Type: "string", Description: "Hosts that incoming requests are matched against before the ingress rule"},
				{Name: "Address", Type: "string", Description: "Address is a list containing ingress points for the load-balancer"},
				{Name: "Ports", Type: "string", Description: "Ports of TLS configurations that open"},
				registry.AgeColumn,
			},
			Row: ingressRow,
		},
	}
}

// ingressOptions are the leniencies an update grants to data that the stored object
// already carried, so old objects stay updatable.
type ingressOptions struct {
	allowInvalidSecretName       bool
	allowInvalidWildcardHostRule bool
	allowDNSLabelServiceName     bool
}

type ingressStrategy struct{ registry.DefaultStrategy }

// Validate checks a new ingress; on create only, a kubernetes.io/ingress.class annotation
// must agree with spec.ingressClassName.
func (ingressStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	ing := obj.(*networkingv1.Ingress)
	errs := validateIngressSpec(&ing.Spec, field.NewPath("spec"), ingressOptions{})
	if v, ok := ing.Annotations[ingressClassAnnotation]; ok && ing.Spec.IngressClassName != nil && v != *ing.Spec.IngressClassName {
		errs = append(errs, field.Invalid(field.NewPath("annotations").Child(ingressClassAnnotation), v,
			"must match `ingressClassName` when both are specified"))
	}
	return errs
}

// ValidateUpdate checks the new spec with the leniencies the stored object earns.
func (ingressStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	oldIng := old.(*networkingv1.Ingress)
	opts := ingressOptions{
		allowInvalidSecretName:       hasInvalidSecretName(oldIng),
		allowInvalidWildcardHostRule: hasInvalidWildcardHostRule(oldIng),
		allowDNSLabelServiceName:     hasDNSLabelServiceName(oldIng),
	}
	return validateIngressSpec(&obj.(*networkingv1.Ingress).Spec, field.NewPath("spec"), opts)
}

// ValidateStatusUpdate checks the load balancer addresses; IPs the stored status already
// had are kept even when they would not parse today.
func (ingressStrategy) ValidateStatusUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	var oldIPs []string
	for _, lb := range old.(*networkingv1.Ingress).Status.LoadBalancer.Ingress {
		if lb.IP != "" {
			oldIPs = append(oldIPs, lb.IP)
		}
	}
	var errs field.ErrorList
	fldPath := field.NewPath("status", "loadBalancer", "ingress")
	for i, lb := range obj.(*networkingv1.Ingress).Status.LoadBalancer.Ingress {
		idx := fldPath.Index(i)
		if lb.IP != "" {
			errs = append(errs, utilvalidation.IsValidIPForLegacyField(idx.Child("ip"), lb.IP, false, oldIPs)...)
		}
		if lb.Hostname != "" {
			errs = append(errs, invalidEach(idx.Child("hostname"), lb.Hostname, utilvalidation.IsDNS1123Subdomain(lb.Hostname))...)
			if isIP(lb.Hostname) {
				errs = append(errs, field.Invalid(idx.Child("hostname"), lb.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

func validateIngressSpec(spec *networkingv1.IngressSpec, fldPath *field.Path, opts ingressOptions) field.ErrorList {
	var errs field.ErrorList
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		errs = append(errs, field.Invalid(fldPath, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		errs = append(errs, validateBackend(spec.DefaultBackend, fldPath.Child("defaultBackend"), opts)...)
	}
	for i, rule := range spec.Rules {
		errs = append(errs, validateRule(&rule, fldPath.Child("rules").Index(i), opts)...)
	}
	for i, tls := range spec.TLS {
		tlsPath := fldPath.Child("tls").Index(i)
		for j, host := range tls.Hosts {
			errs = append(errs, invalidEach(tlsPath.Child("hosts").Index(j), host, hostMessages(host))...)
		}
		if tls.SecretName != "" && !opts.allowInvalidSecretName {
			errs = append(errs, invalidEach(tlsPath.Child("secretName"), tls.SecretName,
				apimachineryvalidation.NameIsDNSSubdomain(tls.SecretName, false))...)
		}
	}
	if spec.IngressClassName != nil {
		errs = append(errs, invalidEach(fldPath.Child("ingressClassName"), *spec.IngressClassName,
			apimachineryvalidation.NameIsDNSSubdomain(*spec.IngressClassName, false))...)
	}
	return errs
}

// hostMessages checks a host name: a DNS subdomain, or one with a leading "*." wildcard.
func hostMessages(host string) []string {
	if strings.Contains(host, "*") {
		return utilvalidation.IsWildcardDNS1123Subdomain(host)
	}
	return utilvalidation.IsDNS1123Subdomain(host)
}

func validateRule(rule *networkingv1.IngressRule, fldPath *field.Path, opts ingressOptions) field.ErrorList {
	var errs field.ErrorList
	wildcard := strings.Contains(rule.Host, "*")
	if rule.Host != "" {
		if isIP(rule.Host) {
			errs = append(errs, field.Invalid(fldPath.Child("host"), rule.Host, "must be a DNS name, not an IP address"))
		}
		errs = append(errs, invalidEach(fldPath.Child("host"), rule.Host, hostMessages(rule.Host))...)
	}
	if wildcard && opts.allowInvalidWildcardHostRule {
		return errs
	}
	return append(errs, validateRuleValue(rule, fldPath, opts)...)
}

func validateRuleValue(rule *networkingv1.IngressRule, fldPath *field.Path, opts ingressOptions) field.ErrorList {
	if rule.HTTP == nil {
		return nil
	}
	var errs field.ErrorList
	pathsPath := fldPath.Child("http", "paths")
	if len(rule.HTTP.Paths) == 0 {
		errs = append(errs, field.Required(pathsPath, ""))
	}
	for i := range rule.HTTP.Paths {
		errs = append(errs, validatePath(&rule.HTTP.Paths[i], pathsPath.Index(i), opts)...)
	}
	return errs
}

// validatePath checks one HTTP path. pathType has no default in v1: it is required.
func validatePath(p *networkingv1.HTTPIngressPath, fldPath *field.Path, opts ingressOptions) field.ErrorList {
	if p.PathType == nil {
		return field.ErrorList{field.Required(fldPath.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	pathPath := fldPath.Child("path")
	switch *p.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(pathPath, p.Path, "must be an absolute path"))
		}
		for _, seq := range invalidPathSequences {
			if strings.Contains(p.Path, seq) {
				errs = append(errs, field.Invalid(pathPath, p.Path, fmt.Sprintf("must not contain '%s'", seq)))
			}
		}
		for _, suffix := range invalidPathSuffixes {
			if strings.HasSuffix(p.Path, suffix) {
				errs = append(errs, field.Invalid(pathPath, p.Path, fmt.Sprintf("cannot end with '%s'", suffix)))
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(pathPath, p.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("pathType"), *p.PathType, pathTypes))
	}
	return append(errs, validateBackend(&p.Backend, fldPath.Child("backend"), opts)...)
}

// validateBackend checks that a backend names exactly one of a service (with a port name
// or number) or a resource.
func validateBackend(b *networkingv1.IngressBackend, fldPath *field.Path, opts ingressOptions) field.ErrorList {
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(fldPath, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return validateLocalRef(b.Resource.APIGroup, b.Resource.Kind, b.Resource.Name, fldPath.Child("resource"))
	case b.Service == nil:
		return field.ErrorList{field.Invalid(fldPath, "", "resource or service backend is required")}
	}
	var errs field.ErrorList
	svc := b.Service
	namePath := fldPath.Child("service", "name")
	if svc.Name == "" {
		errs = append(errs, field.Required(namePath, ""))
	} else {
		errs = append(errs, invalidEach(namePath, svc.Name, serviceNameMessages(svc.Name, opts))...)
	}
	portPath := fldPath.Child("service", "port")
	switch {
	case svc.Port.Name != "" && svc.Port.Number != 0:
		errs = append(errs, field.Invalid(fldPath, "", "cannot set both port name & port number"))
	case svc.Port.Name != "":
		errs = append(errs, invalidEach(portPath.Child("name"), svc.Port.Name, utilvalidation.IsValidPortName(svc.Port.Name))...)
	case svc.Port.Number != 0:
		for _, msg := range utilvalidation.IsValidPortNum(int(svc.Port.Number)) {
			errs = append(errs, field.Invalid(portPath.Child("number"), svc.Port.Number, msg))
		}
	default:
		errs = append(errs, field.Required(fldPath, "port name or number is required"))
	}
	return errs
}

// serviceNameMessages checks a backend service name as a Service name (a DNS-1035 label).
// A DNS-1123 label that an existing ingress already referenced is kept valid.
func serviceNameMessages(name string, opts ingressOptions) []string {
	if opts.allowDNSLabelServiceName {
		return apimachineryvalidation.NameIsDNSLabel(name, false)
	}
	return apimachineryvalidation.NameIsDNS1035Label(name, false)
}

func hasInvalidSecretName(ing *networkingv1.Ingress) bool {
	for _, tls := range ing.Spec.TLS {
		if tls.SecretName != "" && len(apimachineryvalidation.NameIsDNSSubdomain(tls.SecretName, false)) > 0 {
			return true
		}
	}
	return false
}

func hasInvalidWildcardHostRule(ing *networkingv1.Ingress) bool {
	for i := range ing.Spec.Rules {
		rule := &ing.Spec.Rules[i]
		if strings.Contains(rule.Host, "*") && len(validateRuleValue(rule, field.NewPath("spec"), ingressOptions{})) > 0 {
			return true
		}
	}
	return false
}

// hasDNSLabelServiceName reports whether ing references a service by a name that is a DNS
// label but not a DNS-1035 label (e.g. one starting with a digit).
func hasDNSLabelServiceName(ing *networkingv1.Ingress) bool {
	relaxedOnly := func(b *networkingv1.IngressBackend) bool {
		return b != nil && b.Service != nil &&
			len(apimachineryvalidation.NameIsDNSLabel(b.Service.Name, false)) == 0 &&
			len(apimachineryvalidation.NameIsDNS1035Label(b.Service.Name, false)) > 0
	}
	if relaxedOnly(ing.Spec.DefaultBackend) {
		return true
	}
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for i := range rule.HTTP.Paths {
			if relaxedOnly(&rule.HTTP.Paths[i].Backend) {
				return true
			}
		}
	}
	return false
}

// ingressRow renders CLASS ("<none>" when unset), up to three HOSTS ("*" for none), the
// load balancer ADDRESS and PORTS ("80, 443" when TLS is configured).
func ingressRow(obj runtime.Object, now time.Time) []any {
	ing := obj.(*networkingv1.Ingress)
	class := "<none>"
	if ing.Spec.IngressClassName != nil {
		class = *ing.Spec.IngressClassName
	}
	ports := "80"
	if len(ing.Spec.TLS) > 0 {
		ports = "80, 443"
	}
	return []any{ing.Name, class, formatHosts(ing.Spec.Rules), formatAddress(ing.Status.LoadBalancer), ports,
		registry.Age(ing.CreationTimestamp, now)}
}

func formatHosts(rules []networkingv1.IngressRule) string {
	const max = 3
	var hosts []string
	more := false
	for _, rule := range rules {
		if len(hosts) == max {
			more = true
			break
		}
		if rule.Host != "" {
			hosts = append(hosts, rule.Host)
		}
	}
	if len(hosts) == 0 {
		return "*"
	}
	s := strings.Join(hosts, ",")
	if more {
		s = fmt.Sprintf("%s + %d more...", s, len(rules)-max)
	}
	return s
}

// formatAddress lists the distinct load balancer IPs (or hostnames when no IP), sorted.
func formatAddress(lb networkingv1.IngressLoadBalancerStatus) string {
	seen := map[string]bool{}
	var addrs []string
	for _, in := range lb.Ingress {
		a := in.IP
		if a == "" {
			a = in.Hostname
		}
		if a != "" && !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	sort.Strings(addrs)
	return strings.Join(addrs, ",")
}
