// Package volumebinding is the VolumeBinding plugin, basics only: a pod's claims must exist
// and not be deleting; a claim bound to a volume with node affinity (a local volume) limits
// the pod to the nodes that affinity selects; an unbound claim of a WaitForFirstConsumer
// class needs, on the node, either an available volume of its class that fits (size, access
// modes, node affinity) or a provisioner able to provision there; an unbound claim of an
// Immediate class waits for the volume binder. The scheduler does not bind volumes: for
// claims that will be provisioned it only records the chosen node on the claim
// (volume.kubernetes.io/selected-node), for the provisioner.
package volumebinding

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

// Filter reasons, upstream's.
const (
	ErrReasonBindConflict       = "node(s) didn't find available persistent volumes to bind"
	ErrReasonNodeConflict       = "node(s) didn't match PersistentVolume's node affinity"
	ErrReasonUnboundImmediatePV = "pod has unbound immediate PersistentVolumeClaims"
	// SelectedNodeAnnotation tells a provisioner where the pod goes.
	SelectedNodeAnnotation = "volume.kubernetes.io/selected-node"
	noProvisioner          = "kubernetes.io/no-provisioner"
)

const preFilterKey = "PreFilter" + config.VolumeBinding

// VolumeBinding filters on volumes.
type VolumeBinding struct {
	h framework.Handle
}

// New returns the plugin.
func New(_ any, h framework.Handle) (framework.Plugin, error) { return &VolumeBinding{h: h}, nil }

// Name of the plugin.
func (*VolumeBinding) Name() string { return config.VolumeBinding }

type delayedClaim struct {
	pvc   *corev1.PersistentVolumeClaim
	class *storagev1.StorageClass
	// candidates are the available volumes of the class.
	candidates []*corev1.PersistentVolume
}

type preFilterState struct {
	// boundAffinity are the node affinities of the bound volumes.
	boundAffinity []*framework.NodeSelector
	delayed       []delayedClaim
}

func (s *preFilterState) Clone() framework.StateData { return s }

// claimNames lists the pod's claims, including generic ephemeral volumes' ("pod-volume").
func claimNames(pod *corev1.Pod) []string {
	var out []string
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			out = append(out, pod.Name+"-"+v.Name)
		}
	}
	return out
}

// PreFilter resolves the pod's claims; a pod without claims skips the filter.
func (p *VolumeBinding) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	names := claimNames(pod)
	if len(names) == 0 || p.h == nil {
		return nil, framework.NewStatus(framework.Skip)
	}
	s := &preFilterState{}
	var pvs []*corev1.PersistentVolume
	for _, name := range names {
		pvc, err := p.h.PVCs().PersistentVolumeClaims(pod.Namespace).Get(name)
		if err != nil {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q not found", name))
		}
		if pvc.DeletionTimestamp != nil {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q is being deleted", name))
		}
		if pvc.Spec.VolumeName != "" {
			pv, err := p.h.PVs().Get(pvc.Spec.VolumeName)
			if err != nil {
				return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("pvc %s/%s bound to non-existent pv %s", pod.Namespace, name, pvc.Spec.VolumeName))
			}
			if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil {
				s.boundAffinity = append(s.boundAffinity, framework.NewNodeSelector(pv.Spec.NodeAffinity.Required))
			}
			continue
		}
		class := classOf(pvc)
		var sc *storagev1.StorageClass
		if class != "" {
			sc, _ = p.h.StorageClasses().Get(class)
		}
		if sc == nil || sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnboundImmediatePV)
		}
		if pvs == nil {
			pvs, _ = p.h.PVs().List(labels.Everything())
		}
		dc := delayedClaim{pvc: pvc, class: sc}
		for _, pv := range pvs {
			if volumeFits(pv, pvc, class) {
				dc.candidates = append(dc.candidates, pv)
			}
		}
		s.delayed = append(s.delayed, dc)
	}
	state.Write(preFilterKey, s)
	return nil, nil
}

func classOf(pvc *corev1.PersistentVolumeClaim) string {
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName
	}
	return pvc.Annotations[corev1.BetaStorageClassAnnotation]
}

