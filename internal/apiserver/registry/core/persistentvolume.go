package core

import (
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry"
)

func persistentVolumesResource() registry.Resource {
	return registry.Resource{
		GVK:        coreGVK("PersistentVolume"),
		Plural:     "persistentvolumes",
		Singular:   "persistentvolume",
		ShortNames: []string{"pv"},
		Status:     true,
		Strategy:   persistentVolumeStrategy{now: nowSeconds},
		Table:      persistentVolumeTable(),
		Fields:     persistentVolumeFields,
	}
}

// persistentVolumeFields are the selectable fields upstream keeps for compatibility: a bare
// "name" besides metadata.name.
func persistentVolumeFields(obj runtime.Object) fields.Set {
	return fields.Set{"name": obj.(*corev1.PersistentVolume).Name}
}

// nowSeconds is the current time at the second precision the API serializes.
func nowSeconds() metav1.Time { return metav1.Now().Rfc3339Copy() }

type persistentVolumeStrategy struct {
	registry.DefaultStrategy
	// now stamps status.lastPhaseTransitionTime.
	now func() metav1.Time
}

// Default sets phase Pending, reclaim policy Retain, volume mode Filesystem and an unset
// hostPath type, and rounds the capacity up to milli precision.
func (persistentVolumeStrategy) Default(obj runtime.Object) {
	pv := obj.(*corev1.PersistentVolume)
	if pv.Status.Phase == "" {
		pv.Status.Phase = corev1.VolumePending
	}
	if pv.Spec.PersistentVolumeReclaimPolicy == "" {
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	}
	if pv.Spec.VolumeMode == nil {
		pv.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeFilesystem)
	}
	if pv.Spec.HostPath != nil && pv.Spec.HostPath.Type == nil {
		pv.Spec.HostPath.Type = ptr.To(corev1.HostPathUnset)
	}
	roundUpResourceList(pv.Spec.Capacity)
}

// PrepareForCreate starts the volume Pending, stamping the phase transition.
func (s persistentVolumeStrategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	now := s.now()
	obj.(*corev1.PersistentVolume).Status = corev1.PersistentVolumeStatus{
		Phase:                   corev1.VolumePending,
		LastPhaseTransitionTime: &now,
	}
}

// PrepareForStatusUpdate keeps the spec and stamps lastPhaseTransitionTime when the phase
// changes and the writer did not set a newer time itself.
func (s persistentVolumeStrategy) PrepareForStatusUpdate(_ context.Context, obj, old runtime.Object) {
	registry.KeepAllButStatus(obj, old)
	st, oldSt := &obj.(*corev1.PersistentVolume).Status, &old.(*corev1.PersistentVolume).Status
	switch {
	case st.Phase == oldSt.Phase && st.LastPhaseTransitionTime == nil:
		st.LastPhaseTransitionTime = oldSt.LastPhaseTransitionTime.DeepCopy()
	case st.Phase != oldSt.Phase && (st.LastPhaseTransitionTime == nil || st.LastPhaseTransitionTime.Equal(oldSt.LastPhaseTransitionTime)):
		now := s.now()
		st.LastPhaseTransitionTime = &now
	}
}

func (persistentVolumeStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return persistentVolumeSpecErrs(&obj.(*corev1.PersistentVolume).Spec, field.NewPath("spec"))
}

// ValidateUpdate adds the immutability rules: the volume source (except adding a CSI
// controllerExpandSecretRef), volume mode, node affinity once set, and a set
// volumeAttributesClassName may not be removed.
func (s persistentVolumeStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	pv, oldPV := obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume)
	errs := s.Validate(ctx, obj)
	newSource := pv.Spec.PersistentVolumeSource
	if oldPV.Spec.CSI != nil && oldPV.Spec.CSI.ControllerExpandSecretRef == nil && newSource.CSI != nil {
		newSource = *newSource.DeepCopy()
		newSource.CSI.ControllerExpandSecretRef = nil
	}
	if !equality.Semantic.DeepEqual(newSource, oldPV.Spec.PersistentVolumeSource) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"),
			"spec.persistentvolumesource is immutable after creation"))
	}
	// Upstream reports the volume mode without the spec prefix.
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(pv.Spec.VolumeMode, oldPV.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if oldPV.Spec.NodeAffinity != nil && !equality.Semantic.DeepEqual(pv.Spec.NodeAffinity, oldPV.Spec.NodeAffinity) {
		errs = append(errs, field.Invalid(field.NewPath("nodeAffinity"), pv.Spec.NodeAffinity,
			apimachineryvalidation.FieldImmutableErrorMsg+", except for updating from beta label to GA"))
	}
	if oldPV.Spec.VolumeAttributesClassName != nil && pv.Spec.VolumeAttributesClassName == nil {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
	}
	return errs
}

