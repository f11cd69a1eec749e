package rbac

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// clusterRoleResource is rbac.authorization.k8s.io/v1 clusterroles, with the default table
// (Name, Created At) like upstream.
func clusterRoleResource() registry.Resource {
	return registry.Resource{
		GVK:            rbacv1.SchemeGroupVersion.WithKind("ClusterRole"),
		Plural:         "clusterroles",
		Singular:       "clusterrole",
		Strategy:       clusterRoleStrategy{},
		NameValidation: ValidateName,
	}
}

type clusterRoleStrategy struct{ registry.DefaultStrategy }

// Validate checks the rules and the aggregation rule's selectors.
func (clusterRoleStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateClusterRole(obj.(*rbacv1.ClusterRole), metav1validation.LabelSelectorValidationOptions{})
}

// ValidateUpdate checks the new object; selector label values that were already invalid in
// the stored object stay tolerated, as upstream does for old data.
func (clusterRoleStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	opts := metav1validation.LabelSelectorValidationOptions{
		AllowInvalidLabelValueInSelector: hasInvalidSelectorLabelValue(old.(*rbacv1.ClusterRole)),
	}
	return validateClusterRole(obj.(*rbacv1.ClusterRole), opts)
}

func validateClusterRole(role *rbacv1.ClusterRole, opts metav1validation.LabelSelectorValidationOptions) field.ErrorList {
	errs := validateRules(role.Rules, false)
	if role.AggregationRule == nil {
		return errs
	}
	selectorsPath := field.NewPath("aggregationRule", "clusterRoleSelectors")
	if len(role.AggregationRule.ClusterRoleSelectors) == 0 {
		errs = append(errs, field.Required(selectorsPath, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
	}
	for i := range role.AggregationRule.ClusterRoleSelectors {
		sel := &role.AggregationRule.ClusterRoleSelectors[i]
		errs = append(errs, metav1validation.ValidateLabelSelector(sel, opts, selectorsPath.Index(i))...)
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			errs = append(errs, field.Invalid(selectorsPath.Index(i), sel, "invalid label selector."))
		}
	}
	return errs
}

func hasInvalidSelectorLabelValue(role *rbacv1.ClusterRole) bool {
	if role.AggregationRule == nil {
		return false
	}
	for i := range role.AggregationRule.ClusterRoleSelectors {
		if metav1validation.LabelSelectorHasInvalidLabelValue(&role.AggregationRule.ClusterRoleSelectors[i]) {
			return true
		}
	}
	return false
}
