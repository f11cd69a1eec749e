package openapi

import (
	"fmt"
	"reflect"
	"sort"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"capstan/internal/apiserver/registry"
)

var (
	scaleGVK    = autoscalingv1.SchemeGroupVersion.WithKind("Scale")
	bindingGVK  = corev1.SchemeGroupVersion.WithKind("Binding")
	evictionGVK = policyv1.SchemeGroupVersion.WithKind("Eviction")
	nameScale   = modelName(reflect.TypeFor[autoscalingv1.Scale]())
)

// deleteReturnsObject lists the resources whose DELETE answers with the deleted object rather
// than a Status in upstream's API (their stores set ReturnDeletedObject).
var deleteReturnsObject = map[schema.GroupResource]bool{
	{Resource: "pods"}:                                       true,
	{Resource: "services"}:                                   true,
	{Resource: "persistentvolumes"}:                          true,
	{Resource: "persistentvolumeclaims"}:                     true,
	{Resource: "podtemplates"}:                               true,
	{Resource: "resourcequotas"}:                             true,
	{Resource: "serviceaccounts"}:                            true,
	{Group: "storage.k8s.io", Resource: "csidrivers"}:        true,
	{Group: "storage.k8s.io", Resource: "csinodes"}:          true,
	{Group: "storage.k8s.io", Resource: "storageclasses"}:    true,
	{Group: "storage.k8s.io", Resource: "volumeattachments"}: true,
}

// model is what both documents are built from: the resources with their Go types, and the
// kinds each Go type is registered as.
type model struct {
	resources []*resourceRoutes
	// roots are the Go types every document defines besides the resources' own.
	roots []reflect.Type
	// types maps each resource's kind and list kind to its Go type.
	types map[schema.GroupVersionKind]reflect.Type
	gvks  map[reflect.Type][]schema.GroupVersionKind
	gvs   []schema.GroupVersion
}

// newModel checks the resources against the scheme. It is cheap: no schema is built.
func newModel(scheme *runtime.Scheme, resources []registry.Resource) (*model, error) {
	m := &model{types: map[schema.GroupVersionKind]reflect.Type{}, gvks: kindsByType(scheme)}
	known := scheme.AllKnownTypes()
	seen := map[string]bool{}
	gvSeen := map[schema.GroupVersion]bool{}
	for i := range resources {
		r := &resources[i]
		if r.Plural == "" || r.GVK.Kind == "" || r.GVK.Version == "" {
			return nil, fmt.Errorf("resource %+v: GVK and plural are required", r.GVK)
		}
		key := r.GVK.GroupVersion().String() + "/" + r.Plural
		if seen[key] {
			return nil, fmt.Errorf("resource %s is listed twice", key)
		}
		seen[key] = true
		listGVK := r.GVK.GroupVersion().WithKind(r.GVK.Kind + "List")
		for _, gvk := range []schema.GroupVersionKind{r.GVK, listGVK} {
			t, ok := known[gvk]
			if !ok {
				return nil, fmt.Errorf("kind %v is not registered in the scheme", gvk)
			}
			m.types[gvk] = t
		}
		m.resources = append(m.resources, newResourceRoutes(r, m.types[r.GVK], m.types[listGVK]))
		if gv := r.GVK.GroupVersion(); !gvSeen[gv] {
			gvSeen[gv] = true
			m.gvs = append(m.gvs, gv)
		}
	}
	sort.Slice(m.resources, func(i, j int) bool {
		a, b := m.resources[i], m.resources[j]
		if ga, gb := gvPath(a.gvk.GroupVersion()), gvPath(b.gvk.GroupVersion()); ga != gb {
			return ga < gb
		}
		return a.plural < b.plural
	})
	sort.Slice(m.gvs, func(i, j int) bool { return gvPath(m.gvs[i]) < gvPath(m.gvs[j]) })
	m.roots = []reflect.Type{
		reflect.TypeFor[metav1.Status](),
		reflect.TypeFor[metav1.APIResourceList](),
		reflect.TypeFor[metav1.WatchEvent](),
		reflect.TypeFor[metav1.DeleteOptions](),
		reflect.TypeFor[metav1.Patch](),
		reflect.TypeFor[autoscalingv1.Scale](),
		reflect.TypeFor[corev1.Binding](),
		reflect.TypeFor[policyv1.Eviction](),
	}
	return m, nil
}

func newResourceRoutes(r *registry.Resource, kindType, listType reflect.Type) *resourceRoutes {
	rr := &resourceRoutes{
		gvk:                 r.GVK,
		plural:              r.Plural,
		namespaced:          r.Namespaced,
		status:              r.Status,
		scale:               r.Scale != nil,
		kind:                modelName(kindType),
		list:                modelName(listType),
		deleteReturnsObject: deleteReturnsObject[r.GroupResource()],
		noDeleteCollection:  r.GVK.Group == "" && r.Plural == "namespaces",
	}
	if r.GVK.Group == "" && r.GVK.Version == "v1" && r.Plural == "pods" {
		rr.subresources = []postSubresource{
			{name: "binding", title: "Binding", gvk: bindingGVK, model: modelName(reflect.TypeFor[corev1.Binding]())},
			{name: "eviction", title: "Eviction", gvk: evictionGVK, model: modelName(reflect.TypeFor[policyv1.Eviction]())},
		}
	}
	return rr
}

