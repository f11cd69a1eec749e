package openapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// flavor selects the dialect of the schemas: OpenAPI v2 (swagger 2.0, what /openapi/v2 serves)
// or v3 (what /openapi/v3 serves). They differ where upstream's differ:
//   - refs point to #/definitions/ (v2) or #/components/schemas/ (v3);
//   - v3 carries defaults (zero values of required fields, +default markers), v2 none;
//   - v3 wraps a $ref that has siblings (description, default, extensions) in allOf, because a
//     v3 $ref ignores its siblings; v2 keeps them next to the $ref;
//   - types with OpenAPIV3OneOfTypes (Quantity, IntOrString) are a oneOf in v3.
type flavor int

const (
	flavorV2 flavor = iota
	flavorV3
)

func (f flavor) refPrefix() string {
	if f == flavorV3 {
		return "#/components/schemas/"
	}
	return "#/definitions/"
}

// Extension names used in the documents.
const (
	extGVK           = "x-kubernetes-group-version-kind"
	extAction        = "x-kubernetes-action"
	extPatchStrategy = "x-kubernetes-patch-strategy"
	extPatchMergeKey = "x-kubernetes-patch-merge-key"
	extListType      = "x-kubernetes-list-type"
	extListMapKeys   = "x-kubernetes-list-map-keys"
	extMapType       = "x-kubernetes-map-type"
	extUnions        = "x-kubernetes-unions"
)

// Interfaces through which types describe their own schema (apimachinery's Time, Quantity,
// IntOrString, ...), as openapi-gen honours them.
type (
	typeAndFormat interface {
		OpenAPISchemaType() []string
		OpenAPISchemaFormat() string
	}
	v3OneOfTypes interface {
		OpenAPIV3OneOfTypes() []string
	}
	v2Definition interface {
		OpenAPIDefinition() common.OpenAPIDefinition
	}
	v3Definition interface {
		OpenAPIV3Definition() common.OpenAPIDefinition
	}
	swaggerDoc interface {
		SwaggerDoc() map[string]string
	}
)

var (
	timeType          = reflect.TypeFor[time.Time]()
	unmarshalerType   = reflect.TypeFor[json.Unmarshaler]()
	typeAndFormatType = reflect.TypeFor[typeAndFormat]()
	v3OneOfType       = reflect.TypeFor[v3OneOfTypes]()
	v2DefinitionType  = reflect.TypeFor[v2Definition]()
	v3DefinitionType  = reflect.TypeFor[v3Definition]()
	swaggerDocType    = reflect.TypeFor[swaggerDoc]()
)

// definitions builds the OpenAPI definitions of Go types by reflection, following the rules of
// upstream's openapi-gen: one definition per named struct type reachable from the types added;
// properties from the json tags (inline members flattened, "-" skipped); descriptions from
// SwaggerDoc; required = fields without omitempty unless marked +optional; patch and list
// extensions from the struct tags and the comment markers in markerSource.
//
// A definitions value is used by one goroutine; its schemas are read-only once built.
type definitions struct {
	flavor  flavor
	markers markerSource
	// gvks lists the kinds each Go type is registered as (x-kubernetes-group-version-kind).
	gvks map[reflect.Type][]schema.GroupVersionKind

	schemas map[string]*spec.Schema
	names   map[reflect.Type]string
	types   map[string]reflect.Type
	refs    map[string]spec.Ref
	docs    map[reflect.Type]map[string]string
	errs    []error
}

func newDefinitions(f flavor, m markerSource, gvks map[reflect.Type][]schema.GroupVersionKind) *definitions {
	return &definitions{
		flavor:  f,
		markers: m,
		gvks:    gvks,
		schemas: map[string]*spec.Schema{},
		names:   map[reflect.Type]string{},
		types:   map[string]reflect.Type{},
		refs:    map[string]spec.Ref{},
		docs:    map[reflect.Type]map[string]string{},
	}
}

// err returns the problems met so far (unsupported Go types, name collisions), joined.
func (d *definitions) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	msgs := make([]string, len(d.errs))
	for i, e := range d.errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("building OpenAPI definitions: %s", strings.Join(msgs, "; "))
}

func (d *definitions) errorf(format string, args ...any) {
	if len(d.errs) < 20 {
		d.errs = append(d.errs, fmt.Errorf(format, args...))
	}
}

// add makes sure the named struct type t (or *t) and everything it references has a
// definition, and returns the definition's name.
func (d *definitions) add(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name, ok := d.names[t]; ok {
		return name
	}
	if t.Kind() != reflect.Struct || t.Name() == "" {
		d.errorf("%v: only named struct types get definitions", t)
		return ""
	}
	name := modelName(t)
	if other, ok := d.types[name]; ok && other != t {
		d.errorf("%v and %v both map to definition %s", other, t, name)
	}
	d.names[t] = name
	d.types[name] = t
	s := d.structSchema(t)
	d.schemas[name] = s
	return name
}

// ref is the $ref of definition name in this flavor.
func (d *definitions) ref(name string) spec.Ref {
	if r, ok := d.refs[name]; ok {
		return r
	}
	r := spec.MustCreateRef(d.flavor.refPrefix() + name)
	d.refs[name] = r
	return r
}

