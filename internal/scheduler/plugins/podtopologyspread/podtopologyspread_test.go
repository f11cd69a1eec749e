package podtopologyspread

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

const zone = corev1.LabelTopologyZone

// cluster: zones a (a1, a2), b (b1), c (c1); `counts` pods app=web per node.
func cluster(counts map[string]int) ([]*corev1.Node, []*corev1.Pod) {
	nodes := []*corev1.Node{
		fwt.MakeNode("a1").Label(zone, "a").Obj(), fwt.MakeNode("a2").Label(zone, "a").Obj(),
		fwt.MakeNode("b1").Label(zone, "b").Obj(), fwt.MakeNode("c1").Label(zone, "c").Label("special", "yes").Obj(),
	}
	var pods []*corev1.Pod
	for node, n := range counts {
		for i := range n {
			pods = append(pods, fwt.MakePod(fmt.Sprintf("%s-%d", node, i)).Label("app", "web").Node(node).Obj())
		}
	}
	return nodes, pods
}

func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts map[string]int
		pod    func() *corev1.Pod
		fits   []string
	}{
		{"maxSkew 1: only the emptiest zones", map[string]int{"a1": 1, "b1": 1},
			func() *corev1.Pod {
				return fwt.MakePod("p").Label("app", "web").Spread(1, zone, corev1.DoNotSchedule, "web").Obj()
			}, []string{"c1"}},
		{"maxSkew 2 allows one more", map[string]int{"a1": 1, "b1": 1},
			func() *corev1.Pod {
				return fwt.MakePod("p").Label("app", "web").Spread(2, zone, corev1.DoNotSchedule, "web").Obj()
			}, []string{"a1", "a2", "b1", "c1"}},
		{"a pod not matching its own selector does not count itself", map[string]int{"a1": 1},
			func() *corev1.Pod { return fwt.MakePod("p").Spread(1, zone, corev1.DoNotSchedule, "web").Obj() },
			[]string{"a1", "a2", "b1", "c1"}},
		{"minDomains above the domain count treats the minimum as 0", map[string]int{"a1": 1, "b1": 1, "c1": 1},
			func() *corev1.Pod {
				p := fwt.MakePod("p").Label("app", "web").Spread(1, zone, corev1.DoNotSchedule, "web").Obj()
				four := int32(4)
				p.Spec.TopologySpreadConstraints[0].MinDomains = &four
				return p
			}, nil},
		{"ScheduleAnyway constraints do not filter", map[string]int{"a1": 5},
			func() *corev1.Pod {
				return fwt.MakePod("p").Label("app", "web").Spread(1, zone, corev1.ScheduleAnyway, "web").Obj()
			}, []string{"a1", "a2", "b1", "c1"}},
		{"nodeAffinityPolicy Honor: domains outside the pod's node selector do not count", map[string]int{"c1": 3},
			func() *corev1.Pod {
				// Only zone c is allowed; its 3 pods are the minimum itself.
				return fwt.MakePod("p").Label("app", "web").NodeSelector(map[string]string{"special": "yes"}).Spread(1, zone, corev1.DoNotSchedule, "web").Obj()
			}, []string{"a1", "a2", "b1", "c1"}},
		{"nodeAffinityPolicy Ignore: they do", map[string]int{"c1": 3},
			func() *corev1.Pod {
				p := fwt.MakePod("p").Label("app", "web").NodeSelector(map[string]string{"special": "yes"}).Spread(1, zone, corev1.DoNotSchedule, "web").Obj()
				ignore := corev1.NodeInclusionPolicyIgnore
				p.Spec.TopologySpreadConstraints[0].NodeAffinityPolicy = &ignore
				return p
			}, []string{"a1", "a2", "b1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes, pods := cluster(tc.counts)
			pl, _ := New(nil, fwt.NewHandle())
			got := fwt.PreFilterAndFilter(t, pl, tc.pod(), framework.NewSnapshot(pods, nodes))
			want := map[string]bool{}
			for _, n := range tc.fits {
				want[n] = true
			}
			for _, n := range nodes {
				if got[n.Name].IsSuccess() != want[n.Name] {
					t.Errorf("node %s: %v, want fit=%v", n.Name, got[n.Name], want[n.Name])
				}
				if !want[n.Name] && got[n.Name].Message() != ErrReasonConstraintsNotMatch {
					t.Errorf("node %s: reason %q", n.Name, got[n.Name].Message())
				}
			}
		})
	}
}

func TestFilterMissingLabel(t *testing.T) {
	nodes := []*corev1.Node{fwt.MakeNode("nolabel").Obj()}
	pl, _ := New(nil, fwt.NewHandle())
	got := fwt.PreFilterAndFilter(t, pl, fwt.MakePod("p").Spread(1, zone, corev1.DoNotSchedule, "web").Obj(), framework.NewSnapshot(nil, nodes))
	if got["nolabel"].Message() != ErrReasonNodeLabelNotMatch || got["nolabel"].Code() != framework.UnschedulableAndUnresolvable {
		t.Errorf("got %v", got["nolabel"])
	}
}

func TestScore(t *testing.T) {
	nodes, pods := cluster(map[string]int{"a1": 2, "a2": 1, "b1": 1})
	pl, _ := New(nil, fwt.NewHandle())
	got := fwt.Scores(t, pl, fwt.MakePod("p").Label("app", "web").Spread(1, zone, corev1.ScheduleAnyway, "web").Obj(), framework.NewSnapshot(pods, nodes))
	// Fewer matching pods in the zone score higher: c (0) > b (1) > a (3).
	if !(got["c1"] > got["b1"] && got["b1"] > got["a1"] && got["a1"] == got["a2"]) {
		t.Errorf("scores %v, want c1 > b1 > a1 = a2", got)
	}
	if got["c1"] != 100 {
		t.Errorf("emptiest zone scores %d, want 100", got["c1"])
	}
}

func TestScoreSystemDefaults(t *testing.T) {
	nodes, pods := cluster(map[string]int{"a1": 3})
	h := fwt.NewHandle()
	h.Selector = labels.SelectorFromSet(labels.Set{"app": "web"})
	pl, _ := New(&config.PodTopologySpreadArgs{DefaultingType: config.SystemDefaulting}, h)
	got := fwt.Scores(t, pl, fwt.MakePod("p").Label("app", "web").Obj(), framework.NewSnapshot(pods, nodes))
	if got == nil || got["a1"] >= got["b1"] {
		t.Errorf("scores %v, want the default constraints to prefer nodes away from a1", got)
	}
	h.Selector = labels.Everything()
	if got := fwt.Scores(t, pl, fwt.MakePod("p").Obj(), framework.NewSnapshot(pods, nodes)); got != nil {
		t.Errorf("a pod of no service or controller is scored: %v", got)
	}
}
