package openapi

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"capstan/internal/apiserver/registry"
)

// buildDefs builds the definitions of the test resources in one flavor.
func buildDefs(t *testing.T, f flavor) map[string]*spec.Schema {
	t.Helper()
	m, err := newModel(registry.NewScheme(), testResources())
	if err != nil {
		t.Fatal(err)
	}
	d, err := m.definitions(f, defaultMarkers())
	if err != nil {
		t.Fatal(err)
	}
	return d.schemas
}

func def(t *testing.T, defs map[string]*spec.Schema, name string) *spec.Schema {
	t.Helper()
	s, ok := defs[name]
	if !ok {
		t.Fatalf("no definition %s", name)
	}
	return s
}

func prop(t *testing.T, defs map[string]*spec.Schema, name, field string) spec.Schema {
	t.Helper()
	p, ok := def(t, defs, name).Properties[field]
	if !ok {
		t.Fatalf("%s has no property %s", name, field)
	}
	return p
}

// refOf is the definition a property points to, directly (v2) or through allOf (v3).
func refOf(s spec.Schema) string {
	if r := s.Ref.String(); r != "" {
		return r
	}
	if len(s.AllOf) == 1 {
		return s.AllOf[0].Ref.String()
	}
	return ""
}

func TestDefinitionsFollowUpstream(t *testing.T) {
	t.Parallel()
	for _, f := range []flavor{flavorV2, flavorV3} {
		defs := buildDefs(t, f)
		prefix := f.refPrefix()
		tests := []struct {
			name  string
			check func(t *testing.T)
		}{
			{"Pod spec.containers is a merge list of Container keyed by name", func(t *testing.T) {
				p := prop(t, defs, "io.k8s.api.core.v1.PodSpec", "containers")
				if !slices.Equal(p.Type, []string{"array"}) || p.Items == nil || p.Items.Schema.Ref.String() != prefix+"io.k8s.api.core.v1.Container" {
					t.Errorf("containers = %+v, want an array of Container", p.SchemaProps)
				}
				for k, want := range map[string]any{
					extPatchMergeKey: "name", extPatchStrategy: "merge", extListType: "map", extListMapKeys: []any{"name"},
				} {
					if got := p.Extensions[k]; !reflect.DeepEqual(got, want) {
						t.Errorf("containers %s = %v, want %v", k, got, want)
					}
				}
			}},
			{"Container ports are keyed by containerPort and protocol", func(t *testing.T) {
				p := prop(t, defs, "io.k8s.api.core.v1.Container", "ports")
				if got := p.Extensions[extListMapKeys]; !reflect.DeepEqual(got, []any{"containerPort", "protocol"}) {
					t.Errorf("ports list-map-keys = %v", got)
				}
			}},
			{"Deployment carries its group-version-kind", func(t *testing.T) {
				got := def(t, defs, "io.k8s.api.apps.v1.Deployment").Extensions[extGVK]
				want := []any{map[string]any{"group": "apps", "kind": "Deployment", "version": "v1"}}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("x-kubernetes-group-version-kind = %v, want %v", got, want)
				}
			}},
			{"DeleteOptions is registered in every group version", func(t *testing.T) {
				got, _ := def(t, defs, "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions").Extensions[extGVK].([]any)
				if len(got) < 10 || !reflect.DeepEqual(got[0], map[string]any{"group": "", "kind": "DeleteOptions", "version": "v1"}) {
					t.Errorf("DeleteOptions kinds = %v", got)
				}
			}},
			{"Quantity is a string", func(t *testing.T) {
				q := def(t, defs, "io.k8s.apimachinery.pkg.api.resource.Quantity")
				if q.Description == "" {
					t.Error("Quantity has no description")
				}
				if f == flavorV2 && !slices.Equal(q.Type, []string{"string"}) {
					t.Errorf("v2 Quantity type = %v", q.Type)
				}
				if f == flavorV3 && (len(q.OneOf) != 2 || !slices.Equal(q.OneOf[0].Type, []string{"string"}) || !slices.Equal(q.OneOf[1].Type, []string{"number"})) {
					t.Errorf("v3 Quantity oneOf = %+v", q.OneOf)
				}
			}},
			{"IntOrString has format int-or-string", func(t *testing.T) {
				s := def(t, defs, "io.k8s.apimachinery.pkg.util.intstr.IntOrString")
				if s.Format != "int-or-string" {
					t.Errorf("format = %q", s.Format)
				}
				if f == flavorV2 && !slices.Equal(s.Type, []string{"string"}) {
					t.Errorf("v2 type = %v", s.Type)
				}
				if f == flavorV3 && len(s.OneOf) != 2 {
					t.Errorf("v3 oneOf = %+v", s.OneOf)
				}
			}},
			{"Time and MicroTime are date-time strings", func(t *testing.T) {
				for _, n := range []string{"io.k8s.apimachinery.pkg.apis.meta.v1.Time", "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"} {
					s := def(t, defs, n)
					if !slices.Equal(s.Type, []string{"string"}) || s.Format != "date-time" {
						t.Errorf("%s = %v %q", n, s.Type, s.Format)
					}
				}
			}},
			{"RawExtension and FieldsV1 are objects", func(t *testing.T) {
				for _, n := range []string{"io.k8s.apimachinery.pkg.runtime.RawExtension", "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1"} {
					if s := def(t, defs, n); !slices.Equal(s.Type, []string{"object"}) || len(s.Properties) != 0 {
						t.Errorf("%s = %+v", n, s.SchemaProps)
					}
				}
			}},
			{"Secret data is a map of base64 strings", func(t *testing.T) {
				p := prop(t, defs, "io.k8s.api.core.v1.Secret", "data")
				ap := p.AdditionalProperties
				if !slices.Equal(p.Type, []string{"object"}) || ap == nil || ap.Schema == nil || ap.Schema.Format != "byte" {
					t.Errorf("data = %+v", p.SchemaProps)
				}
			}},
			{"resource limits are a map of Quantity", func(t *testing.T) {
				p := prop(t, defs, "io.k8s.api.core.v1.ResourceRequirements", "limits")
				if ap := p.AdditionalProperties; ap == nil || ap.Schema.Ref.String() != prefix+"io.k8s.apimachinery.pkg.api.resource.Quantity" {
					t.Errorf("limits = %+v", p.SchemaProps)
				}
			}},
			{"every PodSpec field is described", func(t *testing.T) {
				spec := def(t, defs, "io.k8s.api.core.v1.PodSpec")
				if spec.Description == "" || len(spec.Properties) < 30 {
					t.Fatalf("PodSpec: %d properties, description %q", len(spec.Properties), spec.Description)
				}
				for name, p := range spec.Properties {
					if p.Description == "" {
						t.Errorf("PodSpec.%s has no description", name)
					}
				}
			}},
			{"inlined TypeMeta gives apiVersion and kind", func(t *testing.T) {
				for _, field := range []string{"apiVersion", "kind"} {
					if p := prop(t, defs, "io.k8s.api.core.v1.Pod", field); !slices.Equal(p.Type, []string{"string"}) || p.Description == "" {
						t.Errorf("Pod.%s = %+v", field, p.SchemaProps)
					}
				}
				if refOf(prop(t, defs, "io.k8s.api.core.v1.Pod", "metadata")) != prefix+"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" {
					t.Error("Pod.metadata is not an ObjectMeta")
				}
			}},
			{"enum fields list their values", func(t *testing.T) {
				p := prop(t, defs, "io.k8s.api.core.v1.PodSpec", "restartPolicy")
				if !reflect.DeepEqual(p.Enum, []any{"Always", "Never", "OnFailure"}) {
					t.Errorf("restartPolicy enum = %v", p.Enum)
				}
				if !strings.Contains(p.Description, "\n\nPossible enum values:\n - `\"Always\"`") {
					t.Errorf("restartPolicy description = %q", p.Description)
				}
			}},
			{"atomic structs carry x-kubernetes-map-type", func(t *testing.T) {
				if got := def(t, defs, "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector").Extensions[extMapType]; got != "atomic" {
					t.Errorf("LabelSelector map type = %v", got)
				}
			}},
		}
		for _, tt := range tests {
			t.Run(map[flavor]string{flavorV2: "v2/", flavorV3: "v3/"}[f]+tt.name, tt.check)
		}
	}
}

