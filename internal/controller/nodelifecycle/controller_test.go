package nodelifecycle

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// fixture runs the controllers' syncs by hand on a fake clientset and a fake clock; refresh
// copies the clientset's objects into the informer caches, as a running informer would.
type fixture struct {
	t       *testing.T
	client  *fake.Clientset
	factory informers.SharedInformerFactory
	clock   *clocktesting.FakeClock
	rec     *record.FakeRecorder
	lc      *Controller
	te      *TaintEviction
}

var quiet = slog.New(slog.DiscardHandler)

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	f := &fixture{t: t, client: fake.NewClientset(objs...), clock: clocktesting.NewFakeClock(t0), rec: record.NewFakeRecorder(100)}
	f.factory = informers.NewSharedInformerFactory(f.client, 0)
	var err error
	f.lc, err = New(Options{Client: f.client, Informers: f.factory, Recorder: f.rec, Clock: f.clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	f.te, err = NewTaintEviction(TaintEvictionOptions{Client: f.client, Informers: f.factory, Recorder: f.rec, Clock: f.clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) refresh() {
	f.t.Helper()
	ctx := f.t.Context()
	nodes, _ := f.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	leases, _ := f.client.CoordinationV1().Leases("").List(ctx, metav1.ListOptions{})
	pods, _ := f.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	replace := func(inf cache.SharedIndexInformer, items []any) {
		if err := inf.GetIndexer().Replace(items, ""); err != nil {
			f.t.Fatal(err)
		}
	}
	var ns, ls, ps []any
	for i := range nodes.Items {
		ns = append(ns, &nodes.Items[i])
	}
	for i := range leases.Items {
		ls = append(ls, &leases.Items[i])
	}
	for i := range pods.Items {
		ps = append(ps, &pods.Items[i])
	}
	replace(f.factory.Core().V1().Nodes().Informer(), ns)
	replace(f.factory.Coordination().V1().Leases().Informer(), ls)
	replace(f.factory.Core().V1().Pods().Informer(), ps)
}

// monitor runs one pass at the fake clock's time and returns when it asks to run again.
func (f *fixture) monitor() time.Duration {
	f.t.Helper()
	f.refresh()
	err := f.lc.sync(f.t.Context(), monitorKey)
	if err == nil || !strings.HasPrefix(err.Error(), "requeue after ") {
		f.t.Fatalf("monitor pass: %v", err)
	}
	d, perr := time.ParseDuration(strings.TrimPrefix(err.Error(), "requeue after "))
	if perr != nil {
		f.t.Fatal(perr)
	}
	return d
}

func (f *fixture) node(name string) *corev1.Node {
	f.t.Helper()
	n, err := f.client.CoreV1().Nodes().Get(f.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// renew renews the leases of the named nodes at the fake clock's time.
func (f *fixture) renew(names ...string) {
	f.t.Helper()
	for _, name := range names {
		l := testLease(name, f.clock.Now())
		if _, err := f.client.CoordinationV1().Leases(leaseNamespace).Update(f.t.Context(), l, metav1.UpdateOptions{}); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func testNode(name, zone string) *corev1.Node {
	n := readyNode(t0.Add(-time.Minute))
	n.Name = name
	if zone != "" {
		n.Labels = map[string]string{corev1.LabelTopologyZone: zone}
	}
	return n
}

func testLease(name string, at time.Time) *coordinationv1.Lease {
	l := lease(at)
	l.Name, l.Namespace = name, leaseNamespace
	return l
}

func testPod(name, node string, tolerations ...corev1.Toleration) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: k8stypes.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: node, Tolerations: tolerations},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

// cluster is n ready nodes with leases, named prefix-0..n-1, in zone.
func cluster(prefix, zone string, n int) []runtime.Object {
	var out []runtime.Object
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i)
		out = append(out, testNode(name, zone), testLease(name, t0.Add(-time.Minute)))
	}
	return out
}

func noExecuteKeys(n *corev1.Node) []string {
	var out []string
	for _, t := range noExecuteTaints(n) {
		out = append(out, t.Key)
	}
	return out
}

func TestSilentNodeIsMarkedUnknownTaintedAndRecovers(t *testing.T) {
	t.Parallel()
	objs := append(cluster("n", "", 2), testPod("web", "n-0"))
	f := newFixture(t, objs...)
	f.monitor()
	if r := readyStatus(f.node("n-0")); r != corev1.ConditionTrue {
		t.Fatalf("a node seen for the first time is %s, want still True", r)
	}
	f.clock.Step(30 * time.Second)
	f.renew("n-1")
	f.monitor()
	f.clock.Step(11 * time.Second)
	f.renew("n-1")
	f.monitor()

	n0 := f.node("n-0")
	ready := condition(n0.Status.Conditions, corev1.NodeReady)
	if ready.Status != corev1.ConditionUnknown || ready.Reason != "NodeStatusUnknown" || ready.Message != "Kubelet stopped posting node status." {
		t.Errorf("silent node's Ready condition: %+v", ready)
	}
	if !hasTaint(n0.Spec.Taints, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) ||
		!hasTaint(n0.Spec.Taints, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) {
		t.Errorf("silent node's taints %v, want unreachable NoSchedule and NoExecute", n0.Spec.Taints)
	}
	if n1 := f.node("n-1"); readyStatus(n1) != corev1.ConditionTrue || len(n1.Spec.Taints) != 0 {
		t.Errorf("the node renewing its lease: ready %s taints %v", readyStatus(n1), n1.Spec.Taints)
	}
	pod, _ := f.client.CoreV1().Pods("default").Get(t.Context(), "web", metav1.GetOptions{})
	if pod.Status.Conditions[0].Status != corev1.ConditionFalse {
		t.Errorf("pod on the silent node: Ready %s, want False", pod.Status.Conditions[0].Status)
	}
	evs := strings.Join(f.events(), "\n")
	for _, want := range []string{"Normal NodeNotReady Node n-0 status is now: NodeNotReady", "Warning NodeNotReady Node is not ready"} {
		if !strings.Contains(evs, want) {
			t.Errorf("events %q lack %q", evs, want)
		}
	}

	// The kubelet comes back.
	f.clock.Step(5 * time.Second)
	n0.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.NewTime(f.clock.Now())}}
	if _, err := f.client.CoreV1().Nodes().UpdateStatus(t.Context(), n0, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.renew("n-0", "n-1")
	f.monitor()
	if n0 = f.node("n-0"); len(n0.Spec.Taints) != 0 {
		t.Errorf("recovered node keeps taints %v", n0.Spec.Taints)
	}
}

func TestNotReadyNodeGetsTheNotReadyTaints(t *testing.T) {
	t.Parallel()
	objs := cluster("n", "", 2)
	objs[0].(*corev1.Node).Status.Conditions[0].Status = corev1.ConditionFalse
	f := newFixture(t, objs...)
	f.monitor()
	n := f.node("n-0")
	if !hasTaint(n.Spec.Taints, corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule) || !hasTaint(n.Spec.Taints, corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute) {
		t.Errorf("taints %v, want not-ready NoSchedule and NoExecute", n.Spec.Taints)
	}
}

func TestEvictionTaintsAreRateLimitedPerZone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cluster("n", "a", 10)...)
	f.monitor()
	f.clock.Step(41 * time.Second)
	f.renew("n-3", "n-4", "n-5", "n-6", "n-7", "n-8", "n-9")
	next := f.monitor()
	tainted := func() int {
		count := 0
		for i := 0; i < 3; i++ {
			if len(noExecuteKeys(f.node(fmt.Sprintf("n-%d", i)))) > 0 {
				count++
			}
		}
		return count
	}
	if got := tainted(); got != 1 {
		t.Fatalf("%d nodes tainted for eviction at once, want 1 (0.1 per second)", got)
	}
	if next != 5*time.Second {
		t.Errorf("next pass after %v, want the monitor period (the next token comes later)", next)
	}
	f.clock.Step(5 * time.Second)
	f.monitor()
	if got := tainted(); got != 1 {
		t.Errorf("%d nodes tainted after 5s, want still 1", got)
	}
	f.clock.Step(5 * time.Second)
	f.monitor()
	if got := tainted(); got != 2 {
		t.Errorf("%d nodes tainted after 10s, want 2", got)
	}
}

func TestNoEvictionWhenTheWholeClusterIsDown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, cluster("n", "", 2)...)
	f.monitor()
	f.clock.Step(41 * time.Second)
	f.monitor()
	for _, name := range []string{"n-0", "n-1"} {
		n := f.node(name)
		if readyStatus(n) != corev1.ConditionUnknown || !hasTaint(n.Spec.Taints, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) {
			t.Errorf("%s: ready %s taints %v, want Unknown with the NoSchedule taint", name, readyStatus(n), n.Spec.Taints)
		}
		if keys := noExecuteKeys(n); len(keys) > 0 {
			t.Errorf("%s: NoExecute taints %v while every node is down", name, keys)
		}
	}
}

