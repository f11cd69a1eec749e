package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

func benchNode(i int) *corev1.Node {
	name := fmt.Sprintf("node-%05d", i)
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("128Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name, corev1.LabelTopologyZone: fmt.Sprintf("z%d", i%3)}},
		Status:     corev1.NodeStatus{Capacity: alloc, Allocatable: alloc},
	}
}

func benchPod(i int, anti bool) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("pod-%06d", i), UID: types.UID(fmt.Sprintf("uid-%06d", i)),
			Labels: map[string]string{"group": fmt.Sprintf("g%d", i/500)}},
		Spec: corev1.PodSpec{SchedulerName: corev1.DefaultSchedulerName, Containers: []corev1.Container{{Name: "c", Image: "pause",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("100Mi")}}}}},
	}
	if anti {
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: p.Labels}, TopologyKey: corev1.LabelHostname}}}}
	}
	return p
}

// newBenchScheduler is a scheduler on a fake client whose cache holds nodes; binding is
// not exercised.
func newBenchScheduler(b *testing.B, nodes int) *Scheduler {
	b.Helper()
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	s, err := New(client, factory, nil, config.Default(), Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	for i := range nodes {
		s.cache.AddNode(benchNode(i))
	}
	return s
}

// BenchmarkSchedulingCycle measures one scheduling cycle (snapshot update, filter, score,
// assume) at 1,000 and 5,000 nodes, the pods landing in the cache as they are placed.
func BenchmarkSchedulingCycle(b *testing.B) {
	for _, tc := range []struct {
		name  string
		nodes int
		anti  bool
	}{{"1000nodes", 1000, false}, {"5000nodes", 5000, false}, {"1000nodes-antiaffinity", 1000, true}} {
		b.Run(tc.name, func(b *testing.B) {
			s := newBenchScheduler(b, tc.nodes)
			fw := s.profiles[corev1.DefaultSchedulerName]
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				pod := benchPod(i%20000, tc.anti)
				if i >= 20000 {
					pod.UID = types.UID(fmt.Sprintf("uid-%d", i))
				}
				qpi := &framework.QueuedPodInfo{PodInfo: framework.NewPodInfo(pod)}
				res, err := s.schedulePod(ctx, fw, framework.NewCycleState(), qpi)
				if err != nil {
					b.Fatal(err)
				}
				assumed := *pod
				assumed.Spec.NodeName = res.host
				pi := *qpi.PodInfo
				pi.Pod = &assumed
				if err := s.cache.AssumePod(&pi); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
