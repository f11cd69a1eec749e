package daemonset

import (
	"reflect"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func ptrIntStr(n int) *intstr.IntOrString { v := intstr.FromInt32(int32(n)); return &v }

func ptrPercent(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }

// dpod is a daemon pod on node with the given hash; age orders creation.
type dpod struct {
	name, node, hash string
	age              int
	ready            bool
	phase            corev1.PodPhase
	deleting         bool
	unbound          bool
}

func (d dpod) pod() *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: d.name, Labels: map[string]string{"app": "agent", hashLabel: d.hash},
			CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(d.age) * time.Second))},
		Spec:   corev1.PodSpec{Affinity: pinToNode(nil, d.node)},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if !d.unbound {
		p.Spec.NodeName = d.node
	}
	if d.phase != "" {
		p.Status.Phase = d.phase
	}
	if d.ready {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)}}
	}
	if d.deleting {
		p.DeletionTimestamp = &metav1.Time{Time: t0}
	}
	return p
}

func mkView(ds *appsv1.DaemonSet, nodes []*corev1.Node, ps ...dpod) *view {
	var owned []*corev1.Pod
	for _, d := range ps {
		owned = append(owned, d.pod())
	}
	return newView(ds, "new", nodes, owned, t0.Add(time.Hour))
}

func podNames(ps []*corev1.Pod) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	slices.Sort(out)
	return out
}

func nodes(names ...string) []*corev1.Node {
	var out []*corev1.Node
	for _, n := range names {
		out = append(out, newNode(n))
	}
	return out
}

func TestManage(t *testing.T) {
	t.Parallel()
	surge := func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptrIntStr(1) }
	tainted := newNode("tainted", taint("dedicated", corev1.TaintEffectNoSchedule))
	evicting := newNode("evicting", taint("dedicated", corev1.TaintEffectNoExecute))
	for _, tc := range []struct {
		name                     string
		ds                       *appsv1.DaemonSet
		nodes                    []*corev1.Node
		pods                     []dpod
		create, remove, failedPs []string
	}{
		{name: "every eligible node without a pod gets one", ds: newDS(),
			nodes: append(nodes("a", "b", "c"), tainted), pods: []dpod{{name: "pa", node: "a", hash: "new"}},
			create: []string{"b", "c"}},
		{name: "a pod stays on a node with a NoSchedule taint but leaves a NoExecute one", ds: newDS(),
			nodes:  []*corev1.Node{tainted, evicting},
			pods:   []dpod{{name: "pt", node: "tainted"}, {name: "pe", node: "evicting"}, {name: "pe2", node: "evicting", deleting: true}},
			remove: []string{"pe"}},
		{name: "extra pods on a node go, the oldest stays", ds: newDS(), nodes: nodes("a"),
			pods:   []dpod{{name: "young", node: "a", age: 5}, {name: "old", node: "a", age: 1}, {name: "middle", node: "a", age: 3}},
			remove: []string{"middle", "young"}},
		{name: "failed pods are deleted through the backoff, succeeded ones at once", ds: newDS(), nodes: nodes("a", "b"),
			pods:     []dpod{{name: "fa", node: "a", phase: corev1.PodFailed}, {name: "sb", node: "b", phase: corev1.PodSucceeded}},
			failedPs: []string{"fa"}, remove: []string{"sb"}},
		{name: "unbound pods pinned to a node that is gone are deleted, bound ones left to pod GC", ds: newDS(), nodes: nodes("a"),
			pods:   []dpod{{name: "pa", node: "a"}, {name: "ghost", node: "gone", unbound: true}, {name: "bound", node: "gone2"}},
			remove: []string{"ghost"}},
		{name: "surge: an old ready pod stays beside an unavailable new one", ds: newDS(surge), nodes: nodes("a"),
			pods: []dpod{{name: "old", node: "a", hash: "old", ready: true}, {name: "new", node: "a", hash: "new", age: 1}}},
		{name: "surge: the old pod goes once the new one is available", ds: newDS(surge), nodes: nodes("a"),
			pods:   []dpod{{name: "old", node: "a", hash: "old", ready: true}, {name: "new", node: "a", hash: "new", age: 1, ready: true}},
			remove: []string{"old"}},
		{name: "surge: an old pod that is not ready goes at once; extra pods of either kind too", ds: newDS(surge), nodes: nodes("a"),
			pods: []dpod{{name: "old", node: "a", hash: "old"}, {name: "old2", node: "a", hash: "old", age: 1},
				{name: "new", node: "a", hash: "new", age: 2}, {name: "new2", node: "a", hash: "new", age: 3}},
			remove: []string{"new2", "old", "old2"}},
		{name: "surge: a node whose only pod is terminating gets a new one", ds: newDS(surge), nodes: nodes("a"),
			pods: []dpod{{name: "old", node: "a", hash: "old", deleting: true}}, create: []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mkView(tc.ds, tc.nodes, tc.pods...).manage()
			if got, want := sorted(p.createOn), sorted(tc.create); !slices.Equal(got, want) {
				t.Errorf("create on %v, want %v", got, want)
			}
			if got, want := podNames(p.remove), sorted(tc.remove); !slices.Equal(got, want) {
				t.Errorf("delete %v, want %v", got, want)
			}
			if got, want := podNames(p.failed), sorted(tc.failedPs); !slices.Equal(got, want) {
				t.Errorf("failed %v, want %v", got, want)
			}
		})
	}
}

