package apps

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry"
)

func statefulSets() registry.Resource {
	return registry.Resource{
		GVK:        appsv1.SchemeGroupVersion.WithKind("StatefulSet"),
		Plural:     "statefulsets",
		Singular:   "statefulset",
		Namespaced: true,
		ShortNames: []string{"sts"},
		Categories: []string{"all"},
		Status:     true,
		Scale: &registry.Scale{
			Replicas: func(obj runtime.Object) (int32, int32, string) {
				s := obj.(*appsv1.StatefulSet)
				return ptr.Deref(s.Spec.Replicas, 0), s.Status.Replicas, selectorString(s.Spec.Selector)
			},
			SetReplicas: func(obj runtime.Object, replicas int32) {
				obj.(*appsv1.StatefulSet).Spec.Replicas = ptr.To(replicas)
			},
		},
		Strategy: statefulSetStrategy{},
		Table:    statefulSetTable,
		// Pods are named <set>-<ordinal> and use that name as their hostname.
		NameValidation: apimachineryvalidation.NameIsDNSLabel,
	}
}

type statefulSetStrategy struct{ registry.DefaultStrategy }

// Default sets the apps/v1 defaults, including those of the claim templates.
func (statefulSetStrategy) Default(obj runtime.Object) {
	s := obj.(*appsv1.StatefulSet)
	spec := &s.Spec
	if spec.PodManagementPolicy == "" {
		spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	}
	if spec.UpdateStrategy.Type == "" {
		spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
	}
	if ru := spec.UpdateStrategy.RollingUpdate; spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && ru != nil {
		if ru.Partition == nil {
			ru.Partition = ptr.To[int32](0)
		}
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = ptr.To(intstr.FromInt32(1))
		}
	}
	if spec.PersistentVolumeClaimRetentionPolicy == nil {
		spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenDeleted == "" {
		p.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenScaled == "" {
		p.WhenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if spec.Replicas == nil {
		spec.Replicas = ptr.To[int32](1)
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptr.To[int32](10)
	}
	defaultTemplate(&spec.Template)
	for i := range spec.VolumeClaimTemplates {
		defaultClaimTemplate(&spec.VolumeClaimTemplates[i])
	}
}

// defaultClaimTemplate applies the PersistentVolumeClaim defaults to a claim template.
func defaultClaimTemplate(pvc *corev1.PersistentVolumeClaim) {
	if pvc.Spec.VolumeMode == nil {
		pvc.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeFilesystem)
	}
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = corev1.ClaimPending
	}
}

func (statefulSetStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateStatefulSetSpec(&obj.(*appsv1.StatefulSet).Spec)
}

func (statefulSetStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	s, oldS := obj.(*appsv1.StatefulSet), old.(*appsv1.StatefulSet)
	errs := validateStatefulSetSpec(&s.Spec)
	return append(errs, validateStatefulSetSpecUpdate(&s.Spec, &oldS.Spec)...)
}

func (statefulSetStrategy) ValidateStatusUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	s, oldS := obj.(*appsv1.StatefulSet), old.(*appsv1.StatefulSet)
	return validateStatefulSetStatus(&s.Status, &oldS.Status)
}

// validateStatefulSetSpecUpdate allows only the mutable fields to change.
func validateStatefulSetSpecUpdate(spec, oldSpec *appsv1.StatefulSetSpec) field.ErrorList {
	rest := spec.DeepCopy()
	rest.Replicas = oldSpec.Replicas
	rest.Ordinals = oldSpec.Ordinals
	rest.Template = oldSpec.Template
	rest.UpdateStrategy = oldSpec.UpdateStrategy
	rest.RevisionHistoryLimit = oldSpec.RevisionHistoryLimit
	rest.PersistentVolumeClaimRetentionPolicy = oldSpec.PersistentVolumeClaimRetentionPolicy
	rest.MinReadySeconds = oldSpec.MinReadySeconds
	if equality.Semantic.DeepEqual(rest, oldSpec) {
		return nil
	}
	return field.ErrorList{field.Forbidden(specPath, "updates to statefulset spec for fields other than "+
		"'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "+
		"'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")}
}

