// Package registrytest holds the assertions the strategy packages' tests share: expected
// validation errors, finding a resource by plural, and table rows. Tests only.
package registrytest

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// WantErr is one expected validation error: its field path and type.
type WantErr struct {
	Path string
	Type field.ErrorType
}

// CheckErrs fails t unless errs are exactly want, in any order.
func CheckErrs(t testing.TB, errs field.ErrorList, want ...WantErr) {
	t.Helper()
	var got []WantErr
	for _, e := range errs {
		got = append(got, WantErr{e.Field, e.Type})
	}
	cmp := func(a, b WantErr) int {
		if a.Path != b.Path {
			if a.Path < b.Path {
				return -1
			}
			return 1
		}
		if a.Type < b.Type {
			return -1
		}
		if a.Type > b.Type {
			return 1
		}
		return 0
	}
	slices.SortFunc(got, cmp)
	slices.SortFunc(want, cmp)
	if !slices.Equal(got, want) {
		t.Errorf("errors = %v\nwant %v (full: %v)", got, want, errs)
	}
}

// FindResource returns the resource called plural among resources, or fails t.
func FindResource(t testing.TB, resources []registry.Resource, plural string) registry.Resource {
	t.Helper()
	for _, r := range resources {
		if r.Plural == plural {
			return r
		}
	}
	t.Fatalf("no resource %q", plural)
	return registry.Resource{}
}

// CheckRow fails t unless the table row got has exactly the cells want.
func CheckRow(t testing.TB, got, want []any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("row = %#v, want %#v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("cell %d = %#v, want %#v", i, got[i], want[i])
		}
	}
}
