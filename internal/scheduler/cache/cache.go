package cache

import (
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"capstan/internal/scheduler/framework"
)

// Cache tracks nodes and the pods on them. It is safe for concurrent use: informer
// handlers, binding goroutines and the scheduling loop all call it.
type Cache struct {
	mu         sync.Mutex
	generation int64
	// nodes are kept in a list ordered by last change, most recent first, so a snapshot
	// update walks only the nodes changed since the previous one.
	nodes map[string]*nodeItem
	head  *nodeItem
	tree  *nodeTree
	pods  map[types.UID]*podState
	// imagesGeneration moves whenever a node's image list changes.
	imagesGeneration int64
}

type nodeItem struct {
	info       *framework.NodeInfo
	prev, next *nodeItem
}

type podState struct {
	info    *framework.PodInfo
	assumed bool
	// bindingFinished is set once the binding call returned for an assumed pod.
	bindingFinished bool
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{nodes: map[string]*nodeItem{}, tree: newNodeTree(), pods: map[types.UID]*podState{}}
}

func (c *Cache) touch(name string) *nodeItem {
	n, ok := c.nodes[name]
	if !ok {
		n = &nodeItem{info: framework.NewNodeInfo()}
		c.nodes[name] = n
	} else if n == c.head {
		c.generation++
		n.info.Generation = c.generation
		return n
	} else {
		n.prev.next = n.next
		if n.next != nil {
			n.next.prev = n.prev
		}
		n.prev, n.next = nil, nil
	}
	if c.head != nil {
		c.head.prev = n
	}
	n.next = c.head
	c.head = n
	c.generation++
	n.info.Generation = c.generation
	return n
}

func (c *Cache) unlink(name string) {
	n, ok := c.nodes[name]
	if !ok {
		return
	}
	if n.prev != nil {
		n.prev.next = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	}
	if c.head == n {
		c.head = n.next
	}
	delete(c.nodes, name)
}

func (c *Cache) addPodLocked(pi *framework.PodInfo) {
	c.touch(pi.Pod.Spec.NodeName).info.AddPodInfo(pi)
}

func (c *Cache) removePodLocked(pod *corev1.Pod) error {
	n, ok := c.nodes[pod.Spec.NodeName]
	if !ok {
		return fmt.Errorf("node %q of pod %s/%s not in cache", pod.Spec.NodeName, pod.Namespace, pod.Name)
	}
	if err := n.info.RemovePod(pod); err != nil {
		return err
	}
	if len(n.info.Pods) == 0 && n.info.Node() == nil {
		c.unlink(pod.Spec.NodeName)
	} else {
		c.touch(pod.Spec.NodeName)
	}
	return nil
}

// AssumePod counts pi (whose pod has spec.nodeName set to the chosen node) on its node
// before the binding is confirmed.
func (c *Cache) AssumePod(pi *framework.PodInfo) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pi.Pod.UID]; ok {
		return fmt.Errorf("pod %s/%s is in the cache, so can't be assumed", pi.Pod.Namespace, pi.Pod.Name)
	}
	c.addPodLocked(pi)
	c.pods[pi.Pod.UID] = &podState{info: pi, assumed: true}
	return nil
}

// FinishBinding marks an assumed pod's binding call as returned.
func (c *Cache) FinishBinding(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok && ps.assumed {
		ps.bindingFinished = true
	}
}

// ForgetPod undoes AssumePod after a failed binding.
func (c *Cache) ForgetPod(pod *corev1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[pod.UID]
	if !ok {
		return nil
	}
	if !ps.assumed {
		return fmt.Errorf("pod %s/%s was added, not assumed: can't forget it", pod.Namespace, pod.Name)
	}
	delete(c.pods, pod.UID)
	return c.removePodLocked(ps.info.Pod)
}

// IsAssumed says whether the pod is assumed and not yet seen bound.
func (c *Cache) IsAssumed(pod *corev1.Pod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[pod.UID]
	return ok && ps.assumed
}

// AddPod records a bound pod seen by the informer; for an assumed pod this confirms it
// (moving it if it landed elsewhere).
func (c *Cache) AddPod(pod *corev1.Pod) error {
	pi := framework.NewPodInfo(pod)
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		if !ps.assumed {
			return fmt.Errorf("pod %s/%s was already added", pod.Namespace, pod.Name)
		}
		if err := c.removePodLocked(ps.info.Pod); err != nil {
			return err
		}
	}
	c.addPodLocked(pi)
	c.pods[pod.UID] = &podState{info: pi}
	return nil
}

