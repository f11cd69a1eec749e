package replicaset

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"capstan/internal/controller/pods"
)

// fixture is a controller whose informers are fed by hand (never started), so a test
// decides exactly what the cache shows.
type fixture struct {
	client  *fake.Clientset
	factory informers.SharedInformerFactory
	clock   *clocktesting.FakeClock
	ctrl    *Controller
}

// nameGenerated makes the fake clientset honour generateName.
func nameGenerated(client *fake.Clientset) {
	var n atomic.Int32
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if p.Name == "" {
			p.Name = fmt.Sprintf("%s%d", p.GenerateName, n.Add(1))
		}
		return false, nil, nil
	})
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	client := fake.NewClientset(objs...)
	nameGenerated(client)
	f := &fixture{client: client, factory: informers.NewSharedInformerFactory(client, 0), clock: clocktesting.NewFakeClock(now)}
	ctrl, err := NewReplicaSet(Options{Client: client, Informers: f.factory, Recorder: record.NewFakeRecorder(100), Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.ctrl = ctrl
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.ReplicaSet:
			_ = f.factory.Apps().V1().ReplicaSets().Informer().GetIndexer().Add(o)
		case *corev1.Pod:
			_ = f.factory.Core().V1().Pods().Informer().GetIndexer().Add(o)
		}
	}
	return f
}

// created returns the pods the controller created, as stored.
func (f *fixture) created(t *testing.T) []*corev1.Pod {
	t.Helper()
	list, err := f.client.CoreV1().Pods("ns").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*corev1.Pod
	for i := range list.Items {
		if list.Items[i].GenerateName != "" {
			out = append(out, &list.Items[i])
		}
	}
	return out
}

func TestSyncCreatesOnceUntilTheCacheCatchesUp(t *testing.T) {
	t.Parallel()
	rs := testRS(3)
	f := newFixture(t, rs)
	ctx := t.Context()
	if err := f.ctrl.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	created := f.created(t)
	if len(created) != 3 {
		t.Fatalf("created %d pods, want 3", len(created))
	}
	if ref := metav1.GetControllerOf(created[0]); ref == nil || ref.UID != rs.UID || created[0].GenerateName != "web-" {
		t.Errorf("pod %s controller %+v", created[0].GenerateName, ref)
	}
	// The cache has not seen the pods: a second sync must not create them again.
	if err := f.ctrl.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.created(t)); n != 3 {
		t.Fatalf("created %d pods after a sync on a stale cache, want still 3", n)
	}
	// Once observed, the cache is trusted again.
	for _, p := range created {
		_ = f.factory.Core().V1().Pods().Informer().GetIndexer().Add(p)
		f.ctrl.podEvents().Handler().OnAdd(p, false)
	}
	if !f.ctrl.exp.Satisfied("ns/web") {
		t.Fatal("expectations not satisfied after observing every creation")
	}
	if err := f.ctrl.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.created(t)); n != 3 {
		t.Fatalf("created %d pods, want 3", n)
	}
}

func TestSyncActsAgainWhenExpectationsExpire(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testRS(2))
	ctx := t.Context()
	_ = f.ctrl.sync(ctx, "ns/web")
	f.clock.Step(pods.ExpectationsTimeout + 1)
	_ = f.ctrl.sync(ctx, "ns/web")
	if n := len(f.created(t)); n != 4 {
		t.Fatalf("created %d pods, want 4 (the lost creations redone after the timeout)", n)
	}
}

func TestSyncDeletesTheSurplusAndUpdatesStatus(t *testing.T) {
	t.Parallel()
	rs := testRS(1)
	var objs []runtime.Object
	objs = append(objs, rs)
	for i, ready := range []bool{true, false, true} {
		p := testPod(fmt.Sprintf("p%d", i), map[string]string{"app": "web", "tier": "front"}, now.Add(-time.Minute))
		if !ready {
			p.Status.Conditions = nil
		}
		p.OwnerReferences = []metav1.OwnerReference{*pods.NewControllerRef(rs, replicaSetKind)}
		objs = append(objs, p)
	}
	f := newFixture(t, objs...)
	if err := f.ctrl.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, a := range f.client.Actions() {
		if a.GetVerb() == "delete" {
			deleted = append(deleted, a.(k8stesting.DeleteAction).GetName())
		}
	}
	if len(deleted) != 2 || !slices.Contains(deleted, "p1") {
		t.Errorf("deleted %v, want two pods including the unready p1", deleted)
	}
	got, err := f.client.AppsV1().ReplicaSets("ns").Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := got.Status; st.Replicas != 3 || st.ReadyReplicas != 2 || st.AvailableReplicas != 2 || st.ObservedGeneration != 2 || ptr.Deref(st.TerminatingReplicas, -1) != 0 {
		t.Errorf("status %+v (the cache still shows three pods)", st)
	}
}

func TestReplicationControllerSyncCreatesPodsOwnedByTheRC(t *testing.T) {
	t.Parallel()
	rc := &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "rc", UID: "rc-uid"},
		Spec: corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](2), Selector: map[string]string{"app": "rc"},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "rc"}}}},
	}
	client := fake.NewClientset(rc)
	nameGenerated(client)
	factory := informers.NewSharedInformerFactory(client, 0)
	ctrl, err := NewReplicationController(Options{Client: client, Informers: factory, Recorder: record.NewFakeRecorder(10)})
	if err != nil {
		t.Fatal(err)
	}
	_ = factory.Core().V1().ReplicationControllers().Informer().GetIndexer().Add(rc)
	if err := ctrl.sync(t.Context(), "ns/rc"); err != nil {
		t.Fatal(err)
	}
	got, _ := client.CoreV1().Pods("ns").List(t.Context(), metav1.ListOptions{})
	if len(got.Items) == 0 {
		t.Fatal("no pods")
	}
	if ref := metav1.GetControllerOf(&got.Items[0]); ref == nil || ref.Kind != "ReplicationController" || ref.APIVersion != "v1" {
		t.Errorf("controller %+v", ref)
	}
	fresh, _ := client.CoreV1().ReplicationControllers("ns").Get(t.Context(), "rc", metav1.GetOptions{})
	if fresh.Status.ObservedGeneration != rc.Generation || fresh.Status.Replicas != 0 {
		t.Errorf("RC status %+v", fresh.Status)
	}
}