// kindsByType lists the kinds each Go type is registered as, sorted by group, version and
// kind: the definitions' x-kubernetes-group-version-kind, as upstream's definition namer.
func kindsByType(scheme *runtime.Scheme) map[reflect.Type][]schema.GroupVersionKind {
	out := map[reflect.Type][]schema.GroupVersionKind{}
	for gvk, t := range scheme.AllKnownTypes() {
		if gvk.Version != runtime.APIVersionInternal {
			out[t] = append(out[t], gvk)
		}
	}
	for _, list := range out {
		sort.Slice(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if a.Group != b.Group {
				return a.Group < b.Group
			}
			if a.Version != b.Version {
				return a.Version < b.Version
			}
			return a.Kind < b.Kind
		})
	}
	return out
}

// definitions builds the schemas of every type the documents reference.
func (m *model) definitions(f flavor, markers markerSource) (*definitions, error) {
	d := newDefinitions(f, markers, m.gvks)
	for _, t := range m.roots {
		d.add(t)
	}
	for _, r := range m.resources {
		d.add(m.types[r.gvk])
		d.add(m.types[r.gvk.GroupVersion().WithKind(r.gvk.Kind+"List")])
	}
	return d, d.err()
}

// routes lists the routes of the resources of gv, or of every resource when gv is nil,
// each group version's root first.
func (m *model) routes(gv *schema.GroupVersion) ([]route, error) {
	var out []route
	for _, g := range m.gvs {
		if gv != nil && g != *gv {
			continue
		}
		out = append(out, gvRootRoute(g))
		for _, r := range m.resources {
			if r.gvk.GroupVersion() == g {
				out = append(out, r.routes()...)
			}
		}
	}
	return out, checkUnique(out)
}

// buildV2 builds the swagger 2.0 document of every resource.
func (m *model) buildV2(version string, markers markerSource) (*spec.Swagger, error) {
	defs, err := m.definitions(flavorV2, markers)
	if err != nil {
		return nil, err
	}
	routes, err := m.routes(nil)
	if err != nil {
		return nil, err
	}
	sw := &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:     "2.0",
		Info:        &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: version}},
		Paths:       &spec.Paths{Paths: map[string]spec.PathItem{}},
		Definitions: spec.Definitions{},
		SecurityDefinitions: spec.SecurityDefinitions{"BearerToken": &spec.SecurityScheme{SecuritySchemeProps: spec.SecuritySchemeProps{
			Type: "apiKey", Name: "authorization", In: "header", Description: "Bearer Token authentication",
		}}},
		Security: []map[string][]string{{"BearerToken": {}}},
	}}
	for name, s := range defs.schemas {
		sw.Definitions[name] = *s
	}
	for _, rt := range routes {
		sw.Paths.Paths[rt.path] = v2PathItem(defs, rt)
	}
	return sw, nil
}

func v2PathItem(defs *definitions, rt route) spec.PathItem {
	common, ops := splitCommon(rt)
	var item spec.PathItem
	item.Parameters = v2Params(common)
	for _, o := range ops {
		op := &spec.Operation{}
		op.ID = o.id
		op.Description = o.desc
		op.Consumes = o.consumes
		op.Produces = o.produces
		op.Schemes = []string{"https"}
		op.Tags = []string{o.tag}
		if o.body != "" {
			body := spec.Parameter{ParamProps: spec.ParamProps{
				Name: "body", In: "body", Required: o.bodyReq,
				Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Ref: defs.ref(o.body)}},
			}}
			op.Parameters = append(op.Parameters, body)
		}
		op.Parameters = append(op.Parameters, v2Params(o.params)...)
		op.Responses = &spec.Responses{ResponsesProps: spec.ResponsesProps{StatusCodeResponses: map[int]spec.Response{}}}
		for _, r := range o.responses {
			resp := spec.Response{ResponseProps: spec.ResponseProps{Description: r.desc}}
			if r.model != "" {
				resp.Schema = &spec.Schema{SchemaProps: spec.SchemaProps{Ref: defs.ref(r.model)}}
			}
			op.Responses.StatusCodeResponses[r.code] = resp
		}
		op.Extensions = opExtensions(o)
		switch o.method {
		case "get":
			item.Get = op
		case "put":
			item.Put = op
		case "post":
			item.Post = op
		case "patch":
			item.Patch = op
		case "delete":
			item.Delete = op
		}
	}
	return item
}

func v2Params(ps []param) []spec.Parameter {
	out := make([]spec.Parameter, 0, len(ps))
	for _, p := range ps {
		sp := spec.Parameter{
			ParamProps:   spec.ParamProps{Name: p.name, In: p.in, Description: p.desc, Required: p.required},
			SimpleSchema: spec.SimpleSchema{Type: p.typ},
		}
		sp.UniqueItems = true
		out = append(out, sp)
	}
	return out
}

