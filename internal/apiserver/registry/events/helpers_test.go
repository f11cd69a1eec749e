package events

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// wantErr is one expected validation error: its field path and type.
type wantErr struct {
	path string
	typ  field.ErrorType
}

// checkErrs fails unless errs are exactly want, in any order.
func checkErrs(t *testing.T, errs field.ErrorList, want ...wantErr) {
	t.Helper()
	var got []wantErr
	for _, e := range errs {
		got = append(got, wantErr{e.Field, e.Type})
	}
	cmp := func(a, b wantErr) int {
		if a.path != b.path {
			if a.path < b.path {
				return -1
			}
			return 1
		}
		if a.typ < b.typ {
			return -1
		}
		if a.typ > b.typ {
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

func findResource(t *testing.T, plural string) registry.Resource {
	t.Helper()
	for _, r := range Resources() {
		if r.Plural == plural {
			return r
		}
	}
	t.Fatalf("no resource %q", plural)
	return registry.Resource{}
}

func checkRow(t *testing.T, got, want []any) {
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
