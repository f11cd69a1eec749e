package autoscaling

import (
	"reflect"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

type wantErr struct {
	typ   field.ErrorType
	field string
}

// expectErrors fails unless errs holds exactly the wanted (type, field) pairs, in any order.
func expectErrors(t *testing.T, errs field.ErrorList, want ...wantErr) {
	t.Helper()
	got := map[wantErr]int{}
	for _, e := range errs {
		got[wantErr{e.Type, e.Field}]++
	}
	for _, w := range want {
		if got[w] == 0 {
			t.Errorf("missing error %s %s; got %v", w.field, w.typ, errs)
			continue
		}
		got[w]--
	}
	for w, n := range got {
		if n > 0 {
			t.Errorf("unexpected error %s %s; got %v", w.field, w.typ, errs)
		}
	}
}

func testHPA() *autoscalingv2.HorizontalPodAutoscaler {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    10,
		},
	}
	hpaStrategy{}.Default(hpa)
	return hpa
}

func qty(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }

func TestHPADefaults(t *testing.T) {
	t.Parallel()
	t.Run("an HPA without metrics targets 80% CPU from one replica", func(t *testing.T) {
		t.Parallel()
		hpa := testHPA()
		want := []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{
				Name:   corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)},
			},
		}}
		if *hpa.Spec.MinReplicas != 1 || !reflect.DeepEqual(hpa.Spec.Metrics, want) || hpa.Spec.Behavior != nil {
			t.Errorf("defaulted spec = %+v", hpa.Spec)
		}
	})
	t.Run("a behavior gets the default scaling rules for what it leaves out", func(t *testing.T) {
		t.Parallel()
		hpa := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](60)},
			},
		}}
		hpaStrategy{}.Default(hpa)
		want := &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptr.To[int32](0),
				SelectPolicy:               ptr.To(autoscalingv2.MaxChangePolicySelect),
				Policies: []autoscalingv2.HPAScalingPolicy{
					{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
					{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
				},
			},
			ScaleDown: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptr.To[int32](60),
				SelectPolicy:               ptr.To(autoscalingv2.MaxChangePolicySelect),
				Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}},
			},
		}
		if !reflect.DeepEqual(hpa.Spec.Behavior, want) {
			t.Errorf("behavior = %+v, want %+v", hpa.Spec.Behavior, want)
		}
	})
}

var podsMetric = autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
	Metric: autoscalingv2.MetricIdentifier{Name: "requests"},
	Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("10")},
}}

var hpaValidateCases = []struct {
	name   string
	mutate func(*autoscalingv2.HorizontalPodAutoscaler)
	want   []wantErr
}{
	{name: "a defaulted HPA is valid", mutate: func(*autoscalingv2.HorizontalPodAutoscaler) {}},
	{name: "a pods metric is valid", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics = append(h.Spec.Metrics, podsMetric) }},
	{
		name: "the scale target needs a kind and a name",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{}
		},
		want: []wantErr{{field.ErrorTypeRequired, "spec.scaleTargetRef.kind"}, {field.ErrorTypeRequired, "spec.scaleTargetRef.name"}},
	},
	{
		name:   "a scale target name must be a path segment",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.ScaleTargetRef.Name = "a/b" },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.scaleTargetRef.name"}},
	},
	{
		name:   "minReplicas 0 is invalid on create",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = ptr.To[int32](0) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.minReplicas"}, {field.ErrorTypeForbidden, "spec.metrics"}},
	},
	{
		name:   "maxReplicas must be positive",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MaxReplicas = 0 },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.maxReplicas"}, {field.ErrorTypeInvalid, "spec.maxReplicas"}},
	},
	{
		name:   "maxReplicas may not be below minReplicas",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = ptr.To[int32](11) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.maxReplicas"}},
	},
	{
		name: "a metric must populate the source its type names",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Type = autoscalingv2.PodsMetricSourceType
		},
		want: []wantErr{{field.ErrorTypeRequired, "spec.metrics[0].pods"}},
	},
	{
		name:   "an unknown metric type is not supported",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics[0].Type = "Weather" },
		want:   []wantErr{{field.ErrorTypeNotSupported, "spec.metrics[0].type"}},
	},
	{
		name: "a metric may populate only one source",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Pods = podsMetric.Pods
		},
		want: []wantErr{{field.ErrorTypeForbidden, "spec.metrics[0].pods"}},
	},
	{
		name: "a resource target may not set both a value and a utilization",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Resource.Target.AverageValue = qty("100m")
		},
		want: []wantErr{{field.ErrorTypeForbidden, "spec.metrics[0].resource.target.averageValue"}},
	},
	{
		name: "a utilization must be positive",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Resource.Target.AverageUtilization = ptr.To[int32](0)
		},
		want: []wantErr{{field.ErrorTypeInvalid, "spec.metrics[0].resource.target.averageUtilization"}},
	},
	{
		name: "a container resource metric needs a standard resource and a container",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
				Name:   "bandwidth",
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)},
			}}}
		},
		want: []wantErr{{field.ErrorTypeInvalid, "spec.metrics[0].containerResource.name"}, {field.ErrorTypeRequired, "spec.metrics[0].containerResource.container"}},
	},
	{
		name: "an external metric may not set both value and averageValue",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qty("30"), AverageValue: qty("3")},
			}}}
		},
		want: []wantErr{{field.ErrorTypeForbidden, "spec.metrics[0].external.target.value"}},
	},
	{
		name: "scaling policies need a known type, a positive value and a bounded period",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
				Policies: []autoscalingv2.HPAScalingPolicy{{Type: "Nodes", Value: 0, PeriodSeconds: 3600}},
			}}
			hpaStrategy{}.Default(h)
		},
		want: []wantErr{
			{field.ErrorTypeNotSupported, "spec.behavior.scaleUp.policies[0].type"},
			{field.ErrorTypeInvalid, "spec.behavior.scaleUp.policies[0].value"},
			{field.ErrorTypeInvalid, "spec.behavior.scaleUp.policies[0].periodSeconds"},
		},
	},
	{
		name: "a stabilization window above an hour is invalid",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](3601)}}
			hpaStrategy{}.Default(h)
		},
		want: []wantErr{{field.ErrorTypeInvalid, "spec.behavior.scaleDown.stabilizationWindowSeconds"}},
	},
	{
		name: "an empty policy list is required",
		mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{}}}
			hpaStrategy{}.Default(h)
		},
		want: []wantErr{{field.ErrorTypeRequired, "spec.behavior.scaleDown.policies"}},
	},
}

func TestHPAValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range hpaValidateCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hpa := testHPA()
			tc.mutate(hpa)
			expectErrors(t, hpaStrategy{}.Validate(t.Context(), hpa), tc.want...)
		})
	}
}

func TestHPAValidateUpdate(t *testing.T) {
	t.Parallel()
	external := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth"},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("5")},
	}}
	t.Run("an HPA already scaled to zero may keep minReplicas 0", func(t *testing.T) {
		t.Parallel()
		old := testHPA()
		old.Spec.MinReplicas = ptr.To[int32](0)
		old.Spec.Metrics = []autoscalingv2.MetricSpec{external}
		hpa := old.DeepCopy()
		hpa.Spec.MaxReplicas = 20
		expectErrors(t, hpaStrategy{}.ValidateUpdate(t.Context(), hpa, old))
	})
	t.Run("an HPA may not newly scale to zero", func(t *testing.T) {
		t.Parallel()
		old := testHPA()
		hpa := old.DeepCopy()
		hpa.Spec.MinReplicas = ptr.To[int32](0)
		hpa.Spec.Metrics = []autoscalingv2.MetricSpec{external}
		expectErrors(t, hpaStrategy{}.ValidateUpdate(t.Context(), hpa, old), wantErr{field.ErrorTypeInvalid, "spec.minReplicas"})
	})
	t.Run("a status update keeps the spec and checks the replica counts", func(t *testing.T) {
		t.Parallel()
		old := testHPA()
		hpa := old.DeepCopy()
		hpa.Spec.MaxReplicas = 99
		hpa.Status.DesiredReplicas = -1
		hpaStrategy{}.PrepareForStatusUpdate(t.Context(), hpa, old)
		if hpa.Spec.MaxReplicas != 10 {
			t.Errorf("maxReplicas = %d, want the stored 10", hpa.Spec.MaxReplicas)
		}
		expectErrors(t, hpaStrategy{}.ValidateStatusUpdate(t.Context(), hpa, old), wantErr{field.ErrorTypeInvalid, "status.desiredReplicas"})
	})
}

func TestHPATable(t *testing.T) {
	t.Parallel()
	r := Resources()[0]
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	resourceMetric := func(name corev1.ResourceName, target autoscalingv2.MetricTarget) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: name, Target: target}}
	}
	utilization := autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)}
	tests := []struct {
		name     string
		metrics  []autoscalingv2.MetricSpec
		statuses []autoscalingv2.MetricStatus
		want     string
	}{
		{name: "a metric without status is unknown", metrics: []autoscalingv2.MetricSpec{resourceMetric("cpu", utilization)}, want: "cpu: <unknown>/80%"},
		{
			name:    "a utilization shows current and target percentages",
			metrics: []autoscalingv2.MetricSpec{resourceMetric("cpu", utilization)},
			statuses: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
				Name: "cpu", Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](42)},
			}}},
			want: "cpu: 42%/80%",
		},
		{
			name: "an external per-pod target is marked avg",
			metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("5")},
			}}},
			want: "<unknown>/5 (avg)",
		},
		{
			name: "more than two metrics are summarized",
			metrics: []autoscalingv2.MetricSpec{
				resourceMetric("cpu", utilization),
				resourceMetric("memory", autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("1Gi")}),
				resourceMetric("cpu", utilization),
			},
			want: "cpu: <unknown>/80%, memory: <unknown>/1Gi + 1 more...",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hpa := testHPA()
			hpa.CreationTimestamp = metav1.NewTime(now.Add(-30 * time.Minute))
			hpa.Spec.Metrics = tc.metrics
			hpa.Status.CurrentMetrics = tc.statuses
			hpa.Status.CurrentReplicas = 2
			want := []any{"web", "Deployment/web", tc.want, "1", int64(10), int64(2), "30m"}
			if got := r.Table.Row(hpa, now); !reflect.DeepEqual(got, want) {
				t.Errorf("row = %#v, want %#v", got, want)
			}
		})
	}
	t.Run("the resource is hpa in category all", func(t *testing.T) {
		t.Parallel()
		if r.Plural != "horizontalpodautoscalers" || !reflect.DeepEqual(r.ShortNames, []string{"hpa"}) || !reflect.DeepEqual(r.Categories, []string{"all"}) || !r.Status {
			t.Errorf("identity = %+v", r)
		}
	})
}
