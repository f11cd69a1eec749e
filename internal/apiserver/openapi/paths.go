package openapi

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The routes below follow the ones upstream's API installer registers for a REST resource
// (list, create, deletecollection, read, replace, patch, delete, watch, status, scale), with
// upstream's operation ids, descriptions, parameters, media types and x-kubernetes-action.
// They are an abstract model rendered by the v2 and v3 writers.

type param struct {
	name, in, desc, typ string
	required            bool
}

type response struct {
	code int
	desc string
	// model is the definition name of the body; "" means no body.
	model string
}

type operation struct {
	method    string // get, put, post, patch, delete
	id        string
	desc      string
	action    string // x-kubernetes-action; "" for none
	gvk       *schema.GroupVersionKind
	params    []param
	body      string // definition name of the request body; "" for none
	bodyReq   bool
	consumes  []string
	produces  []string
	responses []response
	tag       string
}

type route struct {
	path string
	ops  []operation
}

const (
	mimeJSON             = "application/json"
	mimeYAML             = "application/yaml"
	mimeProtobuf         = "application/vnd.kubernetes.protobuf"
	mimeJSONWatch        = "application/json;stream=watch"
	mimeProtobufWatch    = "application/vnd.kubernetes.protobuf;stream=watch"
	mimeJSONPatch        = "application/json-patch+json"
	mimeMergePatch       = "application/merge-patch+json"
	mimeStrategicPatch   = "application/strategic-merge-patch+json"
	mimeApplyPatch       = "application/apply-patch+yaml"
	mimeAny              = "*/*"
	prettyDescription    = "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."
	namespaceDescription = "object name and auth scope, such as for teams and projects"
)

var (
	produceObject = []string{mimeJSON, mimeYAML, mimeProtobuf}
	produceList   = []string{mimeJSON, mimeYAML, mimeProtobuf, mimeJSONWatch, mimeProtobufWatch}
	consumeAny    = []string{mimeAny}
	consumePatch  = []string{mimeJSONPatch, mimeMergePatch, mimeStrategicPatch, mimeApplyPatch}
)

// Definition names of the meta types the routes use.
var (
	nameStatus          = modelName(reflect.TypeFor[metav1.Status]())
	nameDeleteOptions   = modelName(reflect.TypeFor[metav1.DeleteOptions]())
	namePatch           = modelName(reflect.TypeFor[metav1.Patch]())
	nameWatchEvent      = modelName(reflect.TypeFor[metav1.WatchEvent]())
	nameAPIResourceList = modelName(reflect.TypeFor[metav1.APIResourceList]())
)

// Query parameters, from the option types' fields and SwaggerDoc like upstream.
var (
	listParams             = optionParams(&metav1.ListOptions{})
	deleteCollectionParams = append(optionParams(&metav1.ListOptions{}, "watch", "allowWatchBookmarks"), optionParams(&metav1.DeleteOptions{})...)
	deleteParams           = optionParams(&metav1.DeleteOptions{})
	createParams           = optionParams(&metav1.CreateOptions{})
	updateParams           = optionParams(&metav1.UpdateOptions{})
	patchParams            = optionParams(&metav1.PatchOptions{})
)

// optionParams lists the query parameters of an options struct: its scalar fields (and
// slices of scalars) by JSON name, described by SwaggerDoc, as upstream's addObjectParams.
func optionParams(obj swaggerDoc, exclude ...string) []param {
	doc := obj.SwaggerDoc()
	t := reflect.TypeOf(obj).Elem()
	var out []param
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || f.Anonymous {
			continue
		}
		typ := queryType(f.Type)
		if typ == "" {
			continue
		}
		skip := false
		for _, e := range exclude {
			skip = skip || e == name
		}
		if !skip {
			out = append(out, param{name: name, in: "query", desc: doc[name], typ: typ})
		}
	}
	return out
}

// queryType is the OpenAPI type of a query parameter of Go type t; "" when t cannot be one.
func queryType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	}
	return ""
}

// gvPath is the document path of a group version: "api/v1" or "apis/<group>/<version>".
func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

