package core

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// limitRangesResource serves limitranges. Upstream has no printer for them, so `kubectl
// get` shows the default Name / Created At table (Table nil).
func limitRangesResource() registry.Resource {
	return registry.Resource{
		GVK:        coreGVK("LimitRange"),
		Plural:     "limitranges",
		Singular:   "limitrange",
		Namespaced: true,
		ShortNames: []string{"limits"},
		Strategy:   limitRangeStrategy{},
	}
}

type limitRangeStrategy struct{ registry.DefaultStrategy }

// Default rounds quantities up to milli precision and, for Container limits, fills the
// default limit from max and the default request from the default limit, else from min.
func (limitRangeStrategy) Default(obj runtime.Object) {
	lr := obj.(*corev1.LimitRange)
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		for _, rl := range []corev1.ResourceList{item.Max, item.Min, item.Default, item.DefaultRequest, item.MaxLimitRequestRatio} {
			roundUpResourceList(rl)
		}
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		if item.Default == nil {
			item.Default = corev1.ResourceList{}
		}
		if item.DefaultRequest == nil {
			item.DefaultRequest = corev1.ResourceList{}
		}
		copyMissingQuantities(item.Default, item.Max)
		copyMissingQuantities(item.DefaultRequest, item.Default)
		copyMissingQuantities(item.DefaultRequest, item.Min)
	}
}

// copyMissingQuantities copies into dst the quantities of src whose names dst lacks.
func copyMissingQuantities(dst, src corev1.ResourceList) {
	for name, q := range src {
		if _, ok := dst[name]; !ok {
			dst[name] = q.DeepCopy()
		}
	}
}

// PrepareForCreate names a limit range that has neither name nor generateName, as
// upstream does.
func (limitRangeStrategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	lr := obj.(*corev1.LimitRange)
	if lr.Name == "" && lr.GenerateName == "" {
		lr.Name = string(uuid.NewUUID())
	}
}

func (limitRangeStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return limitRangeErrs(obj.(*corev1.LimitRange))
}

func (s limitRangeStrategy) ValidateUpdate(ctx context.Context, obj, _ runtime.Object) field.ErrorList {
	return s.Validate(ctx, obj)
}

var limitTypes = map[corev1.LimitType]bool{
	corev1.LimitTypePod: true, corev1.LimitTypeContainer: true, corev1.LimitTypePersistentVolumeClaim: true,
}

// limitRangeErrs checks limit types (known or qualified, each at most once), resource
// names, and that min <= defaultRequest <= default <= max for every resource.
func limitRangeErrs(lr *corev1.LimitRange) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.LimitType]bool{}
	path := field.NewPath("spec", "limits")
	for i := range lr.Spec.Limits {
		item, p := &lr.Spec.Limits[i], path.Index(i)
		errs = append(errs, limitTypeErrs(item.Type, p.Child("type"))...)
		if seen[item.Type] {
			errs = append(errs, field.Duplicate(p.Child("type"), item.Type))
		}
		seen[item.Type] = true
		errs = append(errs, limitItemNameErrs(item, p)...)
		if item.Type == corev1.LimitTypePersistentVolumeClaim {
			_, hasMin := item.Min[corev1.ResourceStorage]
			_, hasMax := item.Max[corev1.ResourceStorage]
			if !hasMin && !hasMax {
				errs = append(errs, field.Required(p.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
			}
		}
		errs = append(errs, limitItemOrderErrs(item, p)...)
	}
	return errs
}

func limitTypeErrs(t corev1.LimitType, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(t)) {
		errs = append(errs, field.Invalid(path, t, msg))
	}
	if len(errs) == 0 && !strings.Contains(string(t), "/") && !limitTypes[t] {
		errs = append(errs, field.Invalid(path, t, "must be a standard limit type or fully qualified"))
	}
	return errs
}

