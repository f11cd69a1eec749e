package apps

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry"
)

func deployments() registry.Resource {
	return registry.Resource{
		GVK:        appsv1.SchemeGroupVersion.WithKind("Deployment"),
		Plural:     "deployments",
		Singular:   "deployment",
		Namespaced: true,
		ShortNames: []string{"deploy"},
		Categories: []string{"all"},
		Status:     true,
		Scale: &registry.Scale{
			Replicas: func(obj runtime.Object) (int32, int32, string) {
				d := obj.(*appsv1.Deployment)
				return ptr.Deref(d.Spec.Replicas, 0), d.Status.Replicas, selectorString(d.Spec.Selector)
			},
			SetReplicas: func(obj runtime.Object, replicas int32) {
				obj.(*appsv1.Deployment).Spec.Replicas = ptr.To(replicas)
			},
		},
		Strategy: deploymentStrategy{},
		Table:    deploymentTable,
	}
}

type deploymentStrategy struct{ registry.DefaultStrategy }

// Default sets the apps/v1 defaults: one replica, a 25%/25% rolling update, ten kept
// revisions and a 600s progress deadline.
func (deploymentStrategy) Default(obj runtime.Object) {
	d := obj.(*appsv1.Deployment)
	if d.Spec.Replicas == nil {
		d.Spec.Replicas = ptr.To[int32](1)
	}
	strategy := &d.Spec.Strategy
	if strategy.Type == "" {
		strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if strategy.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if strategy.RollingUpdate == nil {
			strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if strategy.RollingUpdate.MaxUnavailable == nil {
			strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromString("25%"))
		}
		if strategy.RollingUpdate.MaxSurge == nil {
			strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromString("25%"))
		}
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = ptr.To[int32](10)
	}
	if d.Spec.ProgressDeadlineSeconds == nil {
		d.Spec.ProgressDeadlineSeconds = ptr.To[int32](600)
	}
	defaultTemplate(&d.Spec.Template)
}

// PrepareForUpdate keeps the stored status. Annotation changes bump the generation too,
// because the controller copies a deployment's annotations to its replica sets.
func (s deploymentStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	s.DefaultStrategy.PrepareForUpdate(ctx, obj, old)
	d, oldD := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
	if !equality.Semantic.DeepEqual(d.Spec, oldD.Spec) || !equality.Semantic.DeepEqual(d.Annotations, oldD.Annotations) {
		d.Generation = oldD.Generation + 1
	}
}

func (deploymentStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateDeploymentSpec(&obj.(*appsv1.Deployment).Spec)
}

func (deploymentStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	d, oldD := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
	errs := validateDeploymentSpec(&d.Spec)
	return append(errs, validateImmutableSelector(d.Spec.Selector, oldD.Spec.Selector)...)
}

// PrepareForStatusUpdate keeps the spec and labels, as upstream's deployment status strategy
// does: the controller records deployment.kubernetes.io/revision through /status, so
// annotations may change there.
func (deploymentStrategy) PrepareForStatusUpdate(_ context.Context, obj, old runtime.Object) {
	d, oldD := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
	d.Spec = *oldD.Spec.DeepCopy()
	d.Labels = oldD.DeepCopy().Labels
}

func (deploymentStrategy) ValidateStatusUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	d, oldD := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
	return validateDeploymentStatus(&d.Status, &oldD.Status)
}