func TestRequiredFieldsMatchUpstream(t *testing.T) {
	t.Parallel()
	defs := buildDefs(t, flavorV2)
	// Upstream's required lists (api/openapi-spec, v1.37 sources).
	tests := map[string][]string{
		"io.k8s.api.core.v1.PodSpec":                           {"containers"},
		"io.k8s.api.core.v1.Container":                         {"name"},
		"io.k8s.api.core.v1.ContainerPort":                     {"containerPort"},
		"io.k8s.api.core.v1.ServicePort":                       {"port"},
		"io.k8s.api.core.v1.EnvVar":                            {"name"},
		"io.k8s.api.core.v1.Toleration":                        nil,
		"io.k8s.api.core.v1.Pod":                               nil,
		"io.k8s.api.core.v1.PodList":                           {"items"},
		"io.k8s.api.apps.v1.DeploymentSpec":                    {"selector", "template"},
		"io.k8s.api.apps.v1.DaemonSetSpec":                     {"selector", "template"},
		"io.k8s.api.apps.v1.ControllerRevision":                {"data"},
		"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta":      nil,
		"io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent":      {"type", "object"},
		"io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList": {"groupVersion", "resources"},
		"io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference":  {"apiVersion", "kind", "name", "uid"},
		"io.k8s.apimachinery.pkg.apis.meta.v1.Condition":       {"type", "status", "lastTransitionTime", "reason", "message"},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			if got := def(t, defs, name).Required; !slices.Equal(got, want) {
				t.Errorf("required = %q, want %q", got, want)
			}
		})
	}
}