// opPrefix and tag follow upstream's GetOperationIDAndTagsFromRoute: the group without
// ".k8s.io" and the version, camel-cased ("AppsV1", "RbacAuthorizationV1", "CoreV1").
func opPrefix(gv schema.GroupVersion) (prefix, tag string) {
	g := gv.Group
	if g == "" {
		g = "core"
	}
	g = strings.TrimSuffix(g, ".k8s.io")
	return validOperationID(g, true) + validOperationID(gv.Version, true),
		validOperationID(g, false) + "_" + validOperationID(gv.Version, false)
}

func validOperationID(s string, capitalizeFirst bool) string {
	var b strings.Builder
	capitalize := capitalizeFirst
	for i, r := range s {
		if unicode.IsLetter(r) || r == '_' || (i != 0 && unicode.IsDigit(r)) {
			if capitalize {
				b.WriteRune(unicode.ToUpper(r))
				capitalize = false
			} else {
				b.WriteRune(r)
			}
		} else {
			capitalize = true
		}
	}
	return b.String()
}

// article is " a ", " an " or, for plural nouns like Endpoints, " ", as upstream's
// GetArticleForNoun.
func article(noun string) string {
	if strings.HasSuffix(noun, "s") && !strings.HasSuffix(noun, "ss") {
		return " "
	}
	if noun != "" && strings.ContainsRune("AEIOUaeiou", rune(noun[0])) {
		return " an "
	}
	return " a "
}

// resourceRoutes are what the model needs to know about one served resource.
type resourceRoutes struct {
	gvk        schema.GroupVersionKind
	plural     string
	namespaced bool
	status     bool
	scale      bool
	kind       string // definition name of the kind
	list       string // definition name of the list kind
	// deleteReturnsObject is true where upstream's delete answers with the deleted object.
	deleteReturnsObject bool
	// noDeleteCollection is true for namespaces, which upstream cannot delete as a collection.
	noDeleteCollection bool
	// subresources are extra POST subresources (pods/binding, pods/eviction).
	subresources []postSubresource
}

type postSubresource struct {
	name  string // path segment
	title string // in the operation id, e.g. "Binding"
	gvk   schema.GroupVersionKind
	model string // definition name
}

// gvRootRoute is GET /apis/<group>/<version>/ (the resource list of the group version).
func gvRootRoute(gv schema.GroupVersion) route {
	prefix, tag := opPrefix(gv)
	return route{
		path: "/" + gvPath(gv) + "/",
		ops: []operation{{
			method: "get", id: "get" + prefix + "APIResources", desc: "get available resources",
			consumes: produceObject, produces: produceObject, tag: tag,
			responses: []response{{200, "OK", nameAPIResourceList}, {401, "Unauthorized", ""}},
		}},
	}
}

// routeBuilder holds what the routes of one resource share.
type routeBuilder struct {
	r        *resourceRoutes
	prefix   string // operation id prefix, e.g. "AppsV1"
	tag      string
	scope    string // "Namespaced" or ""
	base     string // "/apis/apps/v1"
	nsPrefix string // "/namespaces/{namespace}" or ""
	nsParams []param
}

var prettyParam = param{name: "pretty", in: "query", desc: prettyDescription, typ: "string"}

// routes lists the routes of one resource.
func (r *resourceRoutes) routes() []route {
	gv := r.gvk.GroupVersion()
	b := &routeBuilder{r: r, base: "/" + gvPath(gv)}
	b.prefix, b.tag = opPrefix(gv)
	if r.namespaced {
		b.scope = "Namespaced"
		b.nsPrefix = "/namespaces/{namespace}"
		b.nsParams = []param{{name: "namespace", in: "path", desc: namespaceDescription, typ: "string", required: true}}
	}
	routes := []route{b.collection(), b.item()}
	if r.status {
		routes = append(routes, b.subresource("status", "Status", r.gvk, r.kind))
	}
	if r.scale {
		routes = append(routes, b.subresource("scale", "Scale", scaleGVK, nameScale))
	}
	for _, s := range r.subresources {
		routes = append(routes, b.postSubresource(s))
	}
	return append(routes, b.watches()...)
}

func (b *routeBuilder) collectionPath() string { return b.base + b.nsPrefix + "/" + b.r.plural }
func (b *routeBuilder) itemPath() string       { return b.collectionPath() + "/{name}" }

