package scheduling

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func class(name string, value int32) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}
}

func TestPriorityClassIdentityAndDefaults(t *testing.T) {
	t.Parallel()
	r := findResource(t, "priorityclasses")
	if r.GVK.String() != "scheduling.k8s.io/v1, Kind=PriorityClass" || r.Namespaced || r.ShortNames[0] != "pc" {
		t.Errorf("identity: %+v", r)
	}
	t.Run("preemptionPolicy defaults to PreemptLowerPriority", func(t *testing.T) {
		t.Parallel()
		pc := class("high", 1000)
		r.Strategy.Default(pc)
		if *pc.PreemptionPolicy != corev1.PreemptLowerPriority {
			t.Errorf("preemptionPolicy = %v", *pc.PreemptionPolicy)
		}
		never := class("low", 1)
		never.PreemptionPolicy = ptr.To(corev1.PreemptNever)
		r.Strategy.Default(never)
		if *never.PreemptionPolicy != corev1.PreemptNever {
			t.Errorf("preemptionPolicy = %v", *never.PreemptionPolicy)
		}
	})
}

func TestPriorityClassValidation(t *testing.T) {
	t.Parallel()
	s := findResource(t, "priorityclasses").Strategy
	withDefault := func(pc *schedulingv1.PriorityClass) *schedulingv1.PriorityClass {
		pc.GlobalDefault = true
		return pc
	}
	cases := []struct {
		name string
		pc   *schedulingv1.PriorityClass
		want []wantErr
	}{
		{name: "a user class up to one billion is valid", pc: class("high", HighestUserDefinablePriority)},
		{name: "a negative value is valid", pc: class("low", -10)},
		{name: "a user class above one billion is forbidden", pc: class("too-high", HighestUserDefinablePriority+1),
			want: []wantErr{{"value", field.ErrorTypeForbidden}}},
		{name: "system-cluster-critical with its value is valid", pc: class("system-cluster-critical", 2000000000)},
		{name: "system-node-critical with its value is valid", pc: class("system-node-critical", 2000001000)},
		{name: "a built-in name with another value is forbidden", pc: class("system-node-critical", 5),
			want: []wantErr{{"metadata.name", field.ErrorTypeForbidden}}},
		{name: "a built-in may not be the global default", pc: withDefault(class("system-cluster-critical", 2000000000)),
			want: []wantErr{{"metadata.name", field.ErrorTypeForbidden}}},
		{name: "other system- names are reserved", pc: class("system-mine", 10),
			want: []wantErr{{"metadata.name", field.ErrorTypeForbidden}}},
		{name: "an unknown preemption policy is not supported", pc: func() *schedulingv1.PriorityClass {
			pc := class("p", 1)
			pc.PreemptionPolicy = ptr.To(corev1.PreemptionPolicy("Sometimes"))
			return pc
		}(), want: []wantErr{{"preemptionPolicy", field.ErrorTypeNotSupported}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkErrs(t, s.Validate(t.Context(), c.pc), c.want...)
		})
	}
	t.Run("the built-ins are valid", func(t *testing.T) {
		t.Parallel()
		for _, pc := range SystemPriorityClasses() {
			s.Default(pc)
			checkErrs(t, s.Validate(t.Context(), pc))
		}
	})
}

func TestPriorityClassImmutability(t *testing.T) {
	t.Parallel()
	s := findResource(t, "priorityclasses").Strategy
	cases := []struct {
		name   string
		mutate func(*schedulingv1.PriorityClass)
		want   []wantErr
	}{
		{name: "description and globalDefault may change", mutate: func(pc *schedulingv1.PriorityClass) {
			pc.Description = "new"
			pc.GlobalDefault = true
		}},
		{name: "the value may not change", mutate: func(pc *schedulingv1.PriorityClass) { pc.Value = 2 },
			want: []wantErr{{"value", field.ErrorTypeForbidden}}},
		{name: "the preemption policy is immutable", mutate: func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = ptr.To(corev1.PreemptNever) },
			want: []wantErr{{"preemptionPolicy", field.ErrorTypeInvalid}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			old := class("p", 1)
			s.Default(old)
			pc := old.DeepCopy()
			c.mutate(pc)
			checkErrs(t, s.ValidateUpdate(t.Context(), pc, old), c.want...)
		})
	}
}

func TestCheckGlobalDefault(t *testing.T) {
	t.Parallel()
	def := func(name string, value int32) *schedulingv1.PriorityClass {
		pc := class(name, value)
		pc.GlobalDefault = true
		return pc
	}
	existing := []*schedulingv1.PriorityClass{class("a", 1), def("first", 10)}
	cases := []struct {
		name     string
		pc       *schedulingv1.PriorityClass
		existing []*schedulingv1.PriorityClass
		create   bool
		wantErr  string
	}{
		{name: "a non-default class is always accepted", pc: class("b", 2), existing: existing, create: true},
		{name: "the first default is accepted", pc: def("first", 10), existing: []*schedulingv1.PriorityClass{class("a", 1)}, create: true},
		{name: "a second default is rejected on create", pc: def("second", 20), existing: existing, create: true,
			wantErr: "PriorityClass first is already marked as default. Only one default can exist"},
		{name: "marking another class default is rejected on update", pc: def("a", 1), existing: existing,
			wantErr: "PriorityClass first is already marked as default. Only one default can exist"},
		{name: "updating the default itself is accepted", pc: def("first", 10), existing: existing},
		{name: "with two stored defaults the lowest value is the default", pc: def("z", 1),
			existing: []*schedulingv1.PriorityClass{def("x", 50), def("y", 5)}, create: true,
			wantErr: "PriorityClass y is already marked as default. Only one default can exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := CheckGlobalDefault(c.pc, c.existing, c.create)
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("err = %v", err)
			case c.wantErr != "" && (err == nil || err.Error() != c.wantErr):
				t.Errorf("err = %v, want %q", err, c.wantErr)
			}
		})
	}
}

func TestPriorityClassTable(t *testing.T) {
	t.Parallel()
	r := findResource(t, "priorityclasses")
	var names []string
	for _, col := range r.Table.Columns {
		names = append(names, col.Name)
		if col.Priority != 0 {
			t.Errorf("column %s has priority %d", col.Name, col.Priority)
		}
	}
	if got := strings.Join(names, ","); got != "Name,Value,Global-Default,Age,PreemptionPolicy" {
		t.Errorf("columns = %s", got)
	}
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	pc := class("high", 1000)
	pc.GlobalDefault = true
	pc.CreationTimestamp = metav1.NewTime(now.Add(-26 * time.Hour))
	pc.PreemptionPolicy = ptr.To(corev1.PreemptNever)
	checkRow(t, r.Table.Row(pc, now), []any{"high", int64(1000), true, "26h", "Never"})
}
