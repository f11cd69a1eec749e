package interpodaffinity

import (
	"context"
	"math"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

const preScoreKey = "PreScore" + config.InterPodAffinity

// scores maps topology key, then value, to a summed weight.
type scores map[string]map[string]int64

func (m scores) add(key, value string, w int64) {
	if m[key] == nil {
		m[key] = map[string]int64{}
	}
	m[key][value] += w
}

func (m scores) merge(o scores) {
	for k, vs := range o {
		for v, w := range vs {
			m.add(k, v, w)
		}
	}
}

type preScoreState struct {
	scores scores
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore sums the weights per domain. Without preferred terms of its own, only nodes
// with affinity pods matter; with nothing to count it skips.
func (p *InterPodAffinity) PreScore(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo, snap *framework.Snapshot) *framework.Status {
	pi := framework.NewPodInfo(pod)
	own := len(pi.PreferredAffinityTerms) > 0 || len(pi.PreferredAntiAffinityTerms) > 0
	if p.args.IgnorePreferredTermsOfExistingPods && !own {
		return framework.NewStatus(framework.Skip)
	}
	nodes := snap.HavePodsWithAffinity
	if own {
		nodes = snap.NodeInfoList
	}
	if len(nodes) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	pref := p.mergeWeighted(pi.PreferredAffinityTerms)
	prefAnti := p.mergeWeighted(pi.PreferredAntiAffinityTerms)
	nsLabels := p.namespaceLabels(pod.Namespace)
	total := scores{}
	var mu sync.Mutex
	framework.ParallelizeUntil(ctx, p.parallel, len(nodes), func(i int) {
		ni := nodes[i]
		node := ni.Node()
		if len(node.Labels) == 0 {
			return
		}
		pods := ni.PodsWithAffinity
		if own {
			pods = ni.Pods
		}
		local := scores{}
		for _, ex := range pods {
			if !own && len(ex.RequiredAffinityTerms) == 0 && len(ex.PreferredAffinityTerms) == 0 && len(ex.PreferredAntiAffinityTerms) == 0 {
				continue // only required anti-affinity: nothing to score
			}
			p.scoreExisting(local, ex, pod, nsLabels, node, pref, prefAnti)
		}
		if len(local) > 0 {
			mu.Lock()
			total.merge(local)
			mu.Unlock()
		}
	})
	if len(total) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preScoreKey, &preScoreState{scores: total})
	return nil
}

func weightedTerms(m scores, terms []framework.WeightedAffinityTerm, target *corev1.Pod, nsLabels labels.Set, node *corev1.Node, sign int64) {
	for i := range terms {
		t := &terms[i]
		if v, ok := node.Labels[t.TopologyKey]; ok && t.Matches(target, nsLabels) {
			m.add(t.TopologyKey, v, int64(t.Weight)*sign)
		}
	}
}

// scoreExisting adds what existing pod ex contributes to the domains of its node: the
// incoming pod's preferred terms matching ex, ex's required affinity matching the incoming
// pod (hardPodAffinityWeight), and ex's preferred terms matching the incoming pod.
func (p *InterPodAffinity) scoreExisting(m scores, ex *framework.PodInfo, pod *corev1.Pod, nsLabels labels.Set, node *corev1.Node, pref, prefAnti []framework.WeightedAffinityTerm) {
	weightedTerms(m, pref, ex.Pod, nil, node, 1)
	weightedTerms(m, prefAnti, ex.Pod, nil, node, -1)
	if w := int64(p.args.HardPodAffinityWeight); w > 0 {
		for i := range ex.RequiredAffinityTerms {
			t := &ex.RequiredAffinityTerms[i]
			if v, ok := node.Labels[t.TopologyKey]; ok && t.Matches(pod, nsLabels) {
				m.add(t.TopologyKey, v, w)
			}
		}
	}
	if !p.args.IgnorePreferredTermsOfExistingPods {
		weightedTerms(m, ex.PreferredAffinityTerms, pod, nsLabels, node, 1)
		weightedTerms(m, ex.PreferredAntiAffinityTerms, pod, nsLabels, node, -1)
	}
}

// Score sums the domains' weights the node belongs to.
func (p *InterPodAffinity) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, err := framework.ReadState[*preScoreState](state, preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	var score int64
	for key, values := range s.scores {
		if v, ok := ni.Node().Labels[key]; ok {
			score += values[v]
		}
	}
	return score, nil
}

// ScoreExtensions returns the normalizer.
func (p *InterPodAffinity) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore maps [min, max] to [0, 100] (all 0 when equal).
func (p *InterPodAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, sc []framework.NodeScore) *framework.Status {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, s := range sc {
		lo, hi = min(lo, s.Score), max(hi, s.Score)
	}
	diff := hi - lo
	for i := range sc {
		var f float64
		if diff > 0 {
			f = float64(framework.MaxNodeScore) * float64(sc[i].Score-lo) / float64(diff)
		}
		sc[i].Score = int64(f)
	}
	return nil
}
