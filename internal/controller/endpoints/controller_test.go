package endpoints

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// fixture syncs by hand with caches filled from the fake clientset.
type fixture struct {
	t       *testing.T
	c       *Controller
	client  *fake.Clientset
	factory informers.SharedInformerFactory
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Options{Client: client, Informers: factory})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, c: c, client: client, factory: factory}
}

func (f *fixture) sync(key string) *corev1.Endpoints {
	f.t.Helper()
	ctx := f.t.Context()
	svcs, _ := f.client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	pods, _ := f.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	eps, _ := f.client.CoreV1().Endpoints("").List(ctx, metav1.ListOptions{})
	var s, p, e []any
	for i := range svcs.Items {
		s = append(s, &svcs.Items[i])
	}
	for i := range pods.Items {
		p = append(p, &pods.Items[i])
	}
	for i := range eps.Items {
		e = append(e, &eps.Items[i])
	}
	_ = f.factory.Core().V1().Services().Informer().GetIndexer().Replace(s, "")
	_ = f.factory.Core().V1().Pods().Informer().GetIndexer().Replace(p, "")
	_ = f.factory.Core().V1().Endpoints().Informer().GetIndexer().Replace(e, "")
	if err := f.c.sync(ctx, key); err != nil {
		f.t.Fatalf("sync %s: %v", key, err)
	}
	ns, name := "ns", key[len("ns/"):]
	ep, err := f.client.CoreV1().Endpoints(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return ep
}

func TestSyncWritesUpdatesAndDeletesEndpoints(t *testing.T) {
	t.Parallel()
	f := newFixture(t, svc(), pod("a", "10.42.0.1", true), pod("b", "10.42.0.2", false))
	ep := f.sync("ns/web")
	if ep == nil || render(ep.Subsets) != "{10.42.0.1 | 10.42.0.2 | http:8080}" {
		t.Fatalf("endpoints %v", ep)
	}
	if ep.Annotations["endpoints.kubernetes.io/last-change-trigger-time"] == "" {
		t.Error("no trigger time on the first write")
	}
	rv := ep.ResourceVersion
	if again := f.sync("ns/web"); again.ResourceVersion != rv {
		t.Error("a sync without changes rewrote the endpoints")
	}
	b := pod("b", "10.42.0.2", true)
	if _, err := f.client.CoreV1().Pods("ns").Update(t.Context(), b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ep = f.sync("ns/web"); render(ep.Subsets) != "{10.42.0.1 10.42.0.2 | | http:8080}" {
		t.Errorf("after pod b got ready: %s", render(ep.Subsets))
	}
	if err := f.client.CoreV1().Services("ns").Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if ep = f.sync("ns/web"); ep != nil {
		t.Error("endpoints of a deleted service survive")
	}
}

func TestSyncLeavesSelectorlessServicesAlone(t *testing.T) {
	t.Parallel()
	manual := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.1"}}}}}
	f := newFixture(t, svc(func(s *corev1.Service) { s.Spec.Selector = nil }), manual, pod("a", "10.42.0.1", true))
	if ep := f.sync("ns/web"); ep == nil || ep.Subsets[0].Addresses[0].IP != "192.0.2.1" {
		t.Errorf("manual endpoints changed: %v", ep)
	}
}
