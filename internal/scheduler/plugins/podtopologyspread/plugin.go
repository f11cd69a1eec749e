// Package podtopologyspread is the PodTopologySpread plugin. Filter: for each DoNotSchedule
// constraint, placing the pod in a node's domain must keep (matching pods in the domain +
// the pod) - (fewest matching pods in any eligible domain, 0 while there are fewer domains
// than minDomains) within maxSkew. Score: ScheduleAnyway constraints (or, for pods without
// constraints, the profile's defaults) prefer domains with fewer matching pods. Which nodes
// count as domains follows nodeAffinityPolicy (default Honor: only nodes the pod's node
// affinity allows) and nodeTaintsPolicy (default Ignore).
package podtopologyspread

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

// Filter reasons, upstream's.
const (
	ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
	ErrReasonNodeLabelNotMatch   = ErrReasonConstraintsNotMatch + " (missing required label)"
)

// systemDefaults are upstream's built-in soft constraints for pods of a Service or
// controller.
var systemDefaults = []corev1.TopologySpreadConstraint{
	{TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway, MaxSkew: 3},
	{TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway, MaxSkew: 5},
}

// PodTopologySpread filters and scores spreading.
type PodTopologySpread struct {
	defaults []corev1.TopologySpreadConstraint
	system   bool
	services framework.Services
	parallel int
}

// New builds the plugin from *config.PodTopologySpreadArgs (System defaulting when nil).
func New(args any, h framework.Handle) (framework.Plugin, error) {
	p := &PodTopologySpread{system: true, defaults: systemDefaults, parallel: 1}
	if a, ok := args.(*config.PodTopologySpreadArgs); ok && a != nil && a.DefaultingType == config.ListDefaulting {
		p.system, p.defaults = false, a.DefaultConstraints
	}
	if h != nil {
		p.services, p.parallel = h, h.Parallelism()
	}
	return p, nil
}

// Name of the plugin.
func (*PodTopologySpread) Name() string { return config.PodTopologySpread }

// constraint is a parsed TopologySpreadConstraint.
type constraint struct {
	maxSkew        int32
	key            string
	selector       labels.Selector
	minDomains     int32
	honorAffinity  bool
	honorTaints    bool
	selfMatchCount int
}

// constraints returns the pod's constraints with the given action, or the defaults for a
// pod without any (defaults are always soft).
func (p *PodTopologySpread) constraints(pod *corev1.Pod, action corev1.UnsatisfiableConstraintAction) ([]constraint, error) {
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		return parse(pod, pod.Spec.TopologySpreadConstraints, action)
	}
	if action != corev1.ScheduleAnyway || len(p.defaults) == 0 || p.services == nil {
		return nil, nil
	}
	sel := p.services.DefaultSpreadSelector(pod)
	if sel == nil || sel.Empty() {
		return nil, nil
	}
	out, err := parse(pod, p.defaults, action)
	for i := range out {
		out[i].selector = sel
		out[i].selfMatchCount = boolInt(sel.Matches(labels.Set(pod.Labels)))
	}
	return out, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func parse(pod *corev1.Pod, tscs []corev1.TopologySpreadConstraint, action corev1.UnsatisfiableConstraintAction) ([]constraint, error) {
	var out []constraint
	for _, c := range tscs {
		if c.WhenUnsatisfiable != action {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			return nil, fmt.Errorf("topology spread constraint selector: %w", err)
		}
		if c.LabelSelector != nil {
			for _, k := range c.MatchLabelKeys {
				if v, ok := pod.Labels[k]; ok {
					if r, err := labels.NewRequirement(k, selection.In, []string{v}); err == nil {
						sel = sel.Add(*r)
					}
				}
			}
		}
		pc := constraint{
			maxSkew: c.MaxSkew, key: c.TopologyKey, selector: sel, minDomains: 1,
			honorAffinity: c.NodeAffinityPolicy == nil || *c.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor,
			honorTaints:   c.NodeTaintsPolicy != nil && *c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor,
		}
		if c.MinDomains != nil {
			pc.minDomains = *c.MinDomains
		}
		pc.selfMatchCount = boolInt(sel.Matches(labels.Set(pod.Labels)))
		out = append(out, pc)
	}
	return out, nil
}

// eligible says whether the node counts as a domain member for c.
func (c *constraint) eligible(pod *corev1.Pod, node *corev1.Node, affinity framework.RequiredNodeAffinity) bool {
	if c.honorAffinity && !affinity.Match(node) {
		return false
	}
	if c.honorTaints {
		if _, bad := framework.FindUntoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations, func(t *corev1.Taint) bool {
			return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
		}); bad {
			return false
		}
	}
	return true
}

// hasAllKeys says whether the node carries every constraint's topology key.
func hasAllKeys(node *corev1.Node, cs []constraint) bool {
	for i := range cs {
		if _, ok := node.Labels[cs[i].key]; !ok {
			return false
		}
	}
	return true
}

// countMatching counts the non-terminating pods of the namespace the selector matches.
func countMatching(pods []*framework.PodInfo, sel labels.Selector, ns string) int {
	n := 0
	for _, pi := range pods {
		p := pi.Pod
		if p.DeletionTimestamp == nil && p.Namespace == ns && sel.Matches(labels.Set(p.Labels)) {
			n++
		}
	}
	return n
}

// EventsToRegister: pods appearing, relabeled or going away, nodes added, removed,
// relabeled or retainted, and the pod's own relabeling.
func (p *PodTopologySpread) EventsToRegister() []framework.ClusterEventWithHint {
	return []framework.ClusterEventWithHint{
		{Event: framework.ClusterEvent{Resource: framework.Pod, ActionType: framework.Add | framework.UpdatePodLabel | framework.Delete}, Hint: p.podChangeHint},
		{Event: framework.ClusterEvent{Resource: framework.Node, ActionType: framework.Add | framework.Delete | framework.UpdateNodeLabel | framework.UpdateNodeTaint}},
		{Event: framework.ClusterEvent{Resource: framework.UnscheduledPod, ActionType: framework.UpdatePodLabel}},
	}
}

// podChangeHint queues the pod when the changed pod is in its namespace and matched (or
// matches) one of its constraints.
func (p *PodTopologySpread) podChangeHint(pod *corev1.Pod, oldObj, newObj any) framework.QueueingHint {
	cs, err := parse(pod, pod.Spec.TopologySpreadConstraints, corev1.DoNotSchedule)
	if err != nil || len(cs) == 0 {
		return framework.Queue
	}
	for _, obj := range []any{oldObj, newObj} {
		o, ok := obj.(*corev1.Pod)
		if !ok || o.Namespace != pod.Namespace {
			continue
		}
		for i := range cs {
			if cs[i].selector.Matches(labels.Set(o.Labels)) {
				return framework.Queue
			}
		}
	}
	return framework.QueueSkip
}

var (
	_ framework.PreFilterPlugin = (*PodTopologySpread)(nil)
	_ framework.FilterPlugin    = (*PodTopologySpread)(nil)
	_ framework.PreScorePlugin  = (*PodTopologySpread)(nil)
	_ framework.ScorePlugin     = (*PodTopologySpread)(nil)
)