// op starts an operation; params are the operation's own, before the namespace and pretty.
func (b *routeBuilder) op(method, id, desc, action string, gvk schema.GroupVersionKind, params []param, extra ...param) operation {
	o := operation{method: method, id: id, desc: desc, action: action, gvk: &gvk, tag: b.tag,
		consumes: consumeAny, produces: produceObject}
	o.params = append(append(append(append(o.params, b.nsParams...), params...), extra...), prettyParam)
	return o
}

func nameParam(of string) param {
	return param{name: "name", in: "path", desc: "name of the " + of, typ: "string", required: true}
}

func okResponse(model string) []response {
	return []response{{200, "OK", model}, {401, "Unauthorized", ""}}
}

func writeResponses(model string, accepted bool) []response {
	rs := []response{{200, "OK", model}, {201, "Created", model}}
	if accepted {
		rs = append(rs, response{202, "Accepted", model})
	}
	return append(rs, response{401, "Unauthorized", ""})
}

// collection is list, create and deletecollection.
func (b *routeBuilder) collection() route {
	r, kind := b.r, b.r.gvk.Kind
	list := b.op("get", "list"+b.prefix+b.scope+kind, "list or watch objects of kind "+kind, "list", r.gvk, listParams)
	list.produces, list.responses = produceList, okResponse(r.list)
	create := b.op("post", "create"+b.prefix+b.scope+kind, "create"+article(kind)+kind, "post", r.gvk, createParams)
	create.body, create.bodyReq, create.responses = r.kind, true, writeResponses(r.kind, true)
	ops := []operation{list, create}
	if !r.noDeleteCollection {
		del := b.op("delete", "delete"+b.prefix+"Collection"+b.scope+kind, "delete collection of "+kind, "deletecollection", r.gvk, deleteCollectionParams)
		del.body, del.responses = nameDeleteOptions, okResponse(nameStatus)
		ops = append(ops, del)
	}
	return route{path: b.collectionPath(), ops: ops}
}

// item is read, replace, patch and delete.
func (b *routeBuilder) item() route {
	r, kind := b.r, b.r.gvk.Kind
	read := b.op("get", "read"+b.prefix+b.scope+kind, "read the specified "+kind, "get", r.gvk, nil, nameParam(kind))
	read.responses = okResponse(r.kind)
	replace := b.op("put", "replace"+b.prefix+b.scope+kind, "replace the specified "+kind, "put", r.gvk, updateParams, nameParam(kind))
	replace.body, replace.bodyReq, replace.responses = r.kind, true, writeResponses(r.kind, false)
	patch := b.op("patch", "patch"+b.prefix+b.scope+kind, "partially update the specified "+kind, "patch", r.gvk, patchParams, nameParam(kind))
	patch.body, patch.bodyReq, patch.consumes, patch.responses = namePatch, true, consumePatch, writeResponses(r.kind, false)
	deleted := nameStatus
	if r.deleteReturnsObject {
		deleted = r.kind
	}
	del := b.op("delete", "delete"+b.prefix+b.scope+kind, "delete"+article(kind)+kind, "delete", r.gvk, deleteParams, nameParam(kind))
	del.body, del.responses = nameDeleteOptions, []response{{200, "OK", deleted}, {202, "Accepted", deleted}, {401, "Unauthorized", ""}}
	return route{path: b.itemPath(), ops: []operation{read, replace, patch, del}}
}

// subresource is get, put and patch of /status or /scale, whose body is model of kind gvk.
func (b *routeBuilder) subresource(segment, title string, gvk schema.GroupVersionKind, model string) route {
	kind, what := b.r.gvk.Kind, strings.ToLower(title)
	get := b.op("get", "read"+b.prefix+b.scope+kind+title, "read "+what+" of the specified "+kind, "get", gvk, nil, nameParam(gvk.Kind))
	get.responses = okResponse(model)
	put := b.op("put", "replace"+b.prefix+b.scope+kind+title, "replace "+what+" of the specified "+kind, "put", gvk, updateParams, nameParam(gvk.Kind))
	put.body, put.bodyReq, put.responses = model, true, writeResponses(model, false)
	patch := b.op("patch", "patch"+b.prefix+b.scope+kind+title, "partially update "+what+" of the specified "+kind, "patch", gvk, patchParams, nameParam(gvk.Kind))
	patch.body, patch.bodyReq, patch.consumes, patch.responses = namePatch, true, consumePatch, writeResponses(model, false)
	return route{path: b.itemPath() + "/" + segment, ops: []operation{get, put, patch}}
}

