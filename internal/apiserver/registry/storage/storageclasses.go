package storage

import (
	"context"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

const (
	// DefaultClassAnnotation marks the cluster's default StorageClass when set to "true".
	DefaultClassAnnotation = "storageclass.kubernetes.io/is-default-class"
	// BetaDefaultClassAnnotation is the beta spelling upstream still honours.
	BetaDefaultClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"

	maxParameters     = 512
	maxParametersSize = 256 * (1 << 10)
)

var (
	reclaimPolicies    = []string{string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRetain)}
	volumeBindingModes = []string{string(storagev1.VolumeBindingImmediate), string(storagev1.VolumeBindingWaitForFirstConsumer)}
)

func storageClassResource() registry.Resource {
	doc := storagev1.StorageClass{}.SwaggerDoc()
	return registry.Resource{
		GVK:        storagev1.SchemeGroupVersion.WithKind("StorageClass"),
		Plural:     "storageclasses",
		Singular:   "storageclass",
		ShortNames: []string{"sc"},
		Strategy:   storageClassStrategy{},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn,
				{Name: "Provisioner", Type: "string", Description: doc["provisioner"]},
				{Name: "ReclaimPolicy", Type: "string", Description: doc["reclaimPolicy"]},
				{Name: "VolumeBindingMode", Type: "string", Description: doc["volumeBindingMode"]},
				{Name: "AllowVolumeExpansion", Type: "string", Description: doc["allowVolumeExpansion"]},
				registry.AgeColumn,
			},
			Row: storageClassRow,
		},
	}
}

// IsDefaultClass reports whether sc is annotated as the default StorageClass.
func IsDefaultClass(sc *storagev1.StorageClass) bool {
	return sc.Annotations[DefaultClassAnnotation] == "true" || sc.Annotations[BetaDefaultClassAnnotation] == "true"
}

type storageClassStrategy struct{ registry.DefaultStrategy }

// Default sets reclaimPolicy Delete and volumeBindingMode Immediate.
func (storageClassStrategy) Default(obj runtime.Object) {
	sc := obj.(*storagev1.StorageClass)
	if sc.ReclaimPolicy == nil {
		p := corev1.PersistentVolumeReclaimDelete
		sc.ReclaimPolicy = &p
	}
	if sc.VolumeBindingMode == nil {
		m := storagev1.VolumeBindingImmediate
		sc.VolumeBindingMode = &m
	}
}

// Validate checks the provisioner, parameters, reclaim policy, binding mode and topologies.
func (storageClassStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	sc := obj.(*storagev1.StorageClass)
	errs := validateProvisioner(sc.Provisioner, field.NewPath("provisioner"))
	errs = append(errs, validateParameters(sc.Parameters, field.NewPath("parameters"))...)
	if p := sc.ReclaimPolicy; p != nil && *p != "" && !contains(reclaimPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), *p, reclaimPolicies))
	}
	modePath := field.NewPath("volumeBindingMode")
	if m := sc.VolumeBindingMode; m == nil {
		errs = append(errs, field.Required(modePath, ""))
	} else if !contains(volumeBindingModes, string(*m)) {
		errs = append(errs, field.NotSupported(modePath, *m, volumeBindingModes))
	}
	return append(errs, validateTopologies(sc.AllowedTopologies, field.NewPath("allowedTopologies"))...)
}

// ValidateUpdate checks the new class; provisioner, parameters, reclaimPolicy and
// volumeBindingMode are fixed at creation.
func (s storageClassStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	sc, oldSC := obj.(*storagev1.StorageClass), old.(*storagev1.StorageClass)
	errs := s.Validate(ctx, obj)
	if !reflect.DeepEqual(sc.Parameters, oldSC.Parameters) {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if sc.Provisioner != oldSC.Provisioner {
		errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if !reflect.DeepEqual(sc.ReclaimPolicy, oldSC.ReclaimPolicy) {
		errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	return append(errs, apimachineryvalidation.ValidateImmutableField(sc.VolumeBindingMode, oldSC.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
}

// validateProvisioner requires a qualified name, compared case-insensitively.
func validateProvisioner(provisioner string, fldPath *field.Path) field.ErrorList {
	if provisioner == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	lower := strings.ToLower(provisioner)
	for _, msg := range content.IsLabelKey(lower) {
		errs = append(errs, field.Invalid(fldPath, lower, msg))
	}
	return errs
}

// validateParameters bounds the parameters: at most 512 of them, 256 KiB in total, no
// empty keys.
func validateParameters(params map[string]string, fldPath *field.Path) field.ErrorList {
	if len(params) > maxParameters {
		return field.ErrorList{field.TooLong(fldPath, "", maxParameters)}
	}
	var errs field.ErrorList
	size := 0
	for k, v := range params {
		if k == "" {
			errs = append(errs, field.Invalid(fldPath, k, "field can not be empty."))
		}
		size += len(k) + len(v)
	}
	if size > maxParametersSize {
		errs = append(errs, field.TooLong(fldPath, "", maxParametersSize))
	}
	return errs
}

// validateTopologies checks each topology term: label keys, non-empty value sets without
// duplicates, no key twice in a term and no term twice.
func validateTopologies(terms []corev1.TopologySelectorTerm, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	var seen []map[string]map[string]bool
	for i, term := range terms {
		exprsPath := fldPath.Index(i).Child("matchLabelExpressions")
		exprs := map[string]map[string]bool{}
		for j, req := range term.MatchLabelExpressions {
			reqPath := exprsPath.Index(j)
			values := map[string]bool{}
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(reqPath.Child("values"), ""))
			}
			for k, v := range req.Values {
				if values[v] {
					errs = append(errs, field.Duplicate(reqPath.Child("values").Index(k), v))
				}
				values[v] = true
			}
			errs = append(errs, metav1validation.ValidateLabelName(req.Key, reqPath.Child("key"))...)
			if _, dup := exprs[req.Key]; dup {
				errs = append(errs, field.Duplicate(reqPath.Child("key"), req.Key))
			}
			exprs[req.Key] = values
		}
		for _, prev := range seen {
			if reflect.DeepEqual(prev, exprs) {
				errs = append(errs, field.Duplicate(exprsPath, ""))
			}
		}
		seen = append(seen, exprs)
	}
	return errs
}

// storageClassRow marks the default class in NAME and shows unset policies as their
// defaults.
func storageClassRow(obj runtime.Object, now time.Time) []any {
	sc := obj.(*storagev1.StorageClass)
	name := sc.Name
	if IsDefaultClass(sc) {
		name += " (default)"
	}
	reclaim := string(corev1.PersistentVolumeReclaimDelete)
	if sc.ReclaimPolicy != nil {
		reclaim = string(*sc.ReclaimPolicy)
	}
	mode := string(storagev1.VolumeBindingImmediate)
	if sc.VolumeBindingMode != nil {
		mode = string(*sc.VolumeBindingMode)
	}
	expand := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
	return []any{name, sc.Provisioner, reclaim, mode, expand, registry.Age(sc.CreationTimestamp, now)}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
