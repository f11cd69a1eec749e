package openapi

import (
	"bytes"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	protobuf "google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/openapi/cached"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/util/proto"
	"k8s.io/kube-openapi/pkg/validation/spec"
	explainv2 "k8s.io/kubectl/pkg/explain/v2"
	kubectlopenapi "k8s.io/kubectl/pkg/util/openapi"
	"k8s.io/kubectl/pkg/validation"

	"capstan/internal/apiserver/registry"
)

// newTestServer serves the handler at /openapi/ like the API server mux does.
func newTestServer(t *testing.T) (*httptest.Server, *Handler) {
	t.Helper()
	h := newTestHandler(t)
	mux := http.NewServeMux()
	mux.Handle("/openapi/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, h
}

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func fetchIndex(t *testing.T, srv *httptest.Server) v3Discovery {
	t.Helper()
	resp, body := get(t, srv.URL+"/openapi/v3")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi/v3: %d %s", resp.StatusCode, body)
	}
	var index v3Discovery
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatal(err)
	}
	return index
}

func TestV3IndexListsEveryGroupVersion(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	index := fetchIndex(t, srv)
	want := map[string]bool{}
	for _, r := range testResources() {
		want[gvPath(r.GVK.GroupVersion())] = true
	}
	if len(index.Paths) != len(want) {
		t.Errorf("index has %d group versions, want %d", len(index.Paths), len(want))
	}
	for gv := range want {
		entry, ok := index.Paths[gv]
		if !ok {
			t.Errorf("index lacks %s", gv)
			continue
		}
		resp, body := get(t, srv.URL+entry.ServerRelativeURL)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", entry.ServerRelativeURL, resp.StatusCode)
			continue
		}
		hash := fmt.Sprintf("%X", sha512.Sum512(body))
		if entry.ServerRelativeURL != "/openapi/v3/"+gv+"?hash="+hash {
			t.Errorf("serverRelativeURL = %s, want hash %s", entry.ServerRelativeURL, hash)
		}
		if got := resp.Header.Get("Cache-Control"); got != "public, immutable" {
			t.Errorf("%s: Cache-Control %q", gv, got)
		}
		if got := resp.Header.Get("Etag"); got != `"`+hash+`"` {
			t.Errorf("%s: Etag %q", gv, got)
		}
	}
}

// TestV3DocumentsParse checks every document against kube-openapi's spec3 types and the
// gnostic v3 parser, and that every $ref resolves inside the document.
func TestV3DocumentsParse(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	for gv, entry := range fetchIndex(t, srv).Paths {
		t.Run(gv, func(t *testing.T) {
			_, body := get(t, srv.URL+entry.ServerRelativeURL)
			var doc spec3.OpenAPI
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("spec3: %v", err)
			}
			if doc.Version != "3.0.0" || doc.Info.Version != "v1.37.2" || doc.Info.Title != "Kubernetes" {
				t.Errorf("openapi %q info %+v", doc.Version, doc.Info.InfoProps)
			}
			if len(doc.Paths.Paths) == 0 || len(doc.Components.Schemas) == 0 {
				t.Fatalf("%d paths, %d schemas", len(doc.Paths.Paths), len(doc.Components.Schemas))
			}
			for _, ref := range refsIn(body) {
				if _, ok := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]; !ok || !strings.HasPrefix(ref, "#/components/schemas/") {
					t.Errorf("dangling $ref %s", ref)
				}
			}
			if _, err := openapi_v3.ParseDocument(body); err != nil {
				t.Errorf("gnostic: %v", err)
			}
			resp, pb := get(t, srv.URL+entry.ServerRelativeURL, "Accept", MediaTypeV3ProtobufDeprecated)
			if resp.Header.Get("Content-Type") != MediaTypeV3Protobuf {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			var pdoc openapi_v3.Document
			if err := protobuf.Unmarshal(pb, &pdoc); err != nil || pdoc.GetComponents() == nil {
				t.Errorf("protobuf: %v", err)
			}
		})
	}
}

