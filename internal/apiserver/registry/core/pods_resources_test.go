package core

import (
	"reflect"
	"testing"

	"capstan/internal/apiserver/registry"
)

// findResource returns the node or pod resource with the given plural.
func findResource(t *testing.T, plural string) registry.Resource {
	t.Helper()
	for _, r := range nodeAndPodResources() {
		if r.Plural == plural {
			return r
		}
	}
	t.Fatalf("no resource %q", plural)
	return registry.Resource{}
}

func TestNodeAndPodResourceIdentities(t *testing.T) {
	t.Parallel()
	cases := []struct {
		plural, kind         string
		namespaced, status   bool
		scale                bool
		shortNames, category []string
	}{
		{"pods", "Pod", true, true, false, []string{"po"}, []string{"all"}},
		{"podtemplates", "PodTemplate", true, false, false, nil, nil},
		{"replicationcontrollers", "ReplicationController", true, true, true, []string{"rc"}, []string{"all"}},
		{"nodes", "Node", false, true, false, []string{"no"}, nil},
		{"namespaces", "Namespace", false, true, false, []string{"ns"}, nil},
		{"events", "Event", true, false, false, []string{"ev"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.plural+" are served as upstream serves them", func(t *testing.T) {
			t.Parallel()
			r := findResource(t, tc.plural)
			if r.GVK.Group != "" || r.GVK.Version != "v1" || r.GVK.Kind != tc.kind {
				t.Errorf("gvk = %v", r.GVK)
			}
			if r.Namespaced != tc.namespaced || r.Status != tc.status || (r.Scale != nil) != tc.scale {
				t.Errorf("namespaced %v, status %v, scale %v", r.Namespaced, r.Status, r.Scale != nil)
			}
			if !reflect.DeepEqual(r.ShortNames, tc.shortNames) || !reflect.DeepEqual(r.Categories, tc.category) {
				t.Errorf("short names %v, categories %v", r.ShortNames, r.Categories)
			}
			if r.Strategy == nil || r.Table == nil || r.Singular == "" {
				t.Errorf("strategy, table or singular missing")
			}
		})
	}
}

func TestTablesHaveOneCellPerColumn(t *testing.T) {
	t.Parallel()
	for _, r := range nodeAndPodResources() {
		t.Run("the "+r.Plural+" table", func(t *testing.T) {
			t.Parallel()
			obj, err := registry.NewScheme().New(r.GVK)
			if err != nil {
				t.Fatal(err)
			}
			r.Strategy.Default(obj)
			if got, want := len(r.Table.Row(obj, tableNow)), len(r.Table.Columns); got != want {
				t.Errorf("%d cells for %d columns", got, want)
			}
		})
	}
}
