package openapi

import (
	"reflect"
	"strings"
)

// modelNamer is implemented by the k8s.io/api types (zz_generated.model_name.go).
type modelNamer interface {
	OpenAPIModelName() string
}

var modelNamerType = reflect.TypeFor[modelNamer]()

// modelName is the definition name of a named Go type, as upstream names it: the type's
// OpenAPIModelName when it has one, else its package path with the first element reversed,
// e.g. k8s.io/api/core/v1.Pod -> io.k8s.api.core.v1.Pod.
func modelName(t reflect.Type) string {
	if t.Implements(modelNamerType) {
		if n := reflect.Zero(t).Interface().(modelNamer).OpenAPIModelName(); n != "" {
			return n
		}
	}
	return friendlyName(t.PkgPath()) + "." + t.Name()
}

// friendlyName reverses the domain of a package path and joins it with dots, like upstream's
// definition namer: k8s.io/apimachinery/pkg/api/resource -> io.k8s.apimachinery.pkg.api.resource.
func friendlyName(pkgPath string) string {
	if i := strings.LastIndex(pkgPath, "/vendor/"); i >= 0 {
		pkgPath = pkgPath[i+len("/vendor/"):]
	}
	parts := strings.Split(pkgPath, "/")
	if strings.Contains(parts[0], ".") {
		dom := strings.Split(parts[0], ".")
		for i, j := 0, len(dom)-1; i < j; i, j = i+1, j-1 {
			dom[i], dom[j] = dom[j], dom[i]
		}
		parts[0] = strings.Join(dom, ".")
	}
	return strings.Join(parts, ".")
}