func TestV3DefaultsAndWrappedRefs(t *testing.T) {
	t.Parallel()
	v3 := buildDefs(t, flavorV3)
	v2 := buildDefs(t, flavorV2)
	meta := prop(t, v3, "io.k8s.api.core.v1.Pod", "metadata")
	if meta.Ref.String() != "" || len(meta.AllOf) != 1 || !reflect.DeepEqual(meta.Default, map[string]any{}) || meta.Description == "" {
		t.Errorf("v3 Pod.metadata = %+v, want allOf-wrapped ref with default {} and description", meta.SchemaProps)
	}
	if name := prop(t, v3, "io.k8s.api.core.v1.Container", "name"); name.Default != "" {
		t.Errorf("v3 Container.name default = %#v, want \"\"", name.Default)
	}
	if ts := prop(t, v3, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "creationTimestamp"); ts.Default != nil {
		t.Errorf("Time has custom unmarshalling and gets no default, got %#v", ts.Default)
	}
	meta2 := prop(t, v2, "io.k8s.api.core.v1.Pod", "metadata")
	if meta2.Ref.String() != "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" || meta2.Default != nil {
		t.Errorf("v2 Pod.metadata = %+v, want a bare $ref with description", meta2.SchemaProps)
	}
}

// TestEveryRegisteredTypeBuilds walks every kind of the full scheme, so a k8s.io/api type the
// reflection cannot handle fails here rather than on a server.
func TestEveryRegisteredTypeBuilds(t *testing.T) {
	t.Parallel()
	scheme := registry.NewScheme()
	for _, f := range []flavor{flavorV2, flavorV3} {
		d := newDefinitions(f, defaultMarkers(), nil)
		for gvk, typ := range scheme.AllKnownTypes() {
			if gvk.Version != runtime.APIVersionInternal && typ.Kind() == reflect.Struct {
				d.add(typ)
			}
		}
		if err := d.err(); err != nil {
			t.Fatal(err)
		}
		if len(d.schemas) < 1000 {
			t.Errorf("only %d definitions", len(d.schemas))
		}
	}
}

// TestTypesWithoutMarkersDeriveListTypes checks the fallback for Go types whose sources
// internal/markergen did not read: a patchMergeKey makes the list a map keyed by it.
func TestTypesWithoutMarkersDeriveListTypes(t *testing.T) {
	t.Parallel()
	type item struct {
		Name string `json:"name"`
	}
	type widgetSpec struct {
		Items []item   `json:"items,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
		Tags  []string `json:"tags,omitempty"`
	}
	d := newDefinitions(flavorV3, defaultMarkers(), nil)
	name := d.add(reflect.TypeFor[widgetSpec]())
	if err := d.err(); err != nil {
		t.Fatal(err)
	}
	s := d.schemas[name]
	if name != "capstan.internal.apiserver.openapi.widgetSpec" {
		t.Errorf("name = %s", name)
	}
	items := s.Properties["items"]
	if items.Extensions[extListType] != "map" || !reflect.DeepEqual(items.Extensions[extListMapKeys], []any{"name"}) {
		t.Errorf("items extensions = %v", items.Extensions)
	}
	if tags := s.Properties["tags"]; len(tags.Extensions) != 0 {
		t.Errorf("tags extensions = %v, want none", tags.Extensions)
	}
	if got := d.schemas[refName(items.Items.Schema.Ref.String())].Required; !slices.Equal(got, []string{"name"}) {
		t.Errorf("item required = %v", got)
	}
}

func TestModelNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[corev1.Pod](), "io.k8s.api.core.v1.Pod"},
		{reflect.TypeFor[appsv1.Deployment](), "io.k8s.api.apps.v1.Deployment"},
		{reflect.TypeFor[registry.Scale](), "capstan.internal.apiserver.registry.Scale"},
	}
	for _, tt := range tests {
		if got := modelName(tt.typ); got != tt.want {
			t.Errorf("modelName(%v) = %s, want %s", tt.typ, got, tt.want)
		}
	}
	for in, want := range map[string]string{
		"k8s.io/apimachinery/pkg/api/resource": "io.k8s.apimachinery.pkg.api.resource",
		"k8s.io/apimachinery/pkg/util/intstr":  "io.k8s.apimachinery.pkg.util.intstr",
		"github.com/foo/bar":                   "com.github.foo.bar",
		"example/vendor/k8s.io/api/core/v1":    "io.k8s.api.core.v1",
	} {
		if got := friendlyName(in); got != want {
			t.Errorf("friendlyName(%s) = %s, want %s", in, got, want)
		}
	}
}
