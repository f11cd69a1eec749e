package core

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// The helpers below run a strategy the way the generic store does and summarize the
// resulting errors as "Type path" strings, which is what the tests assert on.

func createErrs(t *testing.T, s registry.Strategy, obj runtime.Object) []string {
	t.Helper()
	s.Default(obj)
	s.PrepareForCreate(context.Background(), obj)
	return errSummary(s.Validate(context.Background(), obj))
}

func updateErrs(t *testing.T, s registry.Strategy, obj, old runtime.Object) []string {
	t.Helper()
	s.Default(obj)
	s.PrepareForUpdate(context.Background(), obj, old)
	return errSummary(s.ValidateUpdate(context.Background(), obj, old))
}

func statusUpdateErrs(t *testing.T, s registry.Strategy, obj, old runtime.Object) []string {
	t.Helper()
	s.Default(obj)
	s.PrepareForStatusUpdate(context.Background(), obj, old)
	return errSummary(s.ValidateStatusUpdate(context.Background(), obj, old))
}

// errSummary renders errs as sorted "Type path" strings, e.g. "Required value spec.ports".
func errSummary(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Type.String()+" "+e.Field)
	}
	slices.Sort(out)
	return out
}

// expectErrs fails unless got (from errSummary) equals want, in any order.
func expectErrs(t *testing.T, got []string, want ...string) {
	t.Helper()
	want = append([]string(nil), want...)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

// expectRow fails unless the table row of obj at now equals want.
func expectRow(t *testing.T, table *registry.Table, obj runtime.Object, now time.Time, want ...any) {
	t.Helper()
	got := table.Row(obj, now)
	if len(got) != len(table.Columns) {
		t.Fatalf("row has %d cells for %d columns", len(got), len(table.Columns))
	}
	if !slices.Equal(got, want) {
		t.Errorf("row = %#v, want %#v", got, want)
	}
}

// columnNames lists the names of a table's columns, "(wide)" marking priority-1 ones.
func columnNames(table *registry.Table) []string {
	var out []string
	for _, c := range table.Columns {
		name := c.Name
		if c.Priority == 1 {
			name += " (wide)"
		}
		out = append(out, name)
	}
	return out
}

var (
	testNow     = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	testCreated = metav1.NewTime(testNow.Add(-90 * time.Minute))
)

func TestResourceNameHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                                  corev1.ResourceName
		native, extended, overcommit, counted bool
	}{
		{name: "cpu", native: true, overcommit: true},
		{name: "hugepages-2Mi", native: true},
		{name: "kubernetes.io/foo", native: true, overcommit: true},
		{name: "example.com/gpu", extended: true, counted: true},
		{name: "pods", native: true, overcommit: true, counted: true},
	}
	for _, tt := range tests {
		t.Run(string(tt.name)+" is classified like upstream", func(t *testing.T) {
			t.Parallel()
			if got := nativeResource(tt.name); got != tt.native {
				t.Errorf("native = %v", got)
			}
			if got := extendedResource(tt.name); got != tt.extended {
				t.Errorf("extended = %v", got)
			}
			if got := overcommittable(tt.name); got != tt.overcommit {
				t.Errorf("overcommit = %v", got)
			}
			if got := countedResource(tt.name); got != tt.counted {
				t.Errorf("counted = %v", got)
			}
		})
	}
}

func TestRoundUpResourceListRoundsToMillis(t *testing.T) {
	t.Parallel()
	rl := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100.1m")}
	roundUpResourceList(rl)
	if got := rl[corev1.ResourceCPU]; got.String() != "101m" {
		t.Errorf("cpu = %s, want 101m", got.String())
	}
}

func TestConfigAndServiceResourcesAreDescribedLikeUpstream(t *testing.T) {
	t.Parallel()
	want := map[string]struct {
		kind       string
		namespaced bool
		short      []string
		status     bool
	}{
		"services":               {"Service", true, []string{"svc"}, true},
		"endpoints":              {"Endpoints", true, []string{"ep"}, false},
		"configmaps":             {"ConfigMap", true, []string{"cm"}, false},
		"secrets":                {"Secret", true, nil, false},
		"serviceaccounts":        {"ServiceAccount", true, []string{"sa"}, false},
		"limitranges":            {"LimitRange", true, []string{"limits"}, false},
		"resourcequotas":         {"ResourceQuota", true, []string{"quota"}, true},
		"persistentvolumes":      {"PersistentVolume", false, []string{"pv"}, true},
		"persistentvolumeclaims": {"PersistentVolumeClaim", true, []string{"pvc"}, true},
	}
	got := configAndServiceResources()
	if len(got) != len(want) {
		t.Fatalf("%d resources, want %d", len(got), len(want))
	}
	for _, r := range got {
		w, ok := want[r.Plural]
		if !ok {
			t.Errorf("unexpected resource %q", r.Plural)
			continue
		}
		if r.GVK != corev1.SchemeGroupVersion.WithKind(w.kind) || r.Namespaced != w.namespaced ||
			!slices.Equal(r.ShortNames, w.short) || r.Status != w.status || r.Strategy == nil {
			t.Errorf("%s = %+v", r.Plural, r)
		}
		if (r.Plural == "services") != slices.Contains(r.Categories, "all") {
			t.Errorf("%s categories = %v", r.Plural, r.Categories)
		}
	}
}