func TestNoEvictionInASmallMostlyDownZone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, append(cluster("a", "a", 5), cluster("b", "b", 2)...)...)
	f.monitor()
	f.clock.Step(41 * time.Second)
	f.renew("a-3", "a-4", "b-0", "b-1")
	f.monitor()
	for i := 0; i < 3; i++ {
		if keys := noExecuteKeys(f.node(fmt.Sprintf("a-%d", i))); len(keys) > 0 {
			t.Errorf("a-%d tainted %v in a partly disrupted small zone", i, keys)
		}
	}
}

func TestTaintEviction(t *testing.T) {
	t.Parallel()
	added := metav1.NewTime(t0)
	node := testNode("n", "")
	node.Spec.Taints = []corev1.Taint{{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}}
	tolerates := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists,
		Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}
	f := newFixture(t, node, testPod("plain", "n"), testPod("patient", "n", tolerates),
		testPod("forever", "n", corev1.Toleration{Operator: corev1.TolerationOpExists}), testPod("elsewhere", "m"))
	f.refresh()
	sync := func(name string) error { return f.te.sync(t.Context(), "default/"+name) }
	exists := func(name string) bool {
		_, err := f.client.CoreV1().Pods("default").Get(t.Context(), name, metav1.GetOptions{})
		return err == nil
	}
	if err := sync("plain"); err != nil || exists("plain") {
		t.Errorf("a pod not tolerating the taint: err %v, still there %v; want it deleted", err, exists("plain"))
	}
	if err := sync("forever"); err != nil || !exists("forever") {
		t.Errorf("a pod tolerating forever: err %v, exists %v", err, exists("forever"))
	}
	if err := sync("elsewhere"); err != nil || !exists("elsewhere") {
		t.Errorf("a pod on another node: err %v, exists %v", err, exists("elsewhere"))
	}
	f.clock.Step(100 * time.Second)
	err := sync("patient")
	if err == nil || err.Error() != "requeue after 3m20s" || !exists("patient") {
		t.Errorf("a pod tolerating 300s, 100s after the taint: %v, exists %v; want a requeue after 200s", err, exists("patient"))
	}
	f.clock.Step(200 * time.Second)
	if err := sync("patient"); err != nil || exists("patient") {
		t.Errorf("the tolerating pod after 300s: err %v, exists %v; want it deleted", err, exists("patient"))
	}
	evs := strings.Join(f.events(), "\n")
	for _, want := range []string{"Normal TaintManagerEviction Marking for deletion Pod default/plain", "Normal TaintManagerEviction Marking for deletion Pod default/patient"} {
		if !strings.Contains(evs, want) {
			t.Errorf("events %q lack %q", evs, want)
		}
	}
}

func TestTaintEvictionIsCancelledWhenTheTaintGoes(t *testing.T) {
	t.Parallel()
	added := metav1.NewTime(t0)
	node := testNode("n", "")
	node.Spec.Taints = []corev1.Taint{{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}}
	pod := testPod("patient", "n", corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists,
		Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)})
	f := newFixture(t, node, pod)
	f.refresh()
	if err := f.te.sync(t.Context(), "default/patient"); err == nil {
		t.Fatal("no requeue for a pod waiting out its toleration")
	}
	node.Spec.Taints = nil
	if _, err := f.client.CoreV1().Nodes().Update(t.Context(), node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	if err := f.te.sync(t.Context(), "default/patient"); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(time.Hour)
	if err := f.te.sync(t.Context(), "default/patient"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.CoreV1().Pods("default").Get(t.Context(), "patient", metav1.GetOptions{}); err != nil {
		t.Errorf("pod deleted after its node recovered: %v", err)
	}
	if evs := strings.Join(f.events(), "\n"); !strings.Contains(evs, "Cancelling deletion of Pod default/patient") {
		t.Errorf("events %q: want the cancellation", evs)
	}
}
