package integration

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// resourceIndex flattens discovery into "group/version/resource" -> APIResource.
func resourceIndex(lists []*metav1.APIResourceList) map[string]metav1.APIResource {
	out := map[string]metav1.APIResource{}
	for _, l := range lists {
		for _, r := range l.APIResources {
			out[l.GroupVersion+"/"+r.Name] = r
		}
	}
	return out
}

// TestIntegrationDiscovery checks legacy and aggregated discovery, OpenAPI and the health
// endpoints.
func TestIntegrationDiscovery(t *testing.T) {
	t.Parallel()
	s := start(t)
	raw := newRawClient(t, s)

	t.Run("the legacy discovery documents", func(t *testing.T) {
		_, body := raw.get("/api", nil)
		var versions metav1.APIVersions
		if err := json.Unmarshal(body, &versions); err != nil || versions.Kind != "APIVersions" || !slices.Equal(versions.Versions, []string{"v1"}) {
			t.Errorf("/api: %v %s", err, body)
		}
		_, body = raw.get("/apis", nil)
		var groups metav1.APIGroupList
		if err := json.Unmarshal(body, &groups); err != nil || groups.Kind != "APIGroupList" {
			t.Fatalf("/apis: %v %s", err, body)
		}
		var apps *metav1.APIGroup
		for i := range groups.Groups {
			if groups.Groups[i].Name == "apps" {
				apps = &groups.Groups[i]
			}
		}
		if apps == nil || apps.PreferredVersion.GroupVersion != "apps/v1" {
			t.Errorf("/apis: apps group %+v, want preferred apps/v1", apps)
		}
		for path, want := range map[string][]string{
			"/api/v1":       {"pods", "pods/status", "pods/binding", "namespaces/finalize", "replicationcontrollers/scale", "services", "configmaps"},
			"/apis/apps/v1": {"deployments", "deployments/scale", "deployments/status", "statefulsets/scale", "replicasets/scale", "daemonsets"},
		} {
			_, body := raw.get(path, nil)
			var list metav1.APIResourceList
			if err := json.Unmarshal(body, &list); err != nil || list.Kind != "APIResourceList" {
				t.Fatalf("%s: %v %s", path, err, body)
			}
			idx := resourceIndex([]*metav1.APIResourceList{&list})
			for _, name := range want {
				if _, ok := idx[list.GroupVersion+"/"+name]; !ok {
					t.Errorf("%s lacks %s", path, name)
				}
			}
		}
	})

	t.Run("aggregated discovery answers in one document per root", func(t *testing.T) {
		for _, root := range []string{"/api", "/apis"} {
			h, body := raw.get(root, map[string]string{"Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"})
			if ct := h.Get("Content-Type"); !strings.Contains(ct, "as=APIGroupDiscoveryList") {
				t.Errorf("%s: Content-Type %q, want the aggregated media type", root, ct)
			}
			var list apidiscoveryv2.APIGroupDiscoveryList
			if err := json.Unmarshal(body, &list); err != nil || list.Kind != "APIGroupDiscoveryList" || len(list.Items) == 0 {
				t.Fatalf("%s: %v %.300s", root, err, body)
			}
			if root == "/api" && (len(list.Items) != 1 || list.Items[0].Name != "") {
				t.Errorf("/api aggregated: %d groups, want the legacy group alone", len(list.Items))
			}
		}
	})

	var (
		mu    sync.Mutex
		paths []string
	)
	cfg := rest.CopyConfig(s.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			mu.Unlock()
			return rt.RoundTrip(r)
		})
	})
	requests := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := paths
		paths = nil
		return out
	}

	var aggregated, legacy map[string]metav1.APIResource
	t.Run("client-go discovery sees the same resources with and without aggregation", func(t *testing.T) {
		for _, useLegacy := range []bool{false, true} {
			dc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
			dc.UseLegacyDiscovery = useLegacy
			requests()
			_, lists, err := dc.ServerGroupsAndResources()
			if err != nil {
				t.Fatalf("legacy=%v: %v", useLegacy, err)
			}
			reqs := requests()
			idx := resourceIndex(lists)
			if useLegacy {
				legacy = idx
				if len(reqs) < 10 {
					t.Errorf("legacy discovery made only %d requests: %v", len(reqs), reqs)
				}
			} else {
				aggregated = idx
				if len(reqs) != 2 {
					t.Errorf("aggregated discovery made %d requests %v, want /api and /apis only", len(reqs), reqs)
				}
			}
		}
		for key, r := range legacy {
			a, ok := aggregated[key]
			if !ok {
				t.Errorf("%s is in legacy discovery only", key)
				continue
			}
			if a.Kind != r.Kind || a.Namespaced != r.Namespaced || !slices.Equal(a.Verbs, r.Verbs) || !slices.Equal(a.ShortNames, r.ShortNames) || !slices.Equal(a.Categories, r.Categories) {
				t.Errorf("%s differs:\naggregated %+v\nlegacy     %+v", key, a, r)
			}
		}
		for key := range aggregated {
			if _, ok := legacy[key]; !ok {
				t.Errorf("%s is in aggregated discovery only", key)
			}
		}
	})

	t.Run("shortNames and the all category resolve as kubectl needs", func(t *testing.T) {
		dc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
		groups, err := restmapper.GetAPIGroupResources(dc)
		if err != nil {
			t.Fatal(err)
		}
		mapper := restmapper.NewShortcutExpander(restmapper.NewDiscoveryRESTMapper(groups), dc, nil)
		for short, want := range map[string]string{
			"po": "pods", "svc": "services", "deploy": "deployments.apps", "rs": "replicasets.apps", "sts": "statefulsets.apps",
			"ds": "daemonsets.apps", "cm": "configmaps", "ns": "namespaces", "no": "nodes", "sa": "serviceaccounts",
			"pvc": "persistentvolumeclaims", "pv": "persistentvolumes", "rc": "replicationcontrollers", "cj": "cronjobs.batch",
			"hpa": "horizontalpodautoscalers.autoscaling", "pdb": "poddisruptionbudgets.policy", "pc": "priorityclasses.scheduling.k8s.io",
			"ing": "ingresses.networking.k8s.io", "netpol": "networkpolicies.networking.k8s.io", "sc": "storageclasses.storage.k8s.io",
			"csr": "certificatesigningrequests.certificates.k8s.io", "ep": "endpoints", "limits": "limitranges", "quota": "resourcequotas",
		} {
			// ("ev" names both core and events.k8s.io events, as upstream; client-go picks
			// one at random from aggregated discovery, so it is not checked here.)
			gvr, err := mapper.ResourceFor(schema.GroupVersionResource{Resource: short})
			if err != nil {
				t.Errorf("%s: %v", short, err)
				continue
			}
			if got := gvr.GroupResource().String(); got != want {
				t.Errorf("%s resolves to %s, want %s", short, got, want)
			}
		}
		expander := restmapper.NewDiscoveryCategoryExpander(dc)
		all, ok := expander.Expand("all")
		if !ok {
			t.Fatal("the all category expands to nothing")
		}
		var got []string
		for _, gr := range all {
			got = append(got, gr.String())
		}
		slices.Sort(got)
		want := []string{"cronjobs.batch", "daemonsets.apps", "deployments.apps", "horizontalpodautoscalers.autoscaling", "jobs.batch",
			"pods", "replicasets.apps", "replicationcontrollers", "services", "statefulsets.apps"}
		if !slices.Equal(got, want) {
			t.Errorf("all = %v, want %v", got, want)
		}
	})

	t.Run("OpenAPI v2 in JSON and protobuf, and v3", func(t *testing.T) {
		h, body := raw.get("/openapi/v2", map[string]string{"Accept": "application/json"})
		var doc struct {
			Swagger     string
			Definitions map[string]json.RawMessage
		}
		if err := json.Unmarshal(body, &doc); err != nil || doc.Swagger != "2.0" || doc.Definitions["io.k8s.api.apps.v1.Deployment"] == nil {
			t.Errorf("/openapi/v2 JSON: %v, swagger %q, %d definitions", err, doc.Swagger, len(doc.Definitions))
		}
		if h.Get("Etag") == "" {
			t.Error("/openapi/v2 has no ETag")
		}
		dc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
		pb, err := dc.OpenAPISchema() // asks for the protobuf form
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, def := range pb.GetDefinitions().GetAdditionalProperties() {
			found = found || def.GetName() == "io.k8s.api.core.v1.Pod"
		}
		if pb.GetSwagger() != "2.0" || !found {
			t.Errorf("/openapi/v2 protobuf: swagger %q, Pod definition found %v", pb.GetSwagger(), found)
		}

		paths, err := dc.OpenAPIV3().Paths()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"api/v1", "apis/apps/v1", "apis/batch/v1"} {
			if _, ok := paths[p]; !ok {
				t.Errorf("/openapi/v3 index lacks %s", p)
			}
		}
		gv, ok := paths["apis/apps/v1"]
		if !ok {
			t.Fatal("no apps/v1 in /openapi/v3")
		}
		data, err := gv.Schema("application/json")
		if err != nil {
			t.Fatal(err)
		}
		var v3 struct {
			OpenAPI    string
			Paths      map[string]json.RawMessage
			Components struct{ Schemas map[string]json.RawMessage }
		}
		if err := json.Unmarshal(data, &v3); err != nil || !strings.HasPrefix(v3.OpenAPI, "3.") ||
			v3.Components.Schemas["io.k8s.api.apps.v1.Deployment"] == nil || v3.Paths["/apis/apps/v1/namespaces/{namespace}/deployments"] == nil {
			t.Errorf("/openapi/v3/apis/apps/v1: %v, openapi %q, %d schemas, %d paths", err, v3.OpenAPI, len(v3.Components.Schemas), len(v3.Paths))
		}
	})

	t.Run("health endpoints", func(t *testing.T) {
		for _, root := range []string{"/healthz", "/livez", "/readyz"} {
			if _, body := raw.get(root, nil); string(body) != "ok" {
				t.Errorf("%s: %q, want ok", root, body)
			}
			_, body := raw.get(root+"?verbose", nil)
			name := strings.TrimPrefix(root, "/")
			if !strings.Contains(string(body), "[+]ping ok") || !strings.Contains(string(body), "[+]etcd ok") || !strings.HasSuffix(string(body), name+" check passed\n") {
				t.Errorf("%s?verbose:\n%s", root, body)
			}
			_, body = raw.get(root+"?verbose&exclude=etcd", nil)
			if strings.Contains(string(body), "etcd") {
				t.Errorf("%s?verbose&exclude=etcd still lists etcd:\n%s", root, body)
			}
		}
		if _, body := raw.get("/readyz/etcd", nil); string(body) != "ok" {
			t.Errorf("/readyz/etcd: %q, want ok", body)
		}
		if code, _, _ := raw.do("GET", "/readyz/no-such-check", nil, nil); code != http.StatusNotFound {
			t.Errorf("/readyz/no-such-check: %d, want 404", code)
		}
	})
}