func validateStatefulSetSpec(spec *appsv1.StatefulSetSpec) field.ErrorList {
	var errs field.ErrorList
	switch spec.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(specPath.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(specPath.Child("podManagementPolicy"), spec.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	errs = append(errs, validateStatefulSetUpdateStrategy(&spec.UpdateStrategy, specPath.Child("updateStrategy"))...)
	errs = append(errs, validateClaimRetentionPolicy(spec.PersistentVolumeClaimRetentionPolicy)...)
	errs = append(errs, nonNegativePtr(spec.Replicas, specPath.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	if spec.Ordinals != nil {
		errs = append(errs, nonNegative(int64(spec.Ordinals.Start), specPath.Child("ordinals", "start"))...)
	}
	errs = append(errs, validateRequiredSelector(spec.Selector, "statefulset")...)
	errs = append(errs, validateSelectorMatchesTemplate(spec.Selector, &spec.Template, "")...)
	// Like upstream, the pod spec itself is not validated here: its volume mounts may name
	// volumes that only the claim templates provide.
	errs = append(errs, metav1validation.ValidateLabels(spec.Template.Labels, templatePath.Child("labels"))...)
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(spec.Template.Annotations, templatePath.Child("annotations"))...)
	return append(errs, validateAlwaysRestartingTemplate(&spec.Template.Spec, "StatefulSet")...)
}

func validateStatefulSetUpdateStrategy(strategy *appsv1.StatefulSetUpdateStrategy, path *field.Path) field.ErrorList {
	switch strategy.Type {
	case "":
		return field.ErrorList{field.Required(path, "")}
	case appsv1.OnDeleteStatefulSetStrategyType:
		if strategy.RollingUpdate != nil {
			return field.ErrorList{field.Invalid(path.Child("rollingUpdate"), strategy.RollingUpdate,
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType))}
		}
		return nil
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if strategy.RollingUpdate == nil {
			return nil
		}
		return validateRollingUpdateStatefulSet(strategy.RollingUpdate, path.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.Invalid(path, strategy, fmt.Sprintf("must be '%s' or '%s'",
			appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType))}
	}
}

func validateRollingUpdateStatefulSet(ru *appsv1.RollingUpdateStatefulSetStrategy, path *field.Path) field.ErrorList {
	errs := nonNegativePtr(ru.Partition, path.Child("partition"))
	if ru.MaxUnavailable != nil {
		maxPath := path.Child("maxUnavailable")
		errs = append(errs, validateIntOrPercent(*ru.MaxUnavailable, maxPath)...)
		if intOrPercentValue(ru.MaxUnavailable) == 0 {
			errs = append(errs, field.Invalid(maxPath, *ru.MaxUnavailable, "cannot be 0"))
		}
		errs = append(errs, notMoreThan100Percent(ru.MaxUnavailable, maxPath)...)
	}
	return errs
}

func validateClaimRetentionPolicy(policy *appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy) field.ErrorList {
	if policy == nil {
		return nil
	}
	path := specPath.Child("persistentVolumeClaimRetentionPolicy")
	valid := []appsv1.PersistentVolumeClaimRetentionPolicyType{
		appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
	}
	var errs field.ErrorList
	for _, p := range []struct {
		name  string
		value appsv1.PersistentVolumeClaimRetentionPolicyType
	}{{"whenDeleted", policy.WhenDeleted}, {"whenScaled", policy.WhenScaled}} {
		if p.value != valid[0] && p.value != valid[1] {
			errs = append(errs, field.NotSupported(path.Child(p.name), p.value, valid))
		}
	}
	return errs
}

func validateStatefulSetStatus(status, oldStatus *appsv1.StatefulSetStatus) field.ErrorList {
	errs := nonNegativeCounters(
		counter{"replicas", status.Replicas},
		counter{"readyReplicas", status.ReadyReplicas},
		counter{"currentReplicas", status.CurrentReplicas},
		counter{"updatedReplicas", status.UpdatedReplicas},
		counter{"availableReplicas", status.AvailableReplicas},
	)
	errs = append(errs, nonNegative(status.ObservedGeneration, statusPath.Child("observedGeneration"))...)
	errs = append(errs, notAbove(status.Replicas, "status.replicas",
		counter{"readyReplicas", status.ReadyReplicas},
		counter{"currentReplicas", status.CurrentReplicas},
		counter{"updatedReplicas", status.UpdatedReplicas},
		counter{"availableReplicas", status.AvailableReplicas},
	)...)
	errs = append(errs, notAbove(status.ReadyReplicas, "status.readyReplicas",
		counter{"availableReplicas", status.AvailableReplicas})...)
	return append(errs, validateCollisionCount(status.CollisionCount, oldStatus.CollisionCount)...)
}

var statefulSetTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
		registry.AgeColumn,
		{Name: "Containers", Type: "string", Priority: 1, Description: containersDescription},
		{Name: "Images", Type: "string", Priority: 1, Description: imagesDescription},
	},
	Row: func(obj runtime.Object, now time.Time) []any {
		s := obj.(*appsv1.StatefulSet)
		names, images := containerCells(&s.Spec.Template.Spec)
		return []any{
			s.Name,
			fmt.Sprintf("%d/%d", s.Status.ReadyReplicas, ptr.Deref(s.Spec.Replicas, 0)),
			registry.Age(s.CreationTimestamp, now),
			names, images,
		}
	},
}
