package garbagecollector

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/tools/cache"
)

// TestMonitorsShareTheFactorysInformers checks that built-in resources are watched through
// the shared informer factory (one informer per resource for the whole controller-manager,
// as upstream) and only resources the factory does not know through metadata informers.
func TestMonitorsShareTheFactorysInformers(t *testing.T) {
	t.Parallel()
	verbs := metav1.Verbs{"delete", "list", "watch"}
	client := fake.NewClientset()
	client.Resources = []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{{Name: "configmaps", Namespaced: true, Kind: "ConfigMap", Verbs: verbs}}},
		{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{{Name: "widgets", Namespaced: true, Kind: "Widget", Verbs: verbs}}},
	}
	scheme := runtime.NewScheme()
	_ = metav1.AddMetaToScheme(scheme)
	widgets := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	meta := metadatafake.NewSimpleMetadataClient(scheme)
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(Options{Metadata: meta, Discovery: client.Discovery(), Informers: factory})

	ctx := t.Context()
	if err := c.syncMonitors(ctx); err != nil {
		t.Fatal(err)
	}
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		t.Fatal("monitors never synced")
	}
	if !factory.Core().V1().ConfigMaps().Informer().HasSynced() {
		t.Error("configmaps: the factory's informer was not started and synced")
	}
	listed := map[schema.GroupVersionResource]bool{}
	for _, a := range meta.Actions() {
		listed[a.GetResource()] = true
		if a.GetResource() != widgets {
			t.Errorf("a metadata informer watches %s: built-in resources go through the shared factory", a.GetResource())
		}
	}
	if !listed[widgets] {
		t.Error("widgets: no metadata informer for a resource the factory does not know")
	}
}
