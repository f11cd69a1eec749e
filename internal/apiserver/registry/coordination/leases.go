package coordination

import (
	"context"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// leaseStrategies are the Kubernetes-defined coordinated leader election strategies; other
// strategies must be domain-prefixed names.
var leaseStrategies = []coordinationv1.CoordinatedLeaseStrategy{coordinationv1.OldestEmulationVersion}

func leaseResource() registry.Resource {
	return registry.Resource{
		GVK:        coordinationv1.SchemeGroupVersion.WithKind("Lease"),
		Plural:     "leases",
		Singular:   "lease",
		Namespaced: true,
		Strategy:   leaseStrategy{},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn,
				{Name: "Holder", Type: "string", Description: coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]},
				registry.AgeColumn,
			},
			Row: func(obj runtime.Object, now time.Time) []any {
				l := obj.(*coordinationv1.Lease)
				holder := ""
				if l.Spec.HolderIdentity != nil {
					holder = *l.Spec.HolderIdentity
				}
				return []any{l.Name, holder, registry.Age(l.CreationTimestamp, now)}
			},
		},
	}
}

type leaseStrategy struct{ registry.DefaultStrategy }

// Validate checks the durations and the coordinated election fields.
func (leaseStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateLeaseSpec(&obj.(*coordinationv1.Lease).Spec, field.NewPath("spec"))
}

// ValidateUpdate checks the new spec; leases have no immutable fields.
func (s leaseStrategy) ValidateUpdate(ctx context.Context, obj, _ runtime.Object) field.ErrorList {
	return s.Validate(ctx, obj)
}

func validateLeaseSpec(spec *coordinationv1.LeaseSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if d := spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(fldPath.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if n := spec.LeaseTransitions; n != nil && *n < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("leaseTransitions"), *n, "must be greater than or equal to 0"))
	}
	if spec.Strategy != nil {
		errs = append(errs, validateStrategy(*spec.Strategy, fldPath.Child("strategy"))...)
	}
	if spec.PreferredHolder != nil && *spec.PreferredHolder != "" && (spec.Strategy == nil || *spec.Strategy == "") {
		errs = append(errs, field.Forbidden(fldPath.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return errs
}

// validateStrategy accepts a Kubernetes-defined strategy or a domain-prefixed one. Upstream
// reports the error one level below the field ("spec.strategy.strategy"); so do we, so
// that clients see the same message.
func validateStrategy(s coordinationv1.CoordinatedLeaseStrategy, fldPath *field.Path) field.ErrorList {
	errPath := fldPath.Child("strategy")
	if !strings.Contains(string(s), "/") {
		for _, known := range leaseStrategies {
			if s == known {
				return nil
			}
		}
		return field.ErrorList{field.NotSupported(errPath, s, leaseStrategies)}
	}
	var errs field.ErrorList
	for _, msg := range content.IsLabelKey(string(s)) {
		errs = append(errs, field.Invalid(errPath, s, msg))
	}
	return errs
}
