package openapi

import (
	"reflect"
	"strings"
)

// typeMarkers is what the Go comments of one type say that reflection cannot see. The table
// generatedTypes is written by internal/markergen from the k8s.io/api and apimachinery sources.
type typeMarkers struct {
	// mapType is the type's +structType / +mapType marker (x-kubernetes-map-type).
	mapType string
	// unionsJSON is the type's x-kubernetes-unions (+union, +unionDiscriminator), as JSON.
	unionsJSON string
	// hasDoc is true for types without a SwaggerDoc method; doc and docs then hold the type's
	// and its fields' comments.
	hasDoc bool
	doc    string
	docs   map[string]string
	// fields holds the markers of the fields that have any, by JSON name.
	fields map[string]*fieldMarkers
}

// fieldMarkers are the comment markers of one struct field.
type fieldMarkers struct {
	// required is 1 for +required on an omitempty field, -1 for +optional on a field without
	// omitempty and 0 when omitempty alone decides, as in openapi-gen.
	required int8
	// skip is +k8s:openapi-gen=false: the field is left out of the schema.
	skip bool
	// listType, listMapKeys and mapType are +listType, +listMapKey and +mapType/+structType.
	listType    string
	listMapKeys []string
	mapType     string
	// defaultJSON is the +default value as JSON.
	defaultJSON string
}

// enumType is a string type marked +enum: its values, sorted, and the paragraph openapi-gen
// appends to the description of fields of that type.
type enumType struct {
	values      []string
	description string
}

// markerSource gives the comment markers of Go types. Tests replace the generated tables.
type markerSource struct {
	types map[string]*typeMarkers
	enums map[string]*enumType
}

func defaultMarkers() markerSource {
	return markerSource{types: generatedTypes, enums: generatedEnums}
}

// goName is the key of t in the marker tables: "<package path>.<type name>".
func goName(t reflect.Type) string {
	if t.Name() == "" {
		return ""
	}
	return t.PkgPath() + "." + t.Name()
}

func (m markerSource) typeOf(t reflect.Type) *typeMarkers {
	return m.types[goName(t)]
}

// known reports whether the markers of t were read from its source. Types outside the
// generated table get list types derived from their patch tags instead.
func (m markerSource) known(t reflect.Type) bool {
	if _, ok := m.types[goName(t)]; ok {
		return true
	}
	p := t.PkgPath()
	return strings.HasPrefix(p, "k8s.io/api/") || strings.HasPrefix(p, "k8s.io/apimachinery/")
}

func (m markerSource) enumOf(t reflect.Type) *enumType {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return m.enums[goName(t)]
}