// refsIn lists every "$ref" value of a JSON document.
func refsIn(doc []byte) []string {
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "$ref" {
					refs = append(refs, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var v any
	_ = json.Unmarshal(doc, &v)
	walk(v)
	return refs
}

func TestV2Document(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	resp, body := get(t, srv.URL+"/openapi/v2", "Accept", "application/json")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi/v2: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var sw spec.Swagger
	if err := json.Unmarshal(body, &sw); err != nil {
		t.Fatal(err)
	}
	if sw.Swagger != "2.0" || sw.Info.Version != "v1.37.2" || sw.Info.Title != "Kubernetes" {
		t.Errorf("swagger %q info %+v", sw.Swagger, sw.Info.InfoProps)
	}
	for _, ref := range refsIn(body) {
		if _, ok := sw.Definitions[strings.TrimPrefix(ref, "#/definitions/")]; !ok {
			t.Errorf("dangling $ref %s", ref)
		}
	}
	tests := []struct {
		path, method, id, action string
		gvk                      schema.GroupVersionKind
	}{
		{"/api/v1/namespaces/{namespace}/pods", "get", "listCoreV1NamespacedPod", "list", schema.GroupVersionKind{Version: "v1", Kind: "Pod"}},
		{"/api/v1/pods", "get", "listCoreV1PodForAllNamespaces", "list", schema.GroupVersionKind{Version: "v1", Kind: "Pod"}},
		{"/api/v1/namespaces/{namespace}/pods/{name}/eviction", "post", "createCoreV1NamespacedPodEviction", "post", schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}},
		{"/api/v1/namespaces/{namespace}/pods/{name}/binding", "post", "createCoreV1NamespacedPodBinding", "post", schema.GroupVersionKind{Version: "v1", Kind: "Binding"}},
		{"/api/v1/nodes/{name}/status", "patch", "patchCoreV1NodeStatus", "patch", schema.GroupVersionKind{Version: "v1", Kind: "Node"}},
		{"/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "put", "replaceAppsV1NamespacedDeploymentScale", "put", schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}},
		{"/apis/apps/v1/namespaces/{namespace}/deployments", "delete", "deleteAppsV1CollectionNamespacedDeployment", "deletecollection", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}},
		{"/apis/apps/v1/watch/namespaces/{namespace}/deployments/{name}", "get", "watchAppsV1NamespacedDeployment", "watch", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}},
		{"/apis/rbac.authorization.k8s.io/v1/clusterroles", "post", "createRbacAuthorizationV1ClusterRole", "post", schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}},
		{"/apis/rbac.authorization.k8s.io/v1/watch/clusterroles", "get", "watchRbacAuthorizationV1ClusterRoleList", "watchlist", schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			item, ok := sw.Paths.Paths[tt.path]
			if !ok {
				t.Fatalf("no path %s", tt.path)
			}
			op := map[string]*spec.Operation{"get": item.Get, "post": item.Post, "put": item.Put, "patch": item.Patch, "delete": item.Delete}[tt.method]
			if op == nil {
				t.Fatalf("no %s operation", tt.method)
			}
			if op.ID != tt.id || op.Extensions[extAction] != tt.action {
				t.Errorf("operation %s action %v, want %s %s", op.ID, op.Extensions[extAction], tt.id, tt.action)
			}
			want := map[string]any{"group": tt.gvk.Group, "version": tt.gvk.Version, "kind": tt.gvk.Kind}
			if got, _ := op.Extensions[extGVK].(map[string]any); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("gvk = %v, want %v", got, want)
			}
		})
	}
	if p := sw.Paths.Paths["/api/v1/namespaces"]; p.Delete != nil {
		t.Error("namespaces cannot be deleted as a collection")
	}
	if del := sw.Paths.Paths["/api/v1/namespaces/{namespace}/pods/{name}"].Delete; del.Responses.StatusCodeResponses[200].Schema.Ref.String() != "#/definitions/io.k8s.api.core.v1.Pod" {
		t.Error("deleting a pod answers with the pod")
	}
}

