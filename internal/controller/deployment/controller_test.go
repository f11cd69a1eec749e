package deployment

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"capstan/internal/controller/pods"
)

// fixture is a controller over informers fed by hand (never started).
type fixture struct {
	client   *fake.Clientset
	factory  informers.SharedInformerFactory
	recorder *record.FakeRecorder
	ctrl     *Controller
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	client := fake.NewClientset(objs...)
	f := &fixture{client: client, factory: informers.NewSharedInformerFactory(client, 0), recorder: record.NewFakeRecorder(100)}
	ctrl, err := New(Options{Client: client, Informers: f.factory, Recorder: f.recorder, Clock: clocktesting.NewFakeClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	f.ctrl = ctrl
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			_ = f.factory.Apps().V1().Deployments().Informer().GetIndexer().Add(o)
		case *appsv1.ReplicaSet:
			_ = f.factory.Apps().V1().ReplicaSets().Informer().GetIndexer().Add(o)
		case *corev1.Pod:
			_ = f.factory.Core().V1().Pods().Informer().GetIndexer().Add(o)
		}
	}
	return f
}

func (f *fixture) replicaSets(t *testing.T) []appsv1.ReplicaSet {
	t.Helper()
	list, err := f.client.AppsV1().ReplicaSets("ns").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestSyncCreatesTheFirstReplicaSet(t *testing.T) {
	t.Parallel()
	d := dep(3, intstr.FromString("25%"), intstr.FromString("25%"))
	f := newFixture(t, d)
	if err := f.ctrl.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	rss := f.replicaSets(t)
	if len(rss) != 1 {
		t.Fatalf("%d replica sets", len(rss))
	}
	got := rss[0]
	hash := templateHash(&d.Spec.Template, nil)
	if got.Name != "web-"+hash || got.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash ||
		got.Spec.Selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] != hash ||
		got.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash || *got.Spec.Replicas != 3 {
		t.Errorf("replica set %s labels %v selector %v replicas %d", got.Name, got.Labels, got.Spec.Selector, *got.Spec.Replicas)
	}
	if ref := metav1.GetControllerOf(&got); ref == nil || ref.UID != d.UID || ref.Kind != "Deployment" {
		t.Errorf("controller %+v", ref)
	}
	if ev := f.events(); len(ev) != 1 || ev[0] != "Normal ScalingReplicaSet Scaled up replica set web-"+hash+" from 0 to 3" {
		t.Errorf("events %q", ev)
	}
	cur, _ := f.client.AppsV1().Deployments("ns").Get(t.Context(), "web", metav1.GetOptions{})
	if c := getCondition(&cur.Status, appsv1.DeploymentProgressing); c == nil || c.Reason != ReasonNewRSCreated || c.Message != `Created new replica set "web-`+hash+`"` {
		t.Errorf("Progressing %+v", c)
	}
	if cur.Annotations[RevisionAnnotation] != "1" {
		t.Errorf("deployment annotations %v", cur.Annotations)
	}
}

func TestSyncBumpsCollisionCountOnAForeignNameClash(t *testing.T) {
	t.Parallel()
	d := dep(1, intstr.FromInt32(1), intstr.FromInt32(0))
	clash := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-" + templateHash(&d.Spec.Template, nil), UID: "other"},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](0), Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"x": "y"}}}}}
	f := newFixture(t, d, clash)
	if err := f.ctrl.sync(t.Context(), "ns/web"); err == nil {
		t.Fatal("no error on a name clash")
	}
	cur, _ := f.client.AppsV1().Deployments("ns").Get(t.Context(), "web", metav1.GetOptions{})
	if ptr.Deref(cur.Status.CollisionCount, 0) != 1 {
		t.Errorf("collisionCount %v, want 1", cur.Status.CollisionCount)
	}
}

func TestRecreateWaitsForOldPods(t *testing.T) {
	t.Parallel()
	d := dep(2, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	old := rs("web-old", 1, 0, 0, 0)
	old.Namespace = "ns"
	old.Labels = map[string]string{"app": "web"}
	old.OwnerReferences = []metav1.OwnerReference{*pods.NewControllerRef(d, deploymentKind)}
	old.Spec.Template = corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "old"}}}}
	old.Status = appsv1.ReplicaSetStatus{}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-old-1", Labels: map[string]string{"app": "web"},
		OwnerReferences: []metav1.OwnerReference{*pods.NewControllerRef(old, replicaSetKind)}}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	f := newFixture(t, d, old, pod)
	if err := f.ctrl.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.replicaSets(t)); n != 1 {
		t.Fatalf("%d replica sets while an old pod runs, want only the old one", n)
	}
	_ = f.factory.Core().V1().Pods().Informer().GetIndexer().Delete(pod)
	if err := f.ctrl.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	rss := f.replicaSets(t)
	if len(rss) != 2 {
		t.Fatalf("%d replica sets after the old pods went, want 2", len(rss))
	}
}

func TestSyncCleansUpHistoryBeyondTheLimit(t *testing.T) {
	t.Parallel()
	d := dep(1, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Spec.RevisionHistoryLimit = ptr.To[int32](1)
	var objs []runtime.Object
	objs = append(objs, d)
	for i, img := range []string{"a", "b", "c"} {
		r := rs("web-"+img, int64(i), 0, 0, 0)
		r.Namespace = "ns"
		r.Labels = map[string]string{"app": "web"}
		r.Annotations[RevisionAnnotation] = string(rune('1' + i))
		r.OwnerReferences = []metav1.OwnerReference{*pods.NewControllerRef(d, deploymentKind)}
		r.Spec.Template = corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: img}}}}
		objs = append(objs, r)
	}
	cur := newReplicaSetFor(d)
	cur.UID = "current"
	cur.Spec.Replicas = ptr.To[int32](1)
	cur.Status = appsv1.ReplicaSetStatus{Replicas: 1, AvailableReplicas: 1, ReadyReplicas: 1}
	cur.Annotations = map[string]string{RevisionAnnotation: "4", DesiredReplicasAnnotation: "1", MaxReplicasAnnotation: "2"}
	objs = append(objs, cur)
	f := newFixture(t, objs...)
	if err := f.ctrl.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range f.replicaSets(t) {
		names = append(names, r.Name)
	}
	if len(names) != 2 || !strings.Contains(strings.Join(names, ","), "web-c") {
		t.Errorf("replica sets left %v, want the current one and web-c", names)
	}
}
