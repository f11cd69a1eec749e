// Package fwtesting has builders and a fixed-data framework.Handle for the scheduler's
// plugin tests. It is only imported by tests.
package fwtesting

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"

	"capstan/internal/scheduler/framework"
)

// Node builds a node.
type Node struct{ *corev1.Node }

// MakeNode returns a node with allocatable 4 cpu, 8Gi memory, 110 pods.
func MakeNode(name string) Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}}}
	n.Status.Allocatable = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110"),
	}
	return Node{n}
}

// Label sets a label.
func (n Node) Label(k, v string) Node { n.Labels[k] = v; return n }

// Alloc sets an allocatable amount.
func (n Node) Alloc(name corev1.ResourceName, q string) Node {
	n.Status.Allocatable[name] = resource.MustParse(q)
	return n
}

// Taint adds a taint.
func (n Node) Taint(k, v string, e corev1.TaintEffect) Node {
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: k, Value: v, Effect: e})
	return n
}

// Unschedulable cordons the node.
func (n Node) Unschedulable() Node { n.Spec.Unschedulable = true; return n }

// Image adds an image.
func (n Node) Image(size int64, names ...string) Node {
	n.Status.Images = append(n.Status.Images, corev1.ContainerImage{Names: names, SizeBytes: size})
	return n
}

// Obj returns the node.
func (n Node) Obj() *corev1.Node { return n.Node }

// Pod builds a pod.
type Pod struct{ *corev1.Pod }

// MakePod returns a pod with one container and no requests, in namespace "default".
func MakePod(name string) Pod {
	return Pod{&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Labels: map[string]string{}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "pause"}}, SchedulerName: corev1.DefaultSchedulerName},
	}}
}

// Namespace sets the namespace.
func (p Pod) Namespace(ns string) Pod { p.Pod.Namespace = ns; return p }

// Label sets a label.
func (p Pod) Label(k, v string) Pod { p.Labels[k] = v; return p }

// Req adds requests to the first container ("cpu", "500m", ...).
func (p Pod) Req(kv ...string) Pod {
	c := &p.Spec.Containers[0]
	if c.Resources.Requests == nil {
		c.Resources.Requests = corev1.ResourceList{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Resources.Requests[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return p
}

// Node binds the pod to a node.
func (p Pod) Node(name string) Pod { p.Spec.NodeName = name; return p }

// Priority sets spec.priority.
func (p Pod) Priority(v int32) Pod { p.Spec.Priority = &v; return p }

// NodeSelector sets spec.nodeSelector.
func (p Pod) NodeSelector(kv map[string]string) Pod { p.Spec.NodeSelector = kv; return p }

// Toleration adds a toleration.
func (p Pod) Toleration(t corev1.Toleration) Pod {
	p.Spec.Tolerations = append(p.Spec.Tolerations, t)
	return p
}

// HostPort adds a host port.
func (p Pod) HostPort(port int32, proto corev1.Protocol, ip string) Pod {
	p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: port, HostPort: port, Protocol: proto, HostIP: ip})
	return p
}

func (p Pod) affinity() *corev1.Affinity {
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &corev1.Affinity{}
	}
	return p.Spec.Affinity
}

// PodAffinity adds a required (weight 0) or preferred pod affinity term on app=<app>.
func (p Pod) PodAffinity(key, app string, weight int32, anti bool) Pod {
	a := p.affinity()
	term := corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}, TopologyKey: key}
	if anti {
		if a.PodAntiAffinity == nil {
			a.PodAntiAffinity = &corev1.PodAntiAffinity{}
		}
		if weight == 0 {
			a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, term)
		} else {
			a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: term})
		}
		return p
	}
	if a.PodAffinity == nil {
		a.PodAffinity = &corev1.PodAffinity{}
	}
	if weight == 0 {
		a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, term)
	} else {
		a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution, corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: term})
	}
	return p
}

// Spread adds a topology spread constraint on app=<app>.
func (p Pod) Spread(maxSkew int32, key string, action corev1.UnsatisfiableConstraintAction, app string) Pod {
	p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
		MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: action,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
	})
	return p
}

// Claim adds a volume using a claim.
func (p Pod) Claim(name string) Pod {
	p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}})
	return p
}

// Obj returns the pod.
func (p Pod) Obj() *corev1.Pod { return p.Pod }

// Handle is a framework.Handle over fixed objects.
type Handle struct {
	framework.PluginsRunner
	Nominated  map[string][]*framework.PodInfo
	NSLabels   map[string]map[string]string
	Selector   labels.Selector
	pvcs, pvs  cache.Indexer
	classes    cache.Indexer
	pdbs       cache.Indexer
	namespaces cache.Indexer
}

