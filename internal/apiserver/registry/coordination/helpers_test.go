package coordination

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
	"capstan/internal/apiserver/registry/registrytest"
)

// wantErr is one expected validation error: its field path and type.
type wantErr struct {
	path string
	typ  field.ErrorType
}

func checkErrs(t *testing.T, errs field.ErrorList, want ...wantErr) {
	t.Helper()
	var w []registrytest.WantErr
	for _, e := range want {
		w = append(w, registrytest.WantErr{Path: e.path, Type: e.typ})
	}
	registrytest.CheckErrs(t, errs, w...)
}

func findResource(t *testing.T, plural string) registry.Resource {
	t.Helper()
	return registrytest.FindResource(t, Resources(), plural)
}

func checkRow(t *testing.T, got, want []any) { registrytest.CheckRow(t, got, want) }
