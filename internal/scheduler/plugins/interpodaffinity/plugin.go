// Package interpodaffinity is the InterPodAffinity plugin. Filter: a pod with required pod
// affinity goes only where, in each term's topology domain (the nodes sharing the
// topologyKey label value), pods matching all its terms already run (or, for the first of a
// self-affine group, where no matching pod runs anywhere); a pod with required
// anti-affinity avoids domains running pods its terms match; and no pod goes where an
// existing pod's required anti-affinity matches it. Score: preferred terms of the pod and of
// existing pods, and existing pods' required affinity (hardPodAffinityWeight), add or
// subtract their weights per domain, normalized to 0..100.
package interpodaffinity

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

// Filter reasons, upstream's.
const (
	ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
	ErrReasonAffinityRulesNotMatch             = "node(s) didn't match pod affinity rules"
	ErrReasonAntiAffinityRulesNotMatch         = "node(s) didn't match pod anti-affinity rules"
)

// InterPodAffinity filters and scores inter-pod (anti-)affinity.
type InterPodAffinity struct {
	args       config.InterPodAffinityArgs
	services   framework.Services
	parallel   int
	namespaces func(sel labels.Selector) []string
}

// New builds the plugin from *config.InterPodAffinityArgs (defaults when nil).
func New(args any, h framework.Handle) (framework.Plugin, error) {
	p := &InterPodAffinity{args: config.InterPodAffinityArgs{HardPodAffinityWeight: 1}, parallel: 1}
	if a, ok := args.(*config.InterPodAffinityArgs); ok && a != nil {
		p.args = *a
	}
	if h != nil {
		p.services = h
		p.parallel = h.Parallelism()
	}
	return p, nil
}

// Name of the plugin.
func (*InterPodAffinity) Name() string { return config.InterPodAffinity }

func (p *InterPodAffinity) namespaceLabels(ns string) labels.Set {
	if p.services == nil {
		return nil
	}
	return p.services.NamespaceLabels(ns)
}

// mergeNamespaces resolves the namespace selectors of the incoming pod's terms into
// namespace names, once per cycle, so matching existing pods needs no namespace lookups.
func (p *InterPodAffinity) mergeNamespaces(terms []framework.AffinityTerm) []framework.AffinityTerm {
	var out []framework.AffinityTerm
	for i, t := range terms {
		if !t.HasNamespaceSelector {
			continue
		}
		if out == nil {
			out = append([]framework.AffinityTerm(nil), terms...)
		}
		ns := t.Namespaces.Clone()
		if p.services != nil {
			if list, err := p.services.Namespaces().List(t.NamespaceSelector); err == nil {
				for _, n := range list {
					ns.Insert(n.Name)
				}
			}
		}
		out[i].SetNamespaces(ns)
		out[i].NamespaceSelector = labels.Nothing()
		out[i].HasNamespaceSelector = false
	}
	if out == nil {
		return terms
	}
	return out
}

func (p *InterPodAffinity) mergeWeighted(terms []framework.WeightedAffinityTerm) []framework.WeightedAffinityTerm {
	plain := make([]framework.AffinityTerm, len(terms))
	for i := range terms {
		plain[i] = terms[i].AffinityTerm
	}
	merged := p.mergeNamespaces(plain)
	out := make([]framework.WeightedAffinityTerm, len(terms))
	for i := range terms {
		out[i] = framework.WeightedAffinityTerm{AffinityTerm: merged[i], Weight: terms[i].Weight}
	}
	return out
}

// podMatchesAll says whether pod matches every term (false for no terms).
func podMatchesAll(terms []framework.AffinityTerm, pod *corev1.Pod) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].Matches(pod, nil) {
			return false
		}
	}
	return true
}

// EventsToRegister: assigned pods added, relabeled or deleted, nodes added or relabeled,
// and the pod's own relabeling.
func (p *InterPodAffinity) EventsToRegister() []framework.ClusterEventWithHint {
	return []framework.ClusterEventWithHint{
		{Event: framework.ClusterEvent{Resource: framework.Pod, ActionType: framework.Add | framework.UpdatePodLabel | framework.Delete}, Hint: p.podChangeHint},
		{Event: framework.ClusterEvent{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeLabel}},
		{Event: framework.ClusterEvent{Resource: framework.UnscheduledPod, ActionType: framework.UpdatePodLabel}},
		{Event: framework.ClusterEvent{Resource: framework.Namespace, ActionType: framework.Add | framework.Update}},
	}
}

// podChangeHint queues the pod when an assigned pod appearing may satisfy its affinity,
// or a pod going away (or changing labels) may lift an anti-affinity conflict.
func (p *InterPodAffinity) podChangeHint(pod *corev1.Pod, oldObj, newObj any) framework.QueueingHint {
	pi := framework.NewPodInfo(pod)
	nsLabels := p.namespaceLabels(pod.Namespace)
	if n, ok := newObj.(*corev1.Pod); ok {
		// A matching pod appeared (or now matches): affinity may be satisfied.
		for i := range pi.RequiredAffinityTerms {
			if pi.RequiredAffinityTerms[i].Matches(n, p.namespaceLabels(n.Namespace)) {
				return framework.Queue
			}
		}
		if oldObj == nil {
			return framework.QueueSkip
		}
	}
	old, ok := oldObj.(*corev1.Pod)
	if !ok {
		return framework.Queue
	}
	// A pod gone or relabeled no longer counts against the pod's anti-affinity, or its
	// own anti-affinity no longer applies.
	for i := range pi.RequiredAntiAffinityTerms {
		if pi.RequiredAntiAffinityTerms[i].Matches(old, p.namespaceLabels(old.Namespace)) {
			return framework.Queue
		}
	}
	oi := framework.NewPodInfo(old)
	for i := range oi.RequiredAntiAffinityTerms {
		if oi.RequiredAntiAffinityTerms[i].Matches(pod, nsLabels) {
			return framework.Queue
		}
	}
	return framework.QueueSkip
}

// topologyPair is a topology key and value: one domain.
type topologyPair struct {
	key, value string
}

type counts map[topologyPair]int64

func (c counts) add(key string, node *corev1.Node, delta int64) {
	v, ok := node.Labels[key]
	if !ok {
		return
	}
	tp := topologyPair{key, v}
	c[tp] += delta
	if c[tp] == 0 {
		delete(c, tp)
	}
}

func (c counts) merge(o counts) {
	for k, v := range o {
		c[k] += v
	}
}

func (c counts) clone() counts {
	out := make(counts, len(c))
	out.merge(c)
	return out
}

var (
	_ framework.PreFilterPlugin = (*InterPodAffinity)(nil)
	_ framework.FilterPlugin    = (*InterPodAffinity)(nil)
	_ framework.PreScorePlugin  = (*InterPodAffinity)(nil)
	_ framework.ScorePlugin     = (*InterPodAffinity)(nil)
)
