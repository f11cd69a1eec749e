package autoscaling

import (
	"context"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry"
)

// defaultCPUUtilization is the target of the metric an HPA without metrics gets.
const defaultCPUUtilization = 80

var specPath = field.NewPath("spec")

func horizontalPodAutoscalers() registry.Resource {
	return registry.Resource{
		GVK:        autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"),
		Plural:     "horizontalpodautoscalers",
		Singular:   "horizontalpodautoscaler",
		Namespaced: true,
		ShortNames: []string{"hpa"},
		Categories: []string{"all"},
		Status:     true,
		Strategy:   hpaStrategy{},
		Table:      hpaTable,
	}
}

type hpaStrategy struct{ registry.DefaultStrategy }

// Default sets one minimum replica, an 80% average CPU utilization target when no metric is
// given, and fills a given behavior with the scaling rules the controller would otherwise
// apply.
func (hpaStrategy) Default(obj runtime.Object) {
	hpa := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if hpa.Spec.MinReplicas == nil {
		hpa.Spec.MinReplicas = ptr.To[int32](1)
	}
	if len(hpa.Spec.Metrics) == 0 {
		hpa.Spec.Metrics = []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{
					Type:               autoscalingv2.UtilizationMetricType,
					AverageUtilization: ptr.To[int32](defaultCPUUtilization),
				},
			},
		}}
	}
	if b := hpa.Spec.Behavior; b != nil {
		b.ScaleUp = withDefaults(b.ScaleUp, defaultScaleUp())
		b.ScaleDown = withDefaults(b.ScaleDown, defaultScaleDown())
	}
}

// defaultScaleUp allows, every 15s, the larger of doubling and adding 4 pods, at once.
func defaultScaleUp() *autoscalingv2.HPAScalingRules {
	return &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptr.To[int32](0),
		SelectPolicy:               ptr.To(autoscalingv2.MaxChangePolicySelect),
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		},
	}
}

// defaultScaleDown allows removing every pod each 15s. Its stabilization window stays
// unset: the controller's flag decides it.
func defaultScaleDown() *autoscalingv2.HPAScalingRules {
	return &autoscalingv2.HPAScalingRules{
		SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect),
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		},
	}
}

// withDefaults fills the unset fields of rules from defaults.
func withDefaults(rules, defaults *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	if rules == nil {
		return defaults
	}
	if rules.SelectPolicy != nil {
		defaults.SelectPolicy = rules.SelectPolicy
	}
	if rules.StabilizationWindowSeconds != nil {
		defaults.StabilizationWindowSeconds = rules.StabilizationWindowSeconds
	}
	if rules.Policies != nil {
		defaults.Policies = rules.Policies
	}
	if rules.Tolerance != nil {
		defaults.Tolerance = rules.Tolerance
	}
	return defaults
}

func (hpaStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateHPASpec(&obj.(*autoscalingv2.HorizontalPodAutoscaler).Spec, 1)
}

// ValidateUpdate keeps accepting minReplicas 0 on objects that already have it (scaling to
// zero is an alpha feature, off here).
func (hpaStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	minLowerBound := int32(1)
	if ptr.Deref(old.(*autoscalingv2.HorizontalPodAutoscaler).Spec.MinReplicas, 1) == 0 {
		minLowerBound = 0
	}
	return validateHPASpec(&obj.(*autoscalingv2.HorizontalPodAutoscaler).Spec, minLowerBound)
}

func (hpaStrategy) ValidateStatusUpdate(_ context.Context, obj, _ runtime.Object) field.ErrorList {
	st := &obj.(*autoscalingv2.HorizontalPodAutoscaler).Status
	statusPath := field.NewPath("status")
	errs := apimachineryvalidation.ValidateNonnegativeField(int64(st.CurrentReplicas), statusPath.Child("currentReplicas"))
	return append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(st.DesiredReplicas), statusPath.Child("desiredReplicas"))...)
}

var hpaTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		{Name: "Reference", Type: "string", Description: autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["scaleTargetRef"]},
		{Name: "Targets", Type: "string", Description: autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["metrics"]},
		{Name: "MinPods", Type: "string", Description: autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["minReplicas"]},
		{Name: "MaxPods", Type: "string", Description: autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["maxReplicas"]},
		{Name: "Replicas", Type: "string", Description: autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []any {
		hpa := obj.(*autoscalingv2.HorizontalPodAutoscaler)
		minPods := "<unset>"
		if hpa.Spec.MinReplicas != nil {
			minPods = fmtInt(*hpa.Spec.MinReplicas)
		}
		ref := hpa.Spec.ScaleTargetRef
		return []any{
			hpa.Name,
			ref.Kind + "/" + ref.Name,
			formatMetrics(hpa.Spec.Metrics, hpa.Status.CurrentMetrics),
			minPods,
			int64(hpa.Spec.MaxReplicas),
			int64(hpa.Status.CurrentReplicas),
			registry.Age(hpa.CreationTimestamp, now),
		}
	},
}
