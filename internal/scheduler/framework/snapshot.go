package framework

import (
	corev1 "k8s.io/api/core/v1"
)

// Snapshot is the view of every node one scheduling cycle works on. The scheduler's cache
// brings it up to date between cycles (copying only nodes whose generation moved); during a
// cycle nothing changes it, so plugins read it from several goroutines without locks.
type Snapshot struct {
	NodeInfoMap map[string]*NodeInfo
	// NodeInfoList holds every node with a node object, in the cache's zone-interleaved order.
	NodeInfoList []*NodeInfo
	// HavePodsWithAffinity and HavePodsWithRequiredAntiAffinity are the nodes with such pods.
	HavePodsWithAffinity             []*NodeInfo
	HavePodsWithRequiredAntiAffinity []*NodeInfo
	// ImageNodes counts, for each normalized image name, the nodes that have it.
	ImageNodes map[string]int
	// Generation is the cache generation the snapshot reflects; ImagesGeneration the cache's
	// image-set generation ImageNodes was counted at.
	Generation       int64
	ImagesGeneration int64
}

// NewEmptySnapshot returns a snapshot for the cache to fill.
func NewEmptySnapshot() *Snapshot {
	return &Snapshot{NodeInfoMap: map[string]*NodeInfo{}, ImageNodes: map[string]int{}}
}

// NewSnapshot builds a snapshot of nodes with pods (those with spec.nodeName) for tests and
// simulations.
func NewSnapshot(pods []*corev1.Pod, nodes []*corev1.Node) *Snapshot {
	s := NewEmptySnapshot()
	for _, n := range nodes {
		ni := NewNodeInfo()
		ni.SetNode(n)
		s.NodeInfoMap[n.Name] = ni
		s.NodeInfoList = append(s.NodeInfoList, ni)
	}
	for _, p := range pods {
		ni, ok := s.NodeInfoMap[p.Spec.NodeName]
		if !ok {
			continue
		}
		ni.AddPodInfo(NewPodInfo(p))
	}
	s.RebuildLists()
	s.ImageNodes = CountImageNodes(s.NodeInfoList)
	return s
}

// RebuildLists recomputes the affinity lists from NodeInfoList.
func (s *Snapshot) RebuildLists() {
	s.HavePodsWithAffinity = s.HavePodsWithAffinity[:0]
	s.HavePodsWithRequiredAntiAffinity = s.HavePodsWithRequiredAntiAffinity[:0]
	for _, ni := range s.NodeInfoList {
		if len(ni.PodsWithAffinity) > 0 {
			s.HavePodsWithAffinity = append(s.HavePodsWithAffinity, ni)
		}
		if len(ni.PodsWithRequiredAntiAffinity) > 0 {
			s.HavePodsWithRequiredAntiAffinity = append(s.HavePodsWithRequiredAntiAffinity, ni)
		}
	}
}

// CountImageNodes counts the nodes having each image.
func CountImageNodes(nodes []*NodeInfo) map[string]int {
	out := map[string]int{}
	for _, ni := range nodes {
		for name := range ni.Images {
			out[name]++
		}
	}
	return out
}

// Get returns the node's NodeInfo, nil when unknown.
func (s *Snapshot) Get(name string) *NodeInfo { return s.NodeInfoMap[name] }

// NumNodes is the number of nodes with a node object.
func (s *Snapshot) NumNodes() int { return len(s.NodeInfoList) }