func validateDeploymentSpec(spec *appsv1.DeploymentSpec) field.ErrorList {
	errs := nonNegativePtr(spec.Replicas, specPath.Child("replicas"))
	errs = append(errs, validateRequiredSelector(spec.Selector, "deployment")...)
	errs = append(errs, validateReplicaTemplate(spec.Selector, &spec.Template)...)
	errs = append(errs, validateDeploymentStrategy(&spec.Strategy, specPath.Child("strategy"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, nonNegativePtr(spec.RevisionHistoryLimit, specPath.Child("revisionHistoryLimit"))...)
	if spec.ProgressDeadlineSeconds != nil {
		path := specPath.Child("progressDeadlineSeconds")
		errs = append(errs, nonNegative(int64(*spec.ProgressDeadlineSeconds), path)...)
		if *spec.ProgressDeadlineSeconds <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(path, *spec.ProgressDeadlineSeconds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

// validateReplicaTemplate is the template validation deployments and replica sets share;
// upstream names ReplicaSet in its messages for both.
func validateReplicaTemplate(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec) field.ErrorList {
	errs := validateSelectorMatchesTemplate(sel, tmpl, "invalid label selector")
	return append(errs, validatePodTemplate(tmpl, "ReplicaSet")...)
}

func validateDeploymentStrategy(strategy *appsv1.DeploymentStrategy, path *field.Path) field.ErrorList {
	switch strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if strategy.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(path.Child("rollingUpdate"),
				fmt.Sprintf("may not be specified when strategy `type` is '%s'", appsv1.RecreateDeploymentStrategyType))}
		}
		return nil
	case appsv1.RollingUpdateDeploymentStrategyType:
		if strategy.RollingUpdate == nil {
			return field.ErrorList{field.Required(path.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		return validateRollingUpdateDeployment(strategy.RollingUpdate, path.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(path, strategy,
			[]appsv1.DeploymentStrategyType{appsv1.RecreateDeploymentStrategyType, appsv1.RollingUpdateDeploymentStrategyType})}
	}
}

func validateRollingUpdateDeployment(ru *appsv1.RollingUpdateDeployment, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	unavailablePath, surgePath := path.Child("maxUnavailable"), path.Child("maxSurge")
	if ru.MaxUnavailable != nil {
		errs = append(errs, validateIntOrPercent(*ru.MaxUnavailable, unavailablePath)...)
	}
	if ru.MaxSurge != nil {
		errs = append(errs, validateIntOrPercent(*ru.MaxSurge, surgePath)...)
	}
	if intOrPercentValue(ru.MaxUnavailable) == 0 && intOrPercentValue(ru.MaxSurge) == 0 {
		errs = append(errs, field.Invalid(unavailablePath, ptr.Deref(ru.MaxUnavailable, intstr.FromInt32(0)),
			"may not be 0 when `maxSurge` is 0"))
	}
	errs = append(errs, notMoreThan100Percent(ru.MaxUnavailable, unavailablePath)...)
	return errs
}

func validateDeploymentStatus(status, oldStatus *appsv1.DeploymentStatus) field.ErrorList {
	errs := nonNegative(status.ObservedGeneration, statusPath.Child("observedGeneration"))
	errs = append(errs, nonNegativeCounters(
		counter{"replicas", status.Replicas},
		counter{"updatedReplicas", status.UpdatedReplicas},
		counter{"readyReplicas", status.ReadyReplicas},
		counter{"availableReplicas", status.AvailableReplicas},
		counter{"unavailableReplicas", status.UnavailableReplicas},
	)...)
	errs = append(errs, nonNegativePtr(status.TerminatingReplicas, statusPath.Child("terminatingReplicas"))...)
	errs = append(errs, notAbove(status.Replicas, "status.replicas",
		counter{"updatedReplicas", status.UpdatedReplicas},
		counter{"readyReplicas", status.ReadyReplicas},
		counter{"availableReplicas", status.AvailableReplicas},
	)...)
	errs = append(errs, notAbove(status.ReadyReplicas, "readyReplicas",
		counter{"availableReplicas", status.AvailableReplicas})...)
	return append(errs, validateCollisionCount(status.CollisionCount, oldStatus.CollisionCount)...)
}

var deploymentTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
		{Name: "Up-to-date", Type: "string", Description: appsv1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]},
		{Name: "Available", Type: "string", Description: appsv1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]},
		registry.AgeColumn,
		{Name: "Containers", Type: "string", Priority: 1, Description: containersDescription},
		{Name: "Images", Type: "string", Priority: 1, Description: imagesDescription},
		{Name: "Selector", Type: "string", Priority: 1, Description: appsv1.DeploymentSpec{}.SwaggerDoc()["selector"]},
	},
	Row: func(obj runtime.Object, now time.Time) []any {
		d := obj.(*appsv1.Deployment)
		selector := "<invalid>"
		if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
			selector = s.String()
		}
		names, images := containerCells(&d.Spec.Template.Spec)
		return []any{
			d.Name,
			fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, ptr.Deref(d.Spec.Replicas, 0)),
			int64(d.Status.UpdatedReplicas),
			int64(d.Status.AvailableReplicas),
			registry.Age(d.CreationTimestamp, now),
			names, images, selector,
		}
	},
}