// persistentVolumeSpecErrs checks access modes, capacity, reclaim policy, exactly one
// volume source, node affinity, class names and volume mode.
func persistentVolumeSpecErrs(spec *corev1.PersistentVolumeSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(path.Child("accessModes"), ""))
	}
	errs = append(errs, accessModesErrs(spec.AccessModes, path.Child("accessModes"))...)
	capPath := path.Child("capacity")
	if len(spec.Capacity) == 0 {
		errs = append(errs, field.Required(capPath, ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		errs = append(errs, field.NotSupported(capPath, spec.Capacity, []corev1.ResourceName{corev1.ResourceStorage}))
	}
	for name, q := range spec.Capacity {
		errs = append(errs, basicQuantityErrs(q, capPath.Key(string(name)))...)
		errs = append(errs, positiveQuantityErrs(q, capPath.Key(string(name)))...)
	}
	if p := spec.PersistentVolumeReclaimPolicy; p != "" && !slices.Contains(pvReclaimPolicies, p) {
		errs = append(errs, field.NotSupported(path.Child("persistentVolumeReclaimPolicy"), p, pvReclaimPolicies))
	}
	hasAffinity := false
	if spec.NodeAffinity != nil {
		hasAffinity = true
		errs = append(errs, volumeNodeAffinityErrs(spec.NodeAffinity, path.Child("nodeAffinity"))...)
	}
	errs = append(errs, volumeSourceErrs(spec, hasAffinity, path)...)
	if spec.HostPath != nil && isRootPath(spec.HostPath.Path) &&
		spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		errs = append(errs, field.Forbidden(path.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if spec.StorageClassName != "" {
		errs = append(errs, classNameErrs(spec.StorageClassName, path.Child("storageClassName"))...)
	}
	if m := spec.VolumeMode; m != nil && !slices.Contains(pvVolumeModes, *m) {
		errs = append(errs, field.NotSupported(path.Child("volumeMode"), *m, pvVolumeModes))
	}
	if vac := spec.VolumeAttributesClassName; vac != nil {
		if *vac == "" {
			errs = append(errs, field.Required(path.Child("volumeAttributesClassName"), "an empty string is disallowed"))
		} else {
			errs = append(errs, classNameErrs(*vac, path.Child("volumeAttributesClassName"))...)
		}
		if spec.CSI == nil {
			errs = append(errs, field.Required(path.Child("csi"), "has to be specified when using volumeAttributesClassName"))
		}
	}
	return errs
}

func persistentVolumeTable() *registry.Table {
	spec, status := corev1.PersistentVolumeSpec{}.SwaggerDoc(), corev1.PersistentVolumeStatus{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			registry.NameColumn,
			{Name: "Capacity", Type: "string", Description: spec["capacity"]},
			{Name: "Access Modes", Type: "string", Description: spec["accessModes"]},
			{Name: "Reclaim Policy", Type: "string", Description: spec["persistentVolumeReclaimPolicy"]},
			{Name: "Status", Type: "string", Description: status["phase"]},
			{Name: "Claim", Type: "string", Description: spec["claimRef"]},
			{Name: "StorageClass", Type: "string", Description: "StorageClass of the pv"},
			{Name: "VolumeAttributesClass", Type: "string", Description: "VolumeAttributesClass of the pv"},
			{Name: "Reason", Type: "string", Description: status["reason"]},
			registry.AgeColumn,
			{Name: "VolumeMode", Type: "string", Priority: 1, Description: spec["volumeMode"]},
		},
		Row: persistentVolumeRow,
	}
}

func persistentVolumeRow(obj runtime.Object, now time.Time) []any {
	pv := obj.(*corev1.PersistentVolume)
	claim := ""
	if ref := pv.Spec.ClaimRef; ref != nil {
		claim = ref.Namespace + "/" + ref.Name
	}
	capacity := pv.Spec.Capacity[corev1.ResourceStorage]
	phase := string(pv.Status.Phase)
	if pv.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	class := pv.Spec.StorageClassName
	if c, ok := pv.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		class = c
	}
	return []any{pv.Name, capacity.String(), accessModesString(pv.Spec.AccessModes),
		string(pv.Spec.PersistentVolumeReclaimPolicy), phase, claim, class,
		stringOrUnset(pv.Spec.VolumeAttributesClassName), pv.Status.Reason,
		registry.Age(pv.CreationTimestamp, now), volumeModeString(pv.Spec.VolumeMode)}
}

// accessModesString abbreviates access modes like kubectl: "RWO,ROX,RWX,RWOP", in that
// order whatever the order given.
func accessModesString(modes []corev1.PersistentVolumeAccessMode) string {
	out := ""
	for _, m := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		short string
	}{
		{corev1.ReadWriteOnce, "RWO"}, {corev1.ReadOnlyMany, "ROX"},
		{corev1.ReadWriteMany, "RWX"}, {corev1.ReadWriteOncePod, "RWOP"},
	} {
		if slices.Contains(modes, m.mode) {
			if out != "" {
				out += ","
			}
			out += m.short
		}
	}
	return out
}

func stringOrUnset(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}

func volumeModeString(m *corev1.PersistentVolumeMode) string {
	if m == nil {
		return "<unset>"
	}
	return string(*m)
}
