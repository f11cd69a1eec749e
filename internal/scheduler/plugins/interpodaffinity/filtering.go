package interpodaffinity

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

const preFilterKey = "PreFilter" + config.InterPodAffinity

// preFilterState counts, per topology domain, the existing pods relevant to the pod.
type preFilterState struct {
	// existingAnti: existing pods whose required anti-affinity matches the pod;
	// existingAntiKeys: its topology keys.
	existingAnti     counts
	existingAntiKeys []string
	// affinity: existing pods matching all of the pod's required affinity terms, per term
	// domain; anti: existing pods matching each of its anti-affinity terms.
	affinity, anti counts
	// pod's terms, namespace selectors resolved.
	affinityTerms, antiTerms []framework.AffinityTerm
	nsLabels                 labels.Set
}

func (s *preFilterState) Clone() framework.StateData {
	c := *s
	c.existingAnti, c.affinity, c.anti = s.existingAnti.clone(), s.affinity.clone(), s.anti.clone()
	c.existingAntiKeys = append([]string(nil), s.existingAntiKeys...)
	return &c
}

// PreFilter counts matching pods per domain; with no required terms on the pod and no
// existing pod with required anti-affinity it skips the filter.
func (p *InterPodAffinity) PreFilter(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	pi := framework.NewPodInfo(pod)
	if pi.ParseError != nil {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, pi.ParseError.Error())
	}
	withAnti := snap.HavePodsWithRequiredAntiAffinity
	if len(withAnti) == 0 && len(pi.RequiredAffinityTerms) == 0 && len(pi.RequiredAntiAffinityTerms) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	s := &preFilterState{
		affinityTerms: p.mergeNamespaces(pi.RequiredAffinityTerms),
		antiTerms:     p.mergeNamespaces(pi.RequiredAntiAffinityTerms),
		nsLabels:      p.namespaceLabels(pod.Namespace),
		existingAnti:  counts{}, affinity: counts{}, anti: counts{},
	}
	// Each worker counts into its own slot, merged afterwards.
	slots := make([][]tpDelta, framework.Workers(p.parallel, len(withAnti)))
	framework.ParallelizeWorkers(ctx, p.parallel, len(withAnti), func(w, i int) {
		ni := withAnti[i]
		for _, ex := range ni.PodsWithRequiredAntiAffinity {
			slots[w] = s.existingAntiMatches(slots[w], ex, pod, ni.Node())
		}
	})
	s.existingAnti = make(counts, total(slots))
	for _, ds := range slots {
		for _, d := range ds {
			s.existingAnti[d.tp] += d.n
		}
	}
	if len(s.affinityTerms) > 0 || len(s.antiTerms) > 0 {
		nodes := snap.NodeInfoList
		n := framework.Workers(p.parallel, len(nodes))
		affSlots, antiSlots := make([][]tpDelta, n), make([][]tpDelta, n)
		framework.ParallelizeWorkers(ctx, p.parallel, len(nodes), func(w, i int) {
			ni := nodes[i]
			for _, ex := range ni.Pods {
				affSlots[w], antiSlots[w] = s.incomingMatches(affSlots[w], antiSlots[w], ex.Pod, ni.Node())
			}
		})
		s.affinity, s.anti = make(counts, total(affSlots)), make(counts, total(antiSlots))
		for w := range n {
			for _, d := range affSlots[w] {
				s.affinity[d.tp] += d.n
			}
			for _, d := range antiSlots[w] {
				s.anti[d.tp] += d.n
			}
		}
	}
	s.noteKeys()
	state.Write(preFilterKey, s)
	return nil, nil
}

func total(slots [][]tpDelta) int {
	n := 0
	for _, s := range slots {
		n += len(s)
	}
	return n
}

// tpDelta is a count for one domain.
type tpDelta struct {
	tp topologyPair
	n  int64
}

// existingAntiMatches appends the domains of ex's anti-affinity terms matching the pod.
func (s *preFilterState) existingAntiMatches(out []tpDelta, ex *framework.PodInfo, pod *corev1.Pod, node *corev1.Node) []tpDelta {
	for i := range ex.RequiredAntiAffinityTerms {
		t := &ex.RequiredAntiAffinityTerms[i]
		if !t.Matches(pod, s.nsLabels) {
			continue
		}
		if v, ok := node.Labels[t.TopologyKey]; ok {
			out = append(out, tpDelta{topologyPair{t.TopologyKey, v}, 1})
		}
	}
	return out
}

