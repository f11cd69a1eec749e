package core

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

func resourceQuotasResource() registry.Resource {
	return registry.Resource{
		GVK:        coreGVK("ResourceQuota"),
		Plural:     "resourcequotas",
		Singular:   "resourcequota",
		Namespaced: true,
		ShortNames: []string{"quota"},
		Status:     true,
		Strategy:   resourceQuotaStrategy{},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn,
				{Name: "Request", Type: "string", Description: "Request represents a minimum amount of cpu/memory that a container may consume."},
				{Name: "Limit", Type: "string", Description: "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."},
				registry.AgeColumn,
			},
			Row: resourceQuotaRow,
		},
	}
}

type resourceQuotaStrategy struct{ registry.DefaultStrategy }

// Default rounds every quantity up to milli precision.
func (resourceQuotaStrategy) Default(obj runtime.Object) {
	rq := obj.(*corev1.ResourceQuota)
	roundUpResourceList(rq.Spec.Hard)
	roundUpResourceList(rq.Status.Hard)
	roundUpResourceList(rq.Status.Used)
}

func (resourceQuotaStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	rq := obj.(*corev1.ResourceQuota)
	errs := quotaSpecErrs(&rq.Spec, field.NewPath("spec"))
	return append(errs, quotaStatusErrs(&rq.Status, field.NewPath("status"))...)
}

// ValidateUpdate checks the spec; scopes are fixed at creation.
func (resourceQuotaStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	rq, oldRQ := obj.(*corev1.ResourceQuota), old.(*corev1.ResourceQuota)
	errs := quotaSpecErrs(&rq.Spec, field.NewPath("spec"))
	newScopes, oldScopes := map[corev1.ResourceQuotaScope]bool{}, map[corev1.ResourceQuotaScope]bool{}
	for _, s := range rq.Spec.Scopes {
		newScopes[s] = true
	}
	for _, s := range oldRQ.Spec.Scopes {
		oldScopes[s] = true
	}
	if !sameQuotaScopes(newScopes, oldScopes) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "scopes"), rq.Spec.Scopes, apimachineryvalidation.FieldImmutableErrorMsg))
	}
	return errs
}

func (resourceQuotaStrategy) ValidateStatusUpdate(_ context.Context, obj, _ runtime.Object) field.ErrorList {
	return quotaStatusErrs(&obj.(*corev1.ResourceQuota).Status, field.NewPath("status"))
}

