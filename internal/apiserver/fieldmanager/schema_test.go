package fieldmanager_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
	"sigs.k8s.io/structured-merge-diff/v6/typed"

	"capstan/internal/apiserver"
	"capstan/internal/apiserver/fieldmanager"
	"capstan/internal/apiserver/openapi"
	"capstan/internal/apiserver/registry"
)

// served builds the converter of every served kind once, the way the server does.
var served = sync.OnceValues(func() (*fieldmanager.TypeConverter, error) {
	h, err := openapi.NewHandler(openapi.Options{Scheme: registry.NewScheme(), Resources: apiserver.AllResources()})
	if err != nil {
		return nil, err
	}
	return fieldmanager.FromOpenAPI(h)
})

func converter(tb testing.TB) *fieldmanager.TypeConverter {
	tb.Helper()
	c, err := served()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// resolve walks path from the type of gvk: field names, "[]" for a list's items and "{}" for
// a map's values, and returns the atom found there with the relationship a reference may
// override.
func resolve(t *testing.T, c *fieldmanager.TypeConverter, gvk schema.GroupVersionKind, path string) (smdschema.Atom, smdschema.ElementRelationship) {
	t.Helper()
	typ, ok := c.Type(gvk)
	if !ok {
		t.Fatalf("no type for %v", gvk)
	}
	s := c.Schema()
	ref := typ.TypeRef
	var override smdschema.ElementRelationship
	for _, step := range strings.Split(path, ".") {
		atom, ok := s.Resolve(ref)
		if !ok {
			t.Fatalf("%s: cannot resolve %v", path, ref)
		}
		switch step {
		case "[]":
			if atom.List == nil {
				t.Fatalf("%s: not a list at %s", path, step)
			}
			ref = atom.List.ElementType
		case "{}":
			if atom.Map == nil {
				t.Fatalf("%s: not a map at %s", path, step)
			}
			ref = atom.Map.ElementType
		default:
			if atom.Map == nil {
				t.Fatalf("%s: not a struct at %s", path, step)
			}
			f, ok := atom.Map.FindField(step)
			if !ok {
				t.Fatalf("%s: no field %s", path, step)
			}
			ref = f.Type
		}
	}
	if ref.ElementRelationship != nil {
		override = *ref.ElementRelationship
	}
	atom, ok := s.Resolve(ref)
	if !ok {
		t.Fatalf("%s: cannot resolve %v", path, ref)
	}
	return atom, override
}

var (
	deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	podGVK        = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	serviceGVK    = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	configMapGVK  = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	pvGVK         = schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolume"}
)

func TestServedSchemasFollowTheAPIMarkers(t *testing.T) {
	t.Parallel()
	c := converter(t)
	type want struct {
		list   smdschema.ElementRelationship // for lists
		keys   []string
		mapRel smdschema.ElementRelationship // for maps and structs ("" = granular)
		scalar smdschema.Scalar
	}
	for _, tc := range []struct {
		name string
		gvk  schema.GroupVersionKind
		path string
		want want
	}{
		{"containers merge by name", deploymentGVK, "spec.template.spec.containers", want{list: smdschema.Associative, keys: []string{"name"}}},
		{"container ports merge by containerPort and protocol", deploymentGVK, "spec.template.spec.containers.[].ports", want{list: smdschema.Associative, keys: []string{"containerPort", "protocol"}}},
		{"env merges by name", podGVK, "spec.containers.[].env", want{list: smdschema.Associative, keys: []string{"name"}}},
		{"service ports merge by port and protocol", serviceGVK, "spec.ports", want{list: smdschema.Associative, keys: []string{"port", "protocol"}}},
		{"tolerations are atomic", podGVK, "spec.tolerations", want{list: smdschema.Atomic}},
		{"finalizers are a set", podGVK, "metadata.finalizers", want{list: smdschema.Associative}},
		{"owner references merge by uid", podGVK, "metadata.ownerReferences", want{list: smdschema.Associative, keys: []string{"uid"}}},
		{"container args are atomic", podGVK, "spec.containers.[].args", want{list: smdschema.Atomic}},
		{"labels are granular", deploymentGVK, "metadata.labels", want{mapRel: ""}},
		{"configmap data is granular", configMapGVK, "data", want{mapRel: ""}},
		{"node selectors are atomic", podGVK, "spec.nodeSelector", want{mapRel: smdschema.Atomic}},
		{"label selectors are atomic structs", deploymentGVK, "spec.selector", want{mapRel: smdschema.Atomic}},
		{"a field's map type overrides its type's", pvGVK, "spec.claimRef", want{mapRel: smdschema.Separable}},
		{"int-or-string is an untyped scalar", serviceGVK, "spec.ports.[].targetPort", want{scalar: smdschema.Untyped}},
		{"quantities are untyped scalars", podGVK, "spec.containers.[].resources.limits.{}", want{scalar: smdschema.Untyped}},
		{"replicas are numbers", deploymentGVK, "spec.replicas", want{scalar: smdschema.Numeric}},
		{"images are strings", podGVK, "spec.containers.[].image", want{scalar: smdschema.String}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			atom, override := resolve(t, c, tc.gvk, tc.path)
			switch {
			case tc.want.scalar != "":
				if atom.Scalar == nil || *atom.Scalar != tc.want.scalar {
					t.Fatalf("scalar = %v, want %v", atom.Scalar, tc.want.scalar)
				}
			case tc.want.list != "":
				if atom.List == nil {
					t.Fatalf("not a list: %+v", atom)
				}
				if atom.List.ElementRelationship != tc.want.list || strings.Join(atom.List.Keys, ",") != strings.Join(tc.want.keys, ",") {
					t.Fatalf("list %s keys %v, want %s keys %v", atom.List.ElementRelationship, atom.List.Keys, tc.want.list, tc.want.keys)
				}
			default:
				if atom.Map == nil {
					t.Fatalf("not a map: %+v", atom)
				}
				rel := atom.Map.ElementRelationship
				if override != "" {
					rel = override
				}
				if rel != tc.want.mapRel {
					t.Fatalf("map relationship %q, want %q", rel, tc.want.mapRel)
				}
			}
		})
	}
}