// doc returns the SwaggerDoc of t (the "" key describes t itself), or the comments
// internal/markergen recorded for types without one.
func (d *definitions) doc(t reflect.Type) map[string]string {
	if m, ok := d.docs[t]; ok {
		return m
	}
	var m map[string]string
	switch {
	case t.Implements(swaggerDocType):
		m = reflect.Zero(t).Interface().(swaggerDoc).SwaggerDoc()
	case reflect.PointerTo(t).Implements(swaggerDocType):
		m = reflect.New(t).Interface().(swaggerDoc).SwaggerDoc()
	default:
		if tm := d.markers.typeOf(t); tm != nil && tm.hasDoc {
			m = make(map[string]string, len(tm.docs)+1)
			for k, v := range tm.docs {
				m[k] = v
			}
			if tm.doc != "" {
				m[""] = tm.doc
			}
		}
	}
	d.docs[t] = m
	return m
}

func (d *definitions) structSchema(t reflect.Type) *spec.Schema {
	desc := d.doc(t)[""]
	ptr := reflect.PointerTo(t)
	var s *spec.Schema
	switch {
	case ptr.Implements(v2DefinitionType) || (ptr.Implements(v3DefinitionType) && !ptr.Implements(typeAndFormatType)):
		s = d.customDefinition(t)
	case ptr.Implements(typeAndFormatType):
		v := reflect.New(t).Interface()
		tf := v.(typeAndFormat)
		s = &spec.Schema{}
		s.Description = desc
		s.Format = tf.OpenAPISchemaFormat()
		oneOf, hasOneOf := v.(v3OneOfTypes)
		if d.flavor == flavorV3 && hasOneOf {
			for _, typ := range oneOf.OpenAPIV3OneOfTypes() {
				s.OneOf = append(s.OneOf, spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{typ}}})
			}
		} else {
			s.Type = tf.OpenAPISchemaType()
		}
	default:
		s = &spec.Schema{}
		s.Description = desc
		s.Type = []string{"object"}
		props := map[string]spec.Schema{}
		s.Required = d.members(t, props, nil)
		if len(props) > 0 {
			s.Properties = props
		}
	}
	if tm := d.markers.typeOf(t); tm != nil {
		if tm.mapType != "" {
			setExt(s, extMapType, tm.mapType)
		}
		if tm.unionsJSON != "" {
			var unions []any
			if err := json.Unmarshal([]byte(tm.unionsJSON), &unions); err == nil {
				setExt(s, extUnions, unions)
			}
		}
	}
	if gvks := d.gvks[t]; len(gvks) > 0 {
		list := make([]any, len(gvks))
		for i, gvk := range gvks {
			list[i] = map[string]any{"group": gvk.Group, "kind": gvk.Kind, "version": gvk.Version}
		}
		setExt(s, extGVK, list)
	}
	return s
}

// customDefinition is the schema a type returns from OpenAPIDefinition/OpenAPIV3Definition.
// Such schemas cannot reference other definitions here (there is no ref callback), which is
// how apimachinery's own custom definitions are written.
func (d *definitions) customDefinition(t reflect.Type) *spec.Schema {
	v := reflect.New(t).Interface()
	var def common.OpenAPIDefinition
	if v3, ok := v.(v3Definition); ok && d.flavor == flavorV3 {
		def = v3.OpenAPIV3Definition()
	} else if v2, ok := v.(v2Definition); ok {
		def = v2.OpenAPIDefinition()
	} else {
		def = v.(v3Definition).OpenAPIV3Definition()
	}
	s := def.Schema
	return &s
}

func setExt(s *spec.Schema, key string, v any) {
	if s.Extensions == nil {
		s.Extensions = spec.Extensions{}
	}
	s.Extensions[key] = v
}

// members adds the properties of struct t to props and returns required extended by the
// required ones, in field order. Members embedded with an empty json name are flattened.
func (d *definitions) members(t reflect.Type, props map[string]spec.Schema, required []string) []string {
	tm := d.markers.typeOf(t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && hasTag && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				required = d.members(ft, props, required)
			}
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		var fm *fieldMarkers
		if tm != nil {
			fm = tm.fields[name]
		}
		if fm != nil && fm.skip {
			continue
		}
		optList := strings.Split(opts, ",")
		omitempty := slices.Contains(optList, "omitempty") || slices.Contains(optList, "omitzero")
		isRequired := !omitempty
		if fm != nil && fm.required != 0 {
			isRequired = fm.required > 0
		}
		if isRequired {
			required = append(required, name)
		}
		props[name] = d.property(t, f, d.doc(t)[name], slices.Contains(optList, "string"), omitempty, fm)
	}
	return required
}