// limitItemNameErrs checks the resource names of every list of item; Pod limits may not
// have defaults.
func limitItemNameErrs(item *corev1.LimitRangeItem, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	check := func(rl corev1.ResourceList, child string) {
		for name := range rl {
			if item.Type == corev1.LimitTypePod || item.Type == corev1.LimitTypeContainer {
				errs = append(errs, containerResourceNameErrs(name, p.Child(child).Key(string(name)))...)
			} else {
				errs = append(errs, resourceNameErrs(name, p.Child(child).Key(string(name)))...)
			}
		}
	}
	check(item.Max, "max")
	check(item.Min, "min")
	if item.Type == corev1.LimitTypePod {
		if len(item.Default) > 0 {
			errs = append(errs, field.Forbidden(p.Child("default"), "may not be specified when `type` is 'Pod'"))
		}
		if len(item.DefaultRequest) > 0 {
			errs = append(errs, field.Forbidden(p.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
		}
	} else {
		check(item.Default, "default")
		check(item.DefaultRequest, "defaultRequest")
	}
	check(item.MaxLimitRequestRatio, "maxLimitRequestRatio")
	return errs
}

// limitItemOrderErrs checks, per resource, the ordering of min, defaultRequest, default and
// max, and the max limit/request ratio.
func limitItemOrderErrs(item *corev1.LimitRangeItem, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	// Pod limits have no defaults (limitItemNameErrs reports any given).
	defaults, defaultRequests := item.Default, item.DefaultRequest
	if item.Type == corev1.LimitTypePod {
		defaults, defaultRequests = nil, nil
	}
	names := map[corev1.ResourceName]bool{}
	for _, rl := range []corev1.ResourceList{item.Max, item.Min, defaults, defaultRequests, item.MaxLimitRequestRatio} {
		for name := range rl {
			names[name] = true
		}
	}
	greater := func(a, b resource.Quantity) bool { return a.Cmp(b) > 0 }
	for name := range names {
		key := string(name)
		minQ, hasMin := item.Min[name]
		maxQ, hasMax := item.Max[name]
		defQ, hasDef := defaults[name]
		reqQ, hasReq := defaultRequests[name]
		if hasMin && hasMax && greater(minQ, maxQ) {
			errs = append(errs, field.Invalid(p.Child("min").Key(key), minQ, fmt.Sprintf("min value %s is greater than max value %s", minQ.String(), maxQ.String())))
		}
		if hasReq && hasMin && greater(minQ, reqQ) {
			errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("min value %s is greater than default request value %s", minQ.String(), reqQ.String())))
		}
		if hasReq && hasMax && greater(reqQ, maxQ) {
			errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("default request value %s is greater than max value %s", reqQ.String(), maxQ.String())))
		}
		if hasReq && hasDef && greater(reqQ, defQ) {
			errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("default request value %s is greater than default limit value %s", reqQ.String(), defQ.String())))
		}
		if hasDef && hasMin && greater(minQ, defQ) {
			errs = append(errs, field.Invalid(p.Child("default").Key(key), minQ, fmt.Sprintf("min value %s is greater than default value %s", minQ.String(), defQ.String())))
		}
		if hasDef && hasMax && greater(defQ, maxQ) {
			errs = append(errs, field.Invalid(p.Child("default").Key(key), maxQ, fmt.Sprintf("default value %s is greater than max value %s", defQ.String(), maxQ.String())))
		}
		if ratio, ok := item.MaxLimitRequestRatio[name]; ok {
			errs = append(errs, limitRatioErrs(ratio, minQ, maxQ, hasMin && hasMax, p.Child("maxLimitRequestRatio").Key(key))...)
		}
		if !overcommittable(name) && hasDef && hasReq && defQ.Cmp(reqQ) != 0 {
			errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", defQ.String(), reqQ.String(), key)))
		}
	}
	return errs
}

// limitRatioErrs checks that a max limit/request ratio is at least 1 and, when min and max
// are both set, at most max/min.
func limitRatioErrs(ratio, minQ, maxQ resource.Quantity, bounded bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ratio.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
		errs = append(errs, field.Invalid(path, ratio, fmt.Sprintf("ratio %s is less than 1", ratio.String())))
	}
	if !bounded {
		return errs
	}
	ratioValue := float64(ratio.Value())
	minValue, maxValue := minQ.Value(), maxQ.Value()
	if ratio.Value() < resource.MaxMilliValue && minValue < resource.MaxMilliValue && maxValue < resource.MaxMilliValue {
		ratioValue = float64(ratio.MilliValue()) / 1000
		minValue, maxValue = minQ.MilliValue(), maxQ.MilliValue()
	}
	limit := float64(maxValue) / float64(minValue)
	if ratioValue > limit {
		errs = append(errs, field.Invalid(path, ratio, fmt.Sprintf("ratio %s is greater than max/min = %f", ratio.String(), limit)))
	}
	return errs
}
