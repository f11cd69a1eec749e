package networking

import (
	"context"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry"
)

// maxControllerLength bounds spec.controller of an IngressClass.
const maxControllerLength = 250

func ingressClassResource() registry.Resource {
	return registry.Resource{
		GVK:      networkingv1.SchemeGroupVersion.WithKind("IngressClass"),
		Plural:   "ingressclasses",
		Singular: "ingressclass",
		Strategy: ingressClassStrategy{},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn,
				{Name: "Controller", Type: "string", Description: "Controller that is responsible for handling this class"},
				{Name: "Parameters", Type: "string", Description: "A reference to a resource with additional parameters"},
				registry.AgeColumn,
			},
			Row: ingressClassRow,
		},
	}
}

type ingressClassStrategy struct{ registry.DefaultStrategy }

// Default scopes parameters to the cluster when no scope is given.
func (ingressClassStrategy) Default(obj runtime.Object) {
	ic := obj.(*networkingv1.IngressClass)
	if ic.Spec.Parameters != nil && ic.Spec.Parameters.Scope == nil {
		ic.Spec.Parameters.Scope = ptr.To(networkingv1.IngressClassParametersReferenceScopeCluster)
	}
}

// Validate checks the controller name and the parameters reference.
func (ingressClassStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateIngressClassSpec(&obj.(*networkingv1.IngressClass).Spec, field.NewPath("spec"))
}

// ValidateUpdate checks the new object; the controller may not change.
func (s ingressClassStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	ic, oldIC := obj.(*networkingv1.IngressClass), old.(*networkingv1.IngressClass)
	errs := apimachineryvalidation.ValidateImmutableField(ic.Spec.Controller, oldIC.Spec.Controller, field.NewPath("spec", "controller"))
	return append(errs, s.Validate(ctx, obj)...)
}

func validateIngressClassSpec(spec *networkingv1.IngressClassSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	ctrlPath := fldPath.Child("controller")
	if spec.Controller == "" {
		errs = append(errs, field.Required(ctrlPath, ""))
	} else {
		if len(spec.Controller) > maxControllerLength {
			errs = append(errs, field.TooLong(ctrlPath, "", maxControllerLength))
		}
		errs = append(errs, utilvalidation.IsDomainPrefixedPath(ctrlPath, spec.Controller)...)
	}
	if p := spec.Parameters; p != nil {
		errs = append(errs, validateParameters(p, fldPath.Child("parameters"))...)
	}
	return errs
}

var parameterScopes = []string{
	networkingv1.IngressClassParametersReferenceScopeCluster,
	networkingv1.IngressClassParametersReferenceScopeNamespace,
}

func validateParameters(p *networkingv1.IngressClassParametersReference, fldPath *field.Path) field.ErrorList {
	errs := validateLocalRef(p.APIGroup, p.Kind, p.Name, fldPath)
	if p.Scope == nil {
		return append(errs, field.Required(fldPath.Child("scope"), ""))
	}
	switch *p.Scope {
	case networkingv1.IngressClassParametersReferenceScopeNamespace:
		if p.Namespace == nil {
			errs = append(errs, field.Required(fldPath.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
		} else {
			errs = append(errs, invalidEach(fldPath.Child("namespace"), *p.Namespace, apimachineryvalidation.ValidateNamespaceName(*p.Namespace, false))...)
		}
	case networkingv1.IngressClassParametersReferenceScopeCluster:
		if p.Namespace != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("scope"), *p.Scope, parameterScopes))
	}
	return errs
}

// ingressClassRow renders PARAMETERS as "Kind.group/name", or "<none>".
func ingressClassRow(obj runtime.Object, now time.Time) []any {
	ic := obj.(*networkingv1.IngressClass)
	params := "<none>"
	if p := ic.Spec.Parameters; p != nil {
		params = p.Kind
		if p.APIGroup != nil {
			params += "." + *p.APIGroup
		}
		params += "/" + p.Name
	}
	return []any{ic.Name, ic.Spec.Controller, params, registry.Age(ic.CreationTimestamp, now)}
}