func opExtensions(o operation) spec.Extensions {
	ext := spec.Extensions{}
	if o.action != "" {
		ext[extAction] = o.action
	}
	if o.gvk != nil {
		ext[extGVK] = map[string]any{"group": o.gvk.Group, "kind": o.gvk.Kind, "version": o.gvk.Version}
	}
	if len(ext) == 0 {
		return nil
	}
	return ext
}

// buildV3 builds one OpenAPI v3 document per group version, keyed by gvPath.
func (m *model) buildV3(version string, markers markerSource) (map[string]*spec3.OpenAPI, error) {
	defs, err := m.definitions(flavorV3, markers)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*spec3.OpenAPI, len(m.gvs))
	for _, gv := range m.gvs {
		routes, err := m.routes(&gv)
		if err != nil {
			return nil, err
		}
		doc := &spec3.OpenAPI{
			Version: "3.0.0",
			Info:    &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: version}},
			Paths:   &spec3.Paths{Paths: map[string]*spec3.Path{}},
			Components: &spec3.Components{
				Schemas: map[string]*spec.Schema{},
				SecuritySchemes: spec3.SecuritySchemes{"BearerToken": &spec3.SecurityScheme{SecuritySchemeProps: spec3.SecuritySchemeProps{
					Type: "apiKey", Name: "authorization", In: "header", Description: "Bearer Token authentication",
				}}},
			},
		}
		used := map[string]bool{}
		for _, rt := range routes {
			doc.Paths.Paths[rt.path] = v3Path(defs, rt, used)
		}
		for name := range closure(defs.schemas, used) {
			doc.Components.Schemas[name] = defs.schemas[name]
		}
		out[gvPath(gv)] = doc
	}
	return out, nil
}

func v3Path(defs *definitions, rt route, used map[string]bool) *spec3.Path {
	common, ops := splitCommon(rt)
	p := &spec3.Path{}
	p.Parameters = v3Params(common)
	refSchema := func(model string) *spec.Schema {
		used[model] = true
		return &spec.Schema{SchemaProps: spec.SchemaProps{Ref: defs.ref(model)}}
	}
	for _, o := range ops {
		op := &spec3.Operation{}
		op.OperationId = o.id
		op.Description = o.desc
		op.Tags = []string{o.tag}
		op.Parameters = v3Params(o.params)
		if o.body != "" {
			content := map[string]*spec3.MediaType{}
			for _, c := range o.consumes {
				content[c] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: refSchema(o.body)}}
			}
			op.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{Content: content, Required: o.bodyReq}}
		}
		op.Responses = &spec3.Responses{ResponsesProps: spec3.ResponsesProps{StatusCodeResponses: map[int]*spec3.Response{}}}
		for _, r := range o.responses {
			resp := &spec3.Response{ResponseProps: spec3.ResponseProps{Description: r.desc}}
			if r.model != "" {
				resp.Content = map[string]*spec3.MediaType{}
				for _, c := range o.produces {
					resp.Content[c] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: refSchema(r.model)}}
				}
			}
			op.Responses.StatusCodeResponses[r.code] = resp
		}
		op.Extensions = opExtensions(o)
		switch o.method {
		case "get":
			p.Get = op
		case "put":
			p.Put = op
		case "post":
			p.Post = op
		case "patch":
			p.Patch = op
		case "delete":
			p.Delete = op
		}
	}
	return p
}

func v3Params(ps []param) []*spec3.Parameter {
	out := make([]*spec3.Parameter, 0, len(ps))
	for _, p := range ps {
		s := &spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{p.typ}, UniqueItems: true}}
		out = append(out, &spec3.Parameter{ParameterProps: spec3.ParameterProps{
			Name: p.name, In: p.in, Description: p.desc, Required: p.required, Schema: s,
		}})
	}
	return out
}

// closure returns the names in roots and every definition they reference, transitively.
func closure(schemas map[string]*spec.Schema, roots map[string]bool) map[string]bool {
	out := map[string]bool{}
	var visit func(name string)
	var walk func(s *spec.Schema)
	visit = func(name string) {
		if out[name] {
			return
		}
		out[name] = true
		if s := schemas[name]; s != nil {
			walk(s)
		}
	}
	walk = func(s *spec.Schema) {
		if s == nil {
			return
		}
		if ref := s.Ref.String(); ref != "" {
			visit(refName(ref))
		}
		for _, p := range s.Properties {
			walk(&p)
		}
		if s.Items != nil {
			walk(s.Items.Schema)
			for i := range s.Items.Schemas {
				walk(&s.Items.Schemas[i])
			}
		}
		if s.AdditionalProperties != nil {
			walk(s.AdditionalProperties.Schema)
		}
		for i := range s.AllOf {
			walk(&s.AllOf[i])
		}
		for i := range s.OneOf {
			walk(&s.OneOf[i])
		}
		for i := range s.AnyOf {
			walk(&s.AnyOf[i])
		}
	}
	for name := range roots {
		visit(name)
	}
	return out
}

// refName is the definition name at the end of a $ref.
func refName(ref string) string {
	for i := len(ref) - 1; i >= 0; i-- {
		if ref[i] == '/' {
			return ref[i+1:]
		}
	}
	return ref
}