// postSubresource is a create-only subresource such as pods/binding.
func (b *routeBuilder) postSubresource(s postSubresource) route {
	kind := b.r.gvk.Kind
	post := b.op("post", "create"+b.prefix+b.scope+kind+s.title, "create "+strings.ToLower(s.title)+" of"+article(kind)+kind, "post", s.gvk, createParams, nameParam(s.gvk.Kind))
	post.body, post.bodyReq, post.responses = s.model, true, writeResponses(s.model, true)
	return route{path: b.itemPath() + "/" + s.name, ops: []operation{post}}
}

// watches are the deprecated /watch/ routes, and for namespaced resources the lists across
// all namespaces.
func (b *routeBuilder) watches() []route {
	r, kind := b.r, b.r.gvk.Kind
	watchListDesc := "watch individual changes to a list of " + kind + ". deprecated: use the 'watch' parameter with a list operation instead."
	watch := func(path, id, desc, action string, extra ...param) route {
		w := b.op("get", id, desc, action, r.gvk, listParams, extra...)
		w.produces, w.responses = produceList, okResponse(nameWatchEvent)
		return route{path: path, ops: []operation{w}}
	}
	watchBase := b.base + "/watch" + b.nsPrefix + "/" + r.plural
	routes := []route{
		watch(watchBase, "watch"+b.prefix+b.scope+kind+"List", watchListDesc, "watchlist"),
		watch(watchBase+"/{name}", "watch"+b.prefix+b.scope+kind,
			"watch changes to an object of kind "+kind+". deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.",
			"watch", nameParam(kind)),
	}
	if !r.namespaced {
		return routes
	}
	all := &routeBuilder{r: r, prefix: b.prefix, tag: b.tag, base: b.base}
	list := all.op("get", "list"+b.prefix+kind+"ForAllNamespaces", "list or watch objects of kind "+kind, "list", r.gvk, listParams)
	list.produces, list.responses = produceList, okResponse(r.list)
	watchAll := all.op("get", "watch"+b.prefix+kind+"ListForAllNamespaces", watchListDesc, "watchlist", r.gvk, listParams)
	watchAll.produces, watchAll.responses = produceList, okResponse(nameWatchEvent)
	return append(routes,
		route{path: b.base + "/" + r.plural, ops: []operation{list}},
		route{path: b.base + "/watch/" + r.plural, ops: []operation{watchAll}},
	)
}

// splitCommon moves the parameters every operation of a route shares to the route (path item)
// level, as upstream's builder does; both lists come back sorted by name.
func splitCommon(rt route) (common []param, ops []operation) {
	count := map[string]int{}
	byKey := map[string]param{}
	for _, o := range rt.ops {
		for _, p := range o.params {
			k := p.in + "/" + p.name
			count[k]++
			byKey[k] = p
		}
	}
	shared := map[string]bool{}
	for k, n := range count {
		if n == len(rt.ops) {
			shared[k] = true
			common = append(common, byKey[k])
		}
	}
	sortParams(common)
	for _, o := range rt.ops {
		var own []param
		for _, p := range o.params {
			if !shared[p.in+"/"+p.name] {
				own = append(own, p)
			}
		}
		sortParams(own)
		o.params = own
		ops = append(ops, o)
	}
	return common, ops
}

func sortParams(ps []param) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].name < ps[j].name })
}

// checkUnique reports duplicate operation ids and paths, which would make a document invalid.
func checkUnique(routes []route) error {
	paths := map[string]bool{}
	ids := map[string]bool{}
	for _, r := range routes {
		if paths[r.path] {
			return fmt.Errorf("duplicate path %s", r.path)
		}
		paths[r.path] = true
		for _, o := range r.ops {
			if ids[o.id] {
				return fmt.Errorf("duplicate operation id %s", o.id)
			}
			ids[o.id] = true
		}
	}
	return nil
}
