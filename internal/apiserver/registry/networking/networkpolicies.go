package networking

import (
	"context"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

func networkPolicyResource() registry.Resource {
	return registry.Resource{
		GVK:        networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"),
		Plural:     "networkpolicies",
		Singular:   "networkpolicy",
		Namespaced: true,
		ShortNames: []string{"netpol"},
		Strategy:   networkPolicyStrategy{},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn,
				{Name: "Pod-Selector", Type: "string", Description: networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]},
				registry.AgeColumn,
			},
			Row: func(obj runtime.Object, now time.Time) []any {
				np := obj.(*networkingv1.NetworkPolicy)
				return []any{np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), registry.Age(np.CreationTimestamp, now)}
			},
		},
	}
}

// policyOptions are the leniencies an update grants to what the stored policy had.
type policyOptions struct {
	selector metav1validation.LabelSelectorValidationOptions
	oldCIDRs []string
}

var (
	policyTypes     = []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}
	policyProtocols = []string{string(corev1.ProtocolTCP), string(corev1.ProtocolUDP), string(corev1.ProtocolSCTP)}
)

type networkPolicyStrategy struct{ registry.DefaultStrategy }

// Default gives ports the TCP protocol and, without policyTypes, makes the policy apply to
// ingress, plus egress when it has egress rules.
func (networkPolicyStrategy) Default(obj runtime.Object) {
	spec := &obj.(*networkingv1.NetworkPolicy).Spec
	for i := range spec.Ingress {
		defaultPorts(spec.Ingress[i].Ports)
	}
	for i := range spec.Egress {
		defaultPorts(spec.Egress[i].Ports)
	}
	if len(spec.PolicyTypes) == 0 {
		spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(spec.Egress) > 0 {
			spec.PolicyTypes = append(spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
}

func defaultPorts(ports []networkingv1.NetworkPolicyPort) {
	for i := range ports {
		if ports[i].Protocol == nil {
			tcp := corev1.ProtocolTCP
			ports[i].Protocol = &tcp
		}
	}
}

// Validate checks selectors, ports, peers and policy types.
func (networkPolicyStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validatePolicySpec(&obj.(*networkingv1.NetworkPolicy).Spec, field.NewPath("spec"), policyOptions{})
}

// ValidateUpdate checks the new spec; invalid selector label values and CIDRs the stored
// policy already had stay accepted.
func (networkPolicyStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	oldSpec := &old.(*networkingv1.NetworkPolicy).Spec
	opts := policyOptions{selector: metav1validation.LabelSelectorValidationOptions{
		AllowInvalidLabelValueInSelector: metav1validation.LabelSelectorHasInvalidLabelValue(&oldSpec.PodSelector),
	}}
	for _, rule := range oldSpec.Ingress {
		opts.oldCIDRs = appendCIDRs(opts.oldCIDRs, rule.From)
	}
	for _, rule := range oldSpec.Egress {
		opts.oldCIDRs = appendCIDRs(opts.oldCIDRs, rule.To)
	}
	return validatePolicySpec(&obj.(*networkingv1.NetworkPolicy).Spec, field.NewPath("spec"), opts)
}

func appendCIDRs(cidrs []string, peers []networkingv1.NetworkPolicyPeer) []string {
	for _, p := range peers {
		if p.IPBlock != nil {
			cidrs = append(cidrs, p.IPBlock.CIDR)
			cidrs = append(cidrs, p.IPBlock.Except...)
		}
	}
	return cidrs
}

func validatePolicySpec(spec *networkingv1.NetworkPolicySpec, fldPath *field.Path, opts policyOptions) field.ErrorList {
	errs := metav1validation.ValidateLabelSelector(&spec.PodSelector, opts.selector, fldPath.Child("podSelector"))
	for i, rule := range spec.Ingress {
		rulePath := fldPath.Child("ingress").Index(i)
		errs = append(errs, validatePolicyPorts(rule.Ports, rulePath.Child("ports"))...)
		errs = append(errs, validatePeers(rule.From, rulePath.Child("from"), opts)...)
	}
	for i, rule := range spec.Egress {
		rulePath := fldPath.Child("egress").Index(i)
		errs = append(errs, validatePolicyPorts(rule.Ports, rulePath.Child("ports"))...)
		errs = append(errs, validatePeers(rule.To, rulePath.Child("to"), opts)...)
	}
	typesPath := fldPath.Child("policyTypes")
	if len(spec.PolicyTypes) > len(policyTypes) {
		return append(errs, field.Invalid(typesPath, spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(typesPath.Index(i), t, policyTypes))
		}
	}
	return errs
}

func validatePolicyPorts(ports []networkingv1.NetworkPolicyPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range ports {
		errs = append(errs, validatePolicyPort(&ports[i], fldPath.Index(i))...)
	}
	return errs
}

// validatePolicyPort checks a port: a number (optionally the start of a range up to
// endPort) or a named port, never a named range.
func validatePolicyPort(p *networkingv1.NetworkPolicyPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p.Protocol != nil && !contains(policyProtocols, string(*p.Protocol)) {
		errs = append(errs, field.NotSupported(fldPath.Child("protocol"), *p.Protocol, policyProtocols))
	}
	endPath := fldPath.Child("endPort")
	switch {
	case p.Port == nil:
		if p.EndPort != nil {
			errs = append(errs, field.Invalid(endPath, *p.EndPort, "may not be specified when `port` is not specified"))
		}
	case p.Port.Type == intstr.Int:
		for _, msg := range utilvalidation.IsValidPortNum(int(p.Port.IntVal)) {
			errs = append(errs, field.Invalid(fldPath.Child("port"), p.Port.IntVal, msg))
		}
		if p.EndPort != nil {
			if *p.EndPort < p.Port.IntVal {
				errs = append(errs, field.Invalid(endPath, *p.EndPort, "must be greater than or equal to `port`"))
			}
			for _, msg := range utilvalidation.IsValidPortNum(int(*p.EndPort)) {
				errs = append(errs, field.Invalid(endPath, *p.EndPort, msg))
			}
		}
	default:
		if p.EndPort != nil {
			errs = append(errs, field.Invalid(endPath, *p.EndPort, "may not be specified when `port` is non-numeric"))
		}
		errs = append(errs, invalidEach(fldPath.Child("port"), p.Port.StrVal, utilvalidation.IsValidPortName(p.Port.StrVal))...)
	}
	return errs
}

func validatePeers(peers []networkingv1.NetworkPolicyPeer, fldPath *field.Path, opts policyOptions) field.ErrorList {
	var errs field.ErrorList
	for i := range peers {
		errs = append(errs, validatePeer(&peers[i], fldPath.Index(i), opts)...)
	}
	return errs
}

// validatePeer checks that a peer selects pods, namespaces or an IP block, and that an IP
// block stands alone.
func validatePeer(peer *networkingv1.NetworkPolicyPeer, fldPath *field.Path, opts policyOptions) field.ErrorList {
	var errs field.ErrorList
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.PodSelector, opts.selector, fldPath.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, opts.selector, fldPath.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, fldPath.Child("ipBlock"), opts.oldCIDRs)...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(fldPath, "must specify a peer"))
	case n > 1 && peer.IPBlock != nil:
		errs = append(errs, field.Forbidden(fldPath, "may not specify both ipBlock and another peer"))
	}
	return errs
}

// validateIPBlock checks the CIDR and that every exception lies strictly inside it. CIDRs
// are parsed leniently (legacy field); values the stored policy had are accepted as is.
func validateIPBlock(b *networkingv1.IPBlock, fldPath *field.Path, oldCIDRs []string) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(fldPath.Child("cidr"), "")}
	}
	errs := utilvalidation.IsValidCIDRForLegacyField(fldPath.Child("cidr"), b.CIDR, false, oldCIDRs)
	_, cidr, err := net.ParseCIDR(b.CIDR)
	if err != nil {
		return errs
	}
	for i, except := range b.Except {
		exceptPath := fldPath.Child("except").Index(i)
		errs = append(errs, utilvalidation.IsValidCIDRForLegacyField(exceptPath, except, false, oldCIDRs)...)
		_, exceptNet, err := net.ParseCIDR(except)
		if err != nil {
			continue
		}
		cidrLen, _ := cidr.Mask.Size()
		exceptLen, _ := exceptNet.Mask.Size()
		if !cidr.Contains(exceptNet.IP) || cidrLen >= exceptLen {
			errs = append(errs, field.Invalid(exceptPath, except, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