// TestV2ProtobufForKubectl fetches /openapi/v2 the way kubectl does (client-go discovery,
// protobuf) and feeds it to the kube-openapi model parser and kubectl's client-side validation.
func TestV2ProtobufForKubectl(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := dc.OpenAPISchema()
	if err != nil {
		t.Fatalf("OpenAPISchema: %v", err)
	}
	models, err := proto.NewOpenAPIData(doc)
	if err != nil {
		t.Fatalf("NewOpenAPIData: %v", err)
	}
	pod, ok := models.LookupModel("io.k8s.api.core.v1.PodSpec").(*proto.Kind)
	if !ok || !slices.Contains(pod.RequiredFields, "containers") {
		t.Fatalf("PodSpec model = %#v", models.LookupModel("io.k8s.api.core.v1.PodSpec"))
	}
	containers, ok := pod.Fields["containers"].(*proto.Array)
	if !ok || containers.GetExtensions()[extPatchMergeKey] != "name" {
		t.Errorf("containers = %#v", pod.Fields["containers"])
	}

	v := validation.NewSchemaValidation(resourcesGetter{kubectlopenapi.NewOpenAPIParser(dc)})
	tests := []struct {
		name, object string
		wantErr      string
	}{
		{"a valid deployment", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
			"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
			"spec":{"containers":[{"name":"web","image":"nginx","ports":[{"containerPort":80}],
			"resources":{"limits":{"cpu":"500m","memory":1024}}}]}}}}`, ""},
		{"an unknown field", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","imagee":"x"}]}}`, `unknown field "imagee"`},
		{"a missing required field", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"image":"x"}]}}`, `missing required field "name"`},
		{"a wrong type", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":"eighty"}]}}`, `expected "integer"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.ValidateBytes([]byte(tt.object))
			if tt.wantErr == "" && err != nil {
				t.Errorf("ValidateBytes: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("ValidateBytes = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

type resourcesGetter struct {
	p *kubectlopenapi.CachedOpenAPIParser
}

func (g resourcesGetter) OpenAPISchema() (kubectlopenapi.Resources, error) { return g.p.Parse() }

// TestKubectlExplain runs kubectl's explain (OpenAPI v3) against the served documents.
func TestKubectlExplain(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	client := cached.NewClient(dc.OpenAPIV3())
	tests := []struct {
		gvr       schema.GroupVersionResource
		path      []string
		recursive bool
		want      []string
	}{
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, []string{"spec"}, false, []string{
			"GROUP:      apps", "KIND:       Deployment", "VERSION:    v1", "FIELD: spec <DeploymentSpec>",
			"selector\t<LabelSelector> -required-", "template\t<PodTemplateSpec> -required-", "strategy\t<DeploymentStrategy>",
		}},
		{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, []string{"spec", "containers"}, false, []string{
			"KIND:       Pod", "FIELD: containers <[]Container>", "name\t<string> -required-", "ports\t<[]ContainerPort>",
			"resources\t<ResourceRequirements>", "imagePullPolicy\t<string>\n  enum: Always, IfNotPresent, Never",
		}},
		{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, []string{"spec", "containers", "resources", "limits"}, false, []string{
			"FIELD: limits <map[string]Quantity>",
		}},
		{schema.GroupVersionResource{Version: "v1", Resource: "services"}, []string{"spec", "ports"}, true, []string{
			"targetPort\t<IntOrString>", "port\t<integer> -required-",
		}},
		{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, nil, false, []string{
			"KIND:       ClusterRole", "rules\t<[]PolicyRule>",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.gvr.Resource+"."+strings.Join(tt.path, "."), func(t *testing.T) {
			var out bytes.Buffer
			if err := explainv2.PrintModelDescription(tt.path, &out, client, tt.gvr, tt.recursive, 0, "plaintext"); err != nil {
				t.Fatalf("explain: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("explain output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// TestKubectlApplyMachinery exercises what kubectl apply reads from OpenAPI v3: the
// fieldValidation query parameter (server-side validation) and the strategic merge patch
// metadata.
func TestKubectlApplyMachinery(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	cfg := &rest.Config{Host: srv.URL}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client := cached.NewClient(dc.OpenAPIV3())
	verifier := resource.NewQueryParamVerifierV3(dyn, client, resource.QueryParamFieldValidation)
	for _, gvk := range []schema.GroupVersionKind{
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Version: "v1", Kind: "ConfigMap"},
		{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
	} {
		if err := verifier.HasSupport(gvk); err != nil {
			t.Errorf("fieldValidation support for %v: %v", gvk, err)
		}
	}

	gvSpec, err := openapi3.NewRoot(client).GVSpec(schema.GroupVersion{Group: "apps", Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	deployment := gvSpec.Components.Schemas["io.k8s.api.apps.v1.Deployment"]
	meta := strategicpatch.PatchMetaFromOpenAPIV3{Schema: deployment, SchemaList: gvSpec.Components.Schemas}
	original := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"a:1"},{"name":"b","image":"b:1"}]}}}}`)
	modified := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"a:2"},{"name":"b","image":"b:1"}]}}}}`)
	patch, err := strategicpatch.CreateThreeWayMergePatch(original, modified, original, meta, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],"containers":[{"image":"a:2","name":"a"}]}}}}`; string(patch) != want {
		t.Errorf("patch = %s, want %s", patch, want)
	}
}

