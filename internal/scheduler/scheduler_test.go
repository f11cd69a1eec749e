package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"capstan/internal/scheduler/config"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

// fakeCluster runs a scheduler against a fake clientset whose pods/binding sets
// spec.nodeName, as the API server does.
type fakeCluster struct {
	client   *fake.Clientset
	sched    *Scheduler
	events   chan string
	failBind atomic.Int32
}

func newFakeCluster(t *testing.T, objs ...runtime.Object) *fakeCluster {
	t.Helper()
	fc := &fakeCluster{client: fake.NewClientset(objs...)}
	fc.client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca, ok := a.(k8stesting.CreateAction)
		if !ok || ca.GetSubresource() != "binding" {
			return false, nil, nil
		}
		if fc.failBind.Load() > 0 {
			fc.failBind.Add(-1)
			return true, nil, errors.New("injected binding failure")
		}
		b := ca.GetObject().(*corev1.Binding)
		obj, err := fc.client.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), b.Namespace, b.Name)
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*corev1.Pod).DeepCopy()
		pod.Spec.NodeName = b.Target.Name
		return true, nil, fc.client.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), pod, b.Namespace)
	})
	factory := informers.NewSharedInformerFactory(fc.client, 0)
	s, err := New(fc.client, factory, nil, config.Default(), Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	fc.sched = s
	fc.events = s.recorders[corev1.DefaultSchedulerName].(*record.FakeRecorder).Events
	ctx, cancel := context.WithCancel(context.Background())
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		factory.Shutdown()
	})
	return fc
}

func (fc *fakeCluster) waitEvent(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-fc.events:
			if strings.HasPrefix(e, prefix) {
				return e
			}
		case <-deadline:
			t.Fatalf("no event %q", prefix)
		}
	}
}

func (fc *fakeCluster) nodeOf(t *testing.T, name string) string {
	t.Helper()
	var node string
	deadline := time.Now().Add(10 * time.Second)
	for node == "" && time.Now().Before(deadline) {
		p, err := fc.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		node = p.Spec.NodeName
		if node == "" {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return node
}

func TestSchedulesAndRecordsEvents(t *testing.T) {
	fc := newFakeCluster(t,
		fwt.MakeNode("small").Alloc("cpu", "1").Obj(),
		fwt.MakeNode("big").Alloc("cpu", "8").Obj(),
		fwt.MakePod("p").Req("cpu", "2").Obj(),
	)
	if node := fc.nodeOf(t, "p"); node != "big" {
		t.Errorf("p on %q, want big", node)
	}
	if e := fc.waitEvent(t, "Normal Scheduled"); e != "Normal Scheduled Successfully assigned default/p to big" {
		t.Errorf("event %q", e)
	}
}

func TestUnschedulablePodGetsConditionAndEvent(t *testing.T) {
	fc := newFakeCluster(t, fwt.MakeNode("n").Alloc("cpu", "1").Obj(), fwt.MakePod("huge").Req("cpu", "2").Obj())
	e := fc.waitEvent(t, "Warning FailedScheduling")
	want := "Warning FailedScheduling 0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
	if e != want {
		t.Errorf("event\n got %q\nwant %q", e, want)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, a := range fc.client.Actions() {
			if pa, ok := a.(k8stesting.PatchAction); ok && pa.GetSubresource() == "status" && strings.Contains(string(pa.GetPatch()), `"reason":"Unschedulable"`) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("no status patch with reason Unschedulable")
}

func TestFailedBindingIsRetried(t *testing.T) {
	fc := newFakeCluster(t, fwt.MakeNode("n").Obj())
	fc.failBind.Store(1)
	if _, err := fc.client.CoreV1().Pods("default").Create(context.Background(), fwt.MakePod("p").Obj(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e := fc.waitEvent(t, "Warning FailedScheduling")
	if !strings.Contains(e, "binding rejected: injected binding failure") {
		t.Errorf("event %q", e)
	}
	if node := fc.nodeOf(t, "p"); node != "n" {
		t.Errorf("p on %q after the retry, want n", node)
	}
	// Once the informer sees the pod bound, the assumption is confirmed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		bound, assumed := fc.sched.cache.PodCount()
		if bound == 1 && assumed == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cache has %d bound, %d assumed pods; want 1, 0", bound, assumed)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
