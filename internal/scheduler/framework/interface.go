package framework

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
)

// MaxNodeScore is the highest score a Score plugin gives (after normalization); the lowest is 0.
const (
	MaxNodeScore int64 = 100
	MinNodeScore int64 = 0
)

// Plugin is any scheduler plugin.
type Plugin interface {
	Name() string
}

// PreEnqueuePlugin decides whether a pod may enter the active queue at all (e.g. scheduling
// gates). It must be cheap: it runs on every add and update.
type PreEnqueuePlugin interface {
	Plugin
	PreEnqueue(ctx context.Context, pod *corev1.Pod) *Status
}

// QueueSortPlugin orders the active queue.
type QueueSortPlugin interface {
	Plugin
	Less(a, b *QueuedPodInfo) bool
}

// PreFilterResult narrows the nodes worth filtering; nil NodeNames means all.
type PreFilterResult struct {
	NodeNames sets.Set[string]
	// Plugins that narrowed the nodes (set by the framework).
	Plugins []string
}

// Merge intersects two results (nil means all nodes).
func (r *PreFilterResult) Merge(o *PreFilterResult) *PreFilterResult {
	if r == nil || r.NodeNames == nil {
		return o
	}
	if o == nil || o.NodeNames == nil {
		return r
	}
	return &PreFilterResult{NodeNames: r.NodeNames.Intersection(o.NodeNames), Plugins: append(append([]string(nil), r.Plugins...), o.Plugins...)}
}

// PreFilterPlugin computes per-pod data once per cycle (into CycleState) and may reject
// the pod outright or narrow the nodes to filter.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, snap *Snapshot) (*PreFilterResult, *Status)
	// PreFilterExtensions returns the AddPod/RemovePod updaters of the plugin's state, nil
	// when its state does not depend on other pods.
	PreFilterExtensions() PreFilterExtensions
}

// PreFilterExtensions update a plugin's PreFilter state when preemption or nominated-pod
// filtering adds or removes a pod on a node.
type PreFilterExtensions interface {
	AddPod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podInfoToAdd *PodInfo, nodeInfo *NodeInfo) *Status
	RemovePod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podInfoToRemove *PodInfo, nodeInfo *NodeInfo) *Status
}

// FilterPlugin says whether the pod may run on one node. It is called concurrently for
// different nodes and must only read state and nodeInfo.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) *Status
}

// NodeToStatus is the filtering verdict per node; nodes absent from the map were not
// filtered (another plugin decided for all, e.g. PreFilter) and have AbsentStatus.
type NodeToStatus struct {
	Statuses     map[string]*Status
	AbsentStatus *Status
}

// Get returns the node's status.
func (m *NodeToStatus) Get(node string) *Status {
	if s, ok := m.Statuses[node]; ok {
		return s
	}
	return m.AbsentStatus
}

// PostFilterResult is what PostFilter (preemption) decided: the node the pod is nominated
// to and the pods to evict for it.
type PostFilterResult struct {
	NominatedNodeName string
	Victims           []*corev1.Pod
}

// PostFilterPlugin runs when no node fits (preemption).
type PostFilterPlugin interface {
	Plugin
	PostFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, snap *Snapshot, statuses *NodeToStatus) (*PostFilterResult, *Status)
}

// PreScorePlugin computes per-pod scoring data once, given the feasible nodes.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo, snap *Snapshot) *Status
}

// NodeScore is a node's score from one plugin.
type NodeScore struct {
	Name  string
	Score int64
}

// ScorePlugin ranks one feasible node (0..100 after normalization). Called concurrently.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) (int64, *Status)
	// ScoreExtensions returns the normalizer, nil if scores are already 0..100.
	ScoreExtensions() ScoreExtensions
}

// ScoreExtensions normalizes a plugin's raw scores over all nodes.
type ScoreExtensions interface {
	NormalizeScore(ctx context.Context, state *CycleState, pod *corev1.Pod, scores []NodeScore) *Status
}

// EnqueueExtensions lists the cluster events that may make a pod this plugin rejected
// schedulable; the queue retries such pods only on those events.
type EnqueueExtensions interface {
	EventsToRegister() []ClusterEventWithHint
}

// Services are what plugins may read beyond the snapshot; all backed by in-memory caches.
type Services interface {
	// NominatedPodsForNode returns the pods nominated (by preemption) to run on the node.
	NominatedPodsForNode(nodeName string) []*PodInfo
	// NamespaceLabels returns the labels of a namespace (nil when unknown).
	NamespaceLabels(namespace string) labels.Set
	Namespaces() corelisters.NamespaceLister
	// DefaultSpreadSelector selects the pods of the Services, ReplicationController,
	// ReplicaSet or StatefulSet the pod belongs to (empty when none), for default spreading.
	DefaultSpreadSelector(pod *corev1.Pod) labels.Selector
	PVCs() corelisters.PersistentVolumeClaimLister
	PVs() corelisters.PersistentVolumeLister
	StorageClasses() storagelisters.StorageClassLister
	PDBs() policylisters.PodDisruptionBudgetLister
}

// PluginsRunner runs a profile's filter plugins; preemption uses it to simulate evictions.
type PluginsRunner interface {
	RunPreFilterExtensionAddPod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podInfoToAdd *PodInfo, nodeInfo *NodeInfo) *Status
	RunPreFilterExtensionRemovePod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podInfoToRemove *PodInfo, nodeInfo *NodeInfo) *Status
	RunFilterPluginsWithNominatedPods(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) *Status
}

// Handle is what a plugin gets at construction.
type Handle interface {
	Services
	PluginsRunner
	// Parallelism is how many goroutines a plugin may use for per-node work.
	Parallelism() int
}

// Factory builds a plugin from its decoded arguments (nil when the plugin takes none).
type Factory func(args any, h Handle) (Plugin, error)

// Registry maps plugin names to factories.
type Registry map[string]Factory