func TestHandlerHTTP(t *testing.T) {
	t.Parallel()
	srv, h := newTestServer(t)
	if err := h.v3(); err != nil {
		t.Fatal(err)
	}
	apps := h.v3Docs["apis/apps/v1"].json.etag
	tests := []struct {
		name     string
		path     string
		header   []string
		code     int
		ctype    string
		location string
		reason   metav1.StatusReason
	}{
		{name: "v2 JSON by default", path: "/openapi/v2", code: 200, ctype: "application/json"},
		{name: "v2 protobuf as kubectl asks", path: "/openapi/v2", header: []string{"Accept", MediaTypeV2ProtobufDeprecated}, code: 200, ctype: MediaTypeV2Protobuf},
		{name: "v2 protobuf preferred by q", path: "/openapi/v2", header: []string{"Accept", "application/json;q=0.5, " + MediaTypeV2Protobuf}, code: 200, ctype: MediaTypeV2Protobuf},
		{name: "v2 unsupported media type", path: "/openapi/v2", header: []string{"Accept", "application/xml"}, code: 406, ctype: "application/json", reason: metav1.StatusReasonNotAcceptable},
		{name: "v3 index", path: "/openapi/v3", code: 200, ctype: "application/json"},
		{name: "v3 document without hash", path: "/openapi/v3/apis/apps/v1", code: 200, ctype: "application/json"},
		{name: "v3 document with a stale hash", path: "/openapi/v3/apis/apps/v1?hash=ABC", code: 301, location: "/openapi/v3/apis/apps/v1?hash=" + apps},
		{name: "v3 unknown group version", path: "/openapi/v3/apis/nope/v1", code: 404, ctype: "application/json", reason: metav1.StatusReasonNotFound},
		{name: "v3 unsupported media type", path: "/openapi/v3/api/v1", header: []string{"Accept", "text/html"}, code: 406, reason: metav1.StatusReasonNotAcceptable},
		{name: "v2 not modified", path: "/openapi/v2", header: []string{"If-None-Match", `"` + h.mustV2ETag(t) + `"`}, code: 304},
		{name: "v3 not modified", path: "/openapi/v3/apis/apps/v1?hash=" + apps, header: []string{"If-None-Match", `"` + apps + `"`}, code: 304},
		{name: "unknown path", path: "/openapi/v4", code: 404, reason: metav1.StatusReasonNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, srv.URL+tt.path, tt.header...)
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.code, body)
			}
			if tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tt.ctype)
			}
			if tt.location != "" && resp.Header.Get("Location") != tt.location {
				t.Errorf("Location %q, want %q", resp.Header.Get("Location"), tt.location)
			}
			if tt.reason != "" {
				var st metav1.Status
				if err := json.Unmarshal(body, &st); err != nil || st.Reason != tt.reason || st.Code != int32(tt.code) || st.Kind != "Status" {
					t.Errorf("body = %s (%v), want a Status with reason %s", body, err, tt.reason)
				}
			}
		})
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/openapi/v2", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

func (h *Handler) mustV2ETag(t *testing.T) string {
	doc, err := h.v2()
	if err != nil {
		t.Fatal(err)
	}
	return doc.etag
}

// TestDocumentsAreDeterministic: two servers built from the same resources publish the same
// hashes, so clients' caches survive restarts and stay valid across HA servers.
func TestDocumentsAreDeterministic(t *testing.T) {
	t.Parallel()
	a, b := newTestHandler(t), newTestHandler(t)
	if a.mustV2ETag(t) != b.mustV2ETag(t) {
		t.Error("v2 documents differ between builds")
	}
	if err := a.v3(); err != nil {
		t.Fatal(err)
	}
	if err := b.v3(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.v3Index.data, b.v3Index.data) {
		t.Error("v3 indexes differ between builds")
	}
}

func TestNewHandlerRejectsBadOptions(t *testing.T) {
	t.Parallel()
	good := testResources()
	unknown := append(good[:1:1], good[0])
	unknown[1].GVK.Kind = "Nope"
	tests := []struct {
		name string
		opts Options
	}{
		{"no scheme", Options{Resources: good}},
		{"a kind missing from the scheme", Options{Scheme: registry.NewScheme(), Resources: unknown}},
		{"a resource listed twice", Options{Scheme: registry.NewScheme(), Resources: append(good[:1:1], good[0])}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewHandler(tt.opts); err == nil {
				t.Error("NewHandler succeeded")
			}
		})
	}
}

// TestConcurrentFirstRequests: the documents are built once however many requests race for
// them.
func TestConcurrentFirstRequests(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	type result struct {
		code int
		etag string
	}
	paths := []string{"/openapi/v2", "/openapi/v3", "/openapi/v3/api/v1"}
	results := make(chan result, 4*len(paths))
	for range 4 {
		for _, p := range paths {
			go func() {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+p, nil)
				req.Header.Set("Accept", MediaTypeV2ProtobufDeprecated+", application/json;q=0.9")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					results <- result{}
					return
				}
				resp.Body.Close()
				results <- result{resp.StatusCode, p + resp.Header.Get("Etag")}
			}()
		}
	}
	etags := map[string]bool{}
	for range 4 * len(paths) {
		r := <-results
		if r.code != http.StatusOK {
			t.Fatalf("status %d", r.code)
		}
		etags[r.etag] = true
	}
	if len(etags) != len(paths) {
		t.Errorf("got %d distinct path+ETag pairs, want %d: %v", len(etags), len(paths), etags)
	}
}