func TestEveryServedKindHasASchema(t *testing.T) {
	t.Parallel()
	c := converter(t)
	scheme := registry.NewScheme()
	for _, res := range apiserver.AllResources() {
		t.Run(res.GVK.String(), func(t *testing.T) {
			typ, ok := c.Type(res.GVK)
			if !ok {
				t.Fatalf("no schema for %v", res.GVK)
			}
			obj, err := scheme.New(res.GVK)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := typ.FromStructured(obj); err != nil {
				t.Fatalf("an empty %s does not fit its schema: %v", res.GVK.Kind, err)
			}
		})
	}
}

func TestSchemasAreDeterministic(t *testing.T) {
	t.Parallel()
	h, err := openapi.NewHandler(openapi.Options{Scheme: registry.NewScheme(), Resources: apiserver.AllResources()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := fieldmanager.FromOpenAPI(h)
	if err != nil {
		t.Fatal(err)
	}
	b := converter(t)
	// Schema.Equals compares relationship overrides by pointer; compare the encodings.
	ja, err := json.Marshal(a.Schema().Types)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b.Schema().Types)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ja, jb) {
		t.Fatal("two builds of the same documents differ")
	}
}

// TestConversionRules converts hand-written documents, v3 and v2, covering each rule.
func TestConversionRules(t *testing.T) {
	t.Parallel()
	v3 := `{"components":{"schemas":{
	  "x.Widget":{"type":"object","x-kubernetes-group-version-kind":[{"group":"x","version":"v1","kind":"Widget"}],
	    "properties":{
	      "merged":{"type":"array","items":{"$ref":"#/components/schemas/x.Item"},"x-kubernetes-patch-strategy":"merge","x-kubernetes-patch-merge-key":"name"},
	      "mergedSet":{"type":"array","items":{"type":"string"},"x-kubernetes-patch-strategy":"merge"},
	      "plain":{"type":"array","items":{"type":"string"}},
	      "keyed":{"type":"array","items":{"$ref":"#/components/schemas/x.Item"},"x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name","port"],"x-kubernetes-patch-strategy":"merge","x-kubernetes-patch-merge-key":"name"},
	      "wrapped":{"allOf":[{"$ref":"#/components/schemas/x.Item"}],"x-kubernetes-map-type":"atomic","default":{}},
	      "free":{"type":"object","additionalProperties":true},
	      "bag":{"type":"object"},
	      "port":{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
	      "raw":{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.runtime.RawExtension"},
	      "size":{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"}}},
	  "x.Item":{"type":"object","properties":{"name":{"type":"string"},"port":{"type":"integer","format":"int32"}}},
	  "io.k8s.apimachinery.pkg.util.intstr.IntOrString":{"format":"int-or-string","oneOf":[{"type":"integer"},{"type":"string"}]},
	  "io.k8s.apimachinery.pkg.runtime.RawExtension":{"type":"object"},
	  "io.k8s.apimachinery.pkg.api.resource.Quantity":{"oneOf":[{"type":"string"},{"type":"number"}]}}}}`
	v2 := strings.NewReplacer("#/components/schemas/", "#/definitions/", `{"components":{"schemas":`, `{"definitions":`, `}}}}`, `}}}`).Replace(v3)
	v2 = strings.Replace(v2, `{"format":"int-or-string","oneOf":[{"type":"integer"},{"type":"string"}]}`, `{"type":"string","format":"int-or-string"}`, 1)
	v2 = strings.Replace(v2, `{"oneOf":[{"type":"string"},{"type":"number"}]}`, `{"type":"string"}`, 1)
	gvk := schema.GroupVersionKind{Group: "x", Version: "v1", Kind: "Widget"}
	for name, doc := range map[string]string{"v3": v3, "v2": v2} {
		t.Run(name, func(t *testing.T) {
			c, err := fieldmanager.NewTypeConverter([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			field := func(path string) smdschema.Atom { a, _ := resolve(t, c, gvk, path); return a }
			if l := field("merged").List; l.ElementRelationship != smdschema.Associative || strings.Join(l.Keys, ",") != "name" {
				t.Errorf("a merge patch strategy should key the list by its merge key: %+v", l)
			}
			if l := field("mergedSet").List; l.ElementRelationship != smdschema.Associative || len(l.Keys) != 0 {
				t.Errorf("a merge patch strategy without key should make a set: %+v", l)
			}
			if l := field("plain").List; l.ElementRelationship != smdschema.Atomic {
				t.Errorf("a list without markers should be atomic: %+v", l)
			}
			if l := field("keyed").List; strings.Join(l.Keys, ",") != "name,port" {
				t.Errorf("list-map-keys should win over the merge key: %+v", l)
			}
			if _, rel := resolve(t, c, gvk, "wrapped"); rel != smdschema.Atomic {
				t.Errorf("the map type next to an allOf reference should apply, got %q", rel)
			}
			for _, p := range []string{"free", "bag"} {
				if m := field(p).Map; m == nil || m.ElementType.NamedType == nil {
					t.Errorf("%s: a free-form object should take any value: %+v", p, m)
				}
			}
			for _, p := range []string{"port", "size", "raw"} {
				if s := field(p).Scalar; s == nil || *s != smdschema.Untyped {
					t.Errorf("%s: should be an untyped scalar, got %v", p, s)
				}
			}
			typ, _ := c.Type(gvk)
			for _, ok := range []string{`{"port":8080,"size":1}`, `{"port":"http","size":"100m"}`, `{"raw":{"any":["thing"]},"free":{"a":{"b":1}}}`} {
				if _, err := typ.FromYAML(typed.YAMLObject(ok)); err != nil {
					t.Errorf("%s: %v", ok, err)
				}
			}
			if _, err := typ.FromYAML(`{"unknown":1}`); err == nil {
				t.Error("an unknown field should not fit the schema")
			}
		})
	}
}

func TestBadDocumentsFail(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"not JSON":             `{`,
		"dangling reference":   `{"definitions":{"a":{"type":"object","properties":{"b":{"$ref":"#/definitions/missing"}}}}}`,
		"unknown list type":    `{"definitions":{"a":{"type":"array","items":{"type":"string"},"x-kubernetes-list-type":"bag"}}}`,
		"map list without key": `{"definitions":{"a":{"type":"array","items":{"type":"string"},"x-kubernetes-list-type":"map"}}}`,
	} {
		if _, err := fieldmanager.NewTypeConverter([]byte(doc)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
