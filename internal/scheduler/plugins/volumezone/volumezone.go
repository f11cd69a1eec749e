// Package volumezone is the VolumeZone plugin: a pod using a bound PersistentVolume
// labeled with a zone or region fits only nodes in that zone or region.
package volumezone

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

// ErrReasonConflict is upstream's filter reason.
const ErrReasonConflict = "node(s) had no available volume zone"

const preFilterKey = "PreFilter" + config.VolumeZone

// topologyLabels are the zone and region labels, current and deprecated.
var topologyLabels = []string{
	corev1.LabelTopologyZone, corev1.LabelTopologyRegion,
	corev1.LabelFailureDomainBetaZone, corev1.LabelFailureDomainBetaRegion,
}

// VolumeZone filters volume topology.
type VolumeZone struct {
	h framework.Handle
}

// New returns the plugin.
func New(_ any, h framework.Handle) (framework.Plugin, error) { return &VolumeZone{h: h}, nil }

// Name of the plugin.
func (*VolumeZone) Name() string { return config.VolumeZone }

type requirement struct {
	key    string
	values map[string]bool
}

type preFilterState []requirement

func (s preFilterState) Clone() framework.StateData { return s }

// PreFilter collects the zone labels of the pod's bound volumes; without any it skips.
func (p *VolumeZone) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	var reqs preFilterState
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim == nil || p.h == nil {
			continue
		}
		pvc, err := p.h.PVCs().PersistentVolumeClaims(pod.Namespace).Get(v.PersistentVolumeClaim.ClaimName)
		if err != nil || pvc.Spec.VolumeName == "" {
			continue
		}
		pv, err := p.h.PVs().Get(pvc.Spec.VolumeName)
		if err != nil {
			continue
		}
		for _, key := range topologyLabels {
			if val, ok := pv.Labels[key]; ok {
				// A volume may span zones: "a__b".
				vals := map[string]bool{}
				for _, z := range strings.Split(val, "__") {
					vals[z] = true
				}
				reqs = append(reqs, requirement{key: key, values: vals})
			}
		}
	}
	if len(reqs) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	state.Write(preFilterKey, reqs)
	return nil, nil
}

// PreFilterExtensions: nothing depends on other pods.
func (p *VolumeZone) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Filter rejects nodes outside the volumes' zones (nodes without zone labels pass).
func (p *VolumeZone) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	reqs, err := framework.ReadState[preFilterState](state, preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	labels := ni.Node().Labels
	hasZone := false
	for _, key := range topologyLabels {
		if _, ok := labels[key]; ok {
			hasZone = true
		}
	}
	if !hasZone {
		return nil
	}
	for _, r := range reqs {
		v, ok := labels[r.key]
		if !ok {
			// Match the deprecated label against the current one and vice versa.
			switch r.key {
			case corev1.LabelTopologyZone:
				v, ok = labels[corev1.LabelFailureDomainBetaZone]
			case corev1.LabelFailureDomainBetaZone:
				v, ok = labels[corev1.LabelTopologyZone]
			case corev1.LabelTopologyRegion:
				v, ok = labels[corev1.LabelFailureDomainBetaRegion]
			case corev1.LabelFailureDomainBetaRegion:
				v, ok = labels[corev1.LabelTopologyRegion]
			}
		}
		if !ok || !r.values[v] {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonConflict)
		}
	}
	return nil
}

// EventsToRegister: nodes added or relabeled, claims and volumes added or changed.
func (p *VolumeZone) EventsToRegister() []framework.ClusterEventWithHint {
	return []framework.ClusterEventWithHint{
		{Event: framework.ClusterEvent{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeLabel}},
		{Event: framework.ClusterEvent{Resource: framework.PersistentVolumeClaim, ActionType: framework.Add | framework.Update}},
		{Event: framework.ClusterEvent{Resource: framework.PersistentVolume, ActionType: framework.Add | framework.Update}},
		{Event: framework.ClusterEvent{Resource: framework.StorageClass, ActionType: framework.Add}},
	}
}

var (
	_ framework.PreFilterPlugin = (*VolumeZone)(nil)
	_ framework.FilterPlugin    = (*VolumeZone)(nil)
)
