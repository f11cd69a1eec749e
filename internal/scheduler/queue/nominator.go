package queue

import (
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"capstan/internal/scheduler/framework"
)

// nominator remembers the pods nominated to nodes. Filtering reads it for every node of
// every cycle, so reads are lock-free: writers (rare: preemption) publish a new map.
type nominator struct {
	mu        sync.Mutex
	byNode    atomic.Pointer[map[string][]*framework.PodInfo]
	podToNode map[types.UID]string
}

func newNominator() *nominator {
	n := &nominator{podToNode: map[types.UID]string{}}
	m := map[string][]*framework.PodInfo{}
	n.byNode.Store(&m)
	return n
}

// PodsForNode returns the pods nominated to the node.
func (n *nominator) PodsForNode(node string) []*framework.PodInfo {
	m := *n.byNode.Load()
	if len(m) == 0 {
		return nil
	}
	return m[node]
}

// add nominates pi to node (pod.status.nominatedNodeName when node is empty); it replaces an
// earlier nomination of the same pod.
func (n *nominator) add(pi *framework.PodInfo, node string) {
	if node == "" {
		node = pi.Pod.Status.NominatedNodeName
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	old := *n.byNode.Load()
	prev, had := n.podToNode[pi.Pod.UID]
	if node == "" && !had {
		return
	}
	m := make(map[string][]*framework.PodInfo, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	if had {
		m[prev] = without(m[prev], pi.Pod.UID)
		if len(m[prev]) == 0 {
			delete(m, prev)
		}
		delete(n.podToNode, pi.Pod.UID)
	}
	if node != "" {
		m[node] = append(append([]*framework.PodInfo(nil), m[node]...), pi)
		n.podToNode[pi.Pod.UID] = node
	}
	n.byNode.Store(&m)
}

// delete removes the pod's nomination.
func (n *nominator) delete(pod *corev1.Pod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	node, ok := n.podToNode[pod.UID]
	if !ok {
		return
	}
	delete(n.podToNode, pod.UID)
	old := *n.byNode.Load()
	m := make(map[string][]*framework.PodInfo, len(old))
	for k, v := range old {
		m[k] = v
	}
	m[node] = without(m[node], pod.UID)
	if len(m[node]) == 0 {
		delete(m, node)
	}
	n.byNode.Store(&m)
}

// nodeOf returns the pod's nominated node.
func (n *nominator) nodeOf(uid types.UID) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.podToNode[uid]
}

func without(s []*framework.PodInfo, uid types.UID) []*framework.PodInfo {
	out := make([]*framework.PodInfo, 0, len(s))
	for _, p := range s {
		if p.Pod.UID != uid {
			out = append(out, p)
		}
	}
	return out
}
