package fieldmanager

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

// Names of the two catch-all types, as structured-merge-diff's deduced type names them: an
// untyped value that is a leaf (atomic) and one whose maps are merged key by key (deduced).
const (
	untypedAtomic  = "__untyped_atomic_"
	untypedDeduced = "__untyped_deduced_"
)

// rawExtensionName is embedded objects (runtime.RawExtension): any value, owned as a whole.
// quantityName is resource quantities, a string or a number ("1", 1, "100m"); the v3
// documents say so with a oneOf, the v2 ones call them strings.
const (
	rawExtensionName = "io.k8s.apimachinery.pkg.runtime.RawExtension"
	quantityName     = "io.k8s.apimachinery.pkg.api.resource.Quantity"
)

// TypeConverter holds the structured-merge-diff schema of every kind defined in a set of
// OpenAPI documents, and the field managers built on it. It is safe for concurrent use.
type TypeConverter struct {
	parser *typed.Parser
	// kinds maps each kind named by an x-kubernetes-group-version-kind to its type name.
	kinds map[schema.GroupVersionKind]string

	mu       sync.Mutex
	managers map[managerKey]*Manager
}

// NewTypeConverter converts the definitions of OpenAPI documents (v2 "definitions" or v3
// "components.schemas", JSON) to structured-merge-diff types. A definition named in several
// documents is taken from the first. The result depends only on the documents.
func NewTypeConverter(docs ...[]byte) (*TypeConverter, error) {
	defs := map[string]*oaSchema{}
	for i, data := range docs {
		var doc oaDocument
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("fieldmanager: decoding OpenAPI document %d: %w", i, err)
		}
		for _, m := range []map[string]*oaSchema{doc.Definitions, doc.Components.Schemas} {
			for name, s := range m {
				if _, ok := defs[name]; !ok && s != nil {
					defs[name] = s
				}
			}
		}
	}
	return newTypeConverter(defs)
}

func newTypeConverter(defs map[string]*oaSchema) (*TypeConverter, error) {
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	slices.Sort(names)
	c := &TypeConverter{parser: &typed.Parser{}, kinds: map[schema.GroupVersionKind]string{}, managers: map[managerKey]*Manager{}}
	types := make([]smdschema.TypeDef, 0, len(names)+2)
	for _, name := range names {
		s := defs[name]
		var atom smdschema.Atom
		switch name {
		case rawExtensionName:
			atom = untypedAtomicDef().Atom
		case quantityName:
			atom = smdschema.Atom{Scalar: ptr(smdschema.Untyped)}
		default:
			var err error
			if atom, err = convertAtom(s); err != nil {
				return nil, fmt.Errorf("fieldmanager: definition %s: %w", name, err)
			}
		}
		types = append(types, smdschema.TypeDef{Name: name, Atom: atom})
		for _, gvk := range s.GVKs {
			k := schema.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind}
			if _, ok := c.kinds[k]; !ok {
				c.kinds[k] = name
			}
		}
	}
	types = append(types, untypedAtomicDef(), untypedDeducedDef())
	c.parser.Schema.Types = types
	for _, td := range types {
		if err := checkRefs(&c.parser.Schema, td.Atom); err != nil {
			return nil, fmt.Errorf("fieldmanager: type %s: %w", td.Name, err)
		}
	}
	return c, nil
}

// Type returns the parseable type of a kind; ok is false for kinds the documents do not define.
func (c *TypeConverter) Type(gvk schema.GroupVersionKind) (typed.ParseableType, bool) {
	name, ok := c.kinds[gvk]
	if !ok {
		return typed.ParseableType{}, false
	}
	return c.parser.Type(name), true
}

// Schema is the converted schema, for inspection (tests, debugging). It must not be modified.
func (c *TypeConverter) Schema() *smdschema.Schema { return &c.parser.Schema }

func untypedAtomicDef() smdschema.TypeDef {
	return smdschema.TypeDef{Name: untypedAtomic, Atom: smdschema.Atom{
		Scalar: ptr(smdschema.Untyped),
		List:   &smdschema.List{ElementType: named(untypedAtomic), ElementRelationship: smdschema.Atomic},
		Map:    &smdschema.Map{ElementType: named(untypedAtomic), ElementRelationship: smdschema.Atomic},
	}}
}

func untypedDeducedDef() smdschema.TypeDef {
	return smdschema.TypeDef{Name: untypedDeduced, Atom: smdschema.Atom{
		Scalar: ptr(smdschema.Untyped),
		List:   &smdschema.List{ElementType: named(untypedAtomic), ElementRelationship: smdschema.Atomic},
		Map:    &smdschema.Map{ElementType: named(untypedDeduced), ElementRelationship: smdschema.Separable},
	}}
}

