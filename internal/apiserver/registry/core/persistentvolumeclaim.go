package core

import (
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry"
)

func persistentVolumeClaimsResource() registry.Resource {
	return registry.Resource{
		GVK:        coreGVK("PersistentVolumeClaim"),
		Plural:     "persistentvolumeclaims",
		Singular:   "persistentvolumeclaim",
		Namespaced: true,
		ShortNames: []string{"pvc"},
		Status:     true,
		Strategy:   persistentVolumeClaimStrategy{},
		Table:      persistentVolumeClaimTable(),
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"name": obj.(*corev1.PersistentVolumeClaim).Name}
		},
	}
}

type persistentVolumeClaimStrategy struct{ registry.DefaultStrategy }

// Default sets phase Pending and volume mode Filesystem, and rounds quantities up to milli
// precision.
func (persistentVolumeClaimStrategy) Default(obj runtime.Object) {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = corev1.ClaimPending
	}
	if pvc.Spec.VolumeMode == nil {
		pvc.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeFilesystem)
	}
	roundUpResourceList(pvc.Spec.Resources.Requests)
	roundUpResourceList(pvc.Spec.Resources.Limits)
	roundUpResourceList(pvc.Status.Capacity)
	roundUpResourceList(pvc.Status.AllocatedResources)
}

// PrepareForCreate starts the claim Pending and mirrors dataSource and dataSourceRef into
// each other when only one is set (dataSourceRef only without a namespace).
func (persistentVolumeClaimStrategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
	spec := &pvc.Spec
	switch src, ref := spec.DataSource, spec.DataSourceRef; {
	case src == nil && ref != nil && (ref.Namespace == nil || *ref.Namespace == ""):
		spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ref.APIGroup, Kind: ref.Kind, Name: ref.Name}
	case src != nil && ref == nil:
		spec.DataSourceRef = &corev1.TypedObjectReference{APIGroup: src.APIGroup, Kind: src.Kind, Name: src.Name}
	}
}

func (persistentVolumeClaimStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return claimSpecErrs(&obj.(*corev1.PersistentVolumeClaim).Spec, field.NewPath("spec"))
}

// ValidateUpdate allows only binding (volumeName once), the beta storage-class annotation
// becoming storageClassName, setting a missing class, and, for bound claims, changing the
// storage request and volumeAttributesClassName. The request may shrink only to above the
// current capacity (recovery from a failed expansion).
func (persistentVolumeClaimStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	pvc, oldPVC := obj.(*corev1.PersistentVolumeClaim), old.(*corev1.PersistentVolumeClaim)
	errs := claimSpecErrs(&pvc.Spec, field.NewPath("spec"))
	newSpec, oldSpec := pvc.Spec.DeepCopy(), oldPVC.Spec.DeepCopy()
	if oldSpec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	const betaClass = corev1.BetaStorageClassAnnotation
	oldAnn, hadAnn := oldPVC.Annotations[betaClass]
	newAnn, hasAnn := pvc.Annotations[betaClass]
	switch {
	case hadAnn && oldSpec.StorageClassName == nil && newSpec.StorageClassName != nil &&
		*newSpec.StorageClassName == oldAnn && (!hasAnn || newAnn == oldAnn):
		newSpec.StorageClassName = nil
	default:
		if newAnn != oldAnn {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "annotations", betaClass), newAnn, apimachineryvalidation.FieldImmutableErrorMsg))
		}
		if newSpec.StorageClassName != nil && oldSpec.StorageClassName == nil && (!hadAnn || *newSpec.StorageClassName == oldAnn) {
			newSpec.StorageClassName = nil
		}
	}
	bound := pvc.Status.Phase == corev1.ClaimBound
	if bound && newSpec.Resources.Requests != nil {
		if q, ok := oldPVC.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
			newSpec.Resources.Requests[corev1.ResourceStorage] = q
		} else {
			delete(newSpec.Resources.Requests, corev1.ResourceStorage)
		}
	}
	if bound && newSpec.VolumeAttributesClassName != nil {
		newSpec.VolumeAttributesClassName = oldSpec.VolumeAttributesClassName
	}
	if !equality.Semantic.DeepEqual(newSpec, oldSpec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"),
			"spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
	}
	return append(errs, claimUpdateValueErrs(pvc, oldPVC)...)
}

