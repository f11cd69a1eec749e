// Package volumerestrictions is the VolumeRestrictions plugin: a pod may not share a node
// with a pod using the same GCE PD, AWS EBS, RBD or iSCSI disk read-write, and a
// ReadWriteOncePod claim may be used by one pod only, anywhere in the cluster.
package volumerestrictions

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

// Filter reasons, upstream's.
const (
	ErrReasonDiskConflict             = "node(s) had no available disk"
	ErrReasonReadWriteOncePodConflict = "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode"
)

const preFilterKey = "PreFilter" + config.VolumeRestrictions

// VolumeRestrictions filters volume conflicts.
type VolumeRestrictions struct {
	h framework.Handle
}

// New returns the plugin.
func New(_ any, h framework.Handle) (framework.Plugin, error) { return &VolumeRestrictions{h: h}, nil }

// Name of the plugin.
func (*VolumeRestrictions) Name() string { return config.VolumeRestrictions }

type preFilterState struct {
	// rwop are the pod's ReadWriteOncePod claims ("namespace/name"); conflicts counts the
	// other pods using them.
	rwop      []string
	conflicts int
}

func (s *preFilterState) Clone() framework.StateData {
	c := *s
	return &c
}

func hasDisks(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.GCEPersistentDisk != nil || v.AWSElasticBlockStore != nil || v.RBD != nil || v.ISCSI != nil {
			return true
		}
	}
	return false
}

// PreFilter finds the pod's ReadWriteOncePod claims and counts the pods already using
// them; a pod with neither such claims nor conflict-prone disks skips the filter.
func (p *VolumeRestrictions) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	s := &preFilterState{}
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim == nil || p.h == nil {
			continue
		}
		pvc, err := p.h.PVCs().PersistentVolumeClaims(pod.Namespace).Get(v.PersistentVolumeClaim.ClaimName)
		if err != nil {
			continue // VolumeBinding reports missing claims
		}
		for _, m := range pvc.Spec.AccessModes {
			if m == corev1.ReadWriteOncePod {
				s.rwop = append(s.rwop, pod.Namespace+"/"+pvc.Name)
			}
		}
	}
	if len(s.rwop) == 0 && !hasDisks(pod) {
		return nil, framework.NewStatus(framework.Skip)
	}
	for _, ni := range snap.NodeInfoList {
		for _, key := range s.rwop {
			s.conflicts += ni.PVCRefCounts[key]
		}
	}
	state.Write(preFilterKey, s)
	return nil, nil
}

// PreFilterExtensions keeps the claim users counted through preemption.
func (p *VolumeRestrictions) PreFilterExtensions() framework.PreFilterExtensions { return p }

func (p *VolumeRestrictions) update(state *framework.CycleState, changed *framework.PodInfo, delta int) *framework.Status {
	s, err := framework.ReadState[*preFilterState](state, preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	for _, v := range changed.Pod.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		key := changed.Pod.Namespace + "/" + v.PersistentVolumeClaim.ClaimName
		for _, k := range s.rwop {
			if k == key {
				s.conflicts += delta
			}
		}
	}
	return nil
}

// AddPod counts an added claim user.
func (p *VolumeRestrictions) AddPod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, added *framework.PodInfo, _ *framework.NodeInfo) *framework.Status {
	return p.update(state, added, 1)
}

// RemovePod uncounts a removed claim user.
func (p *VolumeRestrictions) RemovePod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, removed *framework.PodInfo, _ *framework.NodeInfo) *framework.Status {
	return p.update(state, removed, -1)
}

// Filter rejects disk conflicts on the node and ReadWriteOncePod claims in use.
func (p *VolumeRestrictions) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	for i := range pod.Spec.Volumes {
		for _, other := range ni.Pods {
			for j := range other.Pod.Spec.Volumes {
				if conflicts(&pod.Spec.Volumes[i], &other.Pod.Spec.Volumes[j]) {
					return framework.NewStatus(framework.Unschedulable, ErrReasonDiskConflict)
				}
			}
		}
	}
	if s, err := framework.ReadState[*preFilterState](state, preFilterKey); err == nil && s.conflicts > 0 {
		return framework.NewStatus(framework.Unschedulable, ErrReasonReadWriteOncePodConflict)
	}
	return nil
}

// conflicts says whether two volumes are the same disk used in a way that cannot be
// shared: GCE PD unless both are read-only, AWS EBS always, RBD and iSCSI unless both are
// read-only.
func conflicts(a, b *corev1.Volume) bool {
	switch {
	case a.GCEPersistentDisk != nil && b.GCEPersistentDisk != nil:
		return a.GCEPersistentDisk.PDName == b.GCEPersistentDisk.PDName && !(a.GCEPersistentDisk.ReadOnly && b.GCEPersistentDisk.ReadOnly)
	case a.AWSElasticBlockStore != nil && b.AWSElasticBlockStore != nil:
		return a.AWSElasticBlockStore.VolumeID == b.AWSElasticBlockStore.VolumeID
	case a.ISCSI != nil && b.ISCSI != nil:
		return a.ISCSI.IQN == b.ISCSI.IQN && !(a.ISCSI.ReadOnly && b.ISCSI.ReadOnly)
	case a.RBD != nil && b.RBD != nil:
		return a.RBD.RBDPool == b.RBD.RBDPool && a.RBD.RBDImage == b.RBD.RBDImage && sharesMonitor(a.RBD.CephMonitors, b.RBD.CephMonitors) &&
			!(a.RBD.ReadOnly && b.RBD.ReadOnly)
	}
	return false
}

func sharesMonitor(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// EventsToRegister: a pod using a disk or claim goes away, a claim is added or changed.
func (p *VolumeRestrictions) EventsToRegister() []framework.ClusterEventWithHint {
	return []framework.ClusterEventWithHint{
		{Event: framework.EventAssignedPodDelete},
		{Event: framework.ClusterEvent{Resource: framework.PersistentVolumeClaim, ActionType: framework.Add | framework.Update}},
	}
}

var (
	_ framework.PreFilterPlugin = (*VolumeRestrictions)(nil)
	_ framework.FilterPlugin    = (*VolumeRestrictions)(nil)
)