func ptr[T any](v T) *T { return &v }

func named(name string) smdschema.TypeRef { return smdschema.TypeRef{NamedType: ptr(name)} }

// oaDocument is the part of an OpenAPI v2 or v3 document the schemas come from.
type oaDocument struct {
	Definitions map[string]*oaSchema `json:"definitions"`
	Components  struct {
		Schemas map[string]*oaSchema `json:"schemas"`
	} `json:"components"`
}

// oaSchema is the part of an OpenAPI schema that decides merging: its shape and the
// Kubernetes list, map and patch extensions.
type oaSchema struct {
	Type                 oaType               `json:"type"`
	Format               string               `json:"format"`
	Ref                  string               `json:"$ref"`
	AllOf                []*oaSchema          `json:"allOf"`
	OneOf                []*oaSchema          `json:"oneOf"`
	AnyOf                []*oaSchema          `json:"anyOf"`
	Items                *oaSchema            `json:"items"`
	Properties           map[string]*oaSchema `json:"properties"`
	AdditionalProperties *oaSchemaOrBool      `json:"additionalProperties"`
	ListType             string               `json:"x-kubernetes-list-type"`
	ListMapKeys          []string             `json:"x-kubernetes-list-map-keys"`
	MapType              string               `json:"x-kubernetes-map-type"`
	PatchStrategy        string               `json:"x-kubernetes-patch-strategy"`
	PatchMergeKey        string               `json:"x-kubernetes-patch-merge-key"`
	PreserveUnknown      bool                 `json:"x-kubernetes-preserve-unknown-fields"`
	Default              json.RawMessage      `json:"default"`
	GVKs                 []struct {
		Group   string `json:"group"`
		Version string `json:"version"`
		Kind    string `json:"kind"`
	} `json:"x-kubernetes-group-version-kind"`
}

// oaType is "type": a string (v3, and v2 as generated) or a list of strings.
type oaType string

func (t *oaType) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '[' {
		var list []string
		if err := json.Unmarshal(data, &list); err != nil {
			return err
		}
		for _, s := range list {
			if s != "null" {
				*t = oaType(s)
				break
			}
		}
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*t = oaType(s)
	return nil
}

// oaSchemaOrBool is additionalProperties: a schema, or true (anything) / false (nothing).
type oaSchemaOrBool struct {
	Schema *oaSchema
	Allows bool
}

func (s *oaSchemaOrBool) UnmarshalJSON(data []byte) error {
	switch strings.TrimSpace(string(data)) {
	case "true":
		s.Allows = true
		return nil
	case "false":
		return nil
	}
	s.Allows = true
	return json.Unmarshal(data, &s.Schema)
}

// refName is the definition name a $ref points to (#/definitions/<name> or
// #/components/schemas/<name>).
func refName(ref string) string {
	return ref[strings.LastIndexByte(ref, '/')+1:]
}

// typeRef converts the schema of a field, list item or map value: a reference to a named
// type (directly or as the single member of allOf, how v3 attaches siblings to a $ref), with
// the field's map type overriding the type's, or an inlined type.
func typeRef(s *oaSchema) (smdschema.TypeRef, error) {
	ref := s.Ref
	if ref == "" && len(s.AllOf) == 1 && s.AllOf[0].Ref != "" {
		ref = s.AllOf[0].Ref
	}
	if ref != "" {
		name := refName(ref)
		if name == rawExtensionName {
			return named(untypedAtomic), nil
		}
		tr := named(name)
		if s.MapType != "" {
			rel, err := mapRelationship(s.MapType)
			if err != nil {
				return tr, err
			}
			tr.ElementRelationship = &rel
		}
		return tr, nil
	}
	atom, err := convertAtom(s)
	if err != nil {
		return smdschema.TypeRef{}, err
	}
	return smdschema.TypeRef{Inlined: atom}, nil
}

// convertAtom converts a schema that is not a reference.
func convertAtom(s *oaSchema) (smdschema.Atom, error) {
	switch {
	case len(s.OneOf) > 0 || len(s.AnyOf) > 0 || s.Format == "int-or-string" || s.Format == "quantity":
		// IntOrString and Quantity: a string or a number.
		return smdschema.Atom{Scalar: ptr(smdschema.Untyped)}, nil
	case len(s.AllOf) > 0:
		return smdschema.Atom{}, fmt.Errorf("allOf with %d members is not supported", len(s.AllOf))
	}
	switch s.Type {
	case "string":
		return smdschema.Atom{Scalar: ptr(smdschema.String)}, nil
	case "integer", "number":
		return smdschema.Atom{Scalar: ptr(smdschema.Numeric)}, nil
	case "boolean":
		return smdschema.Atom{Scalar: ptr(smdschema.Boolean)}, nil
	case "array":
		return convertList(s)
	case "object", "":
		return convertMap(s)
	default:
		return smdschema.Atom{}, fmt.Errorf("unsupported type %q", s.Type)
	}
}