// claimUpdateValueErrs checks the storage request does not shrink to or below the
// capacity, the volume mode is unchanged, and a set volumeAttributesClassName stays set.
func claimUpdateValueErrs(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	var errs field.ErrorList
	oldSize := old.Spec.Resources.Requests[corev1.ResourceStorage]
	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	capacity := old.Status.Capacity[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 && newSize.Cmp(capacity) <= 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
	}
	// Upstream reports the volume mode without the spec prefix.
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if old.Spec.VolumeAttributesClassName != nil {
		vac := field.NewPath("spec", "volumeAttributesClassName")
		switch {
		case pvc.Spec.VolumeAttributesClassName == nil:
			errs = append(errs, field.Forbidden(vac, "update from non-nil value to nil is forbidden"))
		case *pvc.Spec.VolumeAttributesClassName == "" && *old.Spec.VolumeAttributesClassName != "":
			errs = append(errs, field.Forbidden(vac, "update from non-nil value to an empty string is forbidden"))
		}
	}
	return errs
}

// ValidateStatusUpdate checks the reported capacity and allocated resources.
func (persistentVolumeClaimStrategy) ValidateStatusUpdate(_ context.Context, obj, _ runtime.Object) field.ErrorList {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	var errs field.ErrorList
	if len(pvc.Spec.AccessModes) == 0 {
		// Upstream spells this path with a capital S.
		errs = append(errs, field.Required(field.NewPath("Spec", "accessModes"), ""))
	}
	capPath := field.NewPath("status", "capacity")
	for name, q := range pvc.Status.Capacity {
		errs = append(errs, basicQuantityErrs(q, capPath.Key(string(name)))...)
	}
	statusPath := field.NewPath("status", "allocatedResourceStatus")
	for name, st := range pvc.Status.AllocatedResourceStatuses {
		errs = append(errs, claimResourceKeyErrs(name, statusPath)...)
		if !slices.Contains(resizeStatuses, st) {
			errs = append(errs, field.NotSupported(statusPath, name, resizeStatuses))
		}
	}
	allocPath := field.NewPath("status", "allocatedResources")
	for name, q := range pvc.Status.AllocatedResources {
		if keyErrs := claimResourceKeyErrs(name, allocPath); len(keyErrs) > 0 {
			errs = append(errs, keyErrs...)
			continue
		}
		if qErrs := basicQuantityErrs(q, allocPath.Key(string(name))); len(qErrs) > 0 {
			errs = append(errs, qErrs...)
		} else {
			errs = append(errs, quantityValueErrs(corev1.ResourceStorage, q, allocPath.Key(string(name)))...)
		}
	}
	return errs
}

var resizeStatuses = []corev1.ClaimResourceStatus{
	corev1.PersistentVolumeClaimControllerResizeInProgress, corev1.PersistentVolumeClaimControllerResizeInfeasible,
	corev1.PersistentVolumeClaimNodeResizeInProgress, corev1.PersistentVolumeClaimNodeResizeInfeasible,
	corev1.PersistentVolumeClaimNodeResizePending,
}

// claimResourceKeyErrs checks a resource name in a claim's status: qualified, and storage
// when native.
func claimResourceKeyErrs(name corev1.ResourceName, p *field.Path) field.ErrorList {
	if errs := qualifiedNameFieldErrs(string(name), p); len(errs) > 0 {
		return errs
	}
	if nativeResource(name) && name != corev1.ResourceStorage {
		return field.ErrorList{field.NotSupported(p, string(name), []corev1.ResourceName{corev1.ResourceStorage})}
	}
	return nil
}

