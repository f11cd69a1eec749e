package framework_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"capstan/internal/scheduler"
	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func TestProfileExpansion(t *testing.T) {
	c, err := config.Parse([]byte(`
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: custom
  plugins:
    filter:
      disabled:
      - name: TaintToleration
    score:
      enabled:
      - name: ImageLocality
        weight: 9
`))
	if err != nil {
		t.Fatal(err)
	}
	fw, err := framework.NewFramework(scheduler.Registry(), &c.Profiles[0], fwt.NewHandle(), 2)
	if err != nil {
		t.Fatal(err)
	}
	// TaintToleration filter disabled: a tainted node fits.
	node := fwt.MakeNode("n").Taint("k", "v", corev1.TaintEffectNoSchedule).Obj()
	snap := framework.NewSnapshot(nil, []*corev1.Node{node})
	state := framework.NewCycleState()
	pod := fwt.MakePod("p").Obj()
	if _, s := fw.RunPreFilterPlugins(t.Context(), state, pod, snap); !s.IsSuccess() {
		t.Fatal(s)
	}
	if s := fw.RunFilterPlugins(t.Context(), state, pod, snap.Get("n")); !s.IsSuccess() {
		t.Errorf("filter with TaintToleration disabled: %v", s)
	}
	if fw.Plugin(config.ImageLocality) == nil || !fw.HasScorePlugins() {
		t.Error("ImageLocality missing")
	}
}

func TestUnknownPluginIsAnError(t *testing.T) {
	c, err := config.Parse([]byte("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- plugins:\n    filter:\n      enabled:\n      - name: Nope\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := framework.NewFramework(scheduler.Registry(), &c.Profiles[0], fwt.NewHandle(), 1); err == nil {
		t.Error("no error for an unknown plugin")
	}
}

func TestPodRequests(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	rl := func(cpu string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}
	}
	for _, tc := range []struct {
		name string
		pod  corev1.PodSpec
		want int64
	}{
		{"containers sum", corev1.PodSpec{Containers: []corev1.Container{{Resources: rl("1")}, {Resources: rl("2")}}}, 3000},
		{"the largest init container when larger", corev1.PodSpec{InitContainers: []corev1.Container{{Resources: rl("5")}}, Containers: []corev1.Container{{Resources: rl("1")}}}, 5000},
		{"sidecars run with everything after them", corev1.PodSpec{
			InitContainers: []corev1.Container{{Resources: rl("1"), RestartPolicy: &always}, {Resources: rl("2")}},
			Containers:     []corev1.Container{{Resources: rl("1")}}}, 3000}, // max(1+1, 1+2)
		{"overhead adds", corev1.PodSpec{Containers: []corev1.Container{{Resources: rl("1")}}, Overhead: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}}, 1250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := framework.PodRequests(&corev1.Pod{Spec: tc.pod}, false)
			if got.MilliCPU != tc.want {
				t.Errorf("cpu %d, want %d", got.MilliCPU, tc.want)
			}
		})
	}
	nz := framework.PodRequests(&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{}}}}, true)
	if nz.MilliCPU != 100 || nz.Memory != 200*1024*1024 {
		t.Errorf("non-zero defaults %+v", nz)
	}
}

func TestNodesAvailableMessage(t *testing.T) {
	m := &framework.NodeToStatus{
		Statuses: map[string]*framework.Status{
			"a": framework.NewStatus(framework.Unschedulable, "Insufficient cpu", "Insufficient memory"),
			"b": framework.NewStatus(framework.Unschedulable, "Insufficient cpu"),
			"c": framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) had untolerated taint {k: v}"),
		},
		AbsentStatus: framework.NewStatus(framework.UnschedulableAndUnresolvable, "Preemption is not helpful for scheduling"),
	}
	want := "0/5 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu, 2 Preemption is not helpful for scheduling."
	if got := framework.NodesAvailableMessage(5, m); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