// NewHandle returns a handle with the objects (claims, volumes, classes, budgets,
// namespaces) in its listers.
func NewHandle(objs ...any) *Handle {
	idx := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	h := &Handle{Nominated: map[string][]*framework.PodInfo{}, NSLabels: map[string]map[string]string{},
		pvcs: idx(), pvs: idx(), classes: idx(), pdbs: idx(), namespaces: idx()}
	for _, o := range objs {
		switch v := o.(type) {
		case *corev1.PersistentVolumeClaim:
			_ = h.pvcs.Add(v)
		case *corev1.PersistentVolume:
			_ = h.pvs.Add(v)
		case *storagev1.StorageClass:
			_ = h.classes.Add(v)
		case *policyv1.PodDisruptionBudget:
			_ = h.pdbs.Add(v)
		case *corev1.Namespace:
			_ = h.namespaces.Add(v)
			h.NSLabels[v.Name] = v.Labels
		}
	}
	return h
}

func (h *Handle) NominatedPodsForNode(node string) []*framework.PodInfo { return h.Nominated[node] }
func (h *Handle) NamespaceLabels(ns string) labels.Set                  { return h.NSLabels[ns] }
func (h *Handle) Namespaces() corelisters.NamespaceLister {
	return corelisters.NewNamespaceLister(h.namespaces)
}
func (h *Handle) PVCs() corelisters.PersistentVolumeClaimLister {
	return corelisters.NewPersistentVolumeClaimLister(h.pvcs)
}
func (h *Handle) PVs() corelisters.PersistentVolumeLister {
	return corelisters.NewPersistentVolumeLister(h.pvs)
}
func (h *Handle) StorageClasses() storagelisters.StorageClassLister {
	return storagelisters.NewStorageClassLister(h.classes)
}
func (h *Handle) PDBs() policylisters.PodDisruptionBudgetLister {
	return policylisters.NewPodDisruptionBudgetLister(h.pdbs)
}
func (h *Handle) DefaultSpreadSelector(*corev1.Pod) labels.Selector {
	if h.Selector == nil {
		return labels.Everything()
	}
	return h.Selector
}
func (h *Handle) Parallelism() int { return 2 }

// PreFilterAndFilter runs a plugin's PreFilter (when it has one) and Filter on every node
// of the snapshot, returning each node's status (nil for success) keyed by node name, or
// the PreFilter status for all.
func PreFilterAndFilter(t interface{ Fatal(...any) }, pl framework.Plugin, pod *corev1.Pod, snap *framework.Snapshot) map[string]*framework.Status {
	ctx := context.Background()
	state := framework.NewCycleState()
	out := map[string]*framework.Status{}
	if pf, ok := pl.(framework.PreFilterPlugin); ok {
		_, s := pf.PreFilter(ctx, state, pod, snap)
		if s.IsSkip() {
			for _, ni := range snap.NodeInfoList {
				out[ni.Node().Name] = nil
			}
			return out
		}
		if !s.IsSuccess() {
			for _, ni := range snap.NodeInfoList {
				out[ni.Node().Name] = s
			}
			return out
		}
	}
	f := pl.(framework.FilterPlugin)
	for _, ni := range snap.NodeInfoList {
		out[ni.Node().Name] = f.Filter(ctx, state, pod, ni)
	}
	return out
}

// Scores runs a plugin's PreScore (when it has one), Score on every node and
// NormalizeScore, returning the scores by node name (nil when PreScore skipped).
func Scores(t interface{ Fatal(...any) }, pl framework.Plugin, pod *corev1.Pod, snap *framework.Snapshot) map[string]int64 {
	ctx := context.Background()
	state := framework.NewCycleState()
	if ps, ok := pl.(framework.PreScorePlugin); ok {
		s := ps.PreScore(ctx, state, pod, snap.NodeInfoList, snap)
		if s.IsSkip() {
			return nil
		}
		if !s.IsSuccess() {
			t.Fatal(s)
		}
	}
	sp := pl.(framework.ScorePlugin)
	scores := make([]framework.NodeScore, len(snap.NodeInfoList))
	for i, ni := range snap.NodeInfoList {
		v, s := sp.Score(ctx, state, pod, ni)
		if !s.IsSuccess() {
			t.Fatal(s)
		}
		scores[i] = framework.NodeScore{Name: ni.Node().Name, Score: v}
	}
	if ext := sp.ScoreExtensions(); ext != nil {
		if s := ext.NormalizeScore(ctx, state, pod, scores); !s.IsSuccess() {
			t.Fatal(s)
		}
	}
	out := map[string]int64{}
	for _, s := range scores {
		out[s.Name] = s.Score
	}
	return out
}