func TestRollingUpdate(t *testing.T) {
	t.Parallel()
	budget := func(surge, unavailable *intstr.IntOrString) func(*appsv1.DaemonSet) {
		return func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = surge
			ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = unavailable
		}
	}
	oldReady := func(node string) dpod { return dpod{name: "old-" + node, node: node, hash: "old", ready: true} }
	for _, tc := range []struct {
		name           string
		ds             *appsv1.DaemonSet
		nodes          []*corev1.Node
		pods           []dpod
		create, remove []string
	}{
		{name: "maxUnavailable 1 replaces one available old pod at a time", ds: newDS(), nodes: nodes("a", "b", "c"),
			pods: []dpod{oldReady("a"), oldReady("b"), oldReady("c")}, remove: []string{"old-a"}},
		{name: "maxUnavailable 2 replaces two", ds: newDS(budget(ptrIntStr(0), ptrIntStr(2))), nodes: nodes("a", "b", "c"),
			pods: []dpod{oldReady("a"), oldReady("b"), oldReady("c")}, remove: []string{"old-a", "old-b"}},
		{name: "a percentage rounds up", ds: newDS(budget(nil, ptrPercent("10%"))), nodes: nodes("a", "b", "c"),
			pods: []dpod{oldReady("a"), oldReady("b"), oldReady("c")}, remove: []string{"old-a"}},
		{name: "a new pod not yet available uses up the budget", ds: newDS(), nodes: nodes("a", "b", "c"),
			pods: []dpod{{name: "new-a", node: "a", hash: "new"}, oldReady("b"), oldReady("c")}},
		{name: "a node still waiting for its pod uses up the budget", ds: newDS(), nodes: nodes("a", "b"),
			pods: []dpod{oldReady("b")}},
		{name: "unavailable old pods are replaced regardless of the budget", ds: newDS(), nodes: nodes("a", "b", "c"),
			pods:   []dpod{{name: "new-a", node: "a", hash: "new"}, {name: "old-b", node: "b", hash: "old"}, oldReady("c")},
			remove: []string{"old-b"}},
		{name: "nothing to do once every pod is new", ds: newDS(), nodes: nodes("a", "b"),
			pods: []dpod{{name: "new-a", node: "a", hash: "new", ready: true}, {name: "new-b", node: "b", hash: "new", ready: true}}},
		{name: "surge 1 starts one new pod beside an old one", ds: newDS(budget(ptrIntStr(1), ptrIntStr(0))), nodes: nodes("a", "b"),
			pods: []dpod{oldReady("a"), oldReady("b")}, create: []string{"a"}},
		{name: "surge: an available new pod retires its old one and frees the budget", ds: newDS(budget(ptrIntStr(1), ptrIntStr(0))), nodes: nodes("a", "b"),
			pods:   []dpod{oldReady("a"), {name: "new-a", node: "a", hash: "new", ready: true}, oldReady("b")},
			remove: []string{"old-a"}, create: []string{"b"}},
		{name: "surge: a new pod not yet available holds the budget", ds: newDS(budget(ptrIntStr(1), ptrIntStr(0))), nodes: nodes("a", "b"),
			pods: []dpod{oldReady("a"), {name: "new-a", node: "a", hash: "new"}, oldReady("b")}},
		{name: "surge: an unavailable old pod gets its replacement free of charge", ds: newDS(budget(ptrIntStr(1), ptrIntStr(0))), nodes: nodes("a", "b"),
			pods: []dpod{{name: "old-a", node: "a", hash: "old"}, oldReady("b")}, create: []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mkView(tc.ds, tc.nodes, tc.pods...).rollingUpdate()
			if got, want := sorted(p.createOn), sorted(tc.create); !slices.Equal(got, want) {
				t.Errorf("create on %v, want %v", got, want)
			}
			if got, want := podNames(p.remove), sorted(tc.remove); !slices.Equal(got, want) {
				t.Errorf("delete %v, want %v", got, want)
			}
		})
	}
}

