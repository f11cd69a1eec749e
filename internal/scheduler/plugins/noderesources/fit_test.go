package noderesources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func TestFilter(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	// The node: 4 cpu, 8Gi, 3 pods, 2 example.com/gpu; one pod already uses 1 cpu, 2Gi.
	node := fwt.MakeNode("n").Alloc("pods", "3").Alloc("example.com/gpu", "2").Obj()
	existing := fwt.MakePod("e").Req("cpu", "1", "memory", "2Gi").Node("n").Obj()
	for _, tc := range []struct {
		name string
		pod  func(p *corev1.Pod)
		want []string
	}{
		{"a pod within the free room fits", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests = rl("cpu", "3", "memory", "6Gi") }, nil},
		{"one millicore too many", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests = rl("cpu", "3001m") }, []string{"Insufficient cpu"}},
		{"every short resource is a reason", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = rl("cpu", "4", "memory", "7Gi", "example.com/gpu", "3")
		}, []string{"Insufficient cpu", "Insufficient memory", "Insufficient example.com/gpu"}},
		{"containers add up", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "d", Resources: corev1.ResourceRequirements{Requests: rl("cpu", "2")}})
			p.Spec.Containers[0].Resources.Requests = rl("cpu", "2")
		}, []string{"Insufficient cpu"}},
		{"an init container counts alone: the larger of it and the containers", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Resources: corev1.ResourceRequirements{Requests: rl("cpu", "3")}}}
			p.Spec.Containers[0].Resources.Requests = rl("cpu", "1")
		}, nil},
		{"a bigger init container does not fit", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Resources: corev1.ResourceRequirements{Requests: rl("cpu", "3500m")}}}
		}, []string{"Insufficient cpu"}},
		{"a sidecar adds to the containers", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "s", RestartPolicy: &always, Resources: corev1.ResourceRequirements{Requests: rl("cpu", "1")}}}
			p.Spec.Containers[0].Resources.Requests = rl("cpu", "2500m")
		}, []string{"Insufficient cpu"}},
		{"overhead adds to the requests", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = rl("cpu", "2500m")
			p.Spec.Overhead = rl("cpu", "600m")
		}, []string{"Insufficient cpu"}},
		{"extended resources fit up to allocatable", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests = rl("example.com/gpu", "2") }, nil},
		{"an extended resource the node lacks", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests = rl("example.com/fpga", "1") }, []string{"Insufficient example.com/fpga"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := fwt.MakePod("p").Obj()
			tc.pod(pod)
			pl, _ := New(nil, nil)
			got := fwt.PreFilterAndFilter(t, pl, pod, framework.NewSnapshot([]*corev1.Pod{existing}, []*corev1.Node{node}))["n"]
			if len(tc.want) == 0 {
				if !got.IsSuccess() {
					t.Errorf("got %v, want fit", got)
				}
				return
			}
			if got.Code() != framework.Unschedulable {
				t.Fatalf("got %v, want Unschedulable %v", got, tc.want)
			}
			reasons := map[string]bool{}
			for _, r := range got.Reasons() {
				reasons[r] = true
			}
			for _, w := range tc.want {
				if !reasons[w] {
					t.Errorf("reasons %v, want %q", got.Reasons(), w)
				}
			}
			if len(got.Reasons()) != len(tc.want) {
				t.Errorf("reasons %v, want %v", got.Reasons(), tc.want)
			}
		})
	}
}

func TestFilterPodCount(t *testing.T) {
	node := fwt.MakeNode("n").Alloc("pods", "1").Obj()
	snap := framework.NewSnapshot([]*corev1.Pod{fwt.MakePod("e").Node("n").Obj()}, []*corev1.Node{node})
	pl, _ := New(nil, nil)
	got := fwt.PreFilterAndFilter(t, pl, fwt.MakePod("p").Obj(), snap)["n"]
	if got.Message() != "Too many pods" {
		t.Errorf("got %v, want Too many pods", got)
	}
}

func TestFilterIgnoredResources(t *testing.T) {
	pl, _ := New(&config.NodeResourcesFitArgs{IgnoredResourceGroups: []string{"example.com"},
		ScoringStrategy: &config.ScoringStrategy{Type: config.LeastAllocated, Resources: []config.ResourceSpec{{Name: "cpu", Weight: 1}}}}, nil)
	pod := fwt.MakePod("p").Req("example.com/fpga", "1").Obj()
	got := fwt.PreFilterAndFilter(t, pl, pod, framework.NewSnapshot(nil, []*corev1.Node{fwt.MakeNode("n").Obj()}))["n"]
	if !got.IsSuccess() {
		t.Errorf("ignored group still checked: %v", got)
	}
}

func TestScore(t *testing.T) {
	// Node a: 4 cpu, 8Gi, 2 cpu / 4Gi used. Node b: 4 cpu, 8Gi, empty.
	nodes := []*corev1.Node{fwt.MakeNode("a").Obj(), fwt.MakeNode("b").Obj()}
	pods := []*corev1.Pod{fwt.MakePod("e").Req("cpu", "2", "memory", "4Gi").Node("a").Obj()}
	pod := fwt.MakePod("p").Req("cpu", "1", "memory", "2Gi").Obj()
	for _, tc := range []struct {
		strategy string
		shape    []config.UtilizationShapePoint
		want     map[string]int64
	}{
		// least: ((4-3)/4*100 + (8-6)/8*100)/2 = 25 on a; ((4-1)/4*100 + (8-2)/8*100)/2 = 75 on b.
		{config.LeastAllocated, nil, map[string]int64{"a": 25, "b": 75}},
		{config.MostAllocated, nil, map[string]int64{"a": 75, "b": 25}},
		// A shape scoring utilization 0 as 10 and 100 as 0 behaves like least allocated.
		{config.RequestedToCapacityRatio, []config.UtilizationShapePoint{{Utilization: 0, Score: 10}, {Utilization: 100, Score: 0}}, map[string]int64{"a": 25, "b": 75}},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			args := &config.NodeResourcesFitArgs{ScoringStrategy: &config.ScoringStrategy{Type: tc.strategy,
				Resources: []config.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}}}
			if tc.shape != nil {
				args.ScoringStrategy.RequestedToCapacityRatio = &config.RequestedToCapacityRatioParam{Shape: tc.shape}
			}
			pl, err := New(args, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := fwt.Scores(t, pl, pod, framework.NewSnapshot(pods, nodes))
			for n, w := range tc.want {
				if got[n] != w {
					t.Errorf("node %s: %d, want %d (all %v)", n, got[n], w, got)
				}
			}
		})
	}
}

func TestScoreCountsDefaultsForRequestlessPods(t *testing.T) {
	// A request-less pod counts 100m cpu and 200Mi memory when scoring.
	nodes := []*corev1.Node{fwt.MakeNode("a").Alloc("cpu", "1").Alloc("memory", "2000Mi").Obj()}
	pl, _ := New(nil, nil)
	got := fwt.Scores(t, pl, fwt.MakePod("p").Obj(), framework.NewSnapshot(nil, nodes))
	// cpu: (1000-100)/1000*100 = 90; memory: (2000-200)/2000*100 = 90.
	if got["a"] != 90 {
		t.Errorf("score %d, want 90", got["a"])
	}
}