func sameQuotaScopes(a, b map[corev1.ResourceQuotaScope]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// quotaListErrs checks the names and quantities of a quota's resource list.
func quotaListErrs(rl corev1.ResourceList, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, q := range rl {
		p := path.Key(string(name))
		errs = append(errs, quotaResourceNameErrs(name, p)...)
		errs = append(errs, quantityValueErrs(name, q, p)...)
	}
	return errs
}

func quotaStatusErrs(status *corev1.ResourceQuotaStatus, path *field.Path) field.ErrorList {
	errs := quotaListErrs(status.Hard, path.Child("hard"))
	return append(errs, quotaListErrs(status.Used, path.Child("used"))...)
}

func quotaSpecErrs(spec *corev1.ResourceQuotaSpec, path *field.Path) field.ErrorList {
	errs := quotaListErrs(spec.Hard, path.Child("hard"))
	errs = append(errs, quotaScopesErrs(spec, path.Child("scopes"))...)
	if spec.ScopeSelector != nil {
		errs = append(errs, quotaScopeSelectorErrs(spec, path.Child("scopeSelector", "matchExpressions"))...)
	}
	return errs
}

var quotaScopes = map[corev1.ResourceQuotaScope]bool{
	corev1.ResourceQuotaScopeTerminating:               true,
	corev1.ResourceQuotaScopeNotTerminating:            true,
	corev1.ResourceQuotaScopeBestEffort:                true,
	corev1.ResourceQuotaScopeNotBestEffort:             true,
	corev1.ResourceQuotaScopePriorityClass:             true,
	corev1.ResourceQuotaScopeCrossNamespacePodAffinity: true,
	corev1.ResourceQuotaScopeVolumeAttributesClass:     true,
}

// scopeAppliesTo reports whether scope can restrict a quota on the standard resource name.
func scopeAppliesTo(scope corev1.ResourceQuotaScope, name corev1.ResourceName) bool {
	podCount := name == corev1.ResourcePods
	podCompute := name == corev1.ResourceCPU || name == corev1.ResourceMemory ||
		name == corev1.ResourceLimitsCPU || name == corev1.ResourceLimitsMemory ||
		name == corev1.ResourceRequestsCPU || name == corev1.ResourceRequestsMemory
	switch scope {
	case corev1.ResourceQuotaScopeBestEffort:
		return podCount
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return name == corev1.ResourcePersistentVolumeClaims || name == corev1.ResourceRequestsStorage
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
		corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopePriorityClass,
		corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return podCount || podCompute
	}
	return true
}

// scopeConflictErrs reports a scope set holding both halves of an exclusive pair.
func scopeConflictErrs(scopes map[corev1.ResourceQuotaScope]bool, path *field.Path, value any) field.ErrorList {
	var errs field.ErrorList
	if scopes[corev1.ResourceQuotaScopeBestEffort] && scopes[corev1.ResourceQuotaScopeNotBestEffort] {
		errs = append(errs, field.Invalid(path, value, "conflicting scopes"))
	}
	if scopes[corev1.ResourceQuotaScopeTerminating] && scopes[corev1.ResourceQuotaScopeNotTerminating] {
		errs = append(errs, field.Invalid(path, value, "conflicting scopes"))
	}
	return errs
}

// quotaScopeMisuseErrs reports an unknown scope, or one that cannot restrict a resource
// the quota limits.
func quotaScopeMisuseErrs(scope corev1.ResourceQuotaScope, hard corev1.ResourceList, scopePath, resPath *field.Path, scopeValue, resValue any) field.ErrorList {
	var errs field.ErrorList
	if !quotaScopes[scope] {
		errs = append(errs, field.Invalid(scopePath, scopeValue, "unsupported scope"))
	}
	names := make([]string, 0, len(hard))
	for name := range hard {
		names = append(names, string(name))
	}
	sort.Strings(names)
	for _, name := range names {
		if isStandardQuotaResourceName(corev1.ResourceName(name)) && !scopeAppliesTo(scope, corev1.ResourceName(name)) {
			errs = append(errs, field.Invalid(resPath, resValue, "unsupported scope applied to resource"))
		}
	}
	return errs
}

func quotaScopesErrs(spec *corev1.ResourceQuotaSpec, path *field.Path) field.ErrorList {
	if len(spec.Scopes) == 0 {
		return nil
	}
	var errs field.ErrorList
	set := map[corev1.ResourceQuotaScope]bool{}
	for _, scope := range spec.Scopes {
		errs = append(errs, quotaScopeMisuseErrs(scope, spec.Hard, path, path, spec.Scopes, spec.Scopes)...)
		set[scope] = true
	}
	return append(errs, scopeConflictErrs(set, path, spec.Scopes)...)
}

// quotaScopeSelectorErrs checks scopeSelector expressions: known scopes, and operators and
// values that fit them.
func quotaScopeSelectorErrs(spec *corev1.ResourceQuotaSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	set := map[corev1.ResourceQuotaScope]bool{}
	for _, req := range spec.ScopeSelector.MatchExpressions {
		errs = append(errs, quotaScopeMisuseErrs(req.ScopeName, spec.Hard, path.Child("scopeName"), path, req.ScopeName, spec.ScopeSelector)...)
		switch req.ScopeName {
		case corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopeTerminating,
			corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
			if req.Operator != corev1.ScopeSelectorOpExists {
				errs = append(errs, field.Invalid(path.Child("operator"), req.Operator,
					"must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
			}
		}
		switch req.Operator {
		case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(path.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
			}
		case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
			if len(req.Values) != 0 {
				errs = append(errs, field.Invalid(path.Child("values"), req.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
			}
		default:
			errs = append(errs, field.Invalid(path.Child("operator"), req.Operator, "not a valid selector operator"))
		}
		set[req.ScopeName] = true
	}
	return append(errs, scopeConflictErrs(set, path, spec.Scopes)...)
}

// resourceQuotaRow renders "used/hard" per resource of status.hard, sorted by name, the
// limits.* ones in the Limit column and the rest in the Request column.
func resourceQuotaRow(obj runtime.Object, now time.Time) []any {
	rq := obj.(*corev1.ResourceQuota)
	names := make([]string, 0, len(rq.Status.Hard))
	for name := range rq.Status.Hard {
		names = append(names, string(name))
	}
	sort.Strings(names)
	var request, limit bytes.Buffer
	for _, name := range names {
		w := &request
		if pieces := strings.Split(name, "."); len(pieces) > 1 && pieces[0] == "limits" {
			w = &limit
		}
		used := rq.Status.Used[corev1.ResourceName(name)]
		hard := rq.Status.Hard[corev1.ResourceName(name)]
		fmt.Fprintf(w, "%s: %s/%s, ", name, used.String(), hard.String())
	}
	return []any{rq.Name, strings.TrimSuffix(request.String(), ", "), strings.TrimSuffix(limit.String(), ", "),
		registry.Age(rq.CreationTimestamp, now)}
}