func TestRollingBudgetNeverStalls(t *testing.T) {
	t.Parallel()
	ds := newDS(func(ds *appsv1.DaemonSet) {
		ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptrIntStr(0), MaxSurge: ptrIntStr(0)}
	})
	if s, u := rollingBudget(ds, 5); s != 0 || u != 1 {
		t.Errorf("budget = surge %d unavailable %d, want 0 and 1", s, u)
	}
	ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptrPercent("20%")
	if s, u := rollingBudget(ds, 6); s != 2 || u != 0 {
		t.Errorf("budget = surge %d unavailable %d, want 2 (20%% of 6 rounded up) and 0", s, u)
	}
	if !allowsSurge(ds) {
		t.Error("a 20% surge does not allow surging")
	}
}

func TestStatusCounts(t *testing.T) {
	t.Parallel()
	ds := newDS(func(ds *appsv1.DaemonSet) { ds.Spec.MinReadySeconds = 10 })
	ns := append(nodes("a", "b", "c", "d"), newNode("tainted", taint("x", corev1.TaintEffectNoSchedule)))
	v := mkView(ds, ns,
		dpod{name: "pa", node: "a", hash: "new", ready: true},
		dpod{name: "pb", node: "b", hash: "old", ready: true},
		dpod{name: "pc", node: "c", hash: "new"},
		dpod{name: "pt", node: "tainted", hash: "new", ready: true},
	)
	// pc became ready just now: ready but not yet available.
	late := v.pods["b"][0].DeepCopy()
	late.Name = "pd"
	late.Spec.NodeName = "d"
	late.Spec.Affinity = pinToNode(nil, "d")
	late.Status.Conditions[0].LastTransitionTime = metav1.NewTime(v.now)
	late.Labels[hashLabel] = "new"
	v.pods["d"] = []*corev1.Pod{late}
	got := v.statusCounts()
	want := appsv1.DaemonSetStatus{
		DesiredNumberScheduled: 4, CurrentNumberScheduled: 4, NumberMisscheduled: 1,
		NumberReady: 3, NumberAvailable: 2, NumberUnavailable: 2, UpdatedNumberScheduled: 3,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status\n got %+v\nwant %+v", got, want)
	}
}
