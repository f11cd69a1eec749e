package policy

import (
	"context"
	"strconv"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

var evictionPolicies = []string{string(policyv1.AlwaysAllow), string(policyv1.IfHealthyBudget)}

func podDisruptionBudgetResource() registry.Resource {
	return registry.Resource{
		GVK:        policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"),
		Plural:     "poddisruptionbudgets",
		Singular:   "poddisruptionbudget",
		Namespaced: true,
		ShortNames: []string{"pdb"},
		Status:     true,
		Strategy:   pdbStrategy{},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn,
				{Name: "Min Available", Type: "string", Description: "The minimum number of pods that must be available."},
				{Name: "Max Unavailable", Type: "string", Description: "The maximum number of pods that may be unavailable."},
				{Name: "Allowed Disruptions", Type: "integer", Description: "Calculated number of pods that may be disrupted at this time."},
				registry.AgeColumn,
			},
			Row: pdbRow,
		},
	}
}

type pdbStrategy struct{ registry.DefaultStrategy }

// Validate checks the budget and the selector.
func (pdbStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateSpec(&obj.(*policyv1.PodDisruptionBudget).Spec, field.NewPath("spec"), metav1validation.LabelSelectorValidationOptions{})
}

// ValidateUpdate checks the new spec; selector label values the stored budget already had
// stay accepted.
func (pdbStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	opts := metav1validation.LabelSelectorValidationOptions{
		AllowInvalidLabelValueInSelector: metav1validation.LabelSelectorHasInvalidLabelValue(old.(*policyv1.PodDisruptionBudget).Spec.Selector),
	}
	return validateSpec(&obj.(*policyv1.PodDisruptionBudget).Spec, field.NewPath("spec"), opts)
}

// ValidateStatusUpdate checks the conditions and that the counters are not negative.
func (pdbStrategy) ValidateStatusUpdate(_ context.Context, obj, _ runtime.Object) field.ErrorList {
	st := &obj.(*policyv1.PodDisruptionBudget).Status
	fldPath := field.NewPath("status")
	errs := metav1validation.ValidateConditions(st.Conditions, fldPath.Child("conditions"))
	for _, c := range []struct {
		name  string
		value int32
	}{
		{"disruptionsAllowed", st.DisruptionsAllowed},
		{"currentHealthy", st.CurrentHealthy},
		{"desiredHealthy", st.DesiredHealthy},
		{"expectedPods", st.ExpectedPods},
	} {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(c.value), fldPath.Child(c.name))...)
	}
	return errs
}

// validateSpec checks that at most one of minAvailable and maxUnavailable is set, each as
// a non-negative number or a percentage up to 100%.
func validateSpec(spec *policyv1.PodDisruptionBudgetSpec, fldPath *field.Path, opts metav1validation.LabelSelectorValidationOptions) field.ErrorList {
	var errs field.ErrorList
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(fldPath, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	if spec.MinAvailable != nil {
		errs = append(errs, validateIntOrPercent(*spec.MinAvailable, fldPath.Child("minAvailable"))...)
	}
	if spec.MaxUnavailable != nil {
		errs = append(errs, validateIntOrPercent(*spec.MaxUnavailable, fldPath.Child("maxUnavailable"))...)
	}
	errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, opts, fldPath.Child("selector"))...)
	if p := spec.UnhealthyPodEvictionPolicy; p != nil && *p != policyv1.AlwaysAllow && *p != policyv1.IfHealthyBudget {
		errs = append(errs, field.NotSupported(fldPath.Child("unhealthyPodEvictionPolicy"), *p, evictionPolicies))
	}
	return errs
}

func validateIntOrPercent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch v.Type {
	case intstr.String:
		for _, msg := range utilvalidation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(fldPath, v, msg))
		}
		if len(errs) == 0 {
			if n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1]); n > 100 {
				errs = append(errs, field.Invalid(fldPath, v, "must not be greater than 100%"))
			}
		}
	case intstr.Int:
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(v.IntValue()), fldPath)...)
	default:
		errs = append(errs, field.Invalid(fldPath, v, "must be an integer or percentage (e.g '5%')"))
	}
	return errs
}

// pdbRow shows an unset bound as "N/A".
func pdbRow(obj runtime.Object, now time.Time) []any {
	pdb := obj.(*policyv1.PodDisruptionBudget)
	minAvailable, maxUnavailable := "N/A", "N/A"
	if pdb.Spec.MinAvailable != nil {
		minAvailable = pdb.Spec.MinAvailable.String()
	}
	if pdb.Spec.MaxUnavailable != nil {
		maxUnavailable = pdb.Spec.MaxUnavailable.String()
	}
	return []any{pdb.Name, minAvailable, maxUnavailable, int64(pdb.Status.DisruptionsAllowed), registry.Age(pdb.CreationTimestamp, now)}
}