// UpdatePod replaces a bound pod.
func (c *Cache) UpdatePod(old, pod *corev1.Pod) error {
	pi := framework.NewPodInfo(pod)
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[old.UID]
	if !ok {
		c.addPodLocked(pi)
		c.pods[pod.UID] = &podState{info: pi}
		return nil
	}
	if err := c.removePodLocked(ps.info.Pod); err != nil {
		return err
	}
	c.addPodLocked(pi)
	c.pods[pod.UID] = &podState{info: pi}
	return nil
}

// RemovePod forgets a pod (deleted, or terminated).
func (c *Cache) RemovePod(pod *corev1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[pod.UID]
	if !ok {
		return nil
	}
	delete(c.pods, pod.UID)
	return c.removePodLocked(ps.info.Pod)
}

// AddNode records a node.
func (c *Cache) AddNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.touch(node.Name)
	c.tree.update(n.info.Node(), node)
	c.setNode(n, node)
}

// UpdateNode replaces a node.
func (c *Cache) UpdateNode(_, node *corev1.Node) {
	c.AddNode(node)
}

func (c *Cache) setNode(n *nodeItem, node *corev1.Node) {
	old := n.info.Node()
	if old == nil || !sameImages(old.Status.Images, node.Status.Images) {
		c.imagesGeneration = c.generation
	}
	n.info.SetNode(node)
}

func sameImages(a, b []corev1.ContainerImage) bool {
	return slices.EqualFunc(a, b, func(x, y corev1.ContainerImage) bool {
		return x.SizeBytes == y.SizeBytes && slices.Equal(x.Names, y.Names)
	})
}

// RemoveNode forgets a node. Its pods stay until they are deleted (their deletion follows).
func (c *Cache) RemoveNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[node.Name]
	if !ok {
		return
	}
	c.tree.remove(node)
	c.imagesGeneration = c.generation + 1
	if len(n.info.Pods) == 0 {
		c.unlink(node.Name)
		c.generation++
		return
	}
	n.info.RemoveNode()
	c.touch(node.Name)
}

// UpdateSnapshot brings snap up to date: nodes changed since snap's generation are cloned
// into it (keeping the NodeInfo pointers the lists hold), and the lists are rebuilt only when
// the set of nodes or of nodes with affinity pods changed.
func (c *Cache) UpdateSnapshot(snap *framework.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	updateAll, updateAffinity := false, false
	for n := c.head; n != nil && n.info.Generation > snap.Generation; n = n.next {
		node := n.info.Node()
		if node == nil {
			continue
		}
		existing, ok := snap.NodeInfoMap[node.Name]
		if !ok {
			updateAll = true
			existing = &framework.NodeInfo{}
			snap.NodeInfoMap[node.Name] = existing
		}
		clone := n.info.Snapshot()
		if (len(existing.PodsWithAffinity) > 0) != (len(clone.PodsWithAffinity) > 0) ||
			(len(existing.PodsWithRequiredAntiAffinity) > 0) != (len(clone.PodsWithRequiredAntiAffinity) > 0) {
			updateAffinity = true
		}
		*existing = *clone
	}
	snap.Generation = c.generation
	if len(snap.NodeInfoMap) > c.tree.numNodes {
		for name := range snap.NodeInfoMap {
			if n, ok := c.nodes[name]; !ok || n.info.Node() == nil {
				delete(snap.NodeInfoMap, name)
			}
		}
		updateAll = true
	}
	if updateAll {
		names := c.tree.list()
		snap.NodeInfoList = snap.NodeInfoList[:0]
		for _, name := range names {
			if ni, ok := snap.NodeInfoMap[name]; ok {
				snap.NodeInfoList = append(snap.NodeInfoList, ni)
			}
		}
	}
	if updateAll || updateAffinity {
		snap.RebuildLists()
	}
	if updateAll || snap.ImagesGeneration != c.imagesGeneration {
		snap.ImageNodes = framework.CountImageNodes(snap.NodeInfoList)
		snap.ImagesGeneration = c.imagesGeneration
	}
}

// NodeCount and PodCount are for metrics and tests.
func (c *Cache) NodeCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tree.numNodes
}

// PodCount counts bound and assumed pods.
func (c *Cache) PodCount() (bound, assumed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ps := range c.pods {
		if ps.assumed {
			assumed++
		} else {
			bound++
		}
	}
	return bound, assumed
}
