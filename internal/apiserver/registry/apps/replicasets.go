package apps

import (
	"context"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry"
)

func replicaSets() registry.Resource {
	return registry.Resource{
		GVK:        appsv1.SchemeGroupVersion.WithKind("ReplicaSet"),
		Plural:     "replicasets",
		Singular:   "replicaset",
		Namespaced: true,
		ShortNames: []string{"rs"},
		Categories: []string{"all"},
		Status:     true,
		Scale: &registry.Scale{
			Replicas: func(obj runtime.Object) (int32, int32, string) {
				rs := obj.(*appsv1.ReplicaSet)
				return ptr.Deref(rs.Spec.Replicas, 0), rs.Status.Replicas, selectorString(rs.Spec.Selector)
			},
			SetReplicas: func(obj runtime.Object, replicas int32) {
				obj.(*appsv1.ReplicaSet).Spec.Replicas = ptr.To(replicas)
			},
		},
		Strategy: replicaSetStrategy{},
		Table:    replicaSetTable,
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*appsv1.ReplicaSet).Status.Replicas))}
		},
	}
}

type replicaSetStrategy struct{ registry.DefaultStrategy }

// Default sets one replica and the pod template defaults.
func (replicaSetStrategy) Default(obj runtime.Object) {
	rs := obj.(*appsv1.ReplicaSet)
	if rs.Spec.Replicas == nil {
		rs.Spec.Replicas = ptr.To[int32](1)
	}
	defaultTemplate(&rs.Spec.Template)
}

func (replicaSetStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateReplicaSetSpec(&obj.(*appsv1.ReplicaSet).Spec)
}

func (replicaSetStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	rs, oldRS := obj.(*appsv1.ReplicaSet), old.(*appsv1.ReplicaSet)
	errs := validateReplicaSetSpec(&rs.Spec)
	return append(errs, validateImmutableSelector(rs.Spec.Selector, oldRS.Spec.Selector)...)
}

func (replicaSetStrategy) ValidateStatusUpdate(_ context.Context, obj, _ runtime.Object) field.ErrorList {
	return validateReplicaSetStatus(&obj.(*appsv1.ReplicaSet).Status)
}

func validateReplicaSetSpec(spec *appsv1.ReplicaSetSpec) field.ErrorList {
	errs := nonNegativePtr(spec.Replicas, specPath.Child("replicas"))
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	// Upstream names deployments in the replica set message too; kubectl users see that.
	errs = append(errs, validateRequiredSelector(spec.Selector, "deployment")...)
	return append(errs, validateReplicaTemplate(spec.Selector, &spec.Template)...)
}

func validateReplicaSetStatus(status *appsv1.ReplicaSetStatus) field.ErrorList {
	errs := nonNegativeCounters(
		counter{"replicas", status.Replicas},
		counter{"fullyLabeledReplicas", status.FullyLabeledReplicas},
		counter{"readyReplicas", status.ReadyReplicas},
		counter{"availableReplicas", status.AvailableReplicas},
	)
	errs = append(errs, nonNegativePtr(status.TerminatingReplicas, statusPath.Child("terminatingReplicas"))...)
	errs = append(errs, nonNegative(status.ObservedGeneration, statusPath.Child("observedGeneration"))...)
	errs = append(errs, notAbove(status.Replicas, "status.replicas",
		counter{"fullyLabeledReplicas", status.FullyLabeledReplicas},
		counter{"readyReplicas", status.ReadyReplicas},
		counter{"availableReplicas", status.AvailableReplicas},
	)...)
	return append(errs, notAbove(status.ReadyReplicas, "readyReplicas",
		counter{"availableReplicas", status.AvailableReplicas})...)
}

var replicaSetTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		{Name: "Desired", Type: "integer", Description: appsv1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]},
		{Name: "Current", Type: "integer", Description: appsv1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]},
		{Name: "Ready", Type: "integer", Description: appsv1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]},
		registry.AgeColumn,
		{Name: "Containers", Type: "string", Priority: 1, Description: containersDescription},
		{Name: "Images", Type: "string", Priority: 1, Description: imagesDescription},
		{Name: "Selector", Type: "string", Priority: 1, Description: appsv1.ReplicaSetSpec{}.SwaggerDoc()["selector"]},
	},
	Row: func(obj runtime.Object, now time.Time) []any {
		rs := obj.(*appsv1.ReplicaSet)
		names, images := containerCells(&rs.Spec.Template.Spec)
		return []any{
			rs.Name,
			int64(ptr.Deref(rs.Spec.Replicas, 0)),
			int64(rs.Status.Replicas),
			int64(rs.Status.ReadyReplicas),
			registry.Age(rs.CreationTimestamp, now),
			names, images, metav1.FormatLabelSelector(rs.Spec.Selector),
		}
	},
}