// property is the schema of field f of struct owner.
func (d *definitions) property(owner reflect.Type, f reflect.StructField, desc string, asString, omitempty bool, fm *fieldMarkers) spec.Schema {
	var s spec.Schema
	if e := d.markers.enumOf(f.Type); e != nil {
		if desc == "" {
			desc = e.description
		} else {
			desc += "\n\n" + e.description
		}
	}
	s.Description = desc
	d.fieldExtensions(owner, f, fm, &s)
	if asString {
		s.Type = []string{"string"}
		return s
	}
	if d.flavor == flavorV3 {
		s.Default = defaultValue(f.Type, omitempty, fm)
	}
	d.fill(f.Type, &s)
	if d.flavor == flavorV3 && s.Ref.String() != "" && (s.Description != "" || s.Default != nil || len(s.Extensions) > 0) {
		s.AllOf = []spec.Schema{{SchemaProps: spec.SchemaProps{Ref: s.Ref}}}
		s.Ref = spec.Ref{}
	}
	return s
}

// fieldExtensions sets the patch extensions from the struct tags and the list/map extensions
// from the comment markers. Fields of types whose sources were not read get a map list type
// from their patchMergeKey, the closest a struct tag comes to the +listType markers.
func (d *definitions) fieldExtensions(owner reflect.Type, f reflect.StructField, fm *fieldMarkers, s *spec.Schema) {
	if v := f.Tag.Get("patchStrategy"); v != "" {
		setExt(s, extPatchStrategy, v)
	}
	mergeKey := f.Tag.Get("patchMergeKey")
	if mergeKey != "" {
		setExt(s, extPatchMergeKey, mergeKey)
	}
	switch {
	case fm != nil:
		if fm.listType != "" {
			setExt(s, extListType, fm.listType)
		}
		if len(fm.listMapKeys) > 0 {
			keys := make([]any, len(fm.listMapKeys))
			for i, k := range fm.listMapKeys {
				keys[i] = k
			}
			setExt(s, extListMapKeys, keys)
		}
		if fm.mapType != "" {
			setExt(s, extMapType, fm.mapType)
		}
	case mergeKey != "" && f.Type.Kind() == reflect.Slice && !d.markers.known(owner):
		setExt(s, extListType, "map")
		setExt(s, extListMapKeys, []any{mergeKey})
	}
}

// fill sets the type of s from Go type t: a primitive, an array, a map or a reference.
func (d *definitions) fill(t reflect.Type, s *spec.Schema) {
	enumType := d.markers.enumOf(t)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if typ, format, ok := primitive(t); ok {
		s.Type = []string{typ}
		s.Format = format
		if enumType != nil {
			s.Enum = make([]any, len(enumType.values))
			for i, v := range enumType.values {
				s.Enum[i] = v
			}
		}
		return
	}
	switch t.Kind() {
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			d.errorf("%v: map keys must be strings", t)
			return
		}
		elem := &spec.Schema{}
		d.fill(t.Elem(), elem)
		s.Type = []string{"object"}
		s.AdditionalProperties = &spec.SchemaOrBool{Allows: true, Schema: elem}
	case reflect.Slice, reflect.Array:
		elem := &spec.Schema{}
		d.fill(t.Elem(), elem)
		s.Type = []string{"array"}
		s.Items = &spec.SchemaOrArray{Schema: elem}
	case reflect.Struct:
		s.Ref = d.ref(d.add(t))
	case reflect.Interface:
		// Like openapi-gen: a non-empty interface (runtime.Object) has no schema.
	default:
		d.errorf("%v: unsupported kind %v", t, t.Kind())
	}
}

// primitive maps Go types to OpenAPI type and format like kube-openapi's OpenAPITypeFormat.
func primitive(t reflect.Type) (typ, format string, ok bool) {
	if t == timeType {
		return "string", "date-time", true
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean", "", true
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint16:
		return "integer", "int32", true
	case reflect.Int8, reflect.Uint8:
		return "integer", "byte", true
	case reflect.Int64, reflect.Uint32, reflect.Uint64:
		return "integer", "int64", true
	case reflect.Float64:
		return "number", "double", true
	case reflect.Float32:
		return "number", "float", true
	case reflect.String:
		return "string", "", true
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string", "byte", true
		}
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return "object", "", true
		}
	}
	return "", "", false
}

// defaultValue is the v3 default of a field: its +default marker, else the zero value that
// openapi-gen enforces for fields that are always serialized (non-pointer structs without
// custom unmarshalling, and scalars without omitempty).
func defaultValue(t reflect.Type, omitempty bool, fm *fieldMarkers) any {
	if fm != nil && fm.defaultJSON != "" {
		var v any
		if err := json.Unmarshal([]byte(fm.defaultJSON), &v); err == nil {
			return v
		}
	}
	return enforcedDefault(t, omitempty)
}

func enforcedDefault(t reflect.Type, omitempty bool) any {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Array, reflect.Interface:
		return nil
	case reflect.Struct:
		if reflect.PointerTo(t).Implements(unmarshalerType) {
			return nil
		}
		if t.NumField() == 1 && t.Field(0).Anonymous {
			return enforcedDefault(t.Field(0).Type, omitempty)
		}
		return map[string]any{}
	}
	if omitempty {
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		return ""
	case reflect.Bool:
		return false
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return 0
	}
	return nil
}