func convertList(s *oaSchema) (smdschema.Atom, error) {
	if s.Items == nil {
		return smdschema.Atom{}, fmt.Errorf("array without items")
	}
	elem, err := typeRef(s.Items)
	if err != nil {
		return smdschema.Atom{}, fmt.Errorf("items: %w", err)
	}
	l := &smdschema.List{ElementType: elem}
	switch s.ListType {
	case "atomic":
		l.ElementRelationship = smdschema.Atomic
	case "set":
		l.ElementRelationship = smdschema.Associative
	case "map":
		if len(s.ListMapKeys) == 0 {
			return smdschema.Atom{}, fmt.Errorf("list type map without x-kubernetes-list-map-keys")
		}
		l.ElementRelationship = smdschema.Associative
		l.Keys = slices.Clone(s.ListMapKeys)
	case "":
		// No list type: a merge patch strategy makes the list associative (keyed by the patch
		// merge key, or a set without one); otherwise the list is atomic.
		l.ElementRelationship = smdschema.Atomic
		if slices.Contains(strings.Split(s.PatchStrategy, ","), "merge") {
			l.ElementRelationship = smdschema.Associative
			if s.PatchMergeKey != "" {
				l.Keys = []string{s.PatchMergeKey}
			}
		}
	default:
		return smdschema.Atom{}, fmt.Errorf("unknown x-kubernetes-list-type %q", s.ListType)
	}
	return smdschema.Atom{List: l}, nil
}

func convertMap(s *oaSchema) (smdschema.Atom, error) {
	m := &smdschema.Map{}
	if s.MapType != "" {
		rel, err := mapRelationship(s.MapType)
		if err != nil {
			return smdschema.Atom{}, err
		}
		m.ElementRelationship = rel
	}
	props := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		props = append(props, name)
	}
	slices.Sort(props)
	for _, name := range props {
		tr, err := typeRef(s.Properties[name])
		if err != nil {
			return smdschema.Atom{}, fmt.Errorf("property %s: %w", name, err)
		}
		m.Fields = append(m.Fields, smdschema.StructField{Name: name, Type: tr, Default: scalarDefault(s.Properties[name].Default)})
	}
	switch ap := s.AdditionalProperties; {
	case ap != nil && ap.Schema != nil:
		elem, err := typeRef(ap.Schema)
		if err != nil {
			return smdschema.Atom{}, fmt.Errorf("additionalProperties: %w", err)
		}
		m.ElementType = elem
	case (ap != nil && ap.Allows) || s.PreserveUnknown || len(s.Properties) == 0:
		// A free-form object (FieldsV1, preserve-unknown-fields): anything, merged by key.
		m.ElementType = named(untypedDeduced)
	}
	return smdschema.Atom{Map: m}, nil
}

// scalarDefault is a field's scalar default (v3 documents carry them), which keys a list
// item that leaves the key field out: a container port without protocol is the TCP one.
func scalarDefault(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	switch d := v.(type) {
	case string, bool:
		return d
	case float64:
		if d == math.Trunc(d) && math.Abs(d) < 1<<53 {
			return int64(d)
		}
		return d
	}
	return nil
}

func mapRelationship(mapType string) (smdschema.ElementRelationship, error) {
	switch mapType {
	case "atomic":
		return smdschema.Atomic, nil
	case "granular":
		return smdschema.Separable, nil
	default:
		return "", fmt.Errorf("unknown x-kubernetes-map-type %q", mapType)
	}
}

// checkRefs makes sure every named type an atom references exists, so a bad document fails
// when the schema is built rather than on a write.
func checkRefs(s *smdschema.Schema, a smdschema.Atom) error {
	check := func(tr smdschema.TypeRef) error {
		if tr.NamedType != nil {
			if _, ok := s.FindNamedType(*tr.NamedType); !ok {
				return fmt.Errorf("reference to undefined type %s", *tr.NamedType)
			}
			return nil
		}
		return checkRefs(s, tr.Inlined)
	}
	if a.List != nil {
		if err := check(a.List.ElementType); err != nil {
			return err
		}
	}
	if a.Map != nil {
		for _, f := range a.Map.Fields {
			if err := check(f.Type); err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
		if a.Map.ElementType.NamedType != nil || a.Map.ElementType.Inlined != (smdschema.Atom{}) {
			if err := check(a.Map.ElementType); err != nil {
				return err
			}
		}
	}
	return nil
}
