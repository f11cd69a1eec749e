package storage

import (
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// benchPod is a pod of a realistic size (about 1.5 KiB encoded).
func benchPod(ns, name string, i int) *corev1.Pod {
	p := newPod(ns, name, map[string]string{"app": fmt.Sprint("app", i%10), "tier": "backend"})
	p.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "rs-uid"}}
	p.Spec.NodeName = fmt.Sprint("node", i%100)
	p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
	p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi"),
	}
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.42.0.1", Conditions: []corev1.PodCondition{
		{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	}}
	return p
}

// fill creates n pods in s, in parallel.
func fill(b *testing.B, s *Store, n int) {
	b.Helper()
	const workers = 32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				ns := fmt.Sprint("ns", i%10)
				name := fmt.Sprintf("pod-%05d", i)
				if _, err := s.Create(b.Context(), s.Key(ns, name), benchPod(ns, name, i), 0); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkList10000 lists 10,000 pods from the cache (deep copies included).
func BenchmarkList10000(b *testing.B) {
	s := newPodStore(b)
	fill(b, s, 10000)
	if got := len(listPods(b, s, ListOptions{}).Items); got != 10000 {
		b.Fatalf("listed %d pods", got)
	}
	for _, bc := range []struct {
		name string
		opts ListOptions
	}{
		{"any", ListOptions{ResourceVersion: "0"}},
		{"consistent", ListOptions{}},
		{"one namespace", ListOptions{Prefix: s.Key("ns3", ""), ResourceVersion: "0"}},
		{"label selector", ListOptions{ResourceVersion: "0", Label: labels.SelectorFromSet(labels.Set{"app": "app3"})}},
		{"first page of 500", ListOptions{ResourceVersion: "0", Limit: 500}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.List(b.Context(), bc.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCreate creates pods one after another through etcd.
func BenchmarkCreate(b *testing.B) {
	s := newPodStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("pod-%d", i)
		if _, err := s.Create(b.Context(), s.Key("ns", name), benchPod("ns", name, i), 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
