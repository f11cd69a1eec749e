package endpointslice

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

type fixture struct {
	t       *testing.T
	client  *fake.Clientset
	factory informers.SharedInformerFactory
	ctrl    *Controller
	mirror  *Mirroring
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	ctrl, err := New(Options{Client: client, Informers: factory})
	if err != nil {
		t.Fatal(err)
	}
	mirror, err := NewMirroring(Options{Client: client, Informers: factory})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, client: client, factory: factory, ctrl: ctrl, mirror: mirror}
}

// refresh fills the caches from the clientset.
func (f *fixture) refresh() {
	ctx := f.t.Context()
	fill := func(inf cache.SharedIndexInformer, list runtime.Object, err error) {
		if err != nil {
			f.t.Fatal(err)
		}
		var items []any
		switch l := list.(type) {
		case *corev1.ServiceList:
			for i := range l.Items {
				items = append(items, &l.Items[i])
			}
		case *corev1.PodList:
			for i := range l.Items {
				items = append(items, &l.Items[i])
			}
		case *corev1.NodeList:
			for i := range l.Items {
				items = append(items, &l.Items[i])
			}
		case *corev1.EndpointsList:
			for i := range l.Items {
				items = append(items, &l.Items[i])
			}
		case *discoveryv1.EndpointSliceList:
			for i := range l.Items {
				items = append(items, &l.Items[i])
			}
		}
		if err := inf.GetIndexer().Replace(items, ""); err != nil {
			f.t.Fatal(err)
		}
	}
	c, d := f.factory.Core().V1(), f.factory.Discovery().V1()
	l1, e1 := f.client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	fill(c.Services().Informer(), l1, e1)
	l2, e2 := f.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	fill(c.Pods().Informer(), l2, e2)
	l3, e3 := f.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	fill(c.Nodes().Informer(), l3, e3)
	l4, e4 := f.client.CoreV1().Endpoints("").List(ctx, metav1.ListOptions{})
	fill(c.Endpoints().Informer(), l4, e4)
	l5, e5 := f.client.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{})
	fill(d.EndpointSlices().Informer(), l5, e5)
}

func (f *fixture) slices(manager string) []discoveryv1.EndpointSlice {
	list, err := f.client.DiscoveryV1().EndpointSlices("ns").List(f.t.Context(), metav1.ListOptions{LabelSelector: discoveryv1.LabelManagedBy + "=" + manager})
	if err != nil {
		f.t.Fatal(err)
	}
	return list.Items
}

func testService(selector map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc-uid", Labels: map[string]string{"team": "a"},
			CreationTimestamp: metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))},
		Spec: corev1.ServiceSpec{Selector: selector, ClusterIP: "10.43.0.9", IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}}},
	}
}

func testPod(name, ip string, ready bool, mutate ...func(*corev1.Pod)) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "c",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func conds(e discoveryv1.Endpoint) [3]bool {
	return [3]bool{*e.Conditions.Ready, *e.Conditions.Serving, *e.Conditions.Terminating}
}

func TestControllerWritesSlicesFromPods(t *testing.T) {
	t.Parallel()
	now := metav1.Now()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a", Labels: map[string]string{corev1.LabelTopologyZone: "zone-1"}}}
	f := newFixture(t, node, testService(map[string]string{"app": "web"}),
		testPod("ready", "10.42.0.1", true), testPod("unready", "10.42.0.2", false),
		testPod("leaving", "10.42.0.3", true, func(p *corev1.Pod) { p.DeletionTimestamp = &now }))
	f.refresh()
	if err := f.ctrl.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	got := f.slices(ControllerManager)
	if len(got) != 1 {
		t.Fatalf("%d slices, want 1", len(got))
	}
	s := got[0]
	if s.Labels[discoveryv1.LabelServiceName] != "web" || s.Labels["team"] != "a" || s.GenerateName != "web-" {
		t.Errorf("slice labels %v generateName %q", s.Labels, s.GenerateName)
	}
	if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "Service" || !*s.OwnerReferences[0].Controller || !*s.OwnerReferences[0].BlockOwnerDeletion {
		t.Errorf("owner references %+v", s.OwnerReferences)
	}
	if len(s.Ports) != 1 || *s.Ports[0].Port != 8080 || *s.Ports[0].Name != "http" {
		t.Errorf("ports %+v: want the named target port resolved", s.Ports)
	}
	want := map[string][3]bool{"10.42.0.1": {true, true, false}, "10.42.0.2": {false, false, false}, "10.42.0.3": {false, true, true}}
	for _, e := range s.Endpoints {
		if conds(e) != want[e.Addresses[0]] {
			t.Errorf("endpoint %s: ready/serving/terminating %v, want %v", e.Addresses[0], conds(e), want[e.Addresses[0]])
		}
		if e.Zone == nil || *e.Zone != "zone-1" || e.NodeName == nil || *e.NodeName != "node-a" {
			t.Errorf("endpoint %s: zone %v node %v", e.Addresses[0], e.Zone, e.NodeName)
		}
	}
	if len(s.Endpoints) != 3 {
		t.Errorf("%d endpoints, want 3", len(s.Endpoints))
	}
}

func TestMirroringCopiesManualEndpoints(t *testing.T) {
	t.Parallel()
	manual := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "ep-uid", Labels: map[string]string{"team": "a"}},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "192.0.2.1"}}, NotReadyAddresses: []corev1.EndpointAddress{{IP: "192.0.2.2"}},
			Ports: []corev1.EndpointPort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
		}},
	}
	f := newFixture(t, testService(nil), manual)
	f.refresh()
	if err := f.mirror.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	got := f.slices(MirroringManager)
	if len(got) != 1 || len(got[0].Endpoints) != 2 || got[0].Labels[discoveryv1.LabelServiceName] != "web" ||
		got[0].OwnerReferences[0].Kind != "Endpoints" {
		t.Fatalf("mirrored slices %+v", got)
	}
	for _, e := range got[0].Endpoints {
		if *e.Conditions.Ready != (e.Addresses[0] == "192.0.2.1") {
			t.Errorf("endpoint %s ready %v", e.Addresses[0], *e.Conditions.Ready)
		}
	}
	// The controller of selector'ed services leaves a selectorless one alone.
	if err := f.ctrl.sync(t.Context(), "ns/web"); err != nil || len(f.slices(ControllerManager)) != 0 {
		t.Errorf("endpointslice controller on a selectorless service: %v, %d slices", err, len(f.slices(ControllerManager)))
	}
}

func TestMirroringSkipsLabelledEndpoints(t *testing.T) {
	t.Parallel()
	skip := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Labels: map[string]string{discoveryv1.LabelSkipMirror: "true"}},
		Subsets:    []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.1"}}}},
	}
	f := newFixture(t, testService(nil), skip)
	f.refresh()
	if err := f.mirror.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	if got := f.slices(MirroringManager); len(got) != 0 {
		t.Errorf("skip-mirror endpoints were mirrored: %v", got)
	}
}