// incomingMatches appends the domains where ex counts for the pod's affinity and
// anti-affinity terms.
func (s *preFilterState) incomingMatches(aff, anti []tpDelta, ex *corev1.Pod, node *corev1.Node) ([]tpDelta, []tpDelta) {
	if podMatchesAll(s.affinityTerms, ex) {
		for i := range s.affinityTerms {
			if v, ok := node.Labels[s.affinityTerms[i].TopologyKey]; ok {
				aff = append(aff, tpDelta{topologyPair{s.affinityTerms[i].TopologyKey, v}, 1})
			}
		}
	}
	for i := range s.antiTerms {
		if !s.antiTerms[i].Matches(ex, nil) {
			continue
		}
		if v, ok := node.Labels[s.antiTerms[i].TopologyKey]; ok {
			anti = append(anti, tpDelta{topologyPair{s.antiTerms[i].TopologyKey, v}, 1})
		}
	}
	return aff, anti
}

// countExistingAnti counts the domains of existing pod ex's anti-affinity terms that match
// the incoming pod.
func (s *preFilterState) countExistingAnti(c counts, ex *framework.PodInfo, pod *corev1.Pod, node *corev1.Node, delta int64) {
	for i := range ex.RequiredAntiAffinityTerms {
		t := &ex.RequiredAntiAffinityTerms[i]
		if t.Matches(pod, s.nsLabels) {
			c.add(t.TopologyKey, node, delta)
		}
	}
}

// countIncoming counts existing pod ex (on node) against the incoming pod's terms.
func (s *preFilterState) countIncoming(aff, anti counts, ex *corev1.Pod, node *corev1.Node, delta int64) {
	if podMatchesAll(s.affinityTerms, ex) {
		for i := range s.affinityTerms {
			aff.add(s.affinityTerms[i].TopologyKey, node, delta)
		}
	}
	for i := range s.antiTerms {
		if s.antiTerms[i].Matches(ex, nil) {
			anti.add(s.antiTerms[i].TopologyKey, node, delta)
		}
	}
}

// PreFilterExtensions updates the counts for pods added or removed by preemption.
func (p *InterPodAffinity) PreFilterExtensions() framework.PreFilterExtensions { return p }

// AddPod counts a pod added to nodeInfo.
func (p *InterPodAffinity) AddPod(_ context.Context, state *framework.CycleState, pod *corev1.Pod, added *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.update(state, pod, added, ni, 1)
}

// RemovePod uncounts a pod removed from nodeInfo.
func (p *InterPodAffinity) RemovePod(_ context.Context, state *framework.CycleState, pod *corev1.Pod, removed *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	return p.update(state, pod, removed, ni, -1)
}

func (p *InterPodAffinity) update(state *framework.CycleState, pod *corev1.Pod, changed *framework.PodInfo, ni *framework.NodeInfo, delta int64) *framework.Status {
	s, err := framework.ReadState[*preFilterState](state, preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s.countExistingAnti(s.existingAnti, changed, pod, ni.Node(), delta)
	s.countIncoming(s.affinity, s.anti, changed.Pod, ni.Node(), delta)
	s.noteKeys()
	return nil
}

// Filter checks the pod's affinity, its anti-affinity, then existing pods' anti-affinity.
func (p *InterPodAffinity) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	s, err := framework.ReadState[*preFilterState](state, preFilterKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	node := ni.Node()
	if !s.satisfiesAffinity(pod, node) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch)
	}
	for i := range s.antiTerms {
		if v, ok := node.Labels[s.antiTerms[i].TopologyKey]; ok && s.anti[topologyPair{s.antiTerms[i].TopologyKey, v}] > 0 {
			return framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinityRulesNotMatch)
		}
	}
	for _, key := range s.existingAntiKeys {
		if v, ok := node.Labels[key]; ok && s.existingAnti[topologyPair{key, v}] > 0 {
			return framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinityRulesNotMatch)
		}
	}
	return nil
}

// noteKeys records the topology keys existingAnti has entries for, so Filter looks up the
// node's domains instead of scanning every domain.
func (s *preFilterState) noteKeys() {
	s.existingAntiKeys = s.existingAntiKeys[:0]
	seen := map[string]bool{}
	for tp := range s.existingAnti {
		if !seen[tp.key] {
			seen[tp.key] = true
			s.existingAntiKeys = append(s.existingAntiKeys, tp.key)
		}
	}
}

// satisfiesAffinity: the node must carry every term's topology key, and each term's domain
// must hold pods matching all terms; failing that, a pod matching its own terms may start a
// group when no matching pod exists anywhere.
func (s *preFilterState) satisfiesAffinity(pod *corev1.Pod, node *corev1.Node) bool {
	exist := true
	for i := range s.affinityTerms {
		v, ok := node.Labels[s.affinityTerms[i].TopologyKey]
		if !ok {
			return false
		}
		if s.affinity[topologyPair{s.affinityTerms[i].TopologyKey, v}] <= 0 {
			exist = false
		}
	}
	if exist {
		return true
	}
	return len(s.affinity) == 0 && podMatchesAll(s.affinityTerms, pod)
}