// volumeFits says whether pv, ignoring its node affinity, can serve the claim.
func volumeFits(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim, class string) bool {
	if pv.DeletionTimestamp != nil || pv.Spec.StorageClassName != class {
		return false
	}
	if ref := pv.Spec.ClaimRef; ref != nil && (ref.Namespace != pvc.Namespace || ref.Name != pvc.Name || ref.UID != "" && ref.UID != pvc.UID) {
		return false
	}
	// Upstream takes only Available volumes; a Pending one (no volume binder has looked at
	// it yet, as when the cluster runs none) is as good here. Released and Failed ones are not.
	if pv.Status.Phase == corev1.VolumeReleased || pv.Status.Phase == corev1.VolumeFailed {
		return false
	}
	pvMode, claimMode := corev1.PersistentVolumeFilesystem, corev1.PersistentVolumeFilesystem
	if pv.Spec.VolumeMode != nil {
		pvMode = *pv.Spec.VolumeMode
	}
	if pvc.Spec.VolumeMode != nil {
		claimMode = *pvc.Spec.VolumeMode
	}
	if pvMode != claimMode {
		return false
	}
	want := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	have := pv.Spec.Capacity[corev1.ResourceStorage]
	if have.Cmp(want) < 0 {
		return false
	}
	for _, m := range pvc.Spec.AccessModes {
		found := false
		for _, pm := range pv.Spec.AccessModes {
			found = found || pm == m
		}
		if !found {
			return false
		}
	}
	if pvc.Spec.Selector != nil {
		return false // claims selecting volumes are left to the volume binder
	}
	return true
}

// PreFilterExtensions: nothing depends on other pods.
func (p *VolumeBinding) PreFilterExtensions() framework.PreFilterExtensions { return nil }

// Filter checks bound volumes' node affinity and that each delayed claim can be served on
// the node (each volume serving one claim).
func (p *VolumeBinding) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	s, err := framework.ReadState[*preFilterState](state, preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	node := ni.Node()
	for _, sel := range s.boundAffinity {
		if !sel.Match(node) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeConflict)
		}
	}
	used := map[types.UID]bool{}
	for _, dc := range s.delayed {
		if !servable(dc, node, used) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonBindConflict)
		}
	}
	return nil
}

func servable(dc delayedClaim, node *corev1.Node, used map[types.UID]bool) bool {
	for _, pv := range dc.candidates {
		if used[pv.UID] {
			continue
		}
		if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil && !framework.NewNodeSelector(pv.Spec.NodeAffinity.Required).Match(node) {
			continue
		}
		used[pv.UID] = true
		return true
	}
	return provisionable(dc.class, node)
}

// provisionable says whether the class's provisioner may provision for the node.
func provisionable(sc *storagev1.StorageClass, node *corev1.Node) bool {
	if sc.Provisioner == "" || sc.Provisioner == noProvisioner {
		return false
	}
	if len(sc.AllowedTopologies) == 0 {
		return true
	}
	for _, term := range sc.AllowedTopologies {
		ok := true
		for _, req := range term.MatchLabelExpressions {
			v, has := node.Labels[req.Key]
			found := false
			for _, want := range req.Values {
				found = found || has && v == want
			}
			ok = ok && found
		}
		if ok {
			return true
		}
	}
	return false
}

// ClaimsToProvision returns the pod's delayed claims that no existing volume serves on the
// node and that its class will provision: the scheduler sets selected-node on them.
func (p *VolumeBinding) ClaimsToProvision(state *framework.CycleState, node *corev1.Node) []*corev1.PersistentVolumeClaim {
	s, err := framework.ReadState[*preFilterState](state, preFilterKey)
	if err != nil {
		return nil
	}
	var out []*corev1.PersistentVolumeClaim
	used := map[types.UID]bool{}
	for _, dc := range s.delayed {
		served := false
		for _, pv := range dc.candidates {
			if used[pv.UID] || pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil && !framework.NewNodeSelector(pv.Spec.NodeAffinity.Required).Match(node) {
				continue
			}
			used[pv.UID], served = true, true
			break
		}
		if !served && provisionable(dc.class, node) && dc.pvc.Annotations[SelectedNodeAnnotation] != node.Name {
			out = append(out, dc.pvc)
		}
	}
	return out
}

// EventsToRegister: claims, volumes and classes appearing or changing, nodes added or
// relabeled.
func (p *VolumeBinding) EventsToRegister() []framework.ClusterEventWithHint {
	return []framework.ClusterEventWithHint{
		{Event: framework.ClusterEvent{Resource: framework.PersistentVolumeClaim, ActionType: framework.Add | framework.Update}},
		{Event: framework.ClusterEvent{Resource: framework.PersistentVolume, ActionType: framework.Add | framework.Update}},
		{Event: framework.ClusterEvent{Resource: framework.StorageClass, ActionType: framework.Add | framework.Update}},
		{Event: framework.ClusterEvent{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeLabel}},
	}
}

var (
	_ framework.PreFilterPlugin = (*VolumeBinding)(nil)
	_ framework.FilterPlugin    = (*VolumeBinding)(nil)
)
