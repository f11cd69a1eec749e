package defaultpreemption

import (
	"context"
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
	"capstan/internal/scheduler/plugins/noderesources"
	"capstan/internal/scheduler/plugins/queuesort"
)

// run filters the pod on every node with NodeResourcesFit, then runs preemption.
func run(t *testing.T, pod *corev1.Pod, nodes []*corev1.Node, pods []*corev1.Pod, objs ...any) (*framework.PostFilterResult, *framework.Status) {
	t.Helper()
	h := fwt.NewHandle(objs...)
	profile := &config.KubeSchedulerProfile{Plugins: &config.Plugins{
		QueueSort: config.PluginSet{Enabled: []config.Plugin{{Name: config.PrioritySort}}},
		PreFilter: config.PluginSet{Enabled: []config.Plugin{{Name: config.NodeResourcesFit}}},
		Filter:    config.PluginSet{Enabled: []config.Plugin{{Name: config.NodeResourcesFit}}},
	}}
	fw, err := framework.NewFramework(framework.Registry{config.NodeResourcesFit: noderesources.New, config.PrioritySort: queuesort.New}, profile, h, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.PluginsRunner = fw
	snap := framework.NewSnapshot(pods, nodes)
	ctx := context.Background()
	state := framework.NewCycleState()
	if _, s := fw.RunPreFilterPlugins(ctx, state, pod, snap); !s.IsSuccess() {
		t.Fatal(s)
	}
	statuses := &framework.NodeToStatus{Statuses: map[string]*framework.Status{}}
	for _, ni := range snap.NodeInfoList {
		if s := fw.RunFilterPlugins(ctx, state, pod, ni); !s.IsSuccess() {
			statuses.Statuses[ni.Node().Name] = s
		}
	}
	pl, _ := New(nil, h)
	p := pl.(*DefaultPreemption)
	p.rnd = func(int) int { return 0 }
	return p.PostFilter(ctx, state, pod, snap, statuses)
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

func TestPreemption(t *testing.T) {
	n := func(name string) *corev1.Node { return fwt.MakeNode(name).Alloc("cpu", "2").Obj() }
	pod := func(name, cpu, node string, prio int32) *corev1.Pod {
		return fwt.MakePod(name).Req("cpu", cpu).Node(node).Priority(prio).Obj()
	}
	preemptor := fwt.MakePod("preemptor").Req("cpu", "1").Priority(100).Obj()
	for _, tc := range []struct {
		name        string
		nodes       []*corev1.Node
		pods        []*corev1.Pod
		objs        []any
		wantNode    string
		wantVictims []string
		wantMsg     string
	}{
		{
			name:  "the fewest victims: one of two lower-priority pods",
			nodes: []*corev1.Node{n("n1")},
			pods:  []*corev1.Pod{pod("low-a", "1", "n1", 1), pod("low-b", "1", "n1", 1)},
			// Both are equally important; the second in order is given back last.
			wantNode: "n1", wantVictims: []string{"low-b"},
		},
		{
			name:        "higher-priority pods are given back first",
			nodes:       []*corev1.Node{n("n1")},
			pods:        []*corev1.Pod{pod("p5", "1", "n1", 5), pod("p1", "1", "n1", 1)},
			wantNode:    "n1",
			wantVictims: []string{"p1"},
		},
		{
			name:        "the node whose victims have the lowest highest priority",
			nodes:       []*corev1.Node{n("n1"), n("n2")},
			pods:        []*corev1.Pod{pod("on1", "2", "n1", 20), pod("on2", "2", "n2", 10)},
			wantNode:    "n2",
			wantVictims: []string{"on2"},
		},
		{
			name:  "a node without budget violations wins over fewer victims",
			nodes: []*corev1.Node{n("n1"), n("n2")},
			pods: []*corev1.Pod{
				fwt.MakePod("guarded").Label("app", "db").Req("cpu", "2").Node("n1").Priority(1).Obj(),
				pod("x", "1", "n2", 1), pod("y", "1", "n2", 1),
			},
			objs: []any{&policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
				Spec: policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}}},
			wantNode: "n2", wantVictims: []string{"y"},
		},
		{
			name:    "equal or higher priority pods are never victims",
			nodes:   []*corev1.Node{n("n1")},
			pods:    []*corev1.Pod{pod("peer", "2", "n1", 100)},
			wantMsg: "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
		},
		{
			name:    "when evicting every lower pod does not help, the filter's reason",
			nodes:   []*corev1.Node{n("n1")},
			pods:    []*corev1.Pod{pod("big", "2", "n1", 200), pod("small", "0", "n1", 1)},
			wantMsg: "preemption: 0/1 nodes are available: 1 Insufficient cpu.",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, s := run(t, preemptor, tc.nodes, tc.pods, tc.objs...)
			if tc.wantMsg != "" {
				if s.Message() != tc.wantMsg {
					t.Errorf("status %v, want %q", s, tc.wantMsg)
				}
				return
			}
			if !s.IsSuccess() {
				t.Fatal(s)
			}
			if res.NominatedNodeName != tc.wantNode || len(names(res.Victims)) != len(tc.wantVictims) {
				t.Fatalf("node %q victims %v, want %q %v", res.NominatedNodeName, names(res.Victims), tc.wantNode, tc.wantVictims)
			}
			if tc.name != "the fewest victims: one of two lower-priority pods" {
				for i, v := range names(res.Victims) {
					if v != tc.wantVictims[i] {
						t.Errorf("victims %v, want %v", names(res.Victims), tc.wantVictims)
					}
				}
			}
		})
	}
}

func TestPreemptionPolicyNever(t *testing.T) {
	never := corev1.PreemptNever
	pod := fwt.MakePod("p").Req("cpu", "1").Priority(100).Obj()
	pod.Spec.PreemptionPolicy = &never
	_, s := run(t, pod, []*corev1.Node{fwt.MakeNode("n").Alloc("cpu", "1").Obj()},
		[]*corev1.Pod{fwt.MakePod("low").Req("cpu", "1").Node("n").Priority(1).Obj()})
	if s.Message() != "preemption: not eligible due to preemptionPolicy=Never." {
		t.Errorf("status %v", s)
	}
}

func TestUnresolvableNodesAreNotCandidates(t *testing.T) {
	pl, _ := New(nil, fwt.NewHandle())
	snap := framework.NewSnapshot(nil, []*corev1.Node{fwt.MakeNode("a").Obj(), fwt.MakeNode("b").Obj()})
	statuses := &framework.NodeToStatus{Statuses: map[string]*framework.Status{
		"a": framework.NewStatus(framework.UnschedulableAndUnresolvable, "x"),
		"b": framework.NewStatus(framework.UnschedulableAndUnresolvable, "y"),
	}}
	_, s := pl.(*DefaultPreemption).PostFilter(context.Background(), framework.NewCycleState(), fwt.MakePod("p").Priority(5).Obj(), snap, statuses)
	if s.Message() != "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling." {
		t.Errorf("status %v", s)
	}
}