// claimSpecErrs checks access modes, the selector, a positive storage request, class
// names, volume mode and data sources.
func claimSpecErrs(spec *corev1.PersistentVolumeClaimSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(p.Child("accessModes"), "at least 1 access mode is required"))
	}
	errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
	errs = append(errs, accessModesErrs(spec.AccessModes, p.Child("accessModes"))...)
	// Upstream reports the request at spec.resources[storage].
	storagePath := p.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else if qErrs := positiveQuantityErrs(q, storagePath); len(qErrs) > 0 {
		errs = append(errs, qErrs...)
	} else {
		errs = append(errs, quantityValueErrs(corev1.ResourceStorage, q, storagePath)...)
	}
	if c := spec.StorageClassName; c != nil && *c != "" {
		errs = append(errs, classNameErrs(*c, p.Child("storageClassName"))...)
	}
	if m := spec.VolumeMode; m != nil && !slices.Contains(pvVolumeModes, *m) {
		errs = append(errs, field.NotSupported(p.Child("volumeMode"), *m, pvVolumeModes))
	}
	errs = append(errs, dataSourceErrs(spec, p)...)
	if c := spec.VolumeAttributesClassName; c != nil && *c != "" {
		errs = append(errs, classNameErrs(*c, p.Child("volumeAttributesClassName"))...)
	}
	return errs
}

// dataSourceErrs checks dataSource and dataSourceRef, and that they agree.
func dataSourceErrs(spec *corev1.PersistentVolumeClaimSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	src, ref := spec.DataSource, spec.DataSourceRef
	if src != nil {
		errs = append(errs, typedRefErrs(src.APIGroup, src.Kind, src.Name, p.Child("dataSource"))...)
	}
	if ref != nil {
		errs = append(errs, typedRefErrs(ref.APIGroup, ref.Kind, ref.Name, p.Child("dataSourceRef"))...)
		if ns := ref.Namespace; ns != nil && *ns != "" {
			for _, msg := range apimachineryvalidation.ValidateNamespaceName(*ns, false) {
				errs = append(errs, field.Invalid(p.Child("dataSourceRef", "namespace"), *ns, msg))
			}
		}
	}
	switch {
	case ref != nil && ref.Namespace != nil && *ref.Namespace != "":
		if src != nil {
			errs = append(errs, field.Invalid(p, p.Child("dataSource"), "may not be specified when dataSourceRef.namespace is specified"))
		}
	case src != nil && ref != nil:
		if !ptr.Equal(src.APIGroup, ref.APIGroup) || src.Kind != ref.Kind || src.Name != ref.Name {
			errs = append(errs, field.Invalid(p, p.Child("dataSource"), "must match dataSourceRef"))
		}
	}
	return errs
}

// typedRefErrs checks a data source reference: name and kind set, kind
// PersistentVolumeClaim in the core group, a DNS subdomain group otherwise.
func typedRefErrs(group *string, kind, name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	if kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	}
	g := ptr.Deref(group, "")
	if g == "" && kind != "PersistentVolumeClaim" {
		errs = append(errs, field.Invalid(p, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if g != "" {
		errs = append(errs, classNameErrs(g, p.Child("apiGroup"))...)
	}
	return errs
}

func persistentVolumeClaimTable() *registry.Table {
	status := corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()
	spec := corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			registry.NameColumn,
			{Name: "Status", Type: "string", Description: status["phase"]},
			{Name: "Volume", Type: "string", Description: spec["volumeName"]},
			{Name: "Capacity", Type: "string", Description: status["capacity"]},
			{Name: "Access Modes", Type: "string", Description: status["accessModes"]},
			{Name: "StorageClass", Type: "string", Description: "StorageClass of the pvc"},
			{Name: "VolumeAttributesClass", Type: "string", Description: "VolumeAttributesClass of the pvc"},
			registry.AgeColumn,
			{Name: "VolumeMode", Type: "string", Priority: 1, Description: spec["volumeMode"]},
		},
		Row: persistentVolumeClaimRow,
	}
}

// persistentVolumeClaimRow shows capacity and access modes only once the claim names a
// volume, as upstream does.
func persistentVolumeClaimRow(obj runtime.Object, now time.Time) []any {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	phase := string(pvc.Status.Phase)
	if pvc.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	capacity, modes := "", ""
	if pvc.Spec.VolumeName != "" {
		q := pvc.Status.Capacity[corev1.ResourceStorage]
		capacity, modes = q.String(), accessModesString(pvc.Status.AccessModes)
	}
	class := ptr.Deref(pvc.Spec.StorageClassName, "")
	if c, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		class = c
	}
	return []any{pvc.Name, phase, pvc.Spec.VolumeName, capacity, modes, class,
		stringOrUnset(pvc.Spec.VolumeAttributesClassName), registry.Age(pvc.CreationTimestamp, now),
		volumeModeString(pvc.Spec.VolumeMode)}
}
