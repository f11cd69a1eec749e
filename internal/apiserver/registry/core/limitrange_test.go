package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func resList(pairs ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(pairs); i += 2 {
		out[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return out
}

func testLimitRange(items ...corev1.LimitRangeItem) *corev1.LimitRange {
	return &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "limits", Namespace: "default"},
		Spec:       corev1.LimitRangeSpec{Limits: items},
	}
}

func TestLimitRangeDefaults(t *testing.T) {
	t.Parallel()
	t.Run("container defaults come from max, then the default limit, then min", func(t *testing.T) {
		t.Parallel()
		lr := testLimitRange(corev1.LimitRangeItem{
			Type: corev1.LimitTypeContainer,
			Max:  resList("cpu", "2", "memory", "1Gi"),
			Min:  resList("cpu", "100m", "ephemeral-storage", "1Gi"),
		})
		limitRangeStrategy{}.Default(lr)
		item := lr.Spec.Limits[0]
		for name, want := range map[string]string{"cpu": "2", "memory": "1Gi"} {
			if got := item.Default[corev1.ResourceName(name)]; got.String() != want {
				t.Errorf("default %s = %s, want %s", name, got.String(), want)
			}
		}
		for name, want := range map[string]string{"cpu": "2", "memory": "1Gi", "ephemeral-storage": "1Gi"} {
			if got := item.DefaultRequest[corev1.ResourceName(name)]; got.String() != want {
				t.Errorf("defaultRequest %s = %s, want %s", name, got.String(), want)
			}
		}
	})
	t.Run("pod limits get no defaults", func(t *testing.T) {
		t.Parallel()
		lr := testLimitRange(corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: resList("cpu", "2")})
		limitRangeStrategy{}.Default(lr)
		if lr.Spec.Limits[0].Default != nil || lr.Spec.Limits[0].DefaultRequest != nil {
			t.Errorf("item = %+v", lr.Spec.Limits[0])
		}
	})
	t.Run("a limit range without any name gets a generated one", func(t *testing.T) {
		t.Parallel()
		lr := testLimitRange()
		lr.Name = ""
		createErrs(t, limitRangeStrategy{}, lr)
		if lr.Name == "" {
			t.Error("name not generated")
		}
	})
}

func TestLimitRangeValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		item corev1.LimitRangeItem
		want []string
	}{
		{"ordered container limits are valid", corev1.LimitRangeItem{Type: corev1.LimitTypeContainer,
			Min: resList("cpu", "100m"), DefaultRequest: resList("cpu", "200m"), Default: resList("cpu", "500m"), Max: resList("cpu", "1"),
			MaxLimitRequestRatio: resList("cpu", "4")}, nil},
		{"a storage range for claims is valid", corev1.LimitRangeItem{Type: corev1.LimitTypePersistentVolumeClaim,
			Min: resList("storage", "1Gi"), Max: resList("storage", "10Gi")}, nil},
		{"an unknown unqualified type is invalid", corev1.LimitRangeItem{Type: "Node", Max: resList("cpu", "1")},
			[]string{"Invalid value spec.limits[0].type"}},
		{"a claim range needs min or max storage", corev1.LimitRangeItem{Type: corev1.LimitTypePersistentVolumeClaim},
			[]string{"Required value spec.limits[0].limits"}},
		{"pod limits may not have defaults", corev1.LimitRangeItem{Type: corev1.LimitTypePod, Default: resList("cpu", "1")},
			[]string{"Forbidden spec.limits[0].default"}},
		{"container resources must be container resources", corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: resList("pods", "1")},
			[]string{"Invalid value spec.limits[0].max[pods]"}},
		{"min above max is invalid", corev1.LimitRangeItem{Type: corev1.LimitTypePod, Min: resList("cpu", "2"), Max: resList("cpu", "1")},
			[]string{"Invalid value spec.limits[0].min[cpu]"}},
		{"a default above max is invalid", corev1.LimitRangeItem{Type: corev1.LimitTypeContainer,
			Default: resList("memory", "2Gi"), DefaultRequest: resList("memory", "1Gi"), Max: resList("memory", "1Gi")},
			[]string{"Invalid value spec.limits[0].default[memory]"}},
		{"a default request above the default limit is invalid", corev1.LimitRangeItem{Type: corev1.LimitTypeContainer,
			Default: resList("cpu", "1"), DefaultRequest: resList("cpu", "2")},
			[]string{"Invalid value spec.limits[0].defaultRequest[cpu]"}},
		{"a ratio below one is invalid", corev1.LimitRangeItem{Type: corev1.LimitTypePod, MaxLimitRequestRatio: resList("cpu", "500m")},
			[]string{"Invalid value spec.limits[0].maxLimitRequestRatio[cpu]"}},
		{"a ratio above max/min is invalid", corev1.LimitRangeItem{Type: corev1.LimitTypePod,
			Min: resList("cpu", "1"), Max: resList("cpu", "2"), MaxLimitRequestRatio: resList("cpu", "3")},
			[]string{"Invalid value spec.limits[0].maxLimitRequestRatio[cpu]"}},
		{"hugepages defaults must equal their requests", corev1.LimitRangeItem{Type: corev1.LimitTypeContainer,
			Default: resList("hugepages-2Mi", "4Mi"), DefaultRequest: resList("hugepages-2Mi", "2Mi")},
			[]string{"Invalid value spec.limits[0].defaultRequest[hugepages-2Mi]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectErrs(t, createErrs(t, limitRangeStrategy{}, testLimitRange(tt.item)), tt.want...)
		})
	}
	t.Run("a type may appear only once", func(t *testing.T) {
		t.Parallel()
		item := corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: resList("cpu", "1")}
		expectErrs(t, createErrs(t, limitRangeStrategy{}, testLimitRange(item, item)), "Duplicate value spec.limits[1].type")
	})
	t.Run("updates are validated like creates", func(t *testing.T) {
		t.Parallel()
		old := testLimitRange()
		lr := testLimitRange(corev1.LimitRangeItem{Type: "Node"})
		expectErrs(t, updateErrs(t, limitRangeStrategy{}, lr, old), "Invalid value spec.limits[0].type")
	})
}

func TestLimitRangeUsesTheDefaultTable(t *testing.T) {
	t.Parallel()
	if r := limitRangesResource(); r.Table != nil || r.Fields != nil {
		t.Errorf("limitranges table = %v, fields set = %v; upstream prints Name and Created At only", r.Table, r.Fields != nil)
	}
}
